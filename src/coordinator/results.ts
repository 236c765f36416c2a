/**
 * Results: what agents report about their attempts — started, output, finished, rejected.
 * Every report is fenced by attempt (the in-memory index answers the common case, the
 * store's fenced methods decide), recorded once, acknowledged (`resultAck`) so the agent can
 * drop it from its resend buffer, and fed into the learned duration estimates.
 */
import {
  ErrorCode, isBitacoraError, NotFoundError, StaleAttemptError, type TaskLogChunk, type TaskResult,
} from '../core/index.js';
import { updateEstimate, type DurationEstimate } from '../scheduler/index.js';
import type { TaskRef } from '../rpc/messages.js';
import type { KeyValueStore } from '../store/backbone.js';
import { refKey, type AgentSession, type CoordinatorContext } from './context.js';
import { ProtocolViolationError } from './errors.js';

const ESTIMATES_PREFIX = 'estimates/';

/** Learned durations per node × estimate key; persisted in KV (`estimates/<nodeId>`) periodically. */
export class EstimateBook {
  private readonly book: Record<string, Record<string, DurationEstimate>> = {};
  private readonly dirty = new Set<string>();

  constructor(private readonly kv: KeyValueStore) {}

  load(): void {
    for (const entry of this.kv.list<Record<string, DurationEstimate>>(ESTIMATES_PREFIX)) {
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
  flush(): number {
    let n = 0;
    for (const nodeId of this.dirty) {
      this.kv.put(ESTIMATES_PREFIX + nodeId, this.book[nodeId] ?? {}, { quiet: true });
      n++;
    }
    this.dirty.clear();
    return n;
  }

  forget(nodeId: string): void {
    delete this.book[nodeId];
    this.dirty.delete(nodeId);
    this.kv.delete(ESTIMATES_PREFIX + nodeId);
  }
}

export type LogListener = (chunk: TaskLogChunk) => void;

export class ResultHandler {
  private readonly logListeners = new Set<LogListener>();

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly estimates: EstimateBook,
    /** Refusals that are the agent's fault (unknown task): recorded as protocol violations. */
    private readonly violation: (session: AgentSession, error: ProtocolViolationError) => void,
  ) {}

  subscribeLogs(listener: LogListener): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  started(session: AgentSession, nodeId: string, taskId: string, attempt: number): void {
    if (this.ctx.active.holder(taskId, attempt, nodeId)) {
      try {
        this.ctx.backbone.tasks.markRunning(taskId, attempt, this.ctx.clock.now());
        return;
      } catch (err) {
        if (!(err instanceof StaleAttemptError)) throw err;
        this.ctx.active.remove(taskId);
      }
    } else if (!this.isKnown(session, taskId, 'taskStarted')) {
      return;
    }
    this.fence(session, taskId, attempt, 'taskStarted');
    // The agent runs an attempt that is no longer its: have it killed.
    this.ctx.sendTo(nodeId, { type: 'voidTasks', tasks: [{ taskId, attempt }] });
  }

  output(session: AgentSession, nodeId: string, chunks: TaskLogChunk[]): void {
    const accepted: TaskLogChunk[] = [];
    const limit = this.ctx.settings.maxOutputBytesPerAttempt;
    for (const chunk of chunks) {
      const entry = this.ctx.active.holder(chunk.taskId, chunk.attempt, nodeId);
      if (!entry) {
        if (session.fencedSeen.has(refKey(chunk.taskId, chunk.attempt))) continue;
        if (this.isKnown(session, chunk.taskId, 'taskOutput')) this.fence(session, chunk.taskId, chunk.attempt, 'taskOutput');
        continue;
      }
      if (chunk.seq <= entry.lastSeq) continue; // re-sent after a reconnect
      entry.lastSeq = chunk.seq;
      if (entry.outputBytes >= limit) continue; // bounded per attempt; the agent's runner bounds too
      entry.outputBytes += chunk.data.length;
      accepted.push(chunk);
    }
    if (accepted.length === 0) return;
    this.ctx.backbone.taskLogs.append(accepted);
    for (const listener of this.logListeners) {
      for (const chunk of accepted) {
        try {
          listener(chunk);
        } catch (err) {
          this.ctx.log.warn(`log listener failed: ${(err as Error).message}`);
        }
      }
    }
  }

  finished(session: AgentSession, nodeId: string, taskId: string, attempt: number, result: TaskResult): void {
    const entry = this.ctx.active.holder(taskId, attempt, nodeId);
    if (!entry) {
      // Not in the index: superseded, cancelled, already recorded — or unknown altogether.
      const known = this.isKnown(session, taskId, 'taskFinished');
      if (known) this.fence(session, taskId, attempt, 'taskFinished');
      this.ack(nodeId, { taskId, attempt }, false, known ? 'attempt superseded or already recorded' : 'unknown task');
      return;
    }
    try {
      this.ctx.backbone.tasks.complete(taskId, attempt, result, this.ctx.clock.now());
    } catch (err) {
      if (err instanceof StaleAttemptError) {
        this.ctx.active.remove(taskId);
        this.fence(session, taskId, attempt, 'taskFinished');
        this.ack(nodeId, { taskId, attempt }, false, err.message);
        return;
      }
      // Store trouble: no ack, so the agent keeps the result and re-sends it after reconnect.
      this.ctx.log.error(`cannot record result of ${taskId}#${attempt}: ${(err as Error).message}`);
      this.ctx.sendTo(nodeId, { type: 'error', code: isBitacoraError(err) ? err.code : ErrorCode.Internal, message: `result of ${taskId} not recorded yet: ${(err as Error).message}`, fatal: false });
      return;
    }
    this.ctx.active.remove(taskId);
    this.ctx.refusals.forgetTask(taskId);
    this.ack(nodeId, { taskId, attempt }, true);
    if (result.error === null) this.estimates.record(nodeId, entry.estimateKey, result.durationMs);
    this.ctx.scheduleDispatch();
  }

  rejected(session: AgentSession, nodeId: string, taskId: string, attempt: number, reason: string): void {
    if (!this.ctx.active.holder(taskId, attempt, nodeId)) {
      if (this.isKnown(session, taskId, 'taskRejected')) this.fence(session, taskId, attempt, 'taskRejected');
      return;
    }
    this.ctx.active.remove(taskId);
    // A policy refusal (the node's serve allow-list) holds for every later attempt; a full node's does not.
    if (reason.startsWith(ErrorCode.Forbidden)) this.ctx.refusals.note(taskId, nodeId);
    try {
      this.ctx.backbone.tasks.requeue(taskId, attempt, `node refused the task: ${reason}`, this.ctx.clock.now());
    } catch (err) {
      if (!(err instanceof StaleAttemptError)) throw err;
    }
    this.ctx.scheduleDispatch();
  }

  /**
   * Heartbeat claims: refs the agent says it runs that are not its current attempts are
   * fenced (recorded once per stream) and voided so the agent kills them.
   */
  claims(session: AgentSession, nodeId: string, running: readonly TaskRef[]): void {
    let stale: TaskRef[] | null = null;
    for (const ref of running) {
      if (this.ctx.active.holder(ref.taskId, ref.attempt, nodeId)) continue;
      (stale ??= []).push(ref);
      if (this.ctx.backbone.tasks.get(ref.taskId)) this.fence(session, ref.taskId, ref.attempt, 'heartbeat claim');
    }
    if (stale) this.ctx.sendTo(nodeId, { type: 'voidTasks', tasks: stale });
  }

  private ack(nodeId: string, ref: TaskRef, accepted: boolean, reason?: string): void {
    this.ctx.sendTo(nodeId, { type: 'resultAck', taskId: ref.taskId, attempt: ref.attempt, accepted, ...(reason ? { reason } : {}) });
  }

  /** Records a fenced report once per (stream, task, attempt). */
  private fence(session: AgentSession, taskId: string, attempt: number, what: string): void {
    const key = refKey(taskId, attempt);
    if (session.fencedSeen.has(key)) return;
    session.fencedSeen.add(key);
    try {
      this.ctx.backbone.tasks.recordFenced(taskId, attempt, what, this.ctx.clock.now());
    } catch (err) {
      if (!(err instanceof NotFoundError)) this.ctx.log.warn(`cannot record fenced ${what}: ${(err as Error).message}`);
    }
  }

  /** False (and a recorded violation) when the store has never heard of the task. */
  private isKnown(session: AgentSession, taskId: string, what: string): boolean {
    if (this.ctx.backbone.tasks.get(taskId)) return true;
    this.violation(session, new ProtocolViolationError(`${what} for unknown task ${taskId}`, { details: { taskId } }));
    return false;
  }
}
