/**
 * Transport settings shared by both ends of the agent stream: the raw-bytes method
 * definition (so decoding errors are ours to report, not grpc-js's to swallow) and the
 * message-size and keepalive options.
 */
import type { ChannelOptions, MethodDefinition } from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES } from './messages.js';
import { CONNECT_PATH } from './wire.js';

const identity = (b: Buffer): Buffer => b;

/**
 * The Connect method with identity (de)serializers: frames travel as Buffers and
 * rpc/codec decodes them, turning bad bytes into a FrameError instead of a stream reset.
 */
export const RAW_CONNECT: MethodDefinition<Buffer, Buffer> = {
  path: CONNECT_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
  originalName: 'connect',
};

/**
 * grpc-js hard limit: above MAX_MESSAGE_BYTES the codec answers with a clear
 * PayloadTooLarge error frame; only frames beyond twice that are cut by grpc-js itself.
 */
export const TRANSPORT_LIMIT_BYTES = 2 * MAX_MESSAGE_BYTES;

export interface KeepaliveOptions {
  /** Ping the peer after this much silence. Default 5000 ms (client), 10000 ms (server). */
  timeMs?: number;
  /** Close the transport if a ping is not answered within this. Default 5000 ms. */
  timeoutMs?: number;
}

export function channelOptions(keepalive: Required<KeepaliveOptions>): ChannelOptions {
  return {
    'grpc.max_receive_message_length': TRANSPORT_LIMIT_BYTES,
    'grpc.max_send_message_length': TRANSPORT_LIMIT_BYTES,
    // Keepalive notices peers whose TCP connection died silently (cable pulled, SIGSTOP,
    // partition) — heartbeats cover the coordinator's view, keepalive the agent's.
    'grpc.keepalive_time_ms': keepalive.timeMs,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.max_pings_without_data': 0,
  };
}

/** `host:port`, bracketing IPv6 literals. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
