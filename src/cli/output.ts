/**
 * Output conventions of every command: `--json` prints machine-readable data on stdout;
 * otherwise human text. Errors go to stderr naming the problem and the fix.
 * Exit codes: 0 ok, 1 the work failed, 2 bad input (usage, validation, not found),
 * 3 unauthenticated or forbidden (token refused, role too low, CA mismatch), 4 the master
 * could not be reached. Scripts tell "fix the command" from "fix the credentials" from "retry".
 */
import { BitacoraError, ErrorCode, describeIssues, type ValidationIssue } from '../core/index.js';
import type { CliIo } from './context.js';

export const ExitCode = { Ok: 0, WorkFailed: 1, BadInput: 2, Unauthorized: 3, Unreachable: 4 } as const;

/** Errors caused by what the user typed or wrote → exit 2. */
const BAD_INPUT_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Validation, ErrorCode.PipelineInvalid, ErrorCode.UnsafeName, ErrorCode.PayloadTooLarge,
  ErrorCode.NotFound, ErrorCode.InvalidTransition, ErrorCode.ActiveTopicExists, ErrorCode.IdempotencyMismatch,
  ErrorCode.Conflict,
]);

/** Who you are or what you may do was refused → exit 3. */
const UNAUTHORIZED_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Unauthenticated, ErrorCode.Forbidden, ErrorCode.TokenInvalid, ErrorCode.TokenExpired, ErrorCode.TokenUsed, ErrorCode.TokenRevoked,
  ErrorCode.CaMismatch, ErrorCode.CertificateRevoked,
]);

/** Thrown by commands to end with a message and an exit code without a stack trace. */
export class CliExit extends Error {
  override name = 'CliExit';
  constructor(readonly exitCode: number, message = '') {
    super(message);
  }
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(io: CliIo, text = ''): void {
  io.stdout.write(`${text}\n`);
}

/** Left-aligned columns; `rows` are already strings. */
export function printTable(io: CliIo, headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  printLine(io, line(headers));
  for (const row of rows) printLine(io, line(row));
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CliExit) return err.exitCode;
  if (err instanceof BitacoraError) {
    if (BAD_INPUT_CODES.has(err.code)) return ExitCode.BadInput;
    if (UNAUTHORIZED_CODES.has(err.code)) return ExitCode.Unauthorized;
    if (err.code === ErrorCode.MasterUnreachable) return ExitCode.Unreachable;
  }
  return ExitCode.WorkFailed;
}

/** Prints an error for humans (or as JSON with `--json`) and returns the exit code to use. */
export function reportError(io: CliIo, err: unknown, json: boolean): number {
  const code = exitCodeFor(err);
  if (err instanceof CliExit) {
    if (err.message) io.stderr.write(`${err.message}\n`);
    return code;
  }
  if (err instanceof BitacoraError) {
    if (json) io.stderr.write(`${JSON.stringify({ error: err.toJSON() })}\n`);
    else {
      const issues = (err.details['issues'] as ValidationIssue[] | undefined) ?? [];
      const body = issues.length > 0 && !err.message.includes(issues[0]!.message) ? `\n${describeIssues(issues)}` : '';
      io.stderr.write(`error [${err.code}]: ${err.message}${body}\n`);
    }
    return code;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(json ? `${JSON.stringify({ error: { code: ErrorCode.Internal, message } })}\n` : `error: ${message}\n`);
  return code;
}
