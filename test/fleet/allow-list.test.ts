/**
 * A node's allow-lists (`--serve-only`, `--serve-projects`) against a real master and a real agent
 * process: only served capabilities are advertised, so the master keeps other work pending with
 * a reason; a project the node does not serve is refused by the node itself — audited on the
 * master, never run there, and never offered to that node again (it waits for a node that serves it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredAuditEntry } from '../../src/access/audit-writer.js';
import type { FleetNode, Task, TaskLogChunk } from '../../src/core/index.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, waitFor, type AgentProcessOptions } from '../helpers/processes.js';

const cleanup = new Cleanup();
let master: MasterProcess;
let dir: string;
let narrow: AgentProcess;

beforeAll(async () => {
  dir = cleanup.dir();
  master = cleanup.track(await MasterProcess.start({ dataDir: join(dir, 'master'), httpPort: await freePort(), grpcPort: await freePort() }));
  const { token } = await master.createToken('worker');
  narrow = cleanup.track(
    AgentProcess.spawn({
      masterUrl: master.info.httpUrl, name: 'narrow', dataDir: join(dir, 'narrow'), caHash: master.info.caHash, token, capacity: 2,
      capabilities: ['linux', 'gpu'], serveOnly: ['linux'], serveProjects: ['web'],
    } as AgentProcessOptions),
  );
  await narrow.joined();
});
afterAll(() => cleanup.run());

const task = (id: string) => master.call<Task>('getTask', id);
const submit = async (spec: Record<string, unknown>) => (await master.call<{ task: Task }>('submitTask', spec)).task;

describe('a node that serves only some capabilities and projects', () => {
  it('advertises only the capabilities it serves and runs the projects it serves', async () => {
    expect(await master.call<FleetNode>('getNode', 'narrow')).toMatchObject({ capabilities: ['linux'], status: 'ready' });
    const ok = await submit({ project: 'web', needs: ['linux'], command: ['sh', '-c', 'echo served'] });
    const done = await waitFor('the web task finishes', async () => ((await task(ok.id)).state === 'succeeded' ? task(ok.id) : null));
    expect(done.nodeId).toBe(narrow.nodeId);
    const logs = await master.call<TaskLogChunk[]>('taskLogs', ok.id);
    expect(logs.map((c) => c.data).join('')).toContain('served');
  });

  it('leaves a task needing a capability it does not serve pending', async () => {
    const gpu = await submit({ project: 'web', needs: ['gpu'], command: ['sh', '-c', `touch ${join(dir, 'gpu-ran')}`] });
    // A task submitted after it that the node does serve runs to the end: dispatch passes went by.
    const after = await submit({ project: 'web', command: ['true'] });
    await waitFor('the later task finishes', async () => (await task(after.id)).state === 'succeeded');
    expect(await task(gpu.id)).toMatchObject({ state: 'pending', attempt: 0, nodeId: null });
    expect(existsSync(join(dir, 'gpu-ran'))).toBe(false);
    await master.call('cancelTask', gpu.id);
  });

  it('refuses a project it does not serve: audited, never run there, offered to no one else until a node that serves it joins', async () => {
    const marker = join(dir, 'billing-ran');
    const billing = await submit({ project: 'billing', maxRetries: 3, command: ['sh', '-c', `touch ${marker}`] });
    const refusalsOf = async () => (await master.call<StoredAuditEntry[]>('auditLog')).map((s) => s.entry).filter((e) => e.action === 'task.refuse' && e.target === billing.id);
    await waitFor('the node refuses the billing task', async () => (await refusalsOf()).length > 0);
    // Later work the node serves still runs: dispatch passes went by without offering billing again.
    const after = await submit({ project: 'web', command: ['true'] });
    await waitFor('the later task finishes', async () => (await task(after.id)).state === 'succeeded');
    const waiting = await task(billing.id);
    expect(waiting).toMatchObject({ state: 'pending', nodeId: null });
    expect(waiting.error).toContain("BIT_ERR_FORBIDDEN: project 'billing' is not served by this node (it serves web)");
    const refusals = await refusalsOf();
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ actor: `node:${narrow.nodeId}`, outcome: 'denied', reason: expect.stringContaining("project 'billing'") });
    expect(narrow.stderr).toContain(`refused task ${billing.id}`);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, 'narrow', 'workspaces', 'billing'))).toBe(false);

    // A node that serves every project joins: the task goes there, once.
    const { token } = await master.createToken('worker');
    const wide = cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, name: 'wide', dataDir: join(dir, 'wide'), caHash: master.info.caHash, token, capacity: 1 }));
    await wide.joined();
    const done = await waitFor('the billing task runs on the wide node', async () => ((await task(billing.id)).state === 'succeeded' ? task(billing.id) : null));
    expect(done.nodeId).toBe(wide.nodeId);
    expect(existsSync(marker)).toBe(true);
    expect(existsSync(join(dir, 'narrow', 'workspaces', 'billing'))).toBe(false);
  });
});
