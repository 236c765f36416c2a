/** Row ↔ value helpers shared by the SQLite repositories: JSON columns, canonical JSON, timestamps. */
import { ValidationError } from '../../core/index.js';

/** Parses a JSON text column. */
export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** JSON text of a value, for array/record columns. */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

/** JSON with object keys sorted at every level, so equal values give equal text (idempotency). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** A non-negative safe integer argument (timestamps, sequence numbers), or a ValidationError naming it. */
export function nonNegativeInt(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`invalid ${what}: expected a non-negative integer, got ${String(value)}`, [
      { path: what, message: 'expected a non-negative integer' },
    ]);
  }
  return value;
}

/** `now` arguments are epoch milliseconds; anything else would corrupt the int columns. */
export function timestamp(now: number, what = 'now'): number {
  return nonNegativeInt(now, what);
}

/** Positive integer limit, or undefined for "no limit". */
export function limitOf(limit: number | undefined, what = 'limit'): number | undefined {
  return limit === undefined ? undefined : nonNegativeInt(limit, what);
}

/** Builds `WHERE a AND b` from optional clauses. */
export function whereOf(clauses: string[]): string {
  return clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
}
