/**
 * `bitacora acl set FILE`: replaces the ACL policy. The file is read and parsed here (a syntax
 * error names the file and line), then validated by the master, which applies it at once,
 * writes it to its policy file and audits the change; a refused policy changes nothing and its
 * problems are reported with the file's name and each path.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { BitacoraError, ErrorCode, ValidationError } from '../core/index.js';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson, printLine } from './output.js';

/** The policy object in `file` (YAML, or JSON for `*.json`); ValidationError naming the file otherwise. */
export function readPolicyFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read ACL policy ${file}: ${(err as Error).message}`, [{ path: '', message: 'unreadable file' }]);
  }
  const json = /\.json$/i.test(file);
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ValidationError(`ACL policy ${file} is not valid ${json ? 'JSON' : 'YAML'}: ${(err as Error).message}`, [{ path: '', message: 'syntax error' }]);
  }
}

export function registerAclSet(acl: Command, ctx: CliContext): void {
  acl
    .command('set')
    .description('replace the ACL policy with FILE (YAML or JSON): validated, applied at once, audited')
    .argument('<file>', 'the policy file, e.g. the output of `bitacora acl show` after editing')
    .addHelpText(
      'after',
      `
An invalid policy is refused with every problem named by its path, and the policy in force
stays. The master keeps the new policy in its own policy file (<data dir>/acl.yaml unless
configured otherwise); editing that file on the master also applies live.
With --json prints the policy now in force.

Examples:
  $ bitacora acl show > acl.yaml && $EDITOR acl.yaml && bitacora acl set acl.yaml
  $ bitacora acl set policy.json --json`,
    )
    .action(
      action(ctx, async (run) => {
        const file = resolve(ctx.cwd, run.args[0] as string);
        const policy = readPolicyFile(file);
        let applied: unknown;
        try {
          applied = await run.client().security.setAclPolicy(policy);
        } catch (err) {
          // The master validates; say which file its paths refer to.
          if (err instanceof BitacoraError && err.code === ErrorCode.Validation) {
            throw new BitacoraError(err.code, `ACL policy ${file} refused: ${err.message}`, { details: err.details, cause: err });
          }
          throw err;
        }
        if (run.json) return printJson(ctx, applied);
        printLine(ctx, `ACL policy from ${file} is in force (applied at once, recorded in the audit trail).`);
      }),
    );
}
