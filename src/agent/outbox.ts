/**
 * Outbox: what the agent owes the coordinator, kept until acknowledged. Output chunks are
 * gathered (handed on per flush, not per line) and held per attempt together with the
 * attempt's result; a result ack drops them, `voidTasks` drops them unsent. After a
 * reconnect everything held is sent again with its attempt number — the coordinator drops
 * duplicates by (task, attempt, seq) and fences superseded attempts. What it sends goes to a
 * ReportSink (the ReportBatcher, which puts one turn's reports into one `reports` frame).
 */
import type { LogStream, TaskLogChunk, TaskResult } from '../core/index.js';
import type { TaskRef } from '../rpc/messages.js';
import type { ReportSink } from './report-batcher.js';

/** Output held per attempt for resending; older chunks beyond this are sent once, not kept. */
const MAX_HELD_BYTES_PER_ATTEMPT = 1024 * 1024;
/** Output is handed on at the latest when this much is gathered (well under MAX_MESSAGE_BYTES). */
const MAX_BATCH_BYTES = 256 * 1024;
const MAX_BATCH_CHUNKS = 1000;

interface Held {
  ref: TaskRef;
  nextSeq: number;
  chunks: TaskLogChunk[];
  heldBytes: number;
  result: TaskResult | null;
  /** When the result was last sent; drives `resendStale`. */
  resultSentAt: number | null;
}

export class Outbox {
  private readonly held = new Map<string, Held>();
  private batch: TaskLogChunk[] = [];
  private batchBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private sink: ReportSink | null = null;

  constructor(private readonly options: { flushMs?: number; now: () => number }) {}

  /** Connected: reports go to `sink` from now on. Call `resendAll` right after. */
  attach(sink: ReportSink): void {
    this.sink = sink;
  }

  /** Disconnected: everything is held until the next attach. */
  detach(): void {
    this.sink = null;
    this.batch = [];
    this.batchBytes = 0;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  begin(ref: TaskRef, at: number): void {
    this.held.set(key(ref), { ref, nextSeq: 0, chunks: [], heldBytes: 0, result: null, resultSentAt: null });
    this.sink?.started({ taskId: ref.taskId, attempt: ref.attempt, at });
  }

  output(ref: TaskRef, stream: LogStream, data: string): void {
    const entry = this.held.get(key(ref));
    if (!entry || data.length === 0) return;
    for (let i = 0; i < data.length; i += MAX_BATCH_BYTES) {
      const piece = data.length <= MAX_BATCH_BYTES ? data : data.slice(i, i + MAX_BATCH_BYTES);
      const chunk: TaskLogChunk = { taskId: ref.taskId, attempt: ref.attempt, seq: entry.nextSeq++, stream, data: piece, at: this.options.now() };
      if (entry.heldBytes + piece.length <= MAX_HELD_BYTES_PER_ATTEMPT) {
        entry.chunks.push(chunk);
        entry.heldBytes += piece.length;
      }
      this.enqueue(chunk);
    }
  }

  /** The attempt ended: its output goes first, then the result; both held until acked. */
  finish(ref: TaskRef, result: TaskResult): void {
    const entry = this.held.get(key(ref));
    if (!entry) return;
    entry.result = result;
    this.flush();
    this.sendResult(entry);
  }

  /**
   * Re-sends results sent more than `olderThanMs` ago and still not acknowledged, with their
   * held output. A master that could not store a result (disk full) does not ack it; without
   * this the result would wait for the next reconnect. Duplicates are harmless: the master
   * records a result once and acks a repeat as not accepted, which drops it here.
   */
  resendStale(olderThanMs: number): number {
    if (!this.sink) return 0;
    const before = this.options.now() - olderThanMs;
    let resent = 0;
    for (const entry of this.held.values()) {
      if (entry.result === null || entry.resultSentAt === null || entry.resultSentAt > before) continue;
      for (const chunk of entry.chunks) this.enqueue(chunk);
      this.flush();
      this.sendResult(entry);
      resent++;
    }
    return resent;
  }

  private sendResult(entry: Held): void {
    if (!this.sink || entry.result === null) return;
    entry.resultSentAt = this.options.now();
    this.sink.finished({ taskId: entry.ref.taskId, attempt: entry.ref.attempt, result: entry.result });
  }

  ack(ref: TaskRef): void {
    const entry = this.held.get(key(ref));
    // Only a finished attempt's entry goes: an ack never arrives for a running one.
    if (entry && entry.result !== null) this.held.delete(key(ref));
  }

  /** Drops everything of these attempts, sent or not (void, self-fenced). */
  discard(refs: readonly TaskRef[]): void {
    for (const ref of refs) this.held.delete(key(ref));
    if (this.batch.length > 0) {
      const gone = new Set(refs.map(key));
      this.batch = this.batch.filter((c) => !gone.has(key(c)));
      this.batchBytes = this.batch.reduce((n, c) => n + c.data.length, 0);
    }
  }

  /** Attempts whose results are not yet acknowledged (reported in hello as still held). */
  unacknowledged(): TaskRef[] {
    const out: TaskRef[] = [];
    for (const entry of this.held.values()) if (entry.result !== null) out.push(entry.ref);
    return out;
  }

  get size(): number {
    return this.held.size;
  }

  /** After a welcome: every held chunk, then every held result, in attempt order. */
  resendAll(): void {
    if (!this.sink) return;
    for (const entry of this.held.values()) {
      for (const chunk of entry.chunks) this.enqueue(chunk);
      if (entry.result !== null) {
        this.flush();
        this.sendResult(entry);
      }
    }
    this.flush();
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.batch.length === 0) return;
    const chunks = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const sink = this.sink;
    if (sink) for (const chunk of chunks) sink.output(chunk);
  }

  private enqueue(chunk: TaskLogChunk): void {
    if (!this.sink) return; // held chunks go out with resendAll
    this.batch.push(chunk);
    this.batchBytes += chunk.data.length;
    if (this.batchBytes >= MAX_BATCH_BYTES || this.batch.length >= MAX_BATCH_CHUNKS) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), this.options.flushMs ?? 50);
      this.flushTimer.unref();
    }
  }
}

function key(ref: { taskId: string; attempt: number }): string {
  return `${ref.taskId}#${ref.attempt}`;
}
