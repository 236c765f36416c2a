/** ThreadManager with fake ports: L1 isolation, L2 serial topics and risk gates, wiring of all levels. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import type { Pipeline, PipelineStep } from '../core/pipeline/index.js';
import type { ProgressEvent } from './progress.js';
import { MemoryLogbook } from './testing/memory-logbook.js';
import { cmd, FakeRunner, FakeWorkspaces, pipeline, topic, type FakeOutcome } from './testing/fakes.js';
import { ThreadManager, type ThreadManagerOptions } from './thread-manager.js';

function setup(script?: (line: string) => FakeOutcome, options: Partial<ThreadManagerOptions> = {}) {
  const logbook = new MemoryLogbook();
  const runner = new FakeRunner(script);
  const workspaces = new FakeWorkspaces();
  const events: ProgressEvent[] = [];
  const manager = new ThreadManager({
    runner, workspaces, logbook, clock: { now: () => Date.now() }, approvalPollMs: 5, onProgress: (e) => events.push(e), ...options,
  });
  return { logbook, runner, workspaces, events, manager };
}

const sparks = (name: string, runs: string[], parallel: number | null = null): PipelineStep => ({
  kind: 'sparks', name, parallel, risk: null, sparks: runs.map((run, i) => ({ name: `s${i}`, run, timeoutMs: null, env: {}, needs: [] })),
});
const atomic = (name: string, extra: Partial<Extract<PipelineStep, { kind: 'action' }>> = {}): PipelineStep => ({
  kind: 'action', name, type: 'deploy', risk: null, validate: 'validate', prepare: 'prepare', commit: 'commit', rollback: 'rollback',
  timeoutMs: null, participants: [], env: {}, needs: [], ...extra,
});

describe('ThreadManager', () => {
  it('runs all four levels and records every run in the logbook', async () => {
    const { manager, logbook, events } = setup();
    const p = pipeline('shop', [
      topic('build', [cmd('make', { name: 'compile' })]),
      topic('test', [sparks('shards', ['t1', 't2', 't3'], 2)], { dependsOn: ['build'] }),
      topic('release', [atomic('deploy')], { dependsOn: ['test'] }),
    ]);
    const result = await manager.runPipelines([{ pipeline: p }]);
    expect(result.ok).toBe(true);
    const [project] = result.projects;
    expect(project).toMatchObject({ project: 'shop', status: 'completed', error: null, workspace: '/workspaces/shop' });
    expect(project!.topics.map((t) => [t.topic, t.status])).toEqual([['build', 'completed'], ['test', 'completed'], ['release', 'completed']]);
    expect((await logbook.projects.get('shop'))!.status).toBe('completed');
    expect((await logbook.topics.list({ project: 'shop' })).map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
    const actions = await logbook.actions.list({ project: 'shop' });
    expect(actions.map((a) => [a.type, a.phase])).toEqual([['code', 'succeeded'], ['deploy', 'committed']]);
    expect(actions.every((a) => a.sessionId === result.sessionId && a.topicId !== null)).toBe(true);
    expect(await logbook.sparks.list({ project: 'shop' })).toHaveLength(3);
    expect((await logbook.sessions.get(result.sessionId))!.status).toBe('ended');
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['project.started', 'topic.started', 'step.finished', 'spark.finished', 'action.phase', 'project.finished']));
  });

  it('gives each project its own workspace and environment', async () => {
    const { manager, runner } = setup();
    await manager.runPipelines([
      { pipeline: pipeline('a', [topic('t', [cmd('x', { env: { STEP: '1' } })])], { SHARED: 'a' }) },
      { pipeline: pipeline('b', [topic('t', [cmd('x')])], { SHARED: 'b' }) },
    ]);
    const byProject = Object.fromEntries(runner.calls.map((c) => [c.request.env.BITACORA_PROJECT, c.request]));
    expect(byProject.a).toMatchObject({ cwd: '/workspaces/a', env: { SHARED: 'a', STEP: '1', BITACORA_TOPIC: 't', BITACORA_WORKSPACE: '/workspaces/a' } });
    expect(byProject.b).toMatchObject({ cwd: '/workspaces/b', env: { SHARED: 'b' } });
    expect(byProject.b!.env.STEP).toBeUndefined();
  });

  it('one project failing or being cancelled does not touch another', async () => {
    const { manager, logbook } = setup((line) => (line === 'fail' ? { exitCode: 1 } : line === 'slow' ? { delayMs: 10_000 } : { delayMs: 5 }));
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 50);
    const result = await manager.runPipelines([
      { pipeline: pipeline('bad', [topic('one', [cmd('fail')]), topic('two', [cmd('ok')])]) },
      { pipeline: pipeline('slow', [topic('one', [cmd('slow')])]), signal: cancel.signal },
      { pipeline: pipeline('good', [topic('one', [cmd('ok'), cmd('ok2')]), topic('two', [cmd('ok3')])]) },
    ]);
    expect(result.ok).toBe(false);
    expect(result.projects.map((p) => [p.project, p.status])).toEqual([['bad', 'failed'], ['slow', 'cancelled'], ['good', 'completed']]);
    expect(result.projects[0]!.error).toBe("topic 'one', step 'fail': exit 1");
    expect(result.projects[0]!.topics.map((t) => t.status)).toEqual(['failed', 'skipped']);
    expect((await logbook.projects.get('bad'))!.status).toBe('on-hold');
    expect((await logbook.projects.get('good'))!.status).toBe('completed');
    expect((await logbook.topics.list({ project: 'slow' }))[0]!.status).toBe('on-hold');
  });

  it('refuses the same project twice in one run before running anything', async () => {
    const { manager, runner } = setup();
    const p = pipeline('dup', [topic('t', [cmd('x')])]);
    await expect(manager.runPipelines([{ pipeline: p }, { pipeline: p }])).rejects.toMatchObject({ code: ErrorCode.Conflict });
    expect(runner.calls).toHaveLength(0);
  });

  it('refuses to reuse a project with a different workspace', async () => {
    const { manager, logbook } = setup();
    await logbook.projects.create({ name: 'shop', workspace: 'elsewhere' }, 1);
    const [project] = (await manager.runPipelines([{ pipeline: pipeline('shop', [topic('t', [cmd('x')])]) }])).projects;
    expect(project).toMatchObject({ status: 'failed' });
    expect(project!.error).toMatch(/already uses workspace 'elsewhere'/);
  });

  it('a high-risk topic waits for approval, then runs', async () => {
    const { manager, logbook, runner, events } = setup();
    const p = pipeline('shop', [topic('prep', [cmd('prep')]), topic('release', [cmd('deploy')], { risk: 'high', dependsOn: ['prep'] })]);
    const running = manager.runPipelines([{ pipeline: p }]);
    const needed = await waitFor(() => events.find((e) => e.type === 'approval.needed'));
    expect(runner.lines()).toEqual(['prep']);
    const topicId = (needed as Extract<ProgressEvent, { type: 'approval.needed' }>).topicId;
    expect((await logbook.topics.get(topicId))!.status).toBe('on-hold');
    await logbook.approvals.decide((needed as { approvalId: string }).approvalId, 'approved', 'alice', null, Date.now());
    const result = await running;
    expect(result.ok).toBe(true);
    expect(runner.lines()).toEqual(['prep', 'deploy']);
    expect(result.projects[0]!.topics[1]!.approvalId).toBe((needed as { approvalId: string }).approvalId);
  });

  it('a rejected topic is cancelled and stops its project', async () => {
    const { manager, logbook, runner, events } = setup();
    const p = pipeline('shop', [topic('release', [cmd('deploy')], { risk: 'high' }), topic('after', [cmd('after')])]);
    const running = manager.runPipelines([{ pipeline: p }]);
    const needed = (await waitFor(() => events.find((e) => e.type === 'approval.needed'))) as { approvalId: string; topicId: string };
    await logbook.approvals.decide(needed.approvalId, 'rejected', 'alice', 'not today', Date.now());
    const [project] = (await running).projects;
    expect(project).toMatchObject({ status: 'stopped', error: "topic 'release': approval rejected" });
    expect(project!.topics.map((t) => t.status)).toEqual(['rejected', 'skipped']);
    expect((await logbook.topics.get(needed.topicId))!.status).toBe('cancelled');
    expect(runner.calls).toHaveLength(0);
  });

  it('an expired approval leaves the topic on hold and stops the project', async () => {
    const { manager, logbook } = setup(undefined, { approvalTtlMs: 30 });
    const [project] = (await manager.runPipelines([{ pipeline: pipeline('shop', [topic('release', [cmd('deploy')], { risk: 'high' })]) }])).projects;
    expect(project!.status).toBe('stopped');
    expect(project!.topics[0]!.status).toBe('expired');
    expect((await logbook.approvals.list())[0]!.state).toBe('expired');
    expect((await logbook.topics.list())[0]!.status).toBe('on-hold');
  });

  it('a step riskier than its topic gets its own approval; medium consults only when configured', async () => {
    const auto = setup(undefined, { autoApprove: true, consultOnMedium: true });
    const p = pipeline('shop', [topic('ops', [cmd('safe'), cmd('danger', { risk: 'high' })], { risk: 'medium' })]);
    const result = await auto.manager.runPipelines([{ pipeline: p }]);
    expect(result.ok).toBe(true);
    expect((await auto.logbook.approvals.list()).map((a) => [a.reason, a.decidedBy])).toEqual([
      ["topic 'ops' is medium risk", 'auto-approve'],
      ["step 'danger' of topic 'ops' is high risk", 'auto-approve'],
    ]);
    const plain = setup();
    await plain.manager.runPipelines([{ pipeline: pipeline('shop', [topic('ops', [cmd('safe')], { risk: 'medium' })]) }]);
    expect(await plain.logbook.approvals.list()).toEqual([]);
  });

  it('fails a step needing a capability this node lacks, without running it', async () => {
    const { manager, runner } = setup(undefined, { capabilities: ['linux'] });
    const [project] = (await manager.runPipelines([{ pipeline: pipeline('p', [topic('t', [cmd('gpu-job', { needs: ['gpu'] })])]) }])).projects;
    expect(project!.error).toBe("topic 't', step 'gpu-job': not run: needs gpu");
    expect(runner.calls).toHaveLength(0);
  });

  it('records into the current session when one is active', async () => {
    const { manager, logbook } = setup();
    const session = await logbook.sessions.start({ user: 'me' }, 1);
    const result = await manager.runPipelines([{ pipeline: pipeline('p', [topic('t', [cmd('x')])]) }]);
    expect(result.sessionId).toBe(session.id);
    expect((await logbook.sessions.get(session.id))!.status).toBe('active');
  });

  it('property: two topics of one project never overlap, and dependencies finish first', async () => {
    const project = fc.array(
      fc.record({ deps: fc.array(fc.nat(), { maxLength: 2 }), steps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }) }),
      { minLength: 1, maxLength: 5 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(project, { minLength: 1, maxLength: 3 }), async (projects) => {
        const { manager, runner, logbook } = setup((line) => ({ delayMs: Number(line.split(':')[1]) }));
        const active = new Map<string, number>();
        logbook.onTopicStatus = (t, all) => {
          const inProgress = all.filter((o) => o.project === t.project && o.status === 'in-progress').length;
          active.set(t.project, Math.max(active.get(t.project) ?? 0, inProgress));
        };
        const pipelines: Pipeline[] = projects.map((topics, pi) =>
          pipeline(`p${pi}`, topics.map((t, ti) => {
            // Dependencies only on earlier topics keep the graph acyclic; file order is then reversed.
            const deps = ti === 0 ? [] : [...new Set(t.deps.map((d) => `t${d % ti}`))];
            const steps = t.steps.map((delay, si) => (si % 2 === 0 ? cmd(`c${ti}.${si}:${delay}`) : sparks(`g${si}`, [`s${ti}a:${delay}`, `s${ti}b:${delay}`])));
            return topic(`t${ti}`, steps, { dependsOn: deps });
          }).reverse()),
        );
        const result = await manager.runPipelines(pipelines.map((p) => ({ pipeline: p })));
        expect(result.projects.map((p) => p.status)).toEqual(pipelines.map(() => 'completed'));
        result.projects.forEach((r, i) => expect(r.topics.map((t) => t.status)).toEqual(pipelines[i]!.topics.map(() => 'completed')));
        for (const p of pipelines) {
          expect(active.get(p.project.name)).toBe(1);
          const calls = runner.calls.filter((c) => c.request.env.BITACORA_PROJECT === p.project.name);
          const span = (id: string) => {
            const mine = calls.filter((c) => c.request.env.BITACORA_TOPIC === id);
            expect(mine.length).toBeGreaterThan(0);
            return { start: Math.min(...mine.map((c) => c.startedAt)), end: Math.max(...mine.map((c) => c.endedAt!)) };
          };
          const spans = p.topics.map((t) => ({ id: t.id, deps: t.dependsOn, ...span(t.id) })).sort((a, b) => a.start - b.start);
          for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
          for (const s of spans) for (const d of s.deps) expect(spans.find((x) => x.id === d)!.end).toBeLessThanOrEqual(s.start);
        }
      }),
      { numRuns: 40 },
    );
  });
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ThreadManager owner marker', () => {
  /** A FakeRunner that can also kill by owner marker, recording what it was asked. */
  class KillingRunner extends FakeRunner {
    readonly killed: Array<{ name: string; value: string }> = [];
    async killOwned(owner: { name: string; value: string }): Promise<number> {
      this.killed.push(owner);
      return 2;
    }
  }
  const owner = { name: 'BITACORA_LOGBOOK_ID', value: '0123456789abcdef' };

  it('gives every command it runs the owner marker', async () => {
    const { manager, runner } = setup(undefined, { owner });
    const p = pipeline('shop', [topic('all', [cmd('make'), sparks('shards', ['t1', 't2']), atomic('deploy')])]);
    expect((await manager.runPipelines([{ pipeline: p }])).ok).toBe(true);
    expect(runner.calls).toHaveLength(6); // make, two sparks, validate + prepare + commit
    expect(runner.calls.every((c) => c.request.owner?.value === owner.value && c.request.owner.name === owner.name)).toBe(true);
  });

  it('kills the leftovers of its owner through the runner, and does nothing without an owner or a runner that cannot', async () => {
    const runner = new KillingRunner();
    const base = { workspaces: new FakeWorkspaces(), logbook: new MemoryLogbook(), clock: { now: () => Date.now() } };
    expect(await new ThreadManager({ ...base, runner, owner }).killLeftovers()).toBe(2);
    expect(runner.killed).toEqual([owner]);
    expect(await new ThreadManager({ ...base, runner }).killLeftovers()).toBe(0);
    expect(runner.killed).toHaveLength(1);
    expect(await new ThreadManager({ ...base, runner: new FakeRunner(), owner }).killLeftovers()).toBe(0);
  });
});
