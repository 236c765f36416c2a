/**
 * What ThreadWriter (main thread) and its writer thread say to each other. Everything is
 * structured-cloneable data; a BitacoraError inside a write's result (a batch verb's refused
 * item) would lose its class and code in a structured clone, so it travels as a WireError
 * and is rebuilt on the main thread.
 */
import { BitacoraError, toBitacoraError, type FleetEvent } from '../../../core/index.js';
import type { WriteOp } from '../operations.js';
import type { SqliteStoreOptions } from '../store.js';
import { errorFromWire, errorToWire, type WireError } from './wire.js';

/** What the writer thread needs to open its own connection (the `workerData`). */
export type WriterThreadInit = Pick<SqliteStoreOptions, 'file' | 'durability' | 'busyTimeoutMs'>;

export type ToWriterThread =
  /** Writes in submission order, appended to the thread's queue. */
  | { type: 'write'; ops: WriteOp[] }
  /** Sent once every write has been answered: close the connection and answer 'closed'. */
  | { type: 'close' };

/** `errors`: the value holds encoded errors and must go through `valueFromWire`. */
export type WireOutcome = { ok: true; value: unknown; errors: boolean } | { ok: false; error: WireError };

/** The writer connection's settings, as SQLite reports them (diagnostics and tests). */
export interface WriterConnection {
  /** 2 = FULL, 1 = NORMAL. */
  synchronous: number;
  journalMode: string;
  busyTimeoutMs: number;
}

export type FromWriterThread =
  | { type: 'ready'; connection: WriterConnection }
  | { type: 'startFailed'; error: WireError }
  /** One group commit: one outcome per write of the group, in order, and the events it committed. */
  | { type: 'committed'; outcomes: WireOutcome[]; events: FleetEvent[] }
  | { type: 'closed' };

const ERROR_TAG = '__bitacoraWireError';

/** Encodes the errors inside a write's result; `errors` is false (and `value` untouched) when there are none. */
export function valueToWire(value: unknown): { value: unknown; errors: boolean } {
  if (!holdsError(value)) return { value, errors: false };
  return { value: encode(value), errors: true };
}

export function valueFromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(valueFromWire);
  if (isPlainObject(value)) {
    if (ERROR_TAG in value) return errorFromWire(value[ERROR_TAG] as WireError);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, valueFromWire(v)]));
  }
  return value;
}

function holdsError(value: unknown): boolean {
  if (value instanceof Error) return true;
  if (Array.isArray(value)) return value.some(holdsError);
  if (isPlainObject(value)) return Object.values(value).some(holdsError);
  return false;
}

function encode(value: unknown): unknown {
  if (value instanceof Error) return { [ERROR_TAG]: errorToWire(value instanceof BitacoraError ? value : toBitacoraError(value)) };
  if (Array.isArray(value)) return value.map(encode);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
