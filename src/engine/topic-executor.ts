/**
 * L2 — TopicExecutor: the topics of one project, one at a time, in dependency order.
 * Before a topic runs, the risk gate decides: continue, or wait in `awaiting-approval`
 * (topic on-hold in the logbook) until approved (run), rejected (topic cancelled) or expired
 * (stays on-hold). The first topic that does not complete stops the project; the rest are
 * skipped. Steps inside a topic also run one at a time and stop at the first failure.
 */
import type { Approval, TopicStatus } from '../core/index.js';
import { topicOrder, type Pipeline, type PipelineStep, type PipelineTopic, type StepKind } from '../core/pipeline/index.js';
import { needsApproval, riskAbove, type GateResult, type RiskGate } from './approval.js';
import type { AtomicAction } from './atomic-action.js';
import { runCommandStep } from './command-step.js';
import { missingCapabilities, type EngineDeps, type StepContext } from './context.js';
import { CancelledError } from './errors.js';
import type { SparkPool } from './spark-pool.js';
import { RunState, TOPIC_RUN_TRANSITIONS, type TopicRunState } from './states.js';

export interface StepRunResult {
  name: string;
  kind: StepKind;
  ok: boolean;
  summary: string;
  durationMs: number;
  /** The Action record of a command or atomic step. */
  actionId: string | null;
  /** Spark records of a parallel group. */
  sparkIds: string[];
  /** Set when the step waited for its own approval. */
  approvalId: string | null;
}

export interface TopicRunResult {
  /** Pipeline topic id (slug). */
  topic: string;
  /** Logbook topic id. */
  topicId: string;
  title: string;
  status: TopicRunState;
  steps: StepRunResult[];
  approvalId: string | null;
  durationMs: number;
}

/** What a project gives its topics: where they run and what they are linked to. */
export interface ProjectScope {
  sessionId: string | null;
  project: string;
  cwd: string;
  /** Project env plus BITACORA_PROJECT / BITACORA_WORKSPACE. */
  env: Record<string, string>;
  signal: AbortSignal;
}

/** Why a topic stopped early, carried out of the step loop. */
type StepStop = { status: 'rejected' | 'expired'; approvalId: string } | null;

export class TopicExecutor {
  constructor(
    private readonly deps: EngineDeps,
    private readonly sparks: SparkPool,
    private readonly atomic: AtomicAction,
    private readonly gate: RiskGate,
  ) {}

  /** Records the pipeline's topics in the logbook (dependency order, so dependencies exist first). */
  async createTopics(pipeline: Pipeline): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const topic of topicOrder(pipeline)) {
      const record = await this.deps.logbook.topics.create(
        {
          project: pipeline.project.name,
          title: topic.title,
          description: topic.description || `pipeline topic '${topic.id}' (${pipeline.source})`,
          risk: topic.risk,
          dependsOn: topic.dependsOn.map((d) => ids.get(d)!),
        },
        this.deps.clock.now(),
      );
      ids.set(topic.id, record.id);
    }
    return ids;
  }

  /** Runs every topic serially; returns one result per topic in execution order. */
  async runTopics(pipeline: Pipeline, ids: Map<string, string>, scope: ProjectScope): Promise<TopicRunResult[]> {
    const results: TopicRunResult[] = [];
    let stopped = false;
    for (const topic of topicOrder(pipeline)) {
      const topicId = ids.get(topic.id)!;
      if (stopped) {
        results.push({ topic: topic.id, topicId, title: topic.title, status: 'skipped', steps: [], approvalId: null, durationMs: 0 });
        continue;
      }
      const result = await this.runTopic(topic, topicId, scope);
      results.push(result);
      stopped = result.status !== 'completed';
    }
    return results;
  }

  private async runTopic(topic: PipelineTopic, topicId: string, scope: ProjectScope): Promise<TopicRunResult> {
    const { topics } = this.deps.logbook;
    const state = new RunState<TopicRunState>('topic run', TOPIC_RUN_TRANSITIONS, 'pending');
    const t0 = this.deps.clock.now();
    const steps: StepRunResult[] = [];
    let approvalId: string | null = null;
    const setStatus = async (status: TopicStatus): Promise<void> => {
      await topics.setStatus(topicId, status, this.deps.clock.now());
    };
    const result = (): TopicRunResult => {
      const durationMs = Math.max(0, this.deps.clock.now() - t0);
      this.deps.emit({ type: 'topic.finished', project: scope.project, topic: topic.id, topicId, status: state.state, durationMs });
      return { topic: topic.id, topicId, title: topic.title, status: state.state, steps, approvalId, durationMs };
    };

    if (scope.signal.aborted) {
      state.to('cancelled');
      return result();
    }
    try {
      state.to('gating');
      const gate = await this.passGate(topic, topicId, scope, `topic '${topic.id}'`, topic.risk, async (approval) => {
        approvalId = approval.id;
        await setStatus('on-hold');
        state.to('awaiting-approval');
      });
      if (gate === 'cancelled') {
        state.to('cancelled');
        return result();
      }
      if (gate.decision === 'rejected') {
        await setStatus('cancelled');
        state.to('rejected');
        return result();
      }
      if (gate.decision === 'expired') {
        state.to('expired'); // the topic stays on-hold: running the pipeline again asks again
        return result();
      }

      state.to('running');
      await topics.activate(topicId, this.deps.clock.now());
      this.deps.emit({ type: 'topic.started', project: scope.project, topic: topic.id, topicId, title: topic.title, risk: topic.risk });
      let stop: StepStop = null;
      for (const step of topic.steps) {
        const outcome = await this.runStep(step, topic, topicId, scope);
        steps.push(outcome.result);
        stop = outcome.stop;
        if (!outcome.result.ok) break;
      }
      const allOk = steps.length === topic.steps.length && steps.every((s) => s.ok);
      if (allOk) {
        await setStatus('completed');
        const hours = Math.round(((this.deps.clock.now() - t0) / 3_600_000) * 1000) / 1000;
        await topics.update(topicId, { actualHours: hours }, this.deps.clock.now());
        state.to('completed');
      } else {
        // Rejection of a step's own approval cancels the topic like a topic-level rejection.
        await setStatus(stop?.status === 'rejected' ? 'cancelled' : 'on-hold');
        state.to(stop?.status ?? (scope.signal.aborted ? 'cancelled' : 'failed'));
      }
      return result();
    } catch (err) {
      // A store failure mid-topic: leave the topic resumable rather than stuck in progress.
      try {
        const current = await topics.get(topicId);
        if (current?.status === 'in-progress') await setStatus('on-hold');
      } catch {
        // The store is down; the original error is what matters.
      }
      throw err;
    }
  }

  /** The risk gate with progress events; 'cancelled' when aborted while waiting. */
  private async passGate(
    topic: PipelineTopic, topicId: string, scope: ProjectScope, subject: string, risk: PipelineTopic['risk'],
    onWaiting: (approval: Approval) => void | Promise<void>,
  ): Promise<GateResult | 'cancelled'> {
    try {
      const gate = await this.gate.pass({
        risk, topicId, project: scope.project, subject, signal: scope.signal,
        onWaiting: async (approval) => {
          await onWaiting(approval);
          this.deps.emit({
            type: 'approval.needed', project: scope.project, topic: topic.id, topicId, approvalId: approval.id,
            subject, reason: approval.reason, expiresAt: approval.expiresAt,
          });
        },
      });
      if (gate.decision !== 'continue') {
        this.deps.emit({
          type: 'approval.decided', project: scope.project, topic: topic.id, approvalId: gate.approval.id,
          state: gate.approval.state, by: gate.approval.decidedBy,
        });
      }
      return gate;
    } catch (err) {
      if (err instanceof CancelledError) return 'cancelled';
      throw err;
    }
  }

  private async runStep(
    step: PipelineStep, topic: PipelineTopic, topicId: string, scope: ProjectScope,
  ): Promise<{ result: StepRunResult; stop: StepStop }> {
    const t0 = this.deps.clock.now();
    const base = { name: step.name, kind: step.kind, actionId: null, sparkIds: [] as string[], approvalId: null as string | null };
    const finish = (ok: boolean, summary: string, extra: Partial<StepRunResult> = {}): StepRunResult => {
      const result: StepRunResult = { ...base, ok, summary, durationMs: Math.max(0, this.deps.clock.now() - t0), ...extra };
      this.deps.emit({
        type: 'step.finished', project: scope.project, topic: topic.id, step: step.name, kind: step.kind, ok, summary,
        durationMs: result.durationMs, actionId: result.actionId,
      });
      return result;
    };
    this.deps.emit({ type: 'step.started', project: scope.project, topic: topic.id, step: step.name, kind: step.kind });

    // A step riskier than its topic was not covered by the topic's gate: it gets its own.
    if (step.risk !== null && needsApproval(step.risk, this.gate.policy) && riskAbove(step.risk, topic.risk)) {
      const gate = await this.passGate(topic, topicId, scope, `step '${step.name}' of topic '${topic.id}'`, step.risk, (a) => {
        base.approvalId = a.id;
      });
      if (gate === 'cancelled') return { result: finish(false, 'cancelled while waiting for approval'), stop: null };
      if (gate.decision === 'rejected' || gate.decision === 'expired') {
        return { result: finish(false, `approval ${gate.decision}`), stop: { status: gate.decision, approvalId: gate.approval.id } };
      }
    }
    if (scope.signal.aborted) return { result: finish(false, 'not run: cancelled'), stop: null };
    if (step.kind !== 'sparks') {
      const missing = missingCapabilities(step.needs, this.deps.settings);
      if (missing.length > 0) return { result: finish(false, `not run: needs ${missing.join(', ')}`), stop: null };
    }

    const ctx: StepContext = {
      sessionId: scope.sessionId, project: scope.project, topic: { slug: topic.id, id: topicId }, step: step.name, cwd: scope.cwd,
      env: { ...scope.env, BITACORA_TOPIC: topic.id, BITACORA_STEP: step.name }, signal: scope.signal,
    };
    switch (step.kind) {
      case 'command': {
        const out = await runCommandStep(this.deps, step, ctx, topic.title);
        return { result: finish(out.ok, out.summary, { actionId: out.actionId }), stop: null };
      }
      case 'sparks': {
        const out = await this.sparks.runGroup(step.sparks, ctx, step.parallel);
        const sparkIds = out.sparks.map((s) => s.sparkId).filter((id): id is string => id !== null);
        return { result: finish(out.ok, out.summary, { sparkIds }), stop: null };
      }
      case 'action': {
        const out = await this.atomic.execute(step, ctx);
        return { result: finish(out.ok, out.summary, { actionId: out.actionId }), stop: null };
      }
    }
  }
}
