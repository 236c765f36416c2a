/**
 * Helpers of the logbook commands on top of the CLI-wide ones in `../common.ts`: the
 * backbone's open/close, who the user is, and option parsers that fail with exit 2 and a
 * message naming the fix.
 */
import { mkdirSync } from 'node:fs';
import { BitacoraError, ErrorCode, parseDuration, type Session } from '../../core/index.js';
import type { Backbone } from '../../store/backbone.js';
import { invalid, type Run } from '../common.js';
import type { CliContext } from '../context.js';

export { action, cell, formatTime, parseChoice, parseIntegerOption, parseList, type Run } from '../common.js';

/**
 * Opens the backbone of the data directory (`<dataDir>/fleet.db`), runs `fn`, always closes
 * it. The directory is created first so a fresh checkout works without any setup step.
 */
export async function withBackbone<T>(run: Run<unknown>, fn: (backbone: Backbone) => Promise<T> | T): Promise<T> {
  const dir = run.dataDir();
  mkdirSync(dir, { recursive: true });
  const backbone = await run.ctx.deps.openBackbone(dir);
  try {
    return await fn(backbone);
  } finally {
    await backbone.close();
  }
}

/** Who the user is, for sessions and approvals: BITACORA_USER, then the login name. */
export function defaultUser(ctx: CliContext): string {
  return ctx.env['BITACORA_USER'] || ctx.env['USER'] || ctx.env['USERNAME'] || 'me';
}

/** `--estimate 2h` → hours (the model stores estimates in hours). */
export function parseEstimateHours(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === null) throw invalid(option, `'${value}' is not a duration; write it like 30m, 2h or 1.5d`);
  return Math.round((ms / 3_600_000) * 100) / 100;
}

/** Joins variadic words into one text (`bitacora action log fixed the build`). */
export function joinWords(value: unknown): string {
  return (Array.isArray(value) ? value.join(' ') : String(value ?? '')).trim();
}

/** NotFound (exit 2) whose message names the fix, e.g. the command that lists or creates it. */
export function notFound(entity: string, id: string, fix: string): BitacoraError {
  return new BitacoraError(ErrorCode.NotFound, `${entity} '${id}' not found; ${fix}`, { details: { entity, id } });
}

/** Where a new logbook entry belongs: the current session, and the project of its topic (or the session's). */
export interface EntryContext {
  session: Session | null;
  sessionId: string | null;
  topicId: string | null;
  project: string | null;
}

/** Resolves an entry's session and project; an unknown `topicId` is a NotFound naming the fix. */
export async function entryContext(backbone: Backbone, topicId: string | undefined): Promise<EntryContext> {
  const session = await backbone.sessions.current();
  let project = session?.project ?? null;
  if (topicId !== undefined) {
    const topic = await backbone.topics.get(topicId);
    if (!topic) throw notFound('topic', topicId, 'list topics with `bitacora topic list`');
    project = topic.project;
  }
  return { session, sessionId: session?.id ?? null, topicId: topicId ?? null, project };
}
