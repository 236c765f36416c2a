/**
 * Loads proto/fleet.proto once and exposes the raw (de)serializers of the wire frames.
 * Only rpc/codec.ts and the transports use this; everyone else speaks messages.ts.
 */
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import type { AgentFrame, AgentFrame__Output } from './gen/bitacora/fleet/v1/AgentFrame.js';
import type { CoordinatorFrame, CoordinatorFrame__Output } from './gen/bitacora/fleet/v1/CoordinatorFrame.js';

/** Same options as the type generator (proto/generate.mjs), so runtime objects match gen/ types. */
const LOADER_OPTIONS = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true } as const;

/** Full gRPC path of the one RPC. */
export const CONNECT_PATH = '/bitacora.fleet.v1.Fleet/Connect';

// Resolves to <package>/proto/fleet.proto both from src/rpc (vitest) and dist/rpc (built).
const PROTO_FILE = fileURLToPath(new URL('../../proto/fleet.proto', import.meta.url));

interface WireCodec {
  encodeAgent(frame: AgentFrame): Buffer;
  decodeAgent(bytes: Buffer): AgentFrame__Output;
  encodeCoordinator(frame: CoordinatorFrame): Buffer;
  decodeCoordinator(bytes: Buffer): CoordinatorFrame__Output;
}

let cached: WireCodec | null = null;

/** Lazily loaded: parsing the .proto costs a few ms, paid once per process. */
export function wire(): WireCodec {
  if (cached) return cached;
  const definition = loadSync(PROTO_FILE, LOADER_OPTIONS);
  const service = definition['bitacora.fleet.v1.Fleet'] as Record<string, MethodDefinition<AgentFrame, CoordinatorFrame, AgentFrame__Output, CoordinatorFrame__Output>> | undefined;
  const connect = service?.['Connect'];
  if (!connect) throw new Error(`proto ${PROTO_FILE} does not define bitacora.fleet.v1.Fleet/Connect`);
  cached = {
    encodeAgent: connect.requestSerialize,
    decodeAgent: connect.requestDeserialize,
    encodeCoordinator: connect.responseSerialize,
    decodeCoordinator: connect.responseDeserialize,
  };
  return cached;
}
