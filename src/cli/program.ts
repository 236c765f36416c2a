/**
 * The `bitacora` program: global options, the fleet commands (one file each) and the logbook
 * commands, with commander configured so that usage errors exit 2 and output goes through the
 * injected context. `runCli` is what the executable and the in-process tests call.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerCancel } from './cancel.js';
import { registerConfigSet } from './config-set.js';
import { registerConfigShow } from './config-show.js';
import { registerConfigCheck } from './config-file.js';
import type { CliContext } from './context.js';
import { registerDemo } from './demo.js';
import { registerJoin } from './join.js';
import { registerLogbookCommands } from './logbook/index.js';
import { registerLogs } from './logs.js';
import { registerNodeDrain } from './node-drain.js';
import { registerNodeRemove } from './node-remove.js';
import { registerNodeSetRole } from './node-set-role.js';
import { registerNodeShow } from './node-show.js';
import { registerNodes } from './nodes.js';
import { ExitCode, reportError } from './output.js';
import { registerResume } from './resume.js';
import { registerRun } from './run.js';
import { registerShutdown } from './shutdown.js';
import { registerAudit } from './audit.js';
import { registerNodeRevoke } from './node-revoke.js';
import { registerStatus } from './status.js';
import { registerTaskShow } from './task-show.js';
import { registerTasks } from './tasks.js';
import { registerTokenCreate } from './token-create.js';
import { registerTokenList } from './token-list.js';
import { registerTokenRevoke } from './token-revoke.js';
import { registerUserAdd } from './user-add.js';
import { registerUserList } from './user-list.js';
import { registerUserRemove } from './user-remove.js';
import { registerAclSet } from './acl-set.js';
import { registerAclShow } from './acl-show.js';
import { registerWhoami } from './whoami.js';
import { registerUp } from './up.js';

function packageVersion(): string {
  try {
    // src/cli and dist/cli are both two levels below the package root.
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('bitacora');
  program
    .description("Bitácora Fleet: a developer's logbook and work runner that turns several machines into one fleet")
    .version(packageVersion(), '-V, --version')
    .option('--data-dir <dir>', 'data directory (default ./.bitacora; env BITACORA_DATA_DIR)')
    .option('--url <url>', "the master's API URL (env BITACORA_URL; default: <data dir>/client.json)")
    .option('--token <token>', 'API token (env BITACORA_TOKEN; default: <data dir>/client.json)')
    .option('--ca-file <file>', "CA certificate (PEM) an https:// master's certificate must chain to (env BITACORA_CA_FILE; default: <data dir>/client.json, else the system's CAs)")
    .option('--json', 'print machine-readable JSON')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 the work failed (or the master is unreachable), 2 bad input.
On the master's machine the CLI finds the master through <data dir>/client.json; elsewhere
pass --url and --token (or set BITACORA_URL and BITACORA_TOKEN).

Examples:
  $ bitacora up --local-worker                 # start a master that can also run work
  $ bitacora token create                      # prints the \`bitacora join …\` command for another machine
  $ bitacora run --wait -- make test           # run on the fleet, stream the output here
  $ bitacora nodes && bitacora tasks --state running`,
    );

  program.commandsGroup('Fleet:');
  registerUp(program, ctx);
  registerJoin(program, ctx);
  registerStatus(program, ctx);
  registerNodes(program, ctx);
  const node = program.command('node').description('inspect and manage one node: show, drain, undrain, remove, set-role');
  registerNodeShow(node, ctx);
  registerNodeDrain(node, ctx);
  registerNodeRemove(node, ctx);
  registerNodeRevoke(node, ctx);
  registerNodeSetRole(node, ctx);
  const token = program.command('token').description('tokens: join tokens for new machines, API and login tokens for users (create, list, revoke)');
  registerTokenCreate(token, ctx);
  registerTokenList(token, ctx);
  registerTokenRevoke(token, ctx);
  registerRun(program, ctx);
  registerTasks(program, ctx);
  const task = program.command('task').description('inspect one task');
  registerTaskShow(task, ctx);
  registerCancel(program, ctx);
  registerDemo(program, ctx);
  registerLogs(program, ctx);
  const config = program.command('config').description('live fleet settings (applied without restarts), and checking a configuration file');
  registerConfigSet(config, ctx);
  registerConfigShow(config, ctx);
  registerConfigCheck(config, ctx);
  registerShutdown(program, ctx);
  registerAudit(program, ctx);
  registerResume(program, ctx);

  program.commandsGroup('Access:');
  const user = program.command('user').description('users of the API and dashboard: add, list, remove');
  registerUserAdd(user, ctx);
  registerUserList(user, ctx);
  registerUserRemove(user, ctx);
  const acl = program.command('acl').description('the ACL policy: show, set (applied live, audited)');
  registerAclShow(acl, ctx);
  registerAclSet(acl, ctx);
  registerWhoami(program, ctx);

  program.commandsGroup('Logbook:');
  registerLogbookCommands(program, ctx);
  return program;
}

/** Runs the CLI with `argv` (the user's arguments only) and returns the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are successes; anything else commander refuses is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.Ok : ExitCode.BadInput;
    }
    return reportError(ctx, err, argv.includes('--json'));
  }
}
