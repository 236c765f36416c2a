/**
 * A clean first run, with warnings left on (no NODE_NO_WARNINGS): `up` and `join` print no
 * DeprecationWarning (the TLS server name is a fixed DNS name, never an IP), the normal
 * enrollment step logs no warning, `--log-format json` gives one JSON object per line, and a
 * master outage is reported in whole sentences.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, baseEnv } from '../helpers/cli-binary.js';

/** The CLI with Node's warnings on and info logs shown. */
function launch(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = { ...baseEnv, BITACORA_QUIET: '0' };
  delete env['NODE_NO_WARNINGS'];
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!existsSync(BIN))('a clean first run (built binary, warnings on)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitacora-first-run-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('up and join print no deprecation warning and no warning for enrolling; json logs; readable outage messages', async () => {
    const master = launch(['up', '--local-worker', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--json', '--log-format', 'json', '--data-dir', join(dir, 'master')]);
    children.push(master.child);
    await until(() => master.out().trim().endsWith('}'), 'the banner of up');
    const banner = JSON.parse(master.out()) as { join: string };
    const agent = launch([...banner.join.split(' ').slice(1), '--name', 'first-run', '--log-format', 'json', '--data-dir', join(dir, 'agent')]);
    children.push(agent.child);
    await until(() => /reconnected to the fleet as first-run/.test(agent.err()), 'the agent joined and reconnected with its certificate');
    await until(() => /enrolled as/.test(master.err()), 'the master logged the enrollment');

    master.child.kill('SIGINT');
    expect(await master.exited).toBe(0);
    await until(() => /cannot reach the master/.test(agent.err()), 'the agent notices the outage');
    agent.child.kill('SIGINT');
    expect(await agent.exited).toBe(0);

    for (const text of [master.err(), agent.err()]) {
      expect(text).not.toMatch(/DeprecationWarning|DEP0123/);
      expect(text).not.toMatch(/Resolution note/);
    }
    const logLines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; component: string; msg: string });
    const agentLogs = logLines(agent.err());
    expect(agentLogs.length).toBeGreaterThan(2);
    for (const line of agentLogs) expect(line).toEqual(expect.objectContaining({ time: expect.any(String), level: expect.any(String), component: 'agent first-run', msg: expect.any(String) }));
    expect(logLines(master.err()).some((l) => l.component === 'master' && /coordinator running/.test(l.msg))).toBe(true);
    // Enrolling ends the first stream: that is no warning.
    const beforeOutage = agentLogs.slice(0, agentLogs.findIndex((l) => /reconnected to the fleet/.test(l.msg)) + 1);
    expect(beforeOutage.filter((l) => l.level !== 'info')).toEqual([]);
    const outage = agentLogs.find((l) => /cannot reach the master/.test(l.msg))!;
    expect(outage.msg).toMatch(/cannot reach the master \(retrying with backoff\): no connection established \(last error: connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/);
  });
});
