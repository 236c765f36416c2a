/**
 * `bitacora approve ID [--reject]` and `bitacora approvals` — decide the approvals that
 * high-risk topics wait for. Decisions go through the ApprovalRepository, so a
 * `pipeline run --local` waiting in another terminal on the same data directory continues.
 */
import type { Command } from 'commander';
import { BitacoraError, ErrorCode, formatDuration, type Approval } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';
import { cell, defaultUser, formatTime, action, notFound, withBackbone } from './shared.js';

/** The exact command a user types to decide an approval; printed by `pipeline run` too. */
export function approveCommand(approvalId: string, reject = false): string {
  return `bitacora approve ${approvalId}${reject ? ' --reject' : ''}`;
}

export function registerApproveCommands(program: Command, ctx: CliContext): void {
  program
    .command('approve <approvalId>')
    .description('approve (or --reject) a high-risk topic that is waiting to run')
    .option('--reject', 'reject instead of approving: the topic does not run')
    .option('--note <text>', 'why, recorded with the decision')
    .option('--by <user>', 'who decides (default: $BITACORA_USER or $USER)')
    .addHelpText('after', `
The id is printed by \`bitacora pipeline run\` when a topic waits; \`bitacora approvals\` lists them.

Examples:
  $ bitacora approve apv_0123456789abcd
  $ bitacora approve apv_0123456789abcd --reject --note "not during the release freeze"`)
    .action(action<{ reject?: boolean; note?: string; by?: string }>(ctx, (run) => withBackbone(run, async (backbone) => {
      const id = run.args[0] as string;
      const approval = await backbone.approvals.get(id);
      if (!approval) throw notFound('approval', id, 'list the pending ones with `bitacora approvals`');
      if (approval.state !== 'pending') {
        const when = approval.decidedAt !== null ? ` at ${formatTime(approval.decidedAt)}` : '';
        const by = approval.decidedBy ? ` by ${approval.decidedBy}` : '';
        throw new BitacoraError(ErrorCode.InvalidTransition, `approval ${id} is already ${approval.state}${by}${when}; nothing changed`, {
          details: { approvalId: id, state: approval.state },
        });
      }
      const decision = run.opts.reject ? 'rejected' : 'approved';
      let decided: Approval;
      try {
        decided = await backbone.approvals.decide(id, decision, run.opts.by ?? defaultUser(ctx), run.opts.note ?? null, Date.now());
      } catch (err) {
        if (err instanceof BitacoraError && err.code === ErrorCode.ApprovalExpired) {
          throw new BitacoraError(ErrorCode.ApprovalExpired,
            `approval ${id} expired at ${formatTime(approval.expiresAt)}; the waiting topic did not run — run the pipeline again to ask anew`,
            { cause: err, details: { approvalId: id } });
        }
        throw err;
      }
      if (run.json) printJson(ctx, decided);
      else printLine(ctx, `${decision === 'approved' ? 'Approved' : 'Rejected'} ${id} (project ${decided.project}, topic ${decided.topicId})`);
    })));

  program
    .command('approvals')
    .description('list approvals waiting for a decision')
    .option('--project <project>', 'only this project\'s')
    .option('--all', 'also decided and expired ones')
    .addHelpText('after', `
Examples:
  $ bitacora approvals
  $ bitacora approvals --all --json`)
    .action(action<{ project?: string; all?: boolean }>(ctx, (run) => withBackbone(run, async (backbone) => {
      const now = Date.now();
      const filter = run.opts.project ? { project: run.opts.project } : {};
      const approvals = (run.opts.all
        ? await backbone.approvals.list(filter)
        // A pending approval past its expiry can no longer be decided; do not offer it.
        : (await backbone.approvals.list({ ...filter, state: 'pending' })).filter((a) => a.expiresAt > now)
      ).sort((a, b) => a.requestedAt - b.requestedAt);
      if (run.json) {
        printJson(ctx, approvals);
        return;
      }
      if (approvals.length === 0) {
        printLine(ctx, run.opts.all ? 'No approvals recorded.' : 'Nothing waits for approval.');
        return;
      }
      printTable(ctx, ['ID', 'STATE', 'PROJECT', 'TOPIC', 'REQUESTED', 'EXPIRES', 'REASON'], approvals.map((a) => [
        a.id, a.state, a.project, a.topicId, formatTime(a.requestedAt),
        a.state === 'pending' ? (a.expiresAt > now ? `in ${formatDuration(a.expiresAt - now)}` : 'expired') : '-',
        cell(a.reason, 50),
      ]));
      if (approvals.some((a) => a.state === 'pending')) {
        printLine(ctx);
        printLine(ctx, `Decide with \`${approveCommand('ID')}\` or \`${approveCommand('ID', true)}\`.`);
      }
    })));
}
