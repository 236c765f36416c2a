/** Shared steps of compiling options: validate with every issue and its path, then deep-freeze. */
import type { z } from 'zod';
import { describeIssues, issuesOf, ValidationError } from '../core/index.js';

/** What compilation reads from outside the options, passed in so compiling stays pure. */
export interface ConfigContext {
  /** Process environment (`BITACORA_DATA_DIR`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Absolute working directory: the base of relative paths. */
  cwd: string;
}

/** Parses or throws a ValidationError titled `invalid <what>` listing every issue with its option path. */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, what: string): z.output<S> {
  const result = schema.safeParse(options ?? {});
  if (result.success) return result.data;
  const issues = issuesOf(result.error);
  throw new ValidationError(`invalid ${what}:\n${describeIssues(issues)}`, issues);
}

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Freezes `value` and everything inside it: a compiled config cannot be changed by whoever holds it. */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
