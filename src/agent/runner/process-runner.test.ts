/** ProcessRunner and DirectoryWorkspaces against real processes and directories. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../core/index.js';
import type { RunRequest } from '../../engine/ports.js';
import { INCARNATION_MARKER_VAR, OWNER_MARKER_VAR, ProcessRunner, RUN_MARKER_VAR } from './process-runner.js';
import { DirectoryWorkspaces } from './workspaces.js';

const cwd = mkdtempSync(join(tmpdir(), 'bitacora-runner-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Pids of live processes whose environment contains NAME=value (zombies have none). */
function processesWith(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const vars = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (vars.includes(needle)) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const tags: string[] = [];
function tag(): string {
  const value = randomBytes(6).toString('hex');
  tags.push(value);
  return value;
}
afterEach(() => {
  // Never leave a stray process behind, even when an assertion failed.
  for (const value of tags.splice(0)) for (const pid of processesWith('TEST_TAG', value)) process.kill(pid, 'SIGKILL');
});

function sh(line: string, extra: Partial<RunRequest> = {}): RunRequest {
  return { command: ['sh', '-c', line], cwd, env: {}, timeoutMs: 20_000, ...extra };
}

describe('ProcessRunner', () => {
  const runner = new ProcessRunner({ killGraceMs: 300 });

  it('records exit codes, output and duration', async () => {
    const ok = await runner.run(sh('echo hello; echo oops >&2'));
    expect(ok).toMatchObject({ exitCode: 0, signal: null, error: null });
    expect(ok.output).toContain('hello');
    expect(ok.output).toContain('oops');
    expect(ok.durationMs).toBeGreaterThanOrEqual(0);
    expect(ok.endedAt).toBeGreaterThanOrEqual(ok.startedAt);

    const failed = await runner.run(sh('exit 3'));
    expect(failed).toMatchObject({ exitCode: 3, error: null });
  });

  it('gives the command a clean environment: allowlist plus task variables', async () => {
    process.env.SECRET_X = 'do-not-leak';
    try {
      const result = await runner.run(sh('env', { env: { TASK_VAR: 'visible' } }));
      expect(result.output).not.toContain('SECRET_X');
      expect(result.output).not.toContain('do-not-leak');
      expect(result.output).toContain('TASK_VAR=visible');
      expect(result.output).toMatch(/^PATH=/m);
      expect(result.output).toMatch(new RegExp(`^${RUN_MARKER_VAR}=[0-9a-f]+$`, 'm'));
    } finally {
      delete process.env.SECRET_X;
    }
  });

  it('passes only the configured allowlist', async () => {
    const custom = new ProcessRunner({ envAllowlist: ['ONLY_THIS'], parentEnv: { ONLY_THIS: '1', HOME: '/root' } });
    const result = await custom.run(sh('env'));
    expect(result.output).toContain('ONLY_THIS=1');
    expect(result.output).not.toContain('HOME=');
  });

  it('keeps output up to the limit and counts the dropped bytes', async () => {
    const seen: string[] = [];
    const result = await runner.run(
      sh('head -c 10000 /dev/zero | tr "\\0" a', { outputLimitBytes: 1000, onOutput: (_s, d) => seen.push(d) }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.output).toHaveLength(1000);
    expect(result.outputBytes).toBe(10_000);
    expect(result.droppedBytes).toBe(9000);
    expect(seen.join('')).toHaveLength(1000);
  });

  it('kills the whole process group on timeout', async () => {
    const t = tag();
    const result = await runner.run(sh('sleep 300 & sleep 300', { env: { TEST_TAG: t }, timeoutMs: 300 }));
    expect(result.error).toBe('timeout');
    expect(result.exitCode).toBeNull();
    expect(processesWith('TEST_TAG', t)).toEqual([]);
  });

  it('escalates to SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const t = tag();
    const result = await runner.run(
      sh('trap "" TERM; while :; do sleep 0.05; done', { env: { TEST_TAG: t }, timeoutMs: 200, killGraceMs: 200 }),
    );
    expect(result.error).toBe('timeout');
    expect(result.signal).toBe('SIGKILL');
    expect(processesWith('TEST_TAG', t)).toEqual([]);
  });

  it('leaves no double-forked setsid grandchild behind after a timeout', async () => {
    const t = tag();
    const result = await runner.run(
      sh('(setsid sh -c "sleep 300" &) ; sleep 300', { env: { TEST_TAG: t }, timeoutMs: 400 }),
    );
    expect(result.error).toBe('timeout');
    expect(processesWith('TEST_TAG', t)).toEqual([]);
  });

  it('leaves no double-forked setsid grandchild behind after a cancel', async () => {
    const t = tag();
    const controller = new AbortController();
    const running = runner.run(
      sh('(setsid sh -c "sleep 300" >/dev/null 2>&1 &) ; sleep 300', { env: { TEST_TAG: t }, signal: controller.signal }),
    );
    // Wait until the grandchild exists, so the test proves it is killed rather than never started.
    for (let i = 0; i < 1000 && processesWith('TEST_TAG', t).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(processesWith('TEST_TAG', t).length).toBeGreaterThanOrEqual(2);
    controller.abort();
    const result = await running;
    expect(result.error).toBe('cancelled');
    expect(processesWith('TEST_TAG', t)).toEqual([]);
  });

  it('kills detached leftovers of a command that exited normally', async () => {
    const t = tag();
    const result = await runner.run(
      // The pause lets the grandchild reach setsid() before the command exits.
      sh('(setsid sleep 300 >/dev/null 2>&1 &); sleep 300 >/dev/null 2>&1 & sleep 0.2; echo done', { env: { TEST_TAG: t } }),
    );
    expect(result).toMatchObject({ exitCode: 0, error: null });
    expect(processesWith('TEST_TAG', t)).toEqual([]);
  });

  it("gives every command the request's owner marker, which the task's variables cannot override", async () => {
    const owner = { name: 'BITACORA_TEST_OWNER', value: tag() };
    const result = await runner.run(sh('env', { env: { BITACORA_TEST_OWNER: 'forged' }, owner }));
    expect(result.output).toMatch(new RegExp(`^BITACORA_TEST_OWNER=${owner.value}$`, 'm'));
    expect(result.output).not.toContain('forged');
  });

  it('kills what a crashed owner left running: every process carrying its marker (killOwned)', async () => {
    const t = tag();
    const owner = { name: 'BITACORA_TEST_OWNER', value: t };
    // Stands for a command whose owner was SIGKILLed: own process group, nobody waits for it.
    const leftover = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '', TEST_TAG: t, [owner.name]: owner.value } });
    leftover.unref();
    const exited = new Promise((resolve) => leftover.once('exit', (_code, signal) => resolve(signal)));
    await new Promise((resolve) => leftover.once('spawn', resolve));
    const other = { name: 'BITACORA_TEST_OWNER', value: tag() };
    expect(await runner.killOwned(other)).toBe(0);
    expect(processesWith(owner.name, owner.value)).toEqual([leftover.pid]);

    expect(await runner.killOwned(owner)).toBe(1);
    expect(await exited).toBe('SIGKILL');
    expect(processesWith(owner.name, owner.value)).toEqual([]);
  });

  it('returns cancelled without starting anything when already aborted', async () => {
    const result = await runner.run(sh('echo never', { signal: AbortSignal.abort() }));
    expect(result).toMatchObject({ error: 'cancelled', exitCode: null, output: '' });
  });

  it('reports spawn failures in the result instead of throwing', async () => {
    const missing = await runner.run({ command: ['definitely-not-a-command-xyz'], cwd, env: {}, timeoutMs: null });
    expect(missing.error).toBe('spawn-failed: command not found: definitely-not-a-command-xyz');
    expect(missing.exitCode).toBeNull();

    const badCwd = await runner.run({ command: ['true'], cwd: join(cwd, 'nope'), env: {}, timeoutMs: null });
    expect(badCwd.error).toMatch(/^spawn-failed: working directory does not exist/);

    const empty = await runner.run({ command: [], cwd, env: {}, timeoutMs: null });
    expect(empty.error).toMatch(/^spawn-failed:/);
  });
});

describe('ProcessRunner markers', () => {
  it('gives every task the owner and incarnation markers, which the task cannot override', () => {
    const runner = new ProcessRunner({
      parentEnv: {},
      ownerMarker: { name: OWNER_MARKER_VAR, value: 'owner1' },
      incarnationMarker: { name: INCARNATION_MARKER_VAR, value: 'run1' },
    });
    const env = runner.environmentFor({ [OWNER_MARKER_VAR]: 'x', [INCARNATION_MARKER_VAR]: 'y', A: '1' }, 'm');
    expect(env).toMatchObject({ [OWNER_MARKER_VAR]: 'owner1', [INCARNATION_MARKER_VAR]: 'run1', [RUN_MARKER_VAR]: 'm', A: '1' });
  });
});

describe('DirectoryWorkspaces', () => {
  it('creates <root>/<slug> and returns it', async () => {
    const workspaces = new DirectoryWorkspaces(join(cwd, 'ws'));
    const dir = await workspaces.ensure('project-a');
    expect(dir).toBe(join(cwd, 'ws', 'project-a'));
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(await workspaces.ensure('project-a')).toBe(dir);
  });

  it.each(['../etc', 'a/b', '', 'UPPER', 'a..b', '.hidden'])('refuses the unsafe name %j', async (name) => {
    const workspaces = new DirectoryWorkspaces(join(cwd, 'ws'));
    await expect(workspaces.ensure(name)).rejects.toMatchObject({ code: ErrorCode.UnsafeName });
  });
});
