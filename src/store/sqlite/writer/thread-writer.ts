/**
 * ThreadWriter — the master's StoreWriter: a worker thread (`writer-thread.ts`) owns the
 * write connection and group-commits, so the event loop never waits on fsync; reads stay on
 * the caller's own connection.
 *
 * Flow: `submit` queues; the writes submitted in one synchronous run go to the thread in one
 * message (a microtask flush). The thread gathers everything that arrived while its previous
 * commit was in flight into the next transaction, then answers one outcome per write and the
 * events the commit produced. Here those events go to `onCommitted` first (the backbone
 * publishes them to in-process watchers), then each write's promise settles, in order.
 *
 * Failures: if the thread cannot open the file, or dies, every write not yet answered
 * rejects with StoreUnavailableError and later writes are refused with it. A write that was
 * in flight when the thread died may still have committed (its answer was lost); idempotency
 * keys make the retry safe. `close()` waits for every submitted write, then ends the thread.
 *
 * Loading the thread: from the build, `writer-thread.js` beside this file. From the .ts
 * sources (vitest) Node 20 cannot run TypeScript and a worker is outside vitest's transform,
 * so the thread starts with `ts-source-loader.mjs`, a loader hook that transpiles the same
 * sources on the fly: tests always run the current code, never a stale build.
 */
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError, ValidationError, type BitacoraError, type FleetEvent } from '../../../core/index.js';
import type { WriteOp } from '../operations.js';
import { valueFromWire, type FromWriterThread, type ToWriterThread, type WireOutcome, type WriterConnection, type WriterThreadInit } from './thread-protocol.js';
import { closedStoreError, errorFromWire } from './wire.js';
import type { CommittedListener, WriterStats, StoreWriter } from './writer.js';

export type { WriterConnection } from './thread-protocol.js';

export interface ThreadWriterOptions extends WriterThreadInit {
  /** Receives each group commit's events, in seq order, before that group's writes settle. */
  onCommitted: CommittedListener;
}


/**
 * starting → ready → closing → closed; starting | ready | closing → failed (the thread could
 * not start or died). Writes are accepted while starting and ready.
 */
export type ThreadWriterState = 'starting' | 'ready' | 'closing' | 'closed' | 'failed';

interface Pending {
  op: WriteOp;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class ThreadWriter implements StoreWriter {
  /** Resolves once the thread has opened its connection; rejects with StoreUnavailableError if it cannot. */
  readonly ready: Promise<void>;
  private currentState: ThreadWriterState = 'starting';
  private readonly worker: Worker;
  private readonly file: string;
  private readonly onCommitted: CommittedListener;
  /** Submitted, not yet posted to the thread. */
  private queue: Pending[] = [];
  /** Posted, awaiting their outcome, in submission order. */
  private inflight: Pending[] = [];
  private flushQueued = false;
  private failure: StoreUnavailableError | null = null;
  private closing: Promise<void> | null = null;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly counts: WriterStats = { commits: 0, ops: 0 };
  private writerConnection: WriterConnection | null = null;
  private settleReady: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  private stopped: (() => void) | null = null;
  private readonly exited: Promise<void>;

  constructor(options: ThreadWriterOptions) {
    this.file = options.file;
    this.onCommitted = options.onCommitted;
    this.ready = new Promise<void>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(() => {}); // observed through the writes too; awaiting `ready` is optional
    const init: WriterThreadInit = { file: options.file, durability: options.durability, busyTimeoutMs: options.busyTimeoutMs };
    const entry = writerThreadEntry();
    this.worker = new Worker(entry.url, { workerData: init, execArgv: entry.execArgv });
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: FromWriterThread) => this.receive(message));
    this.worker.on('error', (err) => this.fail('failed', err));
    this.worker.on('messageerror', (err) => this.fail('sent an unreadable message', err));
    this.worker.on('exit', (code) => {
      // Once asked to close, the thread ends by itself; any other exit is a crash.
      if (this.currentState !== 'closing' && this.currentState !== 'closed') this.fail(`exited unexpectedly (code ${code})`);
    });
  }

  get state(): ThreadWriterState {
    return this.currentState;
  }

  get stats(): WriterStats {
    return { ...this.counts };
  }

  /** The write connection's settings once ready (null before): what every commit runs with. */
  get connection(): WriterConnection | null {
    return this.writerConnection;
  }

  submit(op: WriteOp): Promise<unknown> {
    if (this.failure) return Promise.reject(this.unavailable());
    if (this.closing) return Promise.reject(closedStoreError());
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (this.flushQueued) return;
      this.flushQueued = true;
      this.worker.ref();
      queueMicrotask(() => this.flush());
    });
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    await this.drained();
    if (!this.failure) {
      this.currentState = 'closing';
      this.worker.ref();
      const stopped = new Promise<void>((resolve) => (this.stopped = resolve));
      this.post({ type: 'close' });
      await Promise.race([stopped, this.exited]);
    }
    this.currentState = 'closed';
    await this.worker.terminate();
  }

  /** Posts the writes queued in this synchronous run as one message. */
  private flush(): void {
    this.flushQueued = false;
    if (this.failure) return; // already rejected
    const batch = this.queue;
    this.queue = [];
    try {
      this.post({ type: 'write', ops: batch.map((p) => p.op) });
      for (const p of batch) this.inflight.push(p);
    } catch {
      // An argument that cannot cross the thread boundary: refuse that write alone.
      for (const p of batch) {
        try {
          this.post({ type: 'write', ops: [p.op] });
          this.inflight.push(p);
        } catch (err) {
          p.reject(new ValidationError(`${p.op.repository}.${p.op.method}: its arguments cannot be sent to the writer thread (${err instanceof Error ? err.message : String(err)})`, [], { cause: err }));
        }
      }
      this.afterSettled();
    }
  }

  private receive(message: FromWriterThread): void {
    switch (message.type) {
      case 'ready':
        this.writerConnection = message.connection;
        if (this.currentState === 'starting') this.currentState = 'ready';
        this.settleReady?.resolve();
        this.afterSettled();
        return;
      case 'startFailed':
        this.fail(`could not open ${this.file}`, errorFromWire(message.error));
        return;
      case 'committed':
        this.committed(message.outcomes, message.events);
        return;
      case 'closed':
        this.stopped?.();
        return;
    }
  }

  private committed(outcomes: WireOutcome[], events: FleetEvent[]): void {
    const group = this.inflight.splice(0, outcomes.length);
    this.counts.commits += 1;
    this.counts.ops += group.length;
    if (events.length > 0) {
      try {
        this.onCommitted(events);
      } catch (err) {
        // The writes are durable whatever a listener does: they still resolve.
        process.emitWarning(`a commit listener threw: ${err instanceof Error ? err.message : String(err)}`, 'BitacoraWriterWarning');
      }
    }
    group.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.errors ? valueFromWire(outcome.value) : outcome.value);
      else p.reject(errorFromWire(outcome.error));
    });
    this.afterSettled();
  }

  /** The thread is gone: nothing pending will be answered, nothing later accepted. */
  private fail(reason: string, cause?: unknown): void {
    if (this.failure || this.currentState === 'closed') return;
    this.failure = new StoreUnavailableError(`the writer thread of ${this.file} ${reason}`, { cause, details: { file: this.file } });
    this.currentState = 'failed';
    const pending = [...this.inflight, ...this.queue];
    this.inflight = [];
    this.queue = [];
    for (const p of pending) p.reject(this.unavailable());
    this.settleReady?.reject(this.failure);
    this.stopped?.();
    this.afterSettled();
    void this.worker.terminate();
  }

  private unavailable(): BitacoraError {
    const failure = this.failure!;
    return new StoreUnavailableError(failure.message, { cause: failure, details: failure.details });
  }

  private post(message: ToWriterThread): void {
    this.worker.postMessage(message);
  }

  private drained(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private idle(): boolean {
    return this.queue.length === 0 && this.inflight.length === 0 && !this.flushQueued;
  }

  /** When nothing is pending: wake `close()`, and stop holding the process open. */
  private afterSettled(): void {
    if (!this.idle()) return;
    for (const wake of this.drainWaiters.splice(0)) wake();
    if (this.currentState === 'ready') this.worker.unref();
  }
}

/** Where the writer thread's code is, from the build or from the .ts sources (see the file comment). */
function writerThreadEntry(): { url: URL; execArgv: string[] | undefined } {
  if (!import.meta.url.endsWith('.ts')) return { url: new URL('./writer-thread.js', import.meta.url), execArgv: undefined };
  const loader = new URL('./ts-source-loader.mjs', import.meta.url).href;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(loader)});`;
  return { url: new URL('./writer-thread.ts', import.meta.url), execArgv: ['--import', `data:text/javascript,${encodeURIComponent(register)}`] };
}
