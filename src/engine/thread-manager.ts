/**
 * ThreadManager — the local four-level engine. L1: projects run in parallel, each in its
 * own workspace and environment with its own AbortSignal; one project's failure or cancel
 * never touches another. Inside a project: L2 topics (TopicExecutor), whose steps are plain
 * commands, L0 spark groups (one SparkPool shared by all projects) and L3 atomic actions.
 * No direct I/O: the runner, workspaces, clock and logbook are passed in.
 */
import { ConflictError, toBitacoraError, type Project } from '../core/index.js';
import type { Pipeline } from '../core/pipeline/index.js';
import { ApprovalWaiter, DEFAULT_RISK_POLICY, RiskGate, type RiskPolicy } from './approval.js';
import { AtomicAction } from './atomic-action.js';
import type { EngineDeps, EngineLogbook, EngineSettings } from './context.js';
import type { Clock, CommandRunner, OwnerMarker, WorkspaceProvider } from './ports.js';
import { progressEmitter, type ProgressListener } from './progress.js';
import { recoverInDoubtActions, type RecoveredAction } from './recovery.js';
import { SparkPool } from './spark-pool.js';
import { PROJECT_RUN_TRANSITIONS, RunState, type ProjectRunState } from './states.js';
import { TopicExecutor, type TopicRunResult } from './topic-executor.js';

export interface ThreadManagerOptions {
  runner: CommandRunner;
  workspaces: WorkspaceProvider;
  clock: Clock;
  logbook: EngineLogbook;
  /** Sparks running at once across all projects. Default 4. */
  sparkConcurrency?: number;
  /** Timeout of commands that declare none. Default 1 h; null = none. */
  defaultTimeoutMs?: number | null;
  /** SIGTERM→SIGKILL grace for timed-out and cancelled commands. Default: the runner's (2 s). */
  killGraceMs?: number;
  /** Output kept per command. Default: the runner's (1 MiB). */
  outputLimitBytes?: number;
  /** This node's capabilities; steps needing others fail without running. Default: not checked. */
  capabilities?: readonly string[];
  /** Medium-risk topics wait for approval too. Default false. */
  consultOnMedium?: boolean;
  /** Lifetime of an approval request. Default 1 h. */
  approvalTtlMs?: number;
  /** Approve risky topics immediately (recorded as 'auto-approve'). Default false. */
  autoApprove?: boolean;
  /** How often a waiting topic re-reads its approval. Default 500 ms. */
  approvalPollMs?: number;
  /** Attempts of a rollback command. Default 3. */
  rollbackAttempts?: number;
  /** User recorded on sessions this engine starts. Default 'local'. */
  user?: string;
  /**
   * Marker every command of this engine carries — one per logbook, so that the next engine on
   * the same logbook can kill what a crashed one left running (`killLeftovers`) before it
   * recovers in-doubt actions. Default: none (no marker, `killLeftovers` does nothing).
   */
  owner?: OwnerMarker;
  onProgress?: ProgressListener;
}

export interface ProjectRunRequest {
  pipeline: Pipeline;
  /** Cancels this project only. */
  signal?: AbortSignal;
}

export interface ProjectRunResult {
  project: string;
  status: ProjectRunState;
  /** Why it did not complete, for humans; null when completed. */
  error: string | null;
  workspace: string | null;
  topics: TopicRunResult[];
  durationMs: number;
}

export interface PipelineRunResult {
  /** The session the run was recorded in. */
  sessionId: string;
  /** True when every project completed. */
  ok: boolean;
  projects: ProjectRunResult[];
}

export interface RunPipelinesOptions {
  /** Record in this session; default: the current active session, else a new one (ended afterwards). */
  sessionId?: string;
  /** Cancels every project. */
  signal?: AbortSignal;
}

export class ThreadManager {
  private readonly deps: EngineDeps;
  private readonly sparkPool: SparkPool;
  private readonly topicExecutor: TopicExecutor;
  private readonly policy: RiskPolicy;

  constructor(private readonly options: ThreadManagerOptions) {
    const settings: EngineSettings = {
      defaultTimeoutMs: options.defaultTimeoutMs === undefined ? 3_600_000 : options.defaultTimeoutMs,
      killGraceMs: options.killGraceMs,
      outputLimitBytes: options.outputLimitBytes,
      capabilities: options.capabilities ?? null,
      outputTailChars: 4000,
      ...(options.owner !== undefined ? { owner: options.owner } : {}),
    };
    this.deps = {
      runner: options.runner, clock: options.clock, logbook: options.logbook, settings,
      emit: progressEmitter(options.onProgress, () => options.clock.now()),
    };
    this.policy = {
      consultOnMedium: options.consultOnMedium ?? DEFAULT_RISK_POLICY.consultOnMedium,
      approvalTtlMs: options.approvalTtlMs ?? DEFAULT_RISK_POLICY.approvalTtlMs,
      autoApprove: options.autoApprove ?? DEFAULT_RISK_POLICY.autoApprove,
    };
    const waiter = new ApprovalWaiter({
      approvals: options.logbook.approvals, clock: options.clock, pollIntervalMs: options.approvalPollMs,
      ...(options.logbook.events ? { events: options.logbook.events } : {}),
    });
    const gate = new RiskGate({ approvals: options.logbook.approvals, clock: options.clock, waiter }, this.policy);
    this.sparkPool = new SparkPool(this.deps, options.sparkConcurrency ?? 4);
    const atomic = new AtomicAction(this.deps, { rollbackAttempts: options.rollbackAttempts });
    this.topicExecutor = new TopicExecutor(this.deps, this.sparkPool, atomic, gate);
  }

  /**
   * Kills every process carrying this engine's `owner` marker, through the runner; resolves
   * with how many were found (0 without an owner or a runner that cannot). Every such process
   * is a leftover of a crashed earlier engine on the same logbook only when no other engine
   * works on it: call it under the same condition as `recoverInDoubtActions`, right before it.
   * Without it, a crashed prepare or commit still running could act after the recovery
   * decided otherwise (e.g. stage its change after the rollback).
   */
  async killLeftovers(): Promise<number> {
    const { owner, runner } = this.options;
    if (owner === undefined || runner.killOwned === undefined) return 0;
    return runner.killOwned(owner);
  }

  /**
   * Resolves actions a crash left in doubt (see recovery.ts). Call once on start, before
   * running pipelines, when no other engine works on the same logbook — after
   * `killLeftovers`, so that no command of the crashed engine still runs.
   */
  recoverInDoubtActions(): Promise<RecoveredAction[]> {
    return recoverInDoubtActions(this.deps, { rollbackAttempts: this.options.rollbackAttempts });
  }

  /**
   * Runs several projects in parallel and resolves when all are done. Never rejects for a
   * failing project — look at each result; rejects only for a bad request (the same project
   * or workspace twice: ConflictError) before anything ran.
   */
  async runPipelines(runs: readonly ProjectRunRequest[], options: RunPipelinesOptions = {}): Promise<PipelineRunResult> {
    assertDistinct(runs.map((r) => r.pipeline.project.name), 'project');
    assertDistinct(runs.map((r) => r.pipeline.project.workspace), 'workspace');
    const { sessionId, started } = await this.resolveSession(runs.map((r) => r.pipeline), options.sessionId);
    try {
      const projects = await Promise.all(
        runs.map((run) => {
          const signals = [run.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
          return this.runProject(run.pipeline, { sessionId, signal: signals.length > 0 ? AbortSignal.any(signals) : undefined });
        }),
      );
      return { sessionId, ok: projects.every((p) => p.status === 'completed'), projects };
    } finally {
      if (started) await this.options.logbook.sessions.end(sessionId, this.options.clock.now());
    }
  }

  /** Runs one project's pipeline. Never rejects: failures, cancels and store errors are in the result. */
  async runProject(pipeline: Pipeline, options: { sessionId: string | null; signal?: AbortSignal }): Promise<ProjectRunResult> {
    const name = pipeline.project.name;
    const signal = options.signal ?? new AbortController().signal;
    const state = new RunState<ProjectRunState>('project run', PROJECT_RUN_TRANSITIONS, 'pending');
    const t0 = this.options.clock.now();
    let workspace: string | null = null;
    let topics: TopicRunResult[] = [];
    let error: string | null = null;
    try {
      if (signal.aborted) {
        state.to('cancelled');
      } else {
        state.to('running');
        await this.ensureProject(pipeline);
        workspace = await this.options.workspaces.ensure(pipeline.project.workspace);
        this.deps.emit({ type: 'project.started', project: name, workspace, topics: pipeline.topics.length });
        const ids = await this.topicExecutor.createTopics(pipeline);
        const env = { ...pipeline.project.env, BITACORA_PROJECT: name, BITACORA_WORKSPACE: workspace };
        topics = await this.topicExecutor.runTopics(pipeline, ids, { sessionId: options.sessionId, project: name, cwd: workspace, env, signal });
        const blocking = topics.find((t) => t.status !== 'completed' && t.status !== 'skipped');
        if (!blocking) state.to('completed');
        else if (blocking.status === 'rejected' || blocking.status === 'expired') {
          state.to('stopped');
          error = `topic '${blocking.topic}': approval ${blocking.status}`;
        } else if (blocking.status === 'cancelled' || signal.aborted) {
          state.to('cancelled');
          error = 'cancelled';
        } else {
          state.to('failed');
          const step = blocking.steps.find((s) => !s.ok);
          error = `topic '${blocking.topic}'${step ? `, step '${step.name}': ${step.summary}` : ' failed'}`;
        }
      }
    } catch (err) {
      const e = toBitacoraError(err);
      error = `${e.code}: ${e.message}`;
      state.to(signal.aborted ? 'cancelled' : 'failed');
    }
    await this.settleProjectStatus(name, state.state);
    const durationMs = Math.max(0, this.options.clock.now() - t0);
    this.deps.emit({ type: 'project.finished', project: name, status: state.state, error, durationMs });
    return { project: name, status: state.state, error, workspace, topics, durationMs };
  }

  /** The project record: created on first run, made active; a different workspace is refused. */
  private async ensureProject(pipeline: Pipeline): Promise<Project> {
    const { projects } = this.options.logbook;
    const now = this.options.clock.now();
    const p = pipeline.project;
    const existing = await projects.get(p.name);
    if (!existing) return projects.create({ name: p.name, description: p.description, workspace: p.workspace, status: 'active' }, now);
    if (existing.workspace !== p.workspace) {
      throw new ConflictError(
        `project '${p.name}' already uses workspace '${existing.workspace}', but the pipeline asks for '${p.workspace}'; set project.workspace to '${existing.workspace}' or use another project name`,
        { retryable: false, details: { project: p.name, workspace: existing.workspace, requested: p.workspace } },
      );
    }
    return existing.status === 'active' ? existing : projects.update(p.name, { status: 'active' }, now);
  }

  /** Completed → project completed; anything else → on-hold (needs attention). Best effort. */
  private async settleProjectStatus(name: string, state: ProjectRunState): Promise<void> {
    try {
      const project = await this.options.logbook.projects.get(name);
      if (!project || project.status !== 'active') return;
      await this.options.logbook.projects.update(name, { status: state === 'completed' ? 'completed' : 'on-hold' }, this.options.clock.now());
    } catch {
      // The run's outcome is already in the result; a status write failing must not hide it.
    }
  }

  private async resolveSession(pipelines: readonly Pipeline[], requested: string | undefined): Promise<{ sessionId: string; started: boolean }> {
    const { sessions } = this.options.logbook;
    if (requested !== undefined) return { sessionId: requested, started: false };
    const current = await sessions.current();
    if (current && current.status === 'active') return { sessionId: current.id, started: false };
    const first = pipelines[0];
    const session = await sessions.start(
      {
        user: first?.session?.user ?? this.options.user ?? 'local',
        project: pipelines.length === 1 && first ? first.project.name : null,
        description: first?.session?.description || `pipeline run: ${pipelines.map((p) => p.project.name).join(', ')}`,
        strategy: first?.strategy ?? 'MasterSlave',
      },
      this.options.clock.now(),
    );
    return { sessionId: session.id, started: true };
  }
}

function assertDistinct(values: string[], what: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new ConflictError(`the ${what} '${v}' appears twice in one run; projects are isolated and need their own`, { retryable: false });
    seen.add(v);
  }
}
