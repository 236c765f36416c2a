/**
 * AgentConnection: one agent's bidi stream seen from the coordinator, in domain terms.
 * Decodes frames with the codec, reports undecodable ones as FrameErrors, encodes outgoing
 * messages, bounds the outgoing buffer so a stalled agent cannot exhaust the master's memory.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { decodeAgentMessage, deliverFrame, encodeCoordinatorFrames } from '../codec.js';
import { FrameError } from '../errors.js';
import type { AgentMessage, CoordinatorMessage } from '../messages.js';

/** Outgoing bytes queued for one agent beyond which it is considered stalled and cut off. */
export const MAX_QUEUED_OUTGOING_BYTES = 64 * 1024 * 1024;

export interface AgentConnectionHandlers {
  /** A well-formed message, in arrival order. Must not throw (errors are caught and logged as 'internal'). */
  onMessage(message: AgentMessage): void;
  /** A frame that was refused by the codec. The stream stays open; the handler decides. */
  onInvalid(error: FrameError): void;
  /** Called once when the stream ends for any reason (peer, network, close()). */
  onClose(reason: string): void;
}

/** The client certificate of a stream, present only when the fleet CA verified it during the handshake. */
export interface PeerCertificate {
  /** As Node prints it: `URI:bitacora://node/<id>?role=worker`. */
  subjectAltName: string;
  /** Hex, lower case, without separators. */
  serialNumber: string;
  /** ms since the epoch. */
  notAfter: number;
}

export interface AgentConnection {
  /** Process-unique id, for logs and for telling a replaced stream from its successor. */
  readonly id: number;
  /** The verified client certificate, or null (none presented, or not signed by the fleet CA). */
  readonly peer: PeerCertificate | null;
  /** e.g. `ipv4:127.0.0.1:53122`. */
  readonly remoteAddress: string;
  readonly isClosed: boolean;
  /** Starts delivering events; call synchronously inside onConnection. */
  start(handlers: AgentConnectionHandlers): void;
  /**
   * Queues a message — a batch too large for one frame as several frames, in order; false when
   * the stream is closed (the message is dropped). Throws FrameError when one item alone is too large.
   */
  send(message: CoordinatorMessage): boolean;
  /** Ends the stream. Idempotent. A final `error` frame, if any, must be sent before. */
  close(reason: string): void;
}

let nextId = 1;

export class GrpcAgentConnection implements AgentConnection {
  readonly id = nextId++;
  readonly remoteAddress: string;
  readonly peer: PeerCertificate | null;
  private closedReason: string | null = null;
  private handlers: AgentConnectionHandlers | null = null;

  constructor(private readonly call: ServerDuplexStream<Buffer, Buffer>) {
    this.remoteAddress = safePeer(call);
    this.peer = verifiedPeer(call);
  }

  get isClosed(): boolean {
    return this.closedReason !== null;
  }

  start(handlers: AgentConnectionHandlers): void {
    if (this.handlers) throw new Error('AgentConnection.start called twice');
    this.handlers = handlers;
    const call = this.call;
    call.on('data', (bytes: Buffer) => this.receive(bytes));
    call.on('end', () => this.finish('agent ended the stream'));
    call.on('cancelled', () => this.finish('stream cancelled (agent gone)'));
    call.on('error', (err: Error) => this.finish(`stream error: ${err.message}`));
    call.on('close', () => this.finish('stream closed'));
  }

  send(message: CoordinatorMessage): boolean {
    if (this.closedReason !== null) return false;
    const frames = encodeCoordinatorFrames(message);
    const size = frames.reduce((n, f) => n + f.length, 0);
    if (this.call.writableLength + size > MAX_QUEUED_OUTGOING_BYTES) {
      this.close(`agent stalled: more than ${MAX_QUEUED_OUTGOING_BYTES} bytes queued`);
      return false;
    }
    try {
      for (const bytes of frames) this.call.write(bytes);
      return true;
    } catch {
      this.finish('write failed');
      return false;
    }
  }

  close(reason: string): void {
    if (this.closedReason !== null) return;
    try {
      this.call.end();
    } catch {
      /* already torn down */
    }
    this.finish(reason);
  }

  private receive(bytes: Buffer): void {
    if (this.closedReason !== null || !this.handlers) return;
    deliverFrame(bytes, decodeAgentMessage, this.handlers);
  }

  private finish(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.handlers?.onClose(reason);
  }
}

function safePeer(call: ServerDuplexStream<Buffer, Buffer>): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}

/** grpc-js reports a peer certificate only when the TLS socket is `authorized` (chain verified against the CA). */
function verifiedPeer(call: ServerDuplexStream<Buffer, Buffer>): PeerCertificate | null {
  try {
    const cert = call.getAuthContext().sslPeerCertificate;
    if (!cert || typeof cert.serialNumber !== 'string') return null;
    return {
      subjectAltName: cert.subjectaltname ?? '',
      serialNumber: cert.serialNumber.replace(/:/g, '').toLowerCase(),
      notAfter: Date.parse(cert.valid_to),
    };
  } catch {
    return null;
  }
}
