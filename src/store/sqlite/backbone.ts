/**
 * SqliteBackbone — the embedded, asynchronous Backbone. Reads are answered at once by a
 * reader connection on this thread (WAL: they never wait for the writer); writes go to a
 * StoreWriter, which gathers the writes that arrive together into one transaction (group
 * commit) and resolves each once that commit is durable. In-process `watch` listeners get
 * committed events before the writes' promises resolve.
 */
import type { FleetEvent } from '../../core/index.js';
import type { Backbone, EventLog } from '../backbone.js';
import { READS, REPOSITORIES, WRITES, type RepositoryName } from './operations.js';
import type { SqliteStore } from './store.js';
import type { StoreWriter, WriterStats } from './writer/writer.js';
import { closedStoreError } from './writer/wire.js';

/** How often `events.wait` looks at the file for commits made by other processes. */
const CROSS_PROCESS_POLL_MS = 100;
const DEFAULT_WAIT_MS = 30_000;

type Repositories = Omit<Backbone, 'close' | 'events'>;

export class SqliteBackbone implements Backbone {
  readonly events: EventLog;
  readonly kv!: Backbone['kv'];
  readonly nodes!: Backbone['nodes'];
  readonly tasks!: Backbone['tasks'];
  readonly taskLogs!: Backbone['taskLogs'];
  readonly joinTokens!: Backbone['joinTokens'];
  readonly sessions!: Backbone['sessions'];
  readonly projects!: Backbone['projects'];
  readonly topics!: Backbone['topics'];
  readonly approvals!: Backbone['approvals'];
  readonly actions!: Backbone['actions'];
  readonly sparks!: Backbone['sparks'];
  /** The database file. */
  readonly file: string;
  private closing: Promise<void> | null = null;
  private readonly wakers = new Set<() => void>();
  private unwatchWakers: (() => void) | null = null;

  constructor(
    /** Answers reads; with a LocalWriter it is also the write connection. */
    private readonly reader: SqliteStore,
    private readonly writer: StoreWriter,
  ) {
    this.file = reader.file;
    for (const name of REPOSITORIES) {
      if (name === 'events') continue;
      (this as unknown as Record<string, unknown>)[name] = this.repository(name);
    }
    this.events = { ...(this.repository('events') as Pick<EventLog, 'append' | 'appendMany' | 'read' | 'latestSeq'>), watch: (after, listener) => this.reader.events.watch(after, listener), wait: (after, options) => this.wait(after, options) };
  }

  /** Reads (or, with `name = value`, sets) a pragma of the reader connection. Diagnostics and tests. */
  pragma(source: string): unknown {
    return this.reader.pragma(source);
  }

  /** The writer's counters: group commits (one fsync each) and writes, since open. */
  get writerStats(): WriterStats {
    return this.writer.stats;
  }

  /** Applied schema versions, ascending. */
  schemaVersions(): number[] {
    return this.reader.schemaVersions();
  }

  /** Events committed by the writer thread, for this process's watchers. */
  publish(events: FleetEvent[]): void {
    this.reader.events.publish(events);
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      try {
        await this.writer.close();
      } finally {
        this.unwatchWakers?.();
        for (const wake of this.wakers) wake();
        this.reader.close();
      }
    })());
  }

  private repository(name: RepositoryName): object {
    const sync = this.reader[name] as unknown as Record<string, (...args: unknown[]) => unknown>;
    const facade: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of READS[name] as readonly string[]) {
      facade[method] = (...args) => {
        if (this.closing) return Promise.reject(closedStoreError());
        try {
          return Promise.resolve(sync[method]!.apply(sync, args));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    }
    for (const method of WRITES[name] as readonly string[]) {
      facade[method] = (...args) => (this.closing ? Promise.reject(closedStoreError()) : this.writer.submit({ repository: name, method, args }));
    }
    return facade as unknown as Repositories[keyof Repositories];
  }

  private async wait(afterSeq: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_WAIT_MS);
    for (;;) {
      const latest = this.closing ? afterSeq : this.reader.events.latestSeq();
      const remaining = deadline - Date.now();
      if (latest > afterSeq || remaining <= 0 || options.signal?.aborted || this.closing) return latest;
      await this.nextCommitOr(Math.min(remaining, CROSS_PROCESS_POLL_MS), options.signal);
    }
  }

  /** Resolves on the next commit seen in this process, after `ms`, or on abort. */
  private nextCommitOr(ms: number, signal?: AbortSignal): Promise<void> {
    this.unwatchWakers ??= this.reader.events.watch(this.reader.events.latestSeq(), () => {
      for (const wake of [...this.wakers]) wake();
    });
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
