/**
 * The seed's story, played on a real local fleet: project A on the master, B (build + tests)
 * preferring worker-1, C (parallel test shards) preferring worker-2; worker-1 is SIGKILLed
 * mid-build, B's unfinished work moves on, worker-1 restarts and rejoins. Every step goes
 * through the same API a user's CLI uses.
 */
import type { FleetClient } from '../../client/index.js';
import type { FleetNode, NewTaskSpec, Task } from '../../core/index.js';
import { DemoFleet, waitFor, type RunningWorker } from './fleet-processes.js';

export interface DemoReport {
  ok: boolean;
  baseDir: string;
  killedNode: string;
  movedTasks: string[];
  rejoined: boolean;
  tasks: Array<{ id: string; project: string | null; name: string; state: Task['state']; node: string | null; attempt: number; exitCode: number | null }>;
  problems: string[];
}

type Say = (line: string) => void;

/** The demo's lease (selfFenceAfterMs): above heartbeat × missed (3 s by default). */
const DEMO_LEASE_MS = 4000;

const sh = (line: string): string[] => ['sh', '-c', line];

function work(project: string, name: string, line: string, extra: Partial<NewTaskSpec> = {}): NewTaskSpec {
  return { kind: 'spark', project, command: sh(line), labels: { name }, estimateKey: `${project}:${name.replace(/-\d+$/, '')}`, ...extra };
}

/** Project A plans on the master; B builds on a 'build' node; C shards tests on a 'test' node. */
function workload(masterNode: string): NewTaskSpec[] {
  return [
    work('project-a', 'design-notes', 'echo "design notes written on the master"; sleep 0.5', { pinnedNode: masterNode }),
    work('project-a', 'plan-review', 'echo "plan reviewed"; sleep 0.5', { pinnedNode: masterNode }),
    work('project-b', 'build-1', 'echo compiling part 1; sleep 4; echo part 1 built', { prefers: ['build'], needs: ['sh'] }),
    work('project-b', 'build-2', 'echo compiling part 2; sleep 4; echo part 2 built', { prefers: ['build'], needs: ['sh'] }),
    work('project-b', 'unit-tests', 'echo running unit tests; sleep 1; echo 42 passed', { prefers: ['build'], needs: ['sh'] }),
    ...[1, 2, 3, 4].map((i) => work('project-c', `test-shard-${i}`, `echo shard ${i}; sleep 1; echo shard ${i} ok`, { prefers: ['test'], needs: ['sh'] })),
  ];
}

async function allTasks(client: FleetClient, ids: string[]): Promise<Task[]> {
  return Promise.all(ids.map((id) => client.getTask(id)));
}

export async function playDemo(fleet: DemoFleet, say: Say, signal: AbortSignal): Promise<DemoReport> {
  const problems: string[] = [];
  say('▶ starting the master (bitacora up --local-worker)…');
  const client = await fleet.startMaster(signal);
  const master = await waitFor('the master\'s local worker', async () => (await client.listNodes()).find((n) => n.status === 'ready') ?? null, 30_000, signal);
  say(`  master API at ${client.url}; local worker '${master.name}' ready`);
  // A short lease keeps the story brisk (default 15 s): a lost node's work moves once it ends.
  await client.updateConfig({ selfFenceAfterMs: DEMO_LEASE_MS });

  say('▶ joining worker-1 (specialization build) and worker-2 (specialization test)…');
  let worker1: RunningWorker = await fleet.startWorker({ name: 'worker-1', specialization: 'build' });
  await fleet.startWorker({ name: 'worker-2', specialization: 'test' });
  await fleet.waitForNodes(['worker-1', 'worker-2'], 'ready', signal);
  say(`  fleet: ${(await client.listNodes()).map((n) => `${n.name} (${n.role}, ${n.status})`).join(', ')}`);

  say('▶ submitting projects A, B and C…');
  const submitted = await client.submitTasks(workload(master.id));
  const ids = submitted.map((s) => s.task.id);
  const nodes = new Map<string, FleetNode>((await client.listNodes()).map((n) => [n.id, n]));
  const nameOf = (id: string | null) => (id ? nodes.get(id)?.name ?? id : null);

  const worker1Node = (await client.listNodes()).find((n) => n.name === 'worker-1')!;
  const buildOnWorker1 = await waitFor(
    'project B to be building on worker-1',
    async () => {
      const running = (await allTasks(client, ids)).filter((t) => t.project === 'project-b' && t.nodeId === worker1Node.id && t.state === 'running');
      return running.length > 0 ? running : null;
    },
    30_000,
    signal,
  );
  say(`  project B is building on worker-1: ${buildOnWorker1.map((t) => t.labels['name']).join(', ')}`);

  say('▶ killing worker-1 with SIGKILL mid-build…');
  worker1.process.kill('SIGKILL');
  const killedAt = Date.now();
  await fleet.waitForNodes(['worker-1'], 'down', signal);
  say(`  the master marked worker-1 down after ${((Date.now() - killedAt) / 1000).toFixed(1)}s`);
  say(`  its work waits for worker-1's lease to end (${DEMO_LEASE_MS / 1000}s + 1s after it was last heard): a worker cut off, not dead, has killed its copies by then`);

  const moved = await waitFor(
    "B's unfinished work to run elsewhere",
    async () => {
      const again = await allTasks(client, buildOnWorker1.map((t) => t.id));
      return again.every((t) => t.attempt > 1 && t.nodeId !== worker1Node.id && t.state !== 'pending') ? again : null;
    },
    60_000,
    signal,
  );
  for (const t of moved) say(`  ${t.labels['name']} moved to ${nameOf(t.nodeId)} (attempt ${t.attempt})`);

  say('▶ restarting worker-1 on its data directory (no token: it rejoins with its credential)…');
  worker1 = fleet.restartWorker(worker1);
  await fleet.waitForNodes(['worker-1'], 'ready', signal);
  say('  worker-1 rejoined and is ready');

  const final = await waitFor(
    'every task to finish',
    async () => {
      const tasks = await allTasks(client, ids);
      return tasks.every((t) => t.state === 'succeeded' || t.state === 'failed' || t.state === 'cancelled') ? tasks : null;
    },
    90_000,
    signal,
  );
  for (const t of final) if (t.state !== 'succeeded') problems.push(`${t.labels['name']} ended ${t.state}`);
  for (const t of final.filter((t) => t.project === 'project-a')) {
    if (t.nodeId !== master.id) problems.push(`${t.labels['name']} of project A ran on ${nameOf(t.nodeId)}, not on the master`);
  }
  return {
    ok: problems.length === 0,
    baseDir: fleet.baseDir,
    killedNode: 'worker-1',
    movedTasks: moved.map((t) => t.id),
    rejoined: true,
    tasks: final.map((t) => ({
      id: t.id, project: t.project, name: t.labels['name'] ?? t.id, state: t.state, node: nameOf(t.nodeId), attempt: t.attempt, exitCode: t.exitCode,
    })),
    problems,
  };
}
