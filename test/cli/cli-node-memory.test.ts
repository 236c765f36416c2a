/**
 * Nodes that remember and fingerprint themselves, end to end with the built CLI: the master's
 * local worker advertises os:linux and runs `--needs os:linux`; a joined node stopped cleanly
 * is `left`; restarted with no flags it keeps its capabilities, specializations, capacity,
 * allow-list and name; restarted with new flags the master's record follows.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, bitacora, eventually, startBitacora } from '../helpers/cli-binary.js';

interface NodeJson { id: string; name: string; status: string; capabilities: string[]; specializations: string[]; capacity: number }


function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

describe.skipIf(!existsSync(BIN))('nodes that remember and fingerprint themselves (built binary)', () => {
  let dir: string;
  let url = '';
  const children: ChildProcess[] = [];
  const local = (...args: string[]) => bitacora(['--data-dir', join(dir, 'master'), ...args]);
  const node = async (name: string) => (JSON.parse((await local('nodes', '--json')).stdout) as NodeJson[]).find((n) => n.name === name);
  const join_ = async (...args: string[]) => {
    const started = await startBitacora(['join', url, '--json', '--data-dir', join(dir, 'w1'), ...args]);
    children.push(started.child);
    return started;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-memory-'));
    const { child, banner } = await startBitacora(['up', '--local-worker', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--json', '--data-dir', join(dir, 'master')]);
    children.push(child);
    url = String(banner['url']);
    await eventually(() => local('nodes', '--json'), (r) => r.code === 0 && (JSON.parse(r.stdout) as NodeJson[]).some((n) => n.status === 'ready'), 'local worker ready');
  });

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('fingerprints the local worker: it advertises os:linux and arch, and runs a task that needs os:linux', async () => {
    const worker = (JSON.parse((await local('nodes', '--json')).stdout) as NodeJson[])[0]!;
    expect(worker.capabilities).toEqual(expect.arrayContaining([`os:${process.platform}`, `arch:${process.arch}`, 'node']));
    const ran = await local('run', '--wait', '--needs', `os:${process.platform}`, '--', 'echo', 'fingerprinted');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('fingerprinted');
  });

  it('keeps its flags across a plain restart, ends `left` after a clean stop, and the master follows new flags', async () => {
    const token = JSON.parse((await local('token', 'create', '--json', '--ttl', '5m')).stdout) as { token: string; caHash: string };
    const first = await join_('--token', token.token, '--ca-hash', token.caHash, '--name', 'w1', '--capabilities', 'gpu', '--specialization', 'build',
      '--capacity', '2', '--serve-projects', 'web');
    expect(first.banner).toMatchObject({ name: 'w1', capabilities: expect.arrayContaining(['gpu', `os:${process.platform}`]) });
    await eventually(() => node('w1'), (n) => n?.status === 'ready', 'w1 ready');
    await stop(first.child);
    expect((await node('w1'))?.status).toBe('left');
    expect(JSON.parse(readFileSync(join(dir, 'w1', 'node-settings.json'), 'utf8'))).toEqual({
      name: 'w1', capabilities: ['gpu'], specializations: ['build'], capacity: 2, serveProjects: ['web'],
    });

    const plain = await join_();
    expect(plain.banner).toMatchObject({ name: 'w1', capabilities: expect.arrayContaining(['gpu']) });
    const back = await eventually(() => node('w1'), (n) => n?.status === 'ready', 'w1 back');
    expect(back).toMatchObject({ capabilities: expect.arrayContaining(['gpu']), specializations: ['build'], capacity: 2 });
    expect(plain.output().stderr).toMatch(/kept from the last start: .*serveProjects/);
    // The allow-list holds after the plain restart: a task of another project is refused there.
    const refused = await local('run', '--json', '--on', 'w1', '--project', 'other', '--', 'true');
    const id = (JSON.parse(refused.stdout) as { id: string }).id;
    const waiting = await eventually(async () => JSON.parse((await local('task', 'show', id, '--json')).stdout) as { waitingReason: string | null },
      (t) => /refused by w1/.test(t.waitingReason ?? ''), 'refusal by the allow-list');
    expect(waiting.waitingReason).toContain('w1');
    await local('cancel', id);
    await stop(plain.child);

    const changed = await join_('--capacity', '3', '--capabilities', 'gpu,cuda', '--name', 'w1-renamed');
    await eventually(() => node('w1'), (n) => n?.status === 'ready' && n.capacity === 3, 'w1 with the new flags');
    // The name is fixed at the first join: kept (the agent and the master agree), and said so.
    expect(changed.banner).toMatchObject({ name: 'w1' });
    expect(changed.output().stderr).toMatch(/joined as 'w1' and keeps that name \(not 'w1-renamed'\)/);
    expect(await node('w1-renamed')).toBeUndefined();
    expect((await node('w1'))?.capabilities).toEqual(expect.arrayContaining(['gpu', 'cuda']));
    expect(JSON.parse(readFileSync(join(dir, 'w1', 'node-settings.json'), 'utf8'))).toMatchObject({ name: 'w1', capacity: 3, capabilities: ['gpu', 'cuda'], serveProjects: ['web'] });
    await stop(changed.child);
  });
});
