/** `bitacora up`: start a master (REST + WebSocket API, gRPC agent endpoint, embedded store) and stay up. */
import { Option, type Command } from 'commander';
import { parseHostPort } from '../config/index.js';
import { ValidationError } from '../core/index.js';
import type { CliContext, MasterHandle, MasterStartOptions } from './context.js';
import { action, type Run } from './common.js';
import { printJson, printLine } from './output.js';
import { configFileOf, dataDirWith, refuseIfDisabled } from './config-file.js';

interface UpOptions {
  logFormat?: string;
  http?: string;
  grpc?: string;
  config?: string;
  localWorker?: boolean;
  aclPolicy?: string;
  httpTls?: 'off' | 'fleet-ca';
  httpCert?: string;
  httpKey?: string;
}

/** `--http-tls` or `--http-cert` + `--http-key` (exit 2 on a half or conflicting pair, before anything starts); undefined = the default (off). */
export function httpTlsOf(opts: Pick<UpOptions, 'httpTls' | 'httpCert' | 'httpKey'>): MasterStartOptions['httpTls'] {
  const { httpTls, httpCert, httpKey } = opts;
  if (httpCert === undefined && httpKey === undefined) return httpTls;
  if (httpCert === undefined || httpKey === undefined) {
    const missing = httpCert === undefined ? '--http-cert' : '--http-key';
    throw new ValidationError(`${missing} is missing: --http-cert and --http-key go together`, [{ path: missing, message: 'required' }]);
  }
  if (httpTls !== undefined) {
    throw new ValidationError(`--http-tls ${httpTls} conflicts with --http-cert/--http-key (a configured certificate already means TLS)`, [
      { path: '--http-tls', message: 'conflicts with --http-cert' },
    ]);
  }
  return { certFile: httpCert, keyFile: httpKey };
}

export const DEFAULT_HTTP = '127.0.0.1:7700';
export const DEFAULT_GRPC = '127.0.0.1:7701';

/** Validated here so a typo is exit 2 with the accepted forms, before anything starts. */
function checkAddress(option: '--http' | '--grpc', value: string): string {
  parseHostPort(value, option);
  return value;
}

export const LOG_FORMAT_ENV = 'BITACORA_LOG_FORMAT';

/** `--log-format` > `$BITACORA_LOG_FORMAT` > human; exit 2 on anything else. */
export function logFormatOf(run: Run<{ logFormat?: string }>): 'human' | 'json' | undefined {
  const value = run.opts.logFormat ?? run.ctx.env[LOG_FORMAT_ENV];
  if (value === undefined || value === '') return undefined;
  if (value !== 'human' && value !== 'json') {
    throw new ValidationError(`--log-format: '${value}' is not one of human, json`, [{ path: '--log-format', message: 'must be human or json' }]);
  }
  return value;
}

/** Resolves when the user asks to stop (true) or the master stops by itself (false). */
export function untilStopped(signal: AbortSignal, closed: Promise<void>): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(true);
    const onAbort = () => resolve(true);
    signal.addEventListener('abort', onAbort, { once: true });
    closed.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(false);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function printBanner(run: Run<UpOptions>, handle: MasterHandle, dataDir: string): void {
  if (run.json) {
    printJson(run.ctx, {
      url: handle.httpUrl, dashboardUrl: handle.dashboardUrl, grpcAddress: handle.grpcAddress,
      adminToken: handle.adminToken,
      ...(handle.loginToken ? { loginToken: handle.loginToken, ...(handle.loginUrl ? { loginUrl: handle.loginUrl } : {}) } : {}),
      caHash: handle.caHash, join: handle.joinCommand, dataDir,
    });
    return;
  }
  const io = run.ctx;
  printLine(io, 'Bitácora master is up.');
  printLine(io, `  API          ${handle.httpUrl}`);
  printLine(io, `  agents dial  ${handle.grpcAddress} (gRPC over TLS, CA ${handle.caHash})`);
  printLine(io, `  data         ${dataDir}`);
  printLine(io, `  admin token  ${handle.adminToken}`);
  printLine(io, `               (saved in ${dataDir}/client.json: the CLI on this machine needs no flags)`);
  printLine(io, `  dashboard    ${handle.dashboardUrl}`);
  if (handle.loginToken) {
    printLine(io);
    printLine(io, 'Open this one-time link to sign in to the dashboard as admin (valid 15 min, works once):');
    printLine(io, `  ${handle.loginUrl ?? handle.loginToken}`);
    printLine(io, '  (`bitacora token create --user admin --login` makes another, e.g. for your phone)');
  }
  printLine(io);
  printLine(io, 'Join another machine to this fleet (one-time token; more with `bitacora token create`):');
  printLine(io, `  ${handle.joinCommand}`);
  printLine(io);
  printLine(io, 'Press Ctrl-C to stop.');
}

export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('start a master: REST + WebSocket API, gRPC endpoint for agents, embedded store')
    .option('--http <host:port>', `address of the REST + WebSocket API and the dashboard; default ${DEFAULT_HTTP}`)
    .option('--grpc <host:port>', `address agents dial (gRPC over TLS); default ${DEFAULT_GRPC}`)
    .option('--config <file>', 'a configuration file (YAML; also $BITACORA_CONFIG): its up: section and fleet fields; flags win over it')
    .option('--log-format <format>', 'human (default) or json: one JSON object per log line on stderr, for log shippers (also $BITACORA_LOG_FORMAT)')
    .option('--local-worker', 'also run a hybrid worker here, so the master can execute work alone')
    .option('--acl-policy <file>', 'the ACL policy file (YAML or JSON), applied live when edited (default <data dir>/acl.yaml)')
    .addOption(new Option('--http-tls <mode>', 'serve the API over HTTPS with the fleet CA\'s server certificate (fleet-ca) or not (off; default)').choices(['off', 'fleet-ca']))
    .option('--http-cert <file>', 'serve the API over HTTPS with this certificate (PEM, chain first); needs --http-key')
    .option('--http-key <file>', 'the private key (PEM) of --http-cert')
    .addHelpText(
      'after',
      `
The first start creates the data directory (fleet CA, certificates, SQLite store), the user
admin and its API token; it prints the API URL, the admin token, a one-time sign-in link for
the dashboard (served at / on the API address) and the exact \`bitacora join …\` command for other machines. An invalid ACL policy file
stops the start with an error naming the file and the problem. Stays in the foreground until Ctrl-C (or an emergency shutdown).

Examples:
  $ bitacora up --local-worker                      # a one-machine fleet (what \`npm start\` runs)
  $ bitacora up --http 0.0.0.0:7700 --grpc 0.0.0.0:7701   # reachable from other machines
  $ bitacora up --http 0.0.0.0:7700 --http-tls fleet-ca   # HTTPS with the fleet CA (client.json names the CA file)
  $ bitacora up --http-cert web.pem --http-key web-key.pem   # HTTPS with your own certificate
  $ bitacora up --data-dir /srv/bitacora --json     # machine-readable banner
  $ bitacora up --config fleet.yaml                 # settings from a file (see examples/bitacora.yaml)`,
    )
    .action(
      action<UpOptions>(ctx, async (run) => {
        const logFormat = logFormatOf(run);
        const config = configFileOf(run);
        refuseIfDisabled(config, 'up');
        const file = config?.file ?? null;
        if (file?.nodeType === 'worker') {
          throw new ValidationError(`${config!.path}: node_type worker does not run a master: start it with \`bitacora join --config ${config!.path}\``, [{ path: 'node_type', message: 'worker cannot run `up`' }]);
        }
        // Flag > environment > file > default; the file's values were validated by the same schema.
        // Undefined when only the file sets it (its `settings` carry it to the same schema).
        const http = run.opts.http !== undefined ? checkAddress('--http', run.opts.http) : file?.up.http !== undefined ? undefined : DEFAULT_HTTP;
        const grpc = run.opts.grpc !== undefined ? checkAddress('--grpc', run.opts.grpc) : file?.up.grpc !== undefined ? undefined : DEFAULT_GRPC;
        const httpTls = httpTlsOf(run.opts);
        const localWorker = run.opts.localWorker === true || (file?.up.localWorker as boolean | undefined) === true || (file?.up.localWorker === undefined && file?.nodeType === 'hybrid');
        const dataDir = dataDirWith(run, file);
        const signal = run.stopSignal();
        const handle = await ctx.deps.startMaster({
          dataDir, localWorker, ...(logFormat ? { logFormat } : {}),
          ...(http !== undefined ? { http } : {}),
          ...(grpc !== undefined ? { grpc } : {}),
          ...(file ? { settings: file.up } : {}),
          ...(file?.nodeId ? { localWorkerName: file.nodeId } : {}),
          ...(httpTls ? { httpTls } : {}), ...(run.opts.aclPolicy ? { aclPolicyFile: run.opts.aclPolicy } : {}),
        });
        try {
          printBanner(run, handle, dataDir);
          const byUser = await untilStopped(signal, handle.closed);
          if (byUser) ctx.stderr.write('stopping the master…\n');
        } finally {
          await handle.close();
        }
        ctx.stderr.write('the master stopped.\n');
      }),
    );
}
