/**
 * The coordinator's agent endpoint on gRPC over TLS: the composition root builds it from the
 * master's address and TLS material and hands it to the Coordinator, which starts it when it
 * is ready to admit agents.
 */
import type { AgentEndpoint } from '../coordinator/index.js';
import { startRpcServer, type RpcServer, type RpcServerTls } from '../rpc/server/index.js';
import type { KeepaliveOptions } from '../rpc/transport.js';

export function grpcAgentEndpoint(options: { host: string; port: number; tls: RpcServerTls; keepalive?: KeepaliveOptions }): AgentEndpoint {
  let server: RpcServer | null = null;
  return {
    async listen(onConnection) {
      server = await startRpcServer({ ...options, onConnection });
      return server.address;
    },
    async close() {
      await server?.close();
    },
  };
}
