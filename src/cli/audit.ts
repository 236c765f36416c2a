/**
 * `bitacora audit [--json]` lists the audit trail; `bitacora audit verify` checks its chain, MACs
 * and signed checkpoints and names the first break. `--checkpoint FILE` also checks against a
 * checkpoint an agent kept; `--public-key FILE` verifies here, with only the public key (an
 * auditor who cannot write), instead of asking the master to.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../core/index.js';
import { verifyAuditTrail } from '../security/audit.js';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { ExitCode, printJson, printLine, printTable } from './output.js';

/** The most entries `--public-key` fetches in one go (the API's page limit). */
const MAX_LOCAL_ENTRIES = 10_000;

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('the audit trail: who did what to which target, and the outcome')
    .option('--limit <n>', 'the most recent N entries', '100')
    .action(
      action<{ limit: string }>(ctx, async (run) => {
        const entries = await run.client().security.auditLog({ limit: Number(run.opts.limit) });
        if (run.json) return printJson(ctx, entries);
        printTable(
          ctx,
          ['#', 'TIME', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'REASON'],
          entries.map(({ entry: e }) => [String(e.index), new Date(e.at).toISOString(), e.actor, e.action, e.target ?? '-', e.outcome, e.reason ?? '']),
        );
      }),
    );
  audit
    .command('verify')
    .description('check the chain, its MACs and the signed checkpoints; exits 1 naming the first edited, deleted, reordered, recomputed or truncated entry')
    .option('--checkpoint <file>', "also check against this checkpoint (an agent's <dataDir>/audit-checkpoint.json)")
    .option('--public-key <file>', "verify here with only this public key (the master's <dataDir>/audit-signing.pub), not on the master")
    .addHelpText('after', '\nExamples:\n  bitacora audit verify\n  bitacora audit verify --checkpoint worker-1/audit-checkpoint.json\n  bitacora audit verify --public-key audit-signing.pub --checkpoint audit-checkpoint.json\n')
    .action(
      action<{ checkpoint?: string; publicKey?: string }>(ctx, async (run) => {
        const checkpoint = run.opts.checkpoint !== undefined ? readCheckpoint(run.opts.checkpoint) : undefined;
        const client = run.client();
        let result;
        if (run.opts.publicKey !== undefined) {
          const publicKey = readPublicKey(run.opts.publicKey);
          const [entries, served] = await Promise.all([client.security.auditLog({ limit: MAX_LOCAL_ENTRIES }), client.security.auditCheckpoints()]);
          if (entries.length >= MAX_LOCAL_ENTRIES) {
            throw new ValidationError(`the trail has ${MAX_LOCAL_ENTRIES} entries or more: --public-key verifies at most ${MAX_LOCAL_ENTRIES - 1}; verify on the master (without --public-key)`, []);
          }
          result = verifyAuditTrail(entries, { publicKey, checkpointLog: served.checkpoints, checkpoints: checkpoint ? [checkpoint] : [] });
        } else {
          result = await client.security.verifyAudit(checkpoint);
        }
        if (run.json) printJson(ctx, result);
        else if (result.ok) {
          const how = result.keyed ? 'hashes and MACs' : 'hashes';
          const cps = result.checkpoints;
          const against = cps && cps.checked > 0 && cps.latest
            ? `, against ${cps.checked} signed checkpoint(s) (newest: head #${cps.latest.headIndex}, signed ${new Date(cps.latest.at).toISOString()})`
            : ', no signed checkpoint yet';
          printLine(ctx, `audit trail intact: ${result.checked} entries verified (${how})${against}.`);
        } else printLine(ctx, `audit trail BROKEN after ${result.checked} good entries (${result.break?.kind ?? 'unknown'}): ${result.break?.message ?? 'unknown break'}`);
        return result.ok ? ExitCode.Ok : ExitCode.WorkFailed;
      }),
    );
}

function readCheckpoint(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ValidationError(`--checkpoint ${file}: cannot read it as JSON (${(err as Error).message})`, [{ path: '--checkpoint', message: 'unreadable or not JSON' }]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`--checkpoint ${file}: not an audit checkpoint (expected a JSON object)`, [{ path: '--checkpoint', message: 'not a JSON object' }]);
  return value as Record<string, unknown>;
}

function readPublicKey(file: string): KeyObject {
  try {
    const key = createPublicKey(readFileSync(file, 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
    return key;
  } catch (err) {
    throw new ValidationError(`--public-key ${file}: not the audit public key (${(err as Error).message})`, [{ path: '--public-key', message: 'not an Ed25519 public key' }]);
  }
}
