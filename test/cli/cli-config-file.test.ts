/**
 * One configuration file, end to end with the built CLI: `config check` names every problem of
 * a bad file (exit 2) and passes the commented example; `up --config` starts the master with
 * the file's values (flags still win); `join --config` finds the master in discovery_peers and
 * takes its node settings from the file.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, bitacora, eventually, startBitacora } from '../helpers/cli-binary.js';

interface NodeJson { name: string; status: string; capabilities: string[]; capacity: number }


describe.skipIf(!existsSync(BIN))('the configuration file (built binary)', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-config-'));
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('`config check` passes the commented example and names every problem of a bad file (exit 2)', async () => {
    const example = await bitacora(['config', 'check', resolve(import.meta.dirname, '../../examples/bitacora.yaml')]);
    expect(example.code).toBe(0);
    expect(example.stdout).toMatch(/bitacora\.yaml is valid: node_type hybrid; node_id dev-server/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'node_type: boss\nup:\n  heartbeatInterval: soon\n  selfFenceAfter: 1s\njoin:\n  capacity: 0\n');
    const checked = await bitacora(['config', 'check', bad]);
    expect(checked.code).toBe(2);
    for (const path of ['node_type', 'up.heartbeatInterval', 'join.capacity']) expect(checked.stderr).toContain(`${path}:`);
    const up = await bitacora(['up', '--config', bad]);
    expect(up.code).toBe(2);
    expect(up.stderr).toContain('up.heartbeatInterval:');
    const disabled = join(dir, 'off.yaml');
    writeFileSync(disabled, 'enabled: false\n');
    const refused = await bitacora(['up', '--config', disabled]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('enabled: false');
  });

  it('starts a master with the file\'s values (a flag wins over the file), and a node joins from the file', async () => {
    const file = join(dir, 'fleet.yaml');
    writeFileSync(file, [
      'node_id: cfg-local',
      'node_type: hybrid',
      `dataDir: ${join(dir, 'master')}`,
      'up:',
      '  http: 127.0.0.1:1        # overridden by --http on the command line',
      '  grpc: 127.0.0.1:0',
      '  heartbeatInterval: 400ms',
      '  missedHeartbeats: 5',
      '',
    ].join('\n'));
    const master = await startBitacora(['up', '--config', file, '--http', '127.0.0.1:0', '--json']);
    children.push(master.child);
    expect(master.banner).toMatchObject({ dataDir: join(dir, 'master'), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(master.banner['url']).not.toBe('http://127.0.0.1:1');
    const local = (...args: string[]) => bitacora(['--data-dir', join(dir, 'master'), ...args]);
    expect(JSON.parse((await local('config', 'show', '--json')).stdout)).toMatchObject({ heartbeatIntervalMs: 400 });
    await eventually(async () => JSON.parse((await local('nodes', '--json')).stdout) as NodeJson[], (nodes) => nodes.some((n) => n.name === 'cfg-local' && n.status === 'ready'), 'the hybrid master runs its local worker named by node_id');

    const token = JSON.parse((await local('token', 'create', '--json', '--ttl', '5m')).stdout) as { token: string; caHash: string };
    const workerFile = join(dir, 'worker.yaml');
    writeFileSync(workerFile, [
      'node_id: cfg-worker',
      'node_type: worker',
      `discovery_peers: [${String(master.banner['url'])}]`,
      'join:',
      `  token: ${token.token}`,
      `  caHash: ${token.caHash}`,
      '  capabilities: [cfgcap]',
      '  capacity: 2',
      '',
    ].join('\n'));
    const worker = await startBitacora(['join', '--config', workerFile, '--json', '--data-dir', join(dir, 'worker')]);
    children.push(worker.child);
    const joined = await eventually(async () => (JSON.parse((await local('nodes', '--json')).stdout) as NodeJson[]).find((n) => n.name === 'cfg-worker'), (n) => n?.status === 'ready', 'the worker from its file');
    expect(joined).toMatchObject({ capacity: 2, capabilities: expect.arrayContaining(['cfgcap']) });
  });
});
