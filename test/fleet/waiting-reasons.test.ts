/**
 * Why work waits, in a real in-process fleet (real SQLite, gRPC over TLS, real agents): with no
 * node at all, with the only node full, with the nodes that have a capability draining, and
 * when dispatch is stopped — also in the passes that find no free slot and plan nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startInProcessFleet, waitFor, type InProcessFleet } from '../helpers/in-process-fleet.js';

let fleet: InProcessFleet | null = null;
afterEach(async () => {
  await fleet?.close();
  fleet = null;
});

const reasonOf = (f: InProcessFleet, id: string) => f.coordinator.waitingReason(f.coordinator.getTask(id));

describe('waiting reasons', () => {
  it('names why a task waits as the fleet changes, and forgets it once the task runs', async () => {
    fleet = await startInProcessFleet();
    const f = fleet;
    const first = f.coordinator.submitTask({ command: ['sleep', '30'] }).task;
    await waitFor('a reason with no node', async () => reasonOf(f, first.id) === 'no node has joined the fleet');

    await f.addAgent('solo', { capacity: 1 });
    await waitFor('the first task runs', async () => f.coordinator.getTask(first.id).state === 'running');
    expect(reasonOf(f, first.id)).toBeNull();
    const second = f.coordinator.submitTask({ command: ['true'] }).task;
    await waitFor('a reason with the only node full', async () => /^the only ready node that can run it is full \(1\/1 slots used\)$/.test(reasonOf(f, second.id) ?? ''));

    const gpu = f.coordinator.submitTask({ command: ['true'], needs: ['gpu'] }).task;
    expect(f.coordinator.unadvertisedNeeds(['gpu', 'linux'])).toEqual(['gpu', 'linux']);
    await waitFor('a reason naming gpu', async () => reasonOf(f, gpu.id) === 'no node has gpu');
    await f.addAgent('gpu-box', { node: { name: 'gpu-box', role: 'worker', capabilities: ['gpu'], specializations: [], capacity: 1 } });
    f.coordinator.drainNode('gpu-box');
    await waitFor('the node with gpu is draining', async () => reasonOf(f, gpu.id) === 'the nodes with gpu are gpu-box (draining)');

    f.coordinator.emergencyShutdown('stop-dispatch', 'test');
    const frozen = f.coordinator.submitTask({ command: ['true'] }).task;
    expect(reasonOf(f, frozen.id)).toMatch(/dispatch is stopped/);
    f.coordinator.resumeDispatch();
    f.coordinator.undrainNode('gpu-box');
    await waitFor('the gpu task runs', async () => f.coordinator.getTask(gpu.id).state !== 'pending');
    expect(reasonOf(f, gpu.id)).toBeNull();
    f.coordinator.cancelTask(first.id);
  });
});
