/** SparkPool: the global bound and group limits hold; every result becomes a Spark record. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PipelineSpark } from '../core/pipeline/index.js';
import type { EngineDeps, StepContext } from './context.js';
import { progressEmitter, type ProgressEvent } from './progress.js';
import { SparkPool } from './spark-pool.js';
import { MemoryLogbook } from './testing/memory-logbook.js';
import { FakeRunner, type FakeOutcome } from './testing/fakes.js';

async function setup(script?: (line: string) => FakeOutcome, capabilities: string[] | null = null) {
  const logbook = new MemoryLogbook();
  const runner = new FakeRunner(script);
  const events: ProgressEvent[] = [];
  const deps: EngineDeps = {
    runner, clock: { now: () => Date.now() }, logbook,
    settings: { defaultTimeoutMs: null, killGraceMs: undefined, outputLimitBytes: undefined, capabilities, outputTailChars: 100 },
    emit: progressEmitter((e) => events.push(e), Date.now),
  };
  const now = Date.now();
  await logbook.projects.create({ name: 'p', status: 'active' }, now);
  const topic = await logbook.topics.create({ project: 'p', title: 't' }, now);
  const session = await logbook.sessions.start({ user: 'u' }, now);
  const ctx = (signal = new AbortController().signal): StepContext => ({
    sessionId: session.id, project: 'p', topic: { slug: 't', id: topic.id }, step: 'shards', cwd: '/w', env: { A: '1' }, signal,
  });
  return { logbook, runner, deps, ctx, events, topicId: topic.id, sessionId: session.id };
}

const spark = (name: string, run: string, extra: Partial<PipelineSpark> = {}): PipelineSpark => ({
  name, run, timeoutMs: null, env: {}, needs: [], ...extra,
});

describe('SparkPool', () => {
  it('never exceeds the global bound nor a group limit, across concurrent groups', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 8 }), parallel: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }) }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 24, maxLength: 24 }),
        async (bound, groups, delays) => {
          const perGroup = new Map<string, { now: number; max: number }>();
          let i = 0;
          const { deps, ctx } = await setup(() => ({ delayMs: delays[i++ % delays.length] }));
          const runner = deps.runner as FakeRunner;
          // Count per group by wrapping the runner: the group is in the spark's env.
          const inner = runner.run.bind(runner);
          runner.run = async (request) => {
            const g = perGroup.get(request.env.GROUP!)!;
            g.now++;
            g.max = Math.max(g.max, g.now);
            try {
              return await inner(request);
            } finally {
              g.now--;
            }
          };
          const pool = new SparkPool(deps, bound);
          await Promise.all(
            groups.map((g, gi) => {
              perGroup.set(String(gi), { now: 0, max: 0 });
              const sparks = Array.from({ length: g.size }, (_, k) => spark(`s${k}`, `echo ${gi}.${k}`, { env: { GROUP: String(gi) } }));
              return pool.runGroup(sparks, ctx(), g.parallel);
            }),
          );
          expect(runner.maxRunning).toBeLessThanOrEqual(bound);
          groups.forEach((g, gi) => expect(perGroup.get(String(gi))!.max).toBeLessThanOrEqual(g.parallel ?? g.size));
          expect(runner.calls).toHaveLength(groups.reduce((n, g) => n + g.size, 0));
          expect(pool.running).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('writes one Spark record per result, linked to session, topic and project', async () => {
    const { deps, ctx, logbook, topicId, sessionId, events } = await setup((line) => (line.includes('bad') ? { exitCode: 2, output: 'boom\n' } : { output: 'ok\n' }));
    const pool = new SparkPool(deps, 2);
    const outcome = await pool.runGroup([spark('good', 'echo good'), spark('bad', 'exit-bad')], ctx(), null);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toBe('1/2 sparks ok; failed: bad (exit 2)');
    const records = await logbook.sparks.list({ project: 'p' });
    expect(records).toHaveLength(2);
    const bad = records.find((r) => r.command === 'exit-bad')!;
    expect(bad).toMatchObject({ type: 'note', sessionId, topicId, project: 'p', tags: ['pipeline', 'spark', 'topic:t'] });
    expect(bad.result).toMatchObject({ exitCode: 2, error: null, outputTail: 'boom\n', outputBytes: 5 });
    expect(events.filter((e) => e.type === 'spark.finished')).toHaveLength(2);
    expect(events).toContainEqual(expect.objectContaining({ type: 'output', spark: 'bad', line: 'boom', stream: 'stdout' }));
  });

  it('passes spark env over the step env and applies per-spark timeouts', async () => {
    const { deps, ctx, runner } = await setup(() => ({ delayMs: 50 }));
    const pool = new SparkPool(deps, 2);
    const outcome = await pool.runGroup([spark('slow', 'sleep', { timeoutMs: 5, env: { B: '2' } })], ctx(), null);
    expect(outcome.sparks[0]).toMatchObject({ ok: false, summary: 'timeout' });
    expect(runner.calls[0]!.request.env).toMatchObject({ A: '1', B: '2', BITACORA_SPARK: 'slow' });
    expect(runner.calls[0]!.request.timeoutMs).toBe(5);
  });

  it('cancels: running sparks are killed, waiting ones never start', async () => {
    const { deps, ctx, runner, logbook } = await setup(() => ({ delayMs: 10_000 }));
    const pool = new SparkPool(deps, 1);
    const controller = new AbortController();
    const running = pool.runGroup([spark('a', 'a'), spark('b', 'b'), spark('c', 'c')], ctx(controller.signal), null);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const outcome = await running;
    expect(outcome.sparks.map((s) => s.summary)).toEqual(['cancelled', 'not run: cancelled', 'not run: cancelled']);
    expect(runner.calls).toHaveLength(1);
    expect(await logbook.sparks.list()).toHaveLength(1);
  });

  it('does not run a spark needing a capability the node lacks', async () => {
    const { deps, ctx, runner } = await setup(undefined, ['linux']);
    const pool = new SparkPool(deps, 2);
    const outcome = await pool.runGroup([spark('gpu', 'train', { needs: ['gpu'] }), spark('cpu', 'echo', { needs: ['linux'] })], ctx(), null);
    expect(outcome.sparks.map((s) => [s.name, s.ok, s.summary.split(' ')[0]])).toEqual([['gpu', false, 'not'], ['cpu', true, 'exit']]);
    expect(runner.lines()).toEqual(['echo']);
  });
});
