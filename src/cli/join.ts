/** `bitacora join URL`: start an agent that dials the master, registers and executes work; stays up. */
import type { Command } from 'commander';
import { slugSchema } from '../core/index.js';
import type { AgentHandle, AgentStartOptions, CliContext } from './context.js';
import { action, invalid, parseCapabilities, parseChoice, parseIntegerOption } from './common.js';
import { printJson, printLine } from './output.js';
import { logFormatOf, untilStopped } from './up.js';
import { configFileOf, dataDirWith, refuseIfDisabled } from './config-file.js';

interface JoinOptions {
  token?: string;
  caHash?: string;
  role?: string;
  name?: string;
  capabilities?: string;
  specialization?: string;
  capacity?: string;
  serveOnly?: string;
  serveProjects?: string;
  /** false with --no-fingerprint. */
  fingerprint?: boolean;
  config?: string;
  logFormat?: string;
}

/** `join:` keys of a configuration file that are node settings (saved like the flags); the rest go to the agent as they are. */
const NODE_SETTING_KEYS = ['role', 'name', 'capabilities', 'specializations', 'capacity', 'serveOnly', 'serveProjects', 'fingerprint'] as const;


/** `a,b` → project names (workspace slugs), each checked. */
function parseProjects(option: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = [...new Set(value.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  if (items.length === 0) throw invalid(option, 'name at least one project, comma-separated');
  for (const item of items) {
    if (!slugSchema.safeParse(item).success) throw invalid(option, `'${item}' is not a project name: lowercase letters, digits, ".", "_" or "-"`);
  }
  return items;
}

const CA_HASH = /^sha256:[0-9a-f]{64}$/i;

/** Polls until the agent knows its node id (after the master's welcome), or it stops. */
async function waitForNodeId(handle: AgentHandle, signal: AbortSignal): Promise<string | null> {
  let stopped = false;
  void handle.closed.then(() => (stopped = true), () => (stopped = true));
  for (;;) {
    const id = handle.nodeId();
    if (id !== null || stopped || signal.aborted) return id;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function registerJoin(program: Command, ctx: CliContext): void {
  program
    .command('join')
    .description('join this machine to a fleet as a worker (or hybrid) agent and stay up')
    .argument('[url]', "the master's URL, as printed by `bitacora up` or `bitacora token create` (default: the first of the config file's discovery_peers)")
    .option('--config <file>', 'a configuration file (YAML; also $BITACORA_CONFIG): its join: section and fleet fields; flags win over it')
    .option('--token <token>', 'one-time join token (only for the first join; later starts reuse the stored credential)')
    .option('--ca-hash <sha256:hex>', "fingerprint of the fleet CA to pin (refuses a master whose CA differs)")
    .option('--role <role>', 'worker (executes) or hybrid (executes, can take over coordination); default worker')
    .option('--name <name>', 'node name shown in the fleet (default: the host name)')
    .option('--capabilities <list>', 'what this node can run, comma-separated (hard constraints), e.g. linux,docker')
    .option('--specialization <list>', 'what this node is best at, comma-separated (affinity), e.g. build,test')
    .option('--capacity <n>', 'tasks run at the same time (default: the number of CPUs)')
    .option('--serve-only <list>', 'serve only these of --capabilities (comma-separated); the node refuses any task needing others')
    .option('--serve-projects <list>', "run only these projects' tasks (comma-separated; 'default' = tasks without a project); the node refuses the rest")
    .option('--log-format <format>', 'human (default) or json: one JSON object per log line on stderr, for log shippers (also $BITACORA_LOG_FORMAT)')
    .option('--no-fingerprint', 'do not advertise what the machine is found to have (os:…, arch:…, tools on PATH)')
    .addHelpText(
      'after',
      `
The agent dials out to the master (works from behind NAT), keeps one gRPC stream over TLS and
reconnects with backoff. After the first join its node credential is stored in the data
directory, so restarting it needs no token. The node settings given (role, name,
capabilities, specialization, capacity, serve lists) are saved there too
(node-settings.json): a restart without them keeps them; one given again replaces the saved
value. Besides --capabilities the node advertises what it finds: os:<os>, arch:<arch> and
tools on PATH (docker, node, git, python3, make, gcc, …); --serve-only restricts them too.

Examples:
  $ bitacora join http://10.0.0.5:7700 --token bjt_… --ca-hash sha256:…   # as printed by \`bitacora up\`
  $ bitacora join http://10.0.0.5:7700 --token bjt_… --name dev-server --specialization build --capacity 8
  $ bitacora join http://10.0.0.5:7700 --capabilities linux,docker --serve-only docker --serve-projects web,api
  $ bitacora join http://10.0.0.5:7700                                    # restart: reuses the stored credential
  $ bitacora join --config fleet.yaml                                     # URL and settings from a file (examples/bitacora.yaml)

--serve-only and --serve-projects are enforced by the node itself: whatever the master sends,
a task outside them is refused (the master places it elsewhere or keeps it pending).`,
    )
    .action(
      action<JoinOptions>(ctx, async (run) => {
        const logFormat = logFormatOf(run);
        const config = configFileOf(run);
        refuseIfDisabled(config, 'join');
        const file = config?.file ?? null;
        if (file?.nodeType === 'master') {
          throw invalid('node_type', `${config!.path} says node_type master: start it with \`bitacora up --config ${config!.path}\``);
        }
        const masterUrl = (run.args[0] as string | undefined) ?? file?.discoveryPeers[0];
        if (masterUrl === undefined) throw invalid('url', "name the master's URL (like http://10.0.0.5:7700), or discovery_peers in a --config file");
        if (!/^\S+$/.test(masterUrl)) throw invalid('url', `'${masterUrl}' is not a URL; write it like http://10.0.0.5:7700`);
        const { opts } = run;
        // Flag > environment > file > saved > default: the file's node settings count as given.
        const fromFile = (file?.join ?? {}) as Record<string, unknown>;
        const fileSetting = <T>(key: (typeof NODE_SETTING_KEYS)[number]): T | undefined => fromFile[key] as T | undefined;
        const fileRest = Object.fromEntries(Object.entries(fromFile).filter(([k]) => !(NODE_SETTING_KEYS as readonly string[]).includes(k) && k !== 'token' && k !== 'caHash' && k !== 'dataDir'));
        if (opts.caHash !== undefined && !CA_HASH.test(opts.caHash)) throw invalid('--ca-hash', `'${opts.caHash}' must look like sha256:<64 hex digits>, as printed by \`bitacora up\``);
        if (opts.name !== undefined && !slugSchema.safeParse(opts.name).success) {
          throw invalid('--name', `'${opts.name}' is not a valid node name: lowercase letters, digits, ".", "_" or "-"`);
        }
        const role = parseChoice('--role', opts.role, ['worker', 'hybrid'] as const) ?? fileSetting<'worker' | 'hybrid'>('role') ?? (file?.nodeType === 'hybrid' || file?.nodeType === 'worker' ? file.nodeType : undefined);
        const name = opts.name ?? fileSetting<string>('name') ?? file?.nodeId ?? undefined;
        const capacity = parseIntegerOption('--capacity', opts.capacity, 1, 1024) ?? fileSetting<number>('capacity');
        const capabilities = opts.capabilities !== undefined ? parseCapabilities('--capabilities', opts.capabilities) : fileSetting<string[]>('capabilities');
        const specializations = opts.specialization !== undefined ? parseCapabilities('--specialization', opts.specialization) : fileSetting<string[]>('specializations');
        // Whether --serve-only stays within the capabilities is checked once merged with the saved ones and the fingerprint.
        const serveOnly = opts.serveOnly !== undefined ? parseCapabilities('--serve-only', opts.serveOnly) : fileSetting<string[]>('serveOnly');
        const serveProjects = parseProjects('--serve-projects', opts.serveProjects) ?? fileSetting<string[]>('serveProjects');
        const fingerprint = opts.fingerprint === false ? false : fileSetting<boolean>('fingerprint');
        const joinToken = opts.token ?? run.globals.token ?? (fromFile['token'] as string | undefined);
        const caHash = opts.caHash ?? (fromFile['caHash'] as string | undefined);
        const signal = run.stopSignal();
        const dataDir = dataDirWith(run, file);
        const start: AgentStartOptions = {
          masterUrl,
          dataDir,
          ...(role !== undefined ? { role } : {}),
          ...(capabilities !== undefined ? { capabilities } : {}),
          ...(specializations !== undefined ? { specializations } : {}),
          ...(fingerprint !== undefined ? { fingerprint } : {}),
          ...(logFormat ? { logFormat } : {}),
          ...(Object.keys(fileRest).length > 0 ? { settings: fileRest } : {}),
          // The root program also has a `--token` (the API token); commander hands a `--token`
          // written after `join` to the root, so the join token is taken from either place.
          ...(joinToken !== undefined ? { token: joinToken } : {}),
          ...(caHash !== undefined ? { caHash: caHash.toLowerCase() } : {}),
          ...(name !== undefined ? { name } : {}),
          ...(capacity !== undefined ? { capacity } : {}),
          ...(serveOnly !== undefined ? { serveOnly } : {}),
          ...(serveProjects !== undefined ? { serveProjects } : {}),
        };
        const handle = await ctx.deps.startAgent(start);
        const effective = handle.settings;
        const roleNow = effective?.role ?? role ?? 'worker';
        try {
          if (!run.json) ctx.stderr.write(`agent started (data in ${dataDir}); connecting to ${masterUrl}…\n`);
          // On stderr also with --json: what a plain restart kept is worth knowing either way.
          if (effective && effective.restored.length > 0) ctx.stderr.write(`kept from the last start: ${effective.restored.join(', ')} (give a flag to change it)\n`);
          if (effective && !run.json) ctx.stderr.write(`node ${effective.name}, capabilities: ${effective.capabilities.join(', ') || 'none'}\n`);
          const nodeId = await waitForNodeId(handle, signal);
          if (nodeId !== null) {
            if (run.json) printJson(ctx, { nodeId, masterUrl, role: roleNow, dataDir, ...(effective ? { name: effective.name, capabilities: effective.capabilities } : {}) });
            else printLine(ctx, `joined the fleet at ${masterUrl} as node ${nodeId} (${roleNow}). Press Ctrl-C to leave.`);
          }
          const byUser = await untilStopped(signal, handle.closed);
          ctx.stderr.write(byUser ? 'stopping the agent…\n' : 'the agent stopped.\n');
        } finally {
          await handle.close();
        }
      }),
    );
}
