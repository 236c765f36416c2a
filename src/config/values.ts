/**
 * zod schemas for option values as they arrive from flags, environment and files: durations
 * (`30s`, or a number of ms), sizes (`1MiB`, or bytes), integers and booleans that may come as
 * strings, and comma-separated lists.
 */
import { z } from 'zod';
import { capabilitySchema, parseDuration, ValidationError } from '../core/index.js';
import { parseHostPort, type HostPort } from './host-port.js';

/** A duration in ms: a non-negative number of ms, or text like `500ms`, `30s`, `5m`, `1h`, `2d`. */
export function durationMs(bounds: { min: number; max: number }) {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      if (typeof value === 'number') return value;
      const ms = parseDuration(value);
      if (ms === null) {
        const hint = /^\s*\d+(\.\d+)?\s*$/.test(value) ? `; add a unit, e.g. ${value.trim()}ms or ${value.trim()}s` : '';
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a duration like 500ms, 30s, 5m, 1h${hint}` });
        return z.NEVER;
      }
      return ms;
    })
    .pipe(
      z
        .number()
        .int('must be a whole number of milliseconds')
        .min(bounds.min, `must be at least ${bounds.min} ms`)
        .max(bounds.max, `must be at most ${bounds.max} ms`),
    );
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A size in bytes: a number, or text like `1MiB`, `512KiB`, `2MB`, `4096`. */
export function sizeBytes(bounds: { min: number; max: number }) {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      if (typeof value === 'number') return value;
      const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(value);
      const unit = SIZE_UNITS[(match?.[2] ?? 'b').toLowerCase()];
      if (match === null || unit === undefined) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a size like 1MiB, 512KiB or 4096` });
        return z.NEVER;
      }
      return Math.round(Number(match[1]) * unit);
    })
    .pipe(z.number().int('must be a whole number of bytes').min(bounds.min, `must be at least ${bounds.min} bytes`).max(bounds.max, `must be at most ${bounds.max} bytes`));
}

/** An integer, also written as digits in a string (`--capacity 8`). */
export function integer(bounds: { min: number; max: number }) {
  return z
    .union([z.number(), z.string().regex(/^\s*-?\d+\s*$/, 'must be a whole number').transform(Number)])
    .pipe(z.number().int('must be a whole number').min(bounds.min, `must be at least ${bounds.min}`).max(bounds.max, `must be at most ${bounds.max}`));
}

/** true/false, also `1`/`0`, `yes`/`no`, `on`/`off` (environment variables). */
export const flag = z.union([
  z.boolean(),
  z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' }))
    .transform((s) => s === 'true' || s === '1' || s === 'yes' || s === 'on'),
]);

/** Capability words, as an array or comma-separated (`linux,docker`); trimmed, deduplicated, order kept. */
export const capabilityList = z
  .union([z.array(z.string()), z.string().transform((s) => (s.trim() === '' ? [] : s.split(',')))])
  .transform((items) => [...new Set(items.map((i) => i.trim()))])
  .pipe(z.array(capabilitySchema).max(64, 'at most 64 entries'));

/** `host:port` → HostPort. */
export const hostPort = z.string().transform((text, ctx) => {
  try {
    return parseHostPort(text) as HostPort;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof ValidationError ? (err.issues[0]?.message ?? err.message) : String(err) });
    return z.NEVER;
  }
});
