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

const reasonOf = async (f: InProcessFleet, id: string) => f.coordinator.waitingReason(await f.coordinator.getTask(id));

describe('waiting reasons', () => {
  it('names why a task waits as the fleet changes, and forgets it once the task runs', async () => {
    fleet = await startInProcessFleet();
    const f = fleet;
    const first = (await f.coordinator.submitTask({ command: ['sleep', '30'] })).task;
    await waitFor('a reason with no node', async () => (await reasonOf(f, first.id)) === 'no node has joined the fleet');

    await f.addAgent('solo', { capacity: 1 });
    await waitFor('the first task runs', async () => (await f.coordinator.getTask(first.id)).state === 'running');
    expect(await reasonOf(f, first.id)).toBeNull();
    const second = (await f.coordinator.submitTask({ command: ['true'] })).task;
    await waitFor('a reason with the only node full', async () => /^the only ready node that can run it is full \(1\/1 slots used\)$/.test((await reasonOf(f, second.id)) ?? ''));

    const gpu = (await f.coordinator.submitTask({ command: ['true'], needs: ['gpu'] })).task;
    expect(f.coordinator.unadvertisedNeeds(['gpu', 'linux'])).toEqual(['gpu', 'linux']);
    await waitFor('a reason naming gpu', async () => (await reasonOf(f, gpu.id)) === 'no node has gpu');
    await f.addAgent('gpu-box', { node: { name: 'gpu-box', role: 'worker', capabilities: ['gpu'], specializations: [], capacity: 1 } });
    await f.coordinator.drainNode('gpu-box');
    await waitFor('the node with gpu is draining', async () => (await reasonOf(f, gpu.id)) === 'the nodes with gpu are gpu-box (draining)');

    await f.coordinator.emergencyShutdown('stop-dispatch', 'test');
    const frozen = (await f.coordinator.submitTask({ command: ['true'] })).task;
    expect(await reasonOf(f, frozen.id)).toMatch(/dispatch is stopped/);
    await f.coordinator.resumeDispatch();
    await f.coordinator.undrainNode('gpu-box');
    await waitFor('the gpu task runs', async () => (await f.coordinator.getTask(gpu.id)).state !== 'pending');
    expect(await reasonOf(f, gpu.id)).toBeNull();
    await f.coordinator.cancelTask(first.id);
  });
});
