// `bitacora demo` plays the kill-a-worker story with real processes and exits 0.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../dist/bin/bitacora.js');

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'demo', '--json'], { env: { ...process.env, BITACORA_URL: '', BITACORA_TOKEN: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bitacora demo', () => {
  it('moves the killed worker\'s unfinished build elsewhere, rejoins it and exits 0', async () => {
    const { code, stdout, stderr } = await runDemo();
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as {
      ok: boolean;
      movedTasks: string[];
      rejoined: boolean;
      tasks: Array<{ id: string; project: string; state: string; node: string; attempt: number }>;
    };
    expect(report.ok).toBe(true);
    expect(report.rejoined).toBe(true);
    expect(report.movedTasks.length).toBeGreaterThan(0);
    expect(report.tasks.every((t) => t.state === 'succeeded')).toBe(true);
    for (const id of report.movedTasks) {
      const task = report.tasks.find((t) => t.id === id)!;
      expect(task.project).toBe('project-b');
      expect(task.node).not.toBe('worker-1');
      expect(task.attempt).toBeGreaterThan(1);
    }
  }, 240_000);
});
