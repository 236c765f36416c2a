/** `bitacora acl show`: the ACL policy in force (YAML, or JSON with --json). */
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { CliContext } from './context.js';
import { action } from './common.js';
import { printJson } from './output.js';

export function registerAclShow(acl: Command, ctx: CliContext): void {
  acl
    .command('show')
    .description('print the ACL policy in force: YAML by default, JSON with --json')
    .addHelpText(
      'after',
      `
The output is a valid policy file: edit it and apply it with \`bitacora acl set FILE\`.

Examples:
  $ bitacora acl show > acl.yaml
  $ bitacora acl show --json | jq '.roles.operator'`,
    )
    .action(
      action(ctx, async (run) => {
        const policy = await run.client().security.aclPolicy();
        if (run.json) return printJson(ctx, policy);
        ctx.stdout.write(toYaml(policy));
      }),
    );
}
