/**
 * The writer thread (a worker_threads entry, started by ThreadWriter): it owns the embedded
 * store's write connection. Every write that arrives while a commit is in flight waits in the
 * queue and goes into the next group commit — one transaction, one fsync — so the longer a
 * commit takes, the more the next one gathers. The main thread never waits on the fsync.
 *
 * Fault injection, for the fault tests only: `BITACORA_WRITER_FAULT=kill@N` SIGKILLs the whole
 * process, and `exit@N` ends this thread, in the group commit that holds write #N (0-based,
 * counted from this thread's start) after the group's statements ran and before its COMMIT.
 * Before a kill the thread prints `bitacora writer fault: … writes #first..#last` on stderr.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toBitacoraError, type FleetEvent } from '../../../core/index.js';
import type { WriteOp } from '../operations.js';
import { SqliteStore } from '../store.js';
import { commitGroup, type WriteOutcome } from './group-commit.js';
import { valueToWire, type FromWriterThread, type ToWriterThread, type WireOutcome, type WriterThreadInit } from './thread-protocol.js';
import { errorToWire } from './wire.js';

interface Fault {
  action: 'kill' | 'exit';
  at: number;
}

/** The writes of the group being committed, by their 0-based number since start. */
interface GroupSpan {
  first: number;
  last: number;
}

if (!parentPort) throw new Error('writer-thread runs as the worker thread of ThreadWriter, not on its own');
serve(parentPort, workerData as WriterThreadInit, faultFrom(process.env.BITACORA_WRITER_FAULT));

function serve(port: MessagePort, init: WriterThreadInit, fault: Fault | null): void {
  const send = (message: FromWriterThread): void => port.postMessage(message);
  let store: SqliteStore;
  try {
    // The main thread's reader has already migrated the file: this finds nothing to do.
    store = new SqliteStore({ file: init.file, durability: init.durability, busyTimeoutMs: init.busyTimeoutMs });
  } catch (err) {
    send({ type: 'startFailed', error: errorToWire(toBitacoraError(err)) });
    port.close();
    return;
  }

  // Only commits made on this connection are delivered live: exactly this thread's events.
  const committed: FleetEvent[] = [];
  store.events.watch(store.events.latestSeq(), (event) => committed.push(event));

  let queue: WriteOp[] = [];
  let scheduled = false;
  let closing = false;
  let done = 0;
  let span: GroupSpan = { first: 0, last: -1 };
  if (fault) injectBeforeCommit(store, fault, () => span);

  const flush = (): void => {
    scheduled = false;
    const ops = queue;
    queue = [];
    if (ops.length > 0) {
      span = { first: done, last: done + ops.length - 1 };
      done += ops.length;
      const outcomes = commitGroup(store, ops);
      sendCommitted(port, outcomes.map(toWire), committed.splice(0));
    }
    if (closing && queue.length === 0) {
      store.close();
      send({ type: 'closed' });
      port.close();
    }
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    // After the messages already waiting on the port: they all join this group.
    setImmediate(flush);
  };

  port.on('message', (message: ToWriterThread) => {
    if (message.type === 'write') {
      for (const op of message.ops) queue.push(op);
    } else {
      closing = true;
    }
    schedule();
  });
  const connection = { synchronous: Number(store.pragma('synchronous')), journalMode: String(store.pragma('journal_mode')), busyTimeoutMs: Number(store.pragma('busy_timeout')) };
  send({ type: 'ready', connection });
}

function toWire(outcome: WriteOutcome): WireOutcome {
  if (!outcome.ok) return { ok: false, error: errorToWire(outcome.error) };
  const { value, errors } = valueToWire(outcome.value);
  return { ok: true, value, errors };
}

/**
 * Results are plain data by construction; should one not survive a structured clone, it is
 * sent as its JSON form rather than losing the answer to a write that has committed.
 */
function sendCommitted(port: MessagePort, outcomes: WireOutcome[], events: FleetEvent[]): void {
  try {
    port.postMessage({ type: 'committed', outcomes, events } satisfies FromWriterThread);
  } catch {
    const plain = outcomes.map((o): WireOutcome => (o.ok && o.value !== undefined ? { ...o, value: JSON.parse(JSON.stringify(o.value)) as unknown } : o));
    port.postMessage({ type: 'committed', outcomes: plain, events: JSON.parse(JSON.stringify(events)) as FleetEvent[] } satisfies FromWriterThread);
  }
}

function faultFrom(spec: string | undefined): Fault | null {
  const match = /^(kill|exit)@(\d+)$/.exec(spec ?? '');
  return match ? { action: match[1] as Fault['action'], at: Number(match[2]) } : null;
}

/** Wraps the group's transaction so the fault strikes once its statements ran, before COMMIT. */
function injectBeforeCommit(store: SqliteStore, fault: Fault, current: () => GroupSpan): void {
  const transaction = store.transaction.bind(store);
  store.transaction = <T>(entity: string, fn: () => T): T => {
    if (store.db.raw.inTransaction) return transaction(entity, fn); // one write's savepoint
    return transaction(entity, () => {
      const result = fn();
      const { first, last } = current();
      if (fault.at >= first && fault.at <= last) {
        writeSync(2, `bitacora writer fault: ${fault.action} before COMMIT of writes #${first}..#${last}\n`);
        if (fault.action === 'kill') process.kill(process.pid, 'SIGKILL');
        process.exit(70); // in a worker: ends this thread only
      }
      return result;
    });
  };
}
