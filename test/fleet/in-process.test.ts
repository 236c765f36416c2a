import { afterEach, describe, expect, it } from 'vitest';
import { startInProcessFleet, waitFor, type InProcessFleet } from '../helpers/in-process-fleet.js';

let fleet: InProcessFleet | null = null;
afterEach(async () => {
  await fleet?.close();
  fleet = null;
});

describe('fleet core in one process', () => {
  it('joins agents, dispatches tasks and records each result once', async () => {
    fleet = await startInProcessFleet();
    await fleet.addAgent('w1');
    await fleet.addAgent('w2');
    const outcomes = await fleet.coordinator.submitTasks(Array.from({ length: 40 }, (_, i) => ({ command: ['sh', '-c', `echo task-${i}`] })));
    await waitFor('all tasks succeeded', async () => (await fleet!.coordinator.status()).tasks.succeeded === 40);
    const nodes = new Set((await fleet.coordinator.listTasks()).map((t) => t.nodeId));
    expect(nodes.size).toBe(2);
    const finished = (await fleet.backbone.events.read(0, 100_000)).filter((e) => e.type === 'task.finished');
    expect(finished).toHaveLength(40);
    const logs = await fleet.coordinator.taskLogs(outcomes[7]!.task.id);
    await waitFor('output stored', async () => (await fleet!.coordinator.taskLogs(outcomes[7]!.task.id)).length > 0);
    expect((await fleet.coordinator.taskLogs(outcomes[7]!.task.id)).map((c) => c.data).join('')).toBe('task-7\n');
    void logs;
  });
});
