/**
 * `bitacora log` — the timeline of a session or a project: sessions, actions, sparks and
 * approvals merged in time order, so the logbook reads as one history of what happened.
 */
import type { Command } from 'commander';
import {
  BitacoraError, ErrorCode, formatDuration, sessionDurationMs, type Action, type Approval, type Session, type Spark,
} from '../../core/index.js';
import type { Backbone } from '../../store/backbone.js';
import type { CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';
import { targetSession } from './session.js';
import { cell, formatTime, action, notFound, parseIntegerOption, withBackbone } from './shared.js';

export type TimelineKind = 'session' | 'action' | 'spark' | 'approval';

export interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  /** What happened to the record at `at`: started, paused, ended, logged, ran, added, requested, approved… */
  event: string;
  id: string;
  project: string | null;
  summary: string;
  record: Session | Action | Spark | Approval;
}

function sessionEntries(s: Session, now: number): TimelineEntry[] {
  const base = { kind: 'session' as const, id: s.id, project: s.project, record: s };
  const out: TimelineEntry[] = [{ ...base, at: s.startedAt, event: 'started', summary: `${s.user} started${s.description ? `: ${s.description}` : ''}` }];
  if (s.pausedAt !== null) out.push({ ...base, at: s.pausedAt, event: 'paused', summary: 'paused' });
  if (s.endedAt !== null) out.push({ ...base, at: s.endedAt, event: 'ended', summary: `ended after ${formatDuration(sessionDurationMs(s, now))} of work` });
  return out;
}

function actionEntry(a: Action): TimelineEntry {
  const ran = a.phase !== 'logged';
  const outcome = ran ? ` → ${a.phase}${a.outcome ? ` (${a.outcome.summary || `exit ${a.outcome.exitCode ?? '?'}`}, ${formatDuration(a.outcome.durationMs)})` : ''}` : '';
  // The description names the step; `command` may hold an atomic action's JSON plan.
  const what = a.description || a.command || '';
  return { at: a.startedAt, kind: 'action', event: ran ? 'ran' : 'logged', id: a.id, project: a.project, summary: `[${a.type}] ${what}${outcome}`, record: a };
}

function sparkEntry(s: Spark): TimelineEntry {
  const result = s.result ? ` → ${s.result.error ?? `exit ${s.result.exitCode ?? '?'}`}` : '';
  return { at: s.createdAt, kind: 'spark', event: s.command ? 'ran' : 'added', id: s.id, project: s.project, summary: `[${s.type}] ${s.content || s.command || ''}${result}`, record: s };
}

/** Approval entries name their topic by title ("release" reads better than an id). */
async function approvalEntries(backbone: Backbone, approvals: readonly Approval[]): Promise<TimelineEntry[]> {
  const titles = new Map<string, string>();
  for (const id of new Set(approvals.map((a) => a.topicId))) titles.set(id, (await backbone.topics.get(id))?.title ?? id);
  const title = (id: string): string => titles.get(id) ?? id;
  return approvals.flatMap((a) => {
    const base = { kind: 'approval' as const, id: a.id, project: a.project, record: a };
    const out: TimelineEntry[] = [{ ...base, at: a.requestedAt, event: 'requested', summary: `"${title(a.topicId)}": ${a.reason}` }];
    if (a.decidedAt !== null) {
      const by = a.decidedBy ? ` by ${a.decidedBy}` : '';
      out.push({ ...base, at: a.decidedAt, event: a.state, summary: `"${title(a.topicId)}"${by}${a.note ? `: ${a.note}` : ''}` });
    }
    return out;
  });
}

function sorted(entries: TimelineEntry[]): TimelineEntry[] {
  // Stable on equal times: ids are time-ordered, so they break ties in creation order.
  return entries.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

/** Everything recorded in a session; approvals count when they concern its work and fall inside it. */
export async function sessionTimeline(backbone: Backbone, session: Session, now: number): Promise<TimelineEntry[]> {
  const [actions, sparks] = await Promise.all([
    backbone.actions.list({ sessionId: session.id }),
    backbone.sparks.list({ sessionId: session.id }),
  ]);
  const projects = new Set([session.project, ...actions.map((a) => a.project), ...sparks.map((s) => s.project)].filter((p): p is string => p !== null));
  const end = session.endedAt ?? now;
  const approvals = (await Promise.all([...projects].map((project) => backbone.approvals.list({ project })))).flat()
    .filter((a) => a.requestedAt >= session.startedAt && a.requestedAt <= end);
  return sorted([
    ...sessionEntries(session, now), ...actions.map(actionEntry), ...sparks.map(sparkEntry), ...(await approvalEntries(backbone, approvals)),
  ]);
}

export async function projectTimeline(backbone: Backbone, project: string, now: number): Promise<TimelineEntry[]> {
  const [sessions, actions, sparks, approvals] = await Promise.all([
    backbone.sessions.list({ project }), backbone.actions.list({ project }), backbone.sparks.list({ project }), backbone.approvals.list({ project }),
  ]);
  return sorted([
    ...sessions.flatMap((s) => sessionEntries(s, now)),
    ...actions.map(actionEntry),
    ...sparks.map(sparkEntry),
    ...(await approvalEntries(backbone, approvals)),
  ]);
}

/** The whole logbook, for when no session is open and no scope was given. */
export async function fullTimeline(backbone: Backbone, now: number): Promise<TimelineEntry[]> {
  const [sessions, actions, sparks, approvals] = await Promise.all([
    backbone.sessions.list(), backbone.actions.list(), backbone.sparks.list(), backbone.approvals.list(),
  ]);
  return sorted([
    ...sessions.flatMap((s) => sessionEntries(s, now)),
    ...actions.map(actionEntry),
    ...sparks.map(sparkEntry),
    ...(await approvalEntries(backbone, approvals)),
  ]);
}

export function registerTimelineCommand(program: Command, ctx: CliContext): void {
  program
    .command('log')
    .description('timeline of a session or project: sessions, actions, sparks and approvals in time order')
    .option('--session <id>', 'the session to show (default: the current one)')
    .option('--project <project>', 'show a whole project instead of a session')
    .option('--limit <n>', 'show only the last N entries')
    .addHelpText('after', `
Without --session or --project it shows the current session, or the whole logbook when none is open.

Examples:
  $ bitacora log
  $ bitacora log --project api --limit 20
  $ bitacora log --session ses_0123456789abcd --json`)
    .action(action<{ session?: string; project?: string; limit?: string }>(ctx, (run) => {
      const { session: sessionId, project } = run.opts;
      if (sessionId !== undefined && project !== undefined) {
        throw new BitacoraError(ErrorCode.Validation, 'pass either --session or --project, not both', {
          details: { issues: [{ path: '--session', message: 'conflicts with --project' }] },
        });
      }
      const limit = parseIntegerOption('--limit', run.opts.limit, 1, 1_000_000);
      return withBackbone(run, async (backbone) => {
        const now = Date.now();
        let title: string;
        let entries: TimelineEntry[];
        if (project !== undefined) {
          if (!(await backbone.projects.get(project))) throw notFound('project', project, 'list projects with `bitacora project list`');
          title = `Project ${project}`;
          entries = await projectTimeline(backbone, project, now);
        } else {
          const session = sessionId !== undefined ? await targetSession(backbone, sessionId) : await backbone.sessions.current();
          if (session) {
            title = `Session ${session.id} (${session.user}${session.project ? `, ${session.project}` : ''}, ${session.status}, worked ${formatDuration(sessionDurationMs(session, now))})`;
            entries = await sessionTimeline(backbone, session, now);
          } else {
            title = 'Whole logbook (no session is open)';
            entries = await fullTimeline(backbone, now);
          }
        }
        if (limit !== undefined) entries = entries.slice(-limit);
        if (run.json) {
          printJson(ctx, entries);
          return;
        }
        printLine(ctx, title);
        if (entries.length === 0) {
          printLine(ctx, 'Nothing recorded yet.');
          return;
        }
        printTable(ctx, ['TIME', 'KIND', 'EVENT', 'ID', 'WHAT'], entries.map((e) => [
          formatTime(e.at), e.kind, e.event, e.id, cell(e.summary, 80),
        ]));
      });
    }));
}
