/**
 * Results: what agents report about their attempts — started, output, finished, rejected.
 * Every report is fenced by attempt (the in-memory index answers the common case, the
 * store's fenced methods decide), recorded once, acknowledged (a turn's acks for a node go as
 * one `resultAcks` frame) so the agent can drop it from its resend buffer, and fed into the
 * learned duration estimates.
 */
import {
  ErrorCode, isBitacoraError, NotFoundError, StaleAttemptError, type TaskLogChunk, type TaskResult,
} from '../core/index.js';
import { updateEstimate, type DurationEstimate } from '../scheduler/index.js';
import type { ResultAck, TaskRef } from '../rpc/messages.js';
import type { ItemOutcome, KeyValueStore, TaskLogStore, TaskQueue, TaskReport } from '../store/backbone.js';
import { refKey } from './active-index.js';
import type { AgentStream } from './agent-streams.js';
import { Coalescer } from './coalescer.js';
import type { FleetState } from './fleet-state.js';
import type { ProtocolGuard } from './protocol-guard.js';
import type { DispatchTrigger, Runtime } from './runtime.js';
import { ProtocolViolationError } from './errors.js';

const ESTIMATES_PREFIX = 'estimates/';

/** Learned durations per node × estimate key; persisted in KV (`estimates/<nodeId>`) periodically. */
export class EstimateBook {
  private readonly book: Record<string, Record<string, DurationEstimate>> = {};
  private readonly dirty = new Set<string>();

  constructor(private readonly kv: KeyValueStore) {}

  async load(): Promise<void> {
    for (const entry of await this.kv.list<Record<string, DurationEstimate>>(ESTIMATES_PREFIX)) {
      this.book[entry.key.slice(ESTIMATES_PREFIX.length)] = { ...entry.value };
    }
  }

  record(nodeId: string, key: string, observedMs: number): void {
    const perNode = (this.book[nodeId] ??= {});
    perNode[key] = updateEstimate(perNode[key], observedMs);
    this.dirty.add(nodeId);
  }

  /** The live book (read-only for the scheduler; no copy on the dispatch hot path). */
  snapshot(): Record<string, Record<string, DurationEstimate>> {
    return this.book;
  }

  /** Writes changed nodes' estimates; quiet, since this is bookkeeping, not a fleet event. */
  async flush(): Promise<number> {
    const nodes = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(nodes.map((nodeId) => this.kv.put(ESTIMATES_PREFIX + nodeId, this.book[nodeId] ?? {}, { quiet: true })));
    } catch (err) {
      for (const nodeId of nodes) if (this.book[nodeId]) this.dirty.add(nodeId);
      throw err;
    }
    return nodes.length;
  }

  async forget(nodeId: string): Promise<void> {
    delete this.book[nodeId];
    this.dirty.delete(nodeId);
    await this.kv.delete(ESTIMATES_PREFIX + nodeId);
  }
}

export type LogListener = (chunk: TaskLogChunk) => void;

export interface ResultDeps {
  runtime: Runtime;
  state: Pick<FleetState, 'active' | 'refusals' | 'streams'>;
  tasks: TaskQueue;
  taskLogs: TaskLogStore;
  estimates: EstimateBook;
  dispatch: DispatchTrigger;
  /** Refusals that are the agent's fault (a report about a task that never existed). */
  guard: ProtocolGuard;
}

export class ResultHandler {
  private readonly logListeners = new Set<LogListener>();
  /** Reports of one event-loop turn become one store call (one group commit). */
  private readonly reports: Coalescer<TaskReport, ItemOutcome>;

  private readonly estimates: EstimateBook;

  constructor(private readonly deps: ResultDeps) {
    this.estimates = deps.estimates;
    this.reports = new Coalescer((items) => deps.tasks.recordReports(items, deps.runtime.clock.now()));
  }

  subscribeLogs(listener: LogListener): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  async started(session: AgentStream, nodeId: string, taskId: string, attempt: number): Promise<void> {
    if (this.deps.state.active.holder(taskId, attempt, nodeId)) {
      const outcome = await this.reports.push({ kind: 'started', taskId, attempt });
      if (outcome.ok) return;
      if (!(outcome.error instanceof StaleAttemptError)) throw outcome.error;
      if (this.deps.state.active.holder(taskId, attempt, nodeId)) this.deps.state.active.remove(taskId);
    } else if (!(await this.isKnown(session, taskId, 'taskStarted'))) {
      return;
    }
    await this.recordStale(session, taskId, attempt, 'taskStarted');
    // The agent runs an attempt that is no longer its: have it killed.
    this.deps.state.streams.send(nodeId, { type: 'voidTasks', tasks: [{ taskId, attempt }] });
  }

  async output(session: AgentStream, nodeId: string, chunks: TaskLogChunk[]): Promise<void> {
    const accepted: TaskLogChunk[] = [];
    const limit = this.deps.runtime.settings.maxOutputBytesPerAttempt;
    const fenced: Array<Promise<void>> = [];
    for (const chunk of chunks) {
      const entry = this.deps.state.active.holder(chunk.taskId, chunk.attempt, nodeId);
      if (!entry) {
        if (session.staleSeen.has(refKey(chunk.taskId, chunk.attempt))) continue;
        fenced.push(this.recordStaleIfKnown(session, chunk.taskId, chunk.attempt, 'taskOutput'));
        continue;
      }
      if (chunk.seq <= entry.lastSeq) continue; // re-sent after a reconnect
      entry.lastSeq = chunk.seq;
      if (entry.outputBytes >= limit) continue; // bounded per attempt; the agent's runner bounds too
      entry.outputBytes += chunk.data.length;
      accepted.push(chunk);
    }
    if (accepted.length > 0) {
      await this.deps.taskLogs.append(accepted);
      for (const listener of this.logListeners) {
        for (const chunk of accepted) {
          try {
            listener(chunk);
          } catch (err) {
            this.deps.runtime.log.warn(`log listener failed: ${(err as Error).message}`);
          }
        }
      }
    }
    await Promise.all(fenced);
  }

  async finished(session: AgentStream, nodeId: string, taskId: string, attempt: number, result: TaskResult): Promise<void> {
    const entry = this.deps.state.active.holder(taskId, attempt, nodeId);
    if (entry?.finishing) {
      // The same result re-sent while the first copy is being recorded: answered like any
      // duplicate once the first is (nothing to answer if it could not be: it is re-sent).
      if (await entry.finishing) this.ack(nodeId, { taskId, attempt }, false, 'attempt superseded or already recorded');
      return;
    }
    if (!entry) {
      // Not in the index: superseded, cancelled, already recorded — or unknown altogether.
      const known = await this.isKnown(session, taskId, 'taskFinished');
      if (known) await this.recordStale(session, taskId, attempt, 'taskFinished');
      this.ack(nodeId, { taskId, attempt }, false, known ? 'attempt superseded or already recorded' : 'unknown task');
      return;
    }
    let settle!: (recorded: boolean) => void;
    this.deps.state.active.markFinishing(entry, new Promise<boolean>((resolve) => (settle = resolve)));
    // The slot is free from now on: a pass placing the next task runs while this result commits.
    this.deps.dispatch.schedule();
    let outcome: ItemOutcome;
    try {
      outcome = await this.reports.push({ kind: 'finished', taskId, attempt, result });
    } catch (err) {
      this.deps.state.active.clearFinishing(entry);
      settle(false);
      // Store trouble: no ack, so the agent keeps the result and re-sends it after reconnect.
      this.deps.runtime.log.error(`cannot record result of ${taskId}#${attempt}: ${(err as Error).message}`);
      this.deps.state.streams.send(nodeId, { type: 'error', code: isBitacoraError(err) ? err.code : ErrorCode.Internal, message: `result of ${taskId} not recorded yet: ${(err as Error).message}`, fatal: false });
      return;
    }
    if (this.deps.state.active.get(taskId) === entry) this.deps.state.active.remove(taskId);
    settle(true);
    if (!outcome.ok) {
      await this.recordStale(session, taskId, attempt, 'taskFinished');
      this.ack(nodeId, { taskId, attempt }, false, outcome.error.message);
      return;
    }
    this.deps.state.refusals.forgetTask(taskId);
    this.ack(nodeId, { taskId, attempt }, true);
    if (result.error === null) this.estimates.record(nodeId, entry.estimateKey, result.durationMs);
    this.deps.dispatch.schedule();
  }

  async rejected(session: AgentStream, nodeId: string, taskId: string, attempt: number, reason: string): Promise<void> {
    if (!this.deps.state.active.holder(taskId, attempt, nodeId)) {
      await this.recordStaleIfKnown(session, taskId, attempt, 'taskRejected');
      return;
    }
    this.deps.state.active.remove(taskId);
    // A policy refusal (the node's serve allow-list) holds for every later attempt; a full node's does not.
    if (reason.startsWith(ErrorCode.Forbidden)) this.deps.state.refusals.note(taskId, nodeId);
    try {
      await this.deps.tasks.requeue(taskId, attempt, `node refused the task: ${reason}`, this.deps.runtime.clock.now());
    } catch (err) {
      if (!(err instanceof StaleAttemptError)) throw err;
    }
    this.deps.dispatch.schedule();
  }

  /**
   * Heartbeat claims: refs the agent says it runs that are not its current attempts are
   * fenced (recorded once per stream) and voided so the agent kills them.
   */
  async claims(session: AgentStream, nodeId: string, running: readonly TaskRef[]): Promise<void> {
    let stale: TaskRef[] | null = null;
    for (const ref of running) {
      if (this.deps.state.active.holder(ref.taskId, ref.attempt, nodeId)) continue;
      (stale ??= []).push(ref);
    }
    if (!stale) return;
    this.deps.state.streams.send(nodeId, { type: 'voidTasks', tasks: stale });
    for (const ref of stale) {
      if (session.staleSeen.has(refKey(ref.taskId, ref.attempt))) continue;
      if (await this.deps.tasks.get(ref.taskId)) await this.recordStale(session, ref.taskId, ref.attempt, 'heartbeat claim');
    }
  }

  /**
   * Acks gathered per node until the end of the current microtask run: the results of one
   * recorded batch all resolve together, so a burst of results is answered by one frame.
   */
  private acks = new Map<string, ResultAck[]>();

  /** Refs a node named (leaving, rejections) that are not its current attempts: recorded as stale, or refused as unknown. */
  async notHeld(session: AgentStream, refs: readonly TaskRef[], what: string): Promise<void> {
    for (const ref of refs) await this.recordStaleIfKnown(session, ref.taskId, ref.attempt, what);
  }

  private ack(nodeId: string, ref: TaskRef, accepted: boolean, reason?: string): void {
    if (this.acks.size === 0) queueMicrotask(() => this.flushAcks());
    let pending = this.acks.get(nodeId);
    if (!pending) this.acks.set(nodeId, (pending = []));
    pending.push({ taskId: ref.taskId, attempt: ref.attempt, accepted, ...(reason ? { reason } : {}) });
  }

  private flushAcks(): void {
    const acks = this.acks;
    this.acks = new Map();
    for (const [nodeId, list] of acks) this.deps.state.streams.send(nodeId, { type: 'resultAcks', acks: list });
  }

  private async recordStaleIfKnown(session: AgentStream, taskId: string, attempt: number, what: string): Promise<void> {
    if (await this.isKnown(session, taskId, what)) await this.recordStale(session, taskId, attempt, what);
  }

  /** Records a stale report (a superseded attempt) once per (stream, task, attempt). */
  private async recordStale(session: AgentStream, taskId: string, attempt: number, what: string): Promise<void> {
    const key = refKey(taskId, attempt);
    if (session.staleSeen.has(key)) return;
    session.staleSeen.add(key);
    try {
      await this.deps.tasks.recordFenced(taskId, attempt, what, this.deps.runtime.clock.now());
    } catch (err) {
      if (!(err instanceof NotFoundError)) this.deps.runtime.log.warn(`cannot record fenced ${what}: ${(err as Error).message}`);
    }
  }

  /** False (and a recorded violation) when the store has never heard of the task. */
  private async isKnown(session: AgentStream, taskId: string, what: string): Promise<boolean> {
    if (await this.deps.tasks.get(taskId)) return true;
    this.deps.guard.refuse(session, new ProtocolViolationError(`${what} for unknown task ${taskId}`, { details: { taskId } }), false);
    return false;
  }
}
