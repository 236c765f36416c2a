/**
 * `bitacora session start|pause|resume|end|status|list` — the user's working session. pause,
 * resume and end act on the current session (the latest active or paused one) unless given an id.
 */
import type { Command } from 'commander';
import {
  BitacoraError, DISTRIBUTION_STRATEGIES, ErrorCode, formatDuration, sessionDurationMs,
  type Session,
} from '../../core/index.js';
import type { Backbone } from '../../store/backbone.js';
import type { CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';
import {
  cell, defaultUser, formatTime, action, notFound, parseChoice, parseIntegerOption, withBackbone,
} from './shared.js';

/** A session as printed: the stored fields plus the derived working time. */
export function sessionView(session: Session, now: number): Session & { durationMs: number } {
  return { ...session, durationMs: sessionDurationMs(session, now) };
}

/** The session named by `id`, or the current one; errors say how to get one. */
export async function targetSession(backbone: Backbone, id: string | undefined): Promise<Session> {
  if (id !== undefined) {
    const session = await backbone.sessions.get(id);
    if (!session) throw notFound('session', id, 'list sessions with `bitacora session list`');
    return session;
  }
  const current = await backbone.sessions.current();
  if (!current) {
    throw new BitacoraError(ErrorCode.NotFound, 'there is no active or paused session; start one with `bitacora session start`');
  }
  return current;
}

function describe(ctx: CliContext, verb: string, session: Session, now: number): void {
  const project = session.project ? ` on ${session.project}` : '';
  printLine(ctx, `${verb} session ${session.id} (${session.user}${project}) — ${session.status}, worked ${formatDuration(sessionDurationMs(session, now))}`);
}

export function registerSessionCommands(program: Command, ctx: CliContext): void {
  const session = program
    .command('session')
    .description('start, pause, resume and end your working session')
    .addHelpText('after', `
Examples:
  $ bitacora session start --project api --description "auth refactor"
  $ bitacora session pause
  $ bitacora session resume
  $ bitacora session status --json
  $ bitacora session end`);

  session
    .command('start')
    .description('start a working session (only one may be open at a time)')
    .option('--user <user>', 'who is working (default: $BITACORA_USER or $USER)')
    .option('--project <project>', 'the project this session is about')
    .option('--description <text>', 'what the session is for')
    .option('--strategy <strategy>', `distribution strategy: ${DISTRIBUTION_STRATEGIES.join('|')} (default MasterSlave)`)
    .option('--sync-interval <ms>', 'how often participating nodes sync state, in milliseconds (default 5000)')
    .addHelpText('after', `
Examples:
  $ bitacora session start
  $ bitacora session start --user ana --project api --strategy PeerToPeer`)
    .action(action<{ user?: string; project?: string; description?: string; strategy?: string; syncInterval?: string }>(ctx, (run) => {
      const strategy = parseChoice('--strategy', run.opts.strategy, DISTRIBUTION_STRATEGIES);
      const syncIntervalMs = parseIntegerOption('--sync-interval', run.opts.syncInterval, 100, 86_400_000);
      return withBackbone(run, async (backbone) => {
        const open = await backbone.sessions.current();
        if (open) {
          throw new BitacoraError(
            ErrorCode.Conflict,
            `session ${open.id} is still ${open.status} (started ${formatTime(open.startedAt)}); end it first with \`bitacora session end\``,
            { details: { sessionId: open.id } },
          );
        }
        if (run.opts.project !== undefined && !(await backbone.projects.get(run.opts.project))) {
          throw notFound('project', run.opts.project, `create it with \`bitacora project create ${run.opts.project}\``);
        }
        const now = Date.now();
        const started = await backbone.sessions.start({
          user: run.opts.user ?? defaultUser(ctx),
          project: run.opts.project ?? null,
          description: run.opts.description ?? '',
          ...(strategy ? { strategy } : {}),
          ...(syncIntervalMs !== undefined ? { syncIntervalMs } : {}),
        }, now);
        if (run.json) printJson(ctx, sessionView(started, now));
        else describe(ctx, 'Started', started, now);
      });
    }));

  const transition = (name: 'pause' | 'resume' | 'end', verb: string, what: string) =>
    session
      .command(`${name} [id]`)
      .description(`${what} (default: the current session)`)
      .action(action<Record<string, never>>(ctx, (run) => withBackbone(run, async (backbone) => {
        const target = await targetSession(backbone, run.args[0] as string | undefined);
        const now = Date.now();
        const updated = await backbone.sessions[name](target.id, now);
        if (run.json) printJson(ctx, sessionView(updated, now));
        else describe(ctx, verb, updated, now);
      })));
  transition('pause', 'Paused', 'pause a session; paused time does not count as worked time');
  transition('resume', 'Resumed', 'resume a paused session');
  transition('end', 'Ended', 'end a session');

  session
    .command('status [id]')
    .description('show the current session (or the one named) with its worked time')
    .action(action<Record<string, never>>(ctx, (run) => withBackbone(run, async (backbone) => {
      const id = run.args[0] as string | undefined;
      const found = id !== undefined ? await targetSession(backbone, id) : await backbone.sessions.current();
      const now = Date.now();
      if (run.json) {
        printJson(ctx, found ? sessionView(found, now) : null);
        return;
      }
      if (!found) {
        printLine(ctx, 'No active session. Start one with `bitacora session start`.');
        return;
      }
      const rows: [string, string][] = [
        ['session', found.id],
        ['status', found.status],
        ['user', found.user],
        ['project', found.project ?? '-'],
        ['description', found.description || '-'],
        ['started', formatTime(found.startedAt)],
        ['ended', formatTime(found.endedAt)],
        ['worked', formatDuration(sessionDurationMs(found, now))],
        ['paused for', formatDuration(found.pausedMs + (found.pausedAt !== null ? (found.endedAt ?? now) - found.pausedAt : 0))],
        ['strategy', found.strategy],
        ['sync interval', formatDuration(found.syncIntervalMs)],
        ['primary node', found.primaryNode ?? '-'],
        ['participants', found.participatingNodes.join(', ') || '-'],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) printLine(ctx, `${k.padEnd(width)}  ${v}`);
    })));

  session
    .command('list')
    .description('list recent sessions, newest first')
    .option('--project <project>', 'only sessions of this project')
    .option('--limit <n>', 'how many (default 20)')
    .action(action<{ project?: string; limit?: string }>(ctx, (run) => {
      const limit = parseIntegerOption('--limit', run.opts.limit, 1, 10_000) ?? 20;
      return withBackbone(run, async (backbone) => {
        const now = Date.now();
        const sessions = (await backbone.sessions
          .list({ ...(run.opts.project ? { project: run.opts.project } : {}), limit }))
          .sort((a, b) => b.startedAt - a.startedAt);
        if (run.json) {
          printJson(ctx, sessions.map((s) => sessionView(s, now)));
          return;
        }
        if (sessions.length === 0) {
          printLine(ctx, 'No sessions yet. Start one with `bitacora session start`.');
          return;
        }
        printTable(ctx, ['ID', 'STATUS', 'USER', 'PROJECT', 'STARTED', 'WORKED', 'DESCRIPTION'], sessions.map((s) => [
          s.id, s.status, s.user, s.project ?? '-', formatTime(s.startedAt), formatDuration(sessionDurationMs(s, now)), cell(s.description, 40),
        ]));
      });
    }));
}
