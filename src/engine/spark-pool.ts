/**
 * L0 — SparkPool: runs independent sparks in parallel under one global bound shared by every
 * project of the engine (never exceeded), plus a group's own `parallel` limit. Each result
 * is written to the logbook as a Spark record (type 'note', with command and result).
 */
import type { PipelineSpark } from '../core/pipeline/index.js';
import { describeRun, missingCapabilities, outputTail, printable, runShell, succeeded, type EngineDeps, type StepContext } from './context.js';
import { CancelledError } from './errors.js';
import type { RunResult } from './ports.js';
import { Semaphore } from './semaphore.js';

export interface SparkOutcome {
  name: string;
  ok: boolean;
  /** "exit 0 in 210ms", "exit 2", "timeout", "not run: cancelled". */
  summary: string;
  /** The Spark record; null when the spark never ran (cancelled, missing capability). */
  sparkId: string | null;
  result: RunResult | null;
}

export interface SparkGroupOutcome {
  ok: boolean;
  summary: string;
  sparks: SparkOutcome[];
}

export class SparkPool {
  private readonly slots: Semaphore;

  /** `concurrency`: sparks running at once across all groups and projects (default 4). */
  constructor(
    private readonly deps: EngineDeps,
    concurrency = 4,
  ) {
    this.slots = new Semaphore(concurrency);
  }

  get concurrency(): number {
    return this.slots.limit;
  }

  /** Sparks running right now (for displays and tests). */
  get running(): number {
    return this.slots.inUse;
  }

  /**
   * Runs a group; resolves when every spark has finished or was skipped. Sparks are
   * independent, so one failure does not stop its siblings; the group fails if any failed.
   * Cancelling stops waiting sparks and kills running ones.
   */
  async runGroup(sparks: readonly PipelineSpark[], ctx: StepContext, parallel: number | null): Promise<SparkGroupOutcome> {
    const local = new Semaphore(Math.max(1, Math.min(parallel ?? sparks.length, sparks.length)));
    const settled = await Promise.allSettled(
      sparks.map((spark) => local.use(() => this.slots.use(() => this.runOne(spark, ctx), ctx.signal), ctx.signal)),
    );
    const outcomes = settled.map((s, i): SparkOutcome => {
      if (s.status === 'fulfilled') return s.value;
      if (s.reason instanceof CancelledError) {
        return { name: sparks[i]!.name, ok: false, summary: 'not run: cancelled', sparkId: null, result: null };
      }
      throw s.reason; // the logbook refused a write: the run cannot be recorded, so it stops
    });
    const failed = outcomes.filter((o) => !o.ok);
    const summary =
      failed.length === 0
        ? `${outcomes.length}/${outcomes.length} sparks ok`
        : `${outcomes.length - failed.length}/${outcomes.length} sparks ok; failed: ${failed.map((f) => `${f.name} (${f.summary})`).join(', ')}`;
    return { ok: failed.length === 0, summary, sparks: outcomes };
  }

  private async runOne(spark: PipelineSpark, ctx: StepContext): Promise<SparkOutcome> {
    if (ctx.signal.aborted) throw new CancelledError(`spark '${spark.name}'`);
    const missing = missingCapabilities(spark.needs, this.deps.settings);
    if (missing.length > 0) {
      return { name: spark.name, ok: false, summary: `not run: needs ${missing.join(', ')}`, sparkId: null, result: null };
    }
    const result = await runShell(this.deps, { ...ctx, env: { ...ctx.env, ...spark.env } }, spark.run, {
      timeoutMs: spark.timeoutMs,
      spark: spark.name,
    });
    const ok = succeeded(result);
    const summary = ok ? `exit 0 in ${result.durationMs}ms` : describeRun(result);
    const record = await this.deps.logbook.sparks.add(
      {
        type: 'note',
        content: printable(`spark ${ctx.step}/${spark.name}: ${summary}`, 8000),
        tags: ['pipeline', 'spark', `topic:${ctx.topic.slug}`],
        sessionId: ctx.sessionId,
        topicId: ctx.topic.id,
        project: ctx.project,
        command: spark.run,
        result: {
          exitCode: result.exitCode,
          durationMs: Math.max(0, Math.round(result.durationMs)),
          error: result.error,
          outputTail: outputTail(result, this.deps.settings.outputTailChars),
          outputBytes: result.outputBytes,
          node: null,
        },
      },
      this.deps.clock.now(),
    );
    this.deps.emit({
      type: 'spark.finished', project: ctx.project, topic: ctx.topic.slug, step: ctx.step, spark: spark.name,
      sparkId: record.id, ok, summary, durationMs: result.durationMs,
    });
    return { name: spark.name, ok, summary, sparkId: record.id, result };
  }
}
