/**
 * The coordinator's gRPC endpoint: TLS always, one bidi stream per agent, each handed to
 * `onConnection` as an AgentConnection. Knows nothing of membership or tasks.
 */
import { experimental, Server, ServerCredentials, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { LinkError } from '../errors.js';
import { channelOptions, formatAddress, RAW_CONNECT, type KeepaliveOptions } from '../transport.js';
import { GrpcAgentConnection, type AgentConnection } from './connection.js';

export type { AgentConnection, AgentConnectionHandlers, PeerCertificate } from './connection.js';

export interface RpcServerTls {
  certPem: string;
  keyPem: string;
  /**
   * Mutual TLS: when set, the server asks every client for a certificate and verifies it
   * against this CA. A verified certificate is exposed as `connection.peer`; a stream without
   * one (no certificate, or one the CA did not sign) still opens, with `peer === null`, so
   * that a first join can reach the coordinator — which lets such a stream carry only the
   * join hello. Default: no client certificate asked for (every `peer` is null).
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
  const credentials = tls.clientCaPem
    ? // createSsl(…, true) would refuse certless handshakes outright (no first join possible);
      // the provider form requests and verifies client certificates without requiring one.
      experimental.createCertificateProviderServerCredentials(staticProvider(tls.clientCaPem, tls), staticProvider(tls.clientCaPem, tls), false)
    : ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], false);
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


/**
 * Fixed CA and identity for grpc-js's certificate-provider credentials. Listeners are called
 * on the next tick: grpc-js registers its own watcher only after adding ours, so a synchronous
 * call would be lost and the server would drop every connection as "credentials not loaded".
 */
function staticProvider(caPem: string, identity: { certPem: string; keyPem: string }): experimental.CertificateProvider {
  return {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener({ caCertificate: Buffer.from(caPem) })),
    removeCaCertificateListener: () => {},
    addIdentityCertificateListener: (listener) =>
      queueMicrotask(() => listener({ certificate: Buffer.from(identity.certPem), privateKey: Buffer.from(identity.keyPem) })),
    removeIdentityCertificateListener: () => {},
  };
}
