/**
 * The coordinator's gRPC endpoint: TLS always, one bidi stream per agent, each handed to
 * `onConnection` as an AgentConnection. Knows nothing of membership or tasks.
 */
import { Server, ServerCredentials, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { LinkError } from '../errors.js';
import { channelOptions, formatAddress, RAW_CONNECT, type KeepaliveOptions } from '../transport.js';
import { GrpcAgentConnection, type AgentConnection } from './connection.js';

export type { AgentConnection, AgentConnectionHandlers } from './connection.js';

export interface RpcServerTls {
  certPem: string;
  keyPem: string;
  /**
   * mTLS (next issue): when set, clients must present a certificate signed by this CA.
   * Default: no client certificate required.
   */
  clientCaPem?: string;
}

export interface RpcServerOptions {
  host: string;
  /** 0 picks a free port; the bound one is in `address`. */
  port: number;
  tls: RpcServerTls;
  /** Called for every new agent stream; must call `connection.start(handlers)` synchronously. */
  onConnection(connection: AgentConnection): void;
  /** Default: ping after 10 s of silence, give up 5 s later. */
  keepalive?: KeepaliveOptions;
}

export interface RpcServer {
  /** `host:port` actually bound. */
  readonly address: string;
  readonly port: number;
  /** Ends every stream, then stops listening. Idempotent. */
  close(): Promise<void>;
}

export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const server = new Server(channelOptions({ timeMs: options.keepalive?.timeMs ?? 10_000, timeoutMs: options.keepalive?.timeoutMs ?? 5_000 }));
  const live = new Set<GrpcAgentConnection>();
  const implementation: UntypedServiceImplementation = {
    Connect: (call: ServerDuplexStream<Buffer, Buffer>) => {
      const connection = new GrpcAgentConnection(call);
      live.add(connection);
      call.on('close', () => live.delete(connection));
      call.on('cancelled', () => live.delete(connection));
      try {
        options.onConnection(connection);
      } catch (err) {
        connection.close(`onConnection failed: ${(err as Error).message}`);
      }
    },
  };
  server.addService({ Connect: RAW_CONNECT }, implementation);
  const { tls } = options;
  const credentials = ServerCredentials.createSsl(
    tls.clientCaPem ? Buffer.from(tls.clientCaPem) : null,
    [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }],
    Boolean(tls.clientCaPem),
  );
  const bindAddress = formatAddress(options.host, options.port);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(bindAddress, credentials, (err, bound) => {
      if (err) reject(new LinkError(`cannot listen for agents on ${bindAddress}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });
  let closing: Promise<void> | null = null;
  return {
    address: formatAddress(options.host, port),
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const c of live) c.close('coordinator shutting down');
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}

