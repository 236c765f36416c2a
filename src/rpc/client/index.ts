/**
 * The agent's side of the stream: dials the coordinator over TLS trusting only the fleet CA,
 * exposes one CoordinatorLink per connection attempt. Reconnecting is the agent's job.
 */
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { FLEET_SERVER_NAME } from '../../core/index.js';
import { decodeCoordinatorMessage, deliverFrame, encodeAgentFrames } from '../codec.js';
import { FrameError } from '../errors.js';
import type { AgentMessage, CoordinatorMessage } from '../messages.js';
import { channelOptions, RAW_CONNECT, type KeepaliveOptions } from '../transport.js';

export interface CoordinatorLinkHandlers {
  onMessage(message: CoordinatorMessage): void;
  /** A frame from the coordinator that the codec refused. */
  onInvalid(error: FrameError): void;
  /** Once, when the stream ends for any reason (after close() too). */
  onClose(reason: string): void;
}

export interface CoordinatorLink {
  readonly isClosed: boolean;
  /** Starts the stream; handlers fire from then on. */
  start(handlers: CoordinatorLinkHandlers): void;
  /**
   * False when the stream is closed. A batch too large for one frame goes as several frames, in
   * order; throws FrameError when a single item (or an unbatched message) exceeds MAX_MESSAGE_BYTES.
   */
  send(message: AgentMessage): boolean;
  /** Writes bytes as they are — for fault injection and protocol tests only. */
  sendRaw(bytes: Buffer): boolean;
  /** Ends the stream and releases the channel at once; unsent writes are lost. Idempotent. */
  close(reason?: string): void;
  /**
   * Half-closes the stream so that everything written reaches the coordinator, waits for it to
   * end its side (at most `timeoutMs`), then closes. For a clean stop.
   */
  closeGracefully(reason: string, timeoutMs: number): Promise<void>;
}

export interface ConnectOptions {
  /** `host:port` of the gRPC endpoint. */
  address: string;
  /** The fleet CA (PEM): the only trusted root. */
  caCertPem: string;
  /** mTLS (next issue): the node's key and certificate. */
  clientKeyPem?: string;
  clientCertPem?: string;
  /**
   * Name to send (SNI) and check the server certificate against. Default FLEET_SERVER_NAME, which
   * every master's certificate carries: never an IP address (RFC 6066, Node's DEP0123).
   */
  serverName?: string;
  /** Default: ping after 5 s of silence, give up 5 s later. */
  keepalive?: KeepaliveOptions;
}

export function connectToCoordinator(options: ConnectOptions): CoordinatorLink {
  const creds = credentials.createSsl(
    Buffer.from(options.caCertPem),
    options.clientKeyPem ? Buffer.from(options.clientKeyPem) : null,
    options.clientCertPem ? Buffer.from(options.clientCertPem) : null,
  );
  const client = new Client(options.address, creds, {
    ...channelOptions({ timeMs: options.keepalive?.timeMs ?? 5_000, timeoutMs: options.keepalive?.timeoutMs ?? 5_000 }),
    'grpc.ssl_target_name_override': options.serverName ?? FLEET_SERVER_NAME,
    'grpc.default_authority': options.serverName ?? FLEET_SERVER_NAME,
  });
  return new GrpcCoordinatorLink(client);
}

/**
 * grpc-js's details as one readable sentence: its empty trailer (`… Resolution note: `) and the
 * timestamps it puts in parentheses are dropped, whitespace collapsed, and a sentence ends once.
 * `No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7701 (2026-…). Resolution note: `
 * → `no connection established (last error: connect ECONNREFUSED 127.0.0.1:7701)`.
 */
export function readableStreamError(details: string): string {
  let text = details
    .replace(/\s*Resolution note:\s*$/i, '')
    .replace(/\s*\(\d{4}-\d{2}-\d{2}T[^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.+$/, '');
  const last = /^No connection established\. Last error: (.+)$/i.exec(text);
  if (last) text = `no connection established (last error: ${last[1]!.replace(/^Error: /, '')})`;
  return text === '' ? 'the stream failed (no details)' : text;
}

class GrpcCoordinatorLink implements CoordinatorLink {
  private call: ClientDuplexStream<Buffer, Buffer> | null = null;
  private handlers: CoordinatorLinkHandlers | null = null;
  private closedReason: string | null = null;

  constructor(private readonly client: Client) {}

  get isClosed(): boolean {
    return this.closedReason !== null;
  }

  start(handlers: CoordinatorLinkHandlers): void {
    if (this.handlers) throw new Error('CoordinatorLink.start called twice');
    this.handlers = handlers;
    const call = this.client.makeBidiStreamRequest(RAW_CONNECT.path, RAW_CONNECT.requestSerialize, RAW_CONNECT.responseDeserialize, new Metadata());
    this.call = call;
    call.on('data', (bytes: Buffer) => this.receive(bytes));
    call.on('error', (err: Error & { details?: string }) => this.finish(readableStreamError(err.details || err.message)));
    call.on('end', () => this.finish('coordinator ended the stream'));
    call.on('close', () => this.finish('stream closed'));
  }

  send(message: AgentMessage): boolean {
    for (const bytes of encodeAgentFrames(message)) if (!this.sendRaw(bytes)) return false;
    return true;
  }

  sendRaw(bytes: Buffer): boolean {
    if (this.closedReason !== null || !this.call) return false;
    try {
      this.call.write(bytes);
      return true;
    } catch {
      this.finish('write failed');
      return false;
    }
  }

  close(reason = 'closed by agent'): void {
    if (this.closedReason !== null) return;
    try {
      this.call?.cancel();
    } catch {
      /* already gone */
    }
    this.finish(reason);
  }

  async closeGracefully(reason: string, timeoutMs: number): Promise<void> {
    const call = this.call;
    if (this.closedReason !== null || !call) return;
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => {
      for (const event of ['end', 'close', 'error'] as const) call.once(event, () => resolve());
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      call.end();
    } catch {
      /* already gone */
    }
    await ended;
    clearTimeout(timer);
    this.close(reason);
  }

  private receive(bytes: Buffer): void {
    if (this.closedReason !== null || !this.handlers) return;
    deliverFrame(bytes, decodeCoordinatorMessage, this.handlers);
  }

  private finish(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.client.close();
    this.handlers?.onClose(reason);
  }
}
