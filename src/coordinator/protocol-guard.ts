/**
 * ProtocolGuard — how the coordinator answers input it refuses on an agent stream: an `error`
 * frame, a 'protocol.violation' event (bounded per stream), and the stream closed when the
 * refusal is fatal or there were too many. Used by the hub and by the result handler (a report
 * about a task that never existed), so neither needs the other for it.
 */
import type { BitacoraError } from '../core/index.js';
import type { CoordinatorMessage } from '../rpc/messages.js';
import type { EventLog } from '../store/backbone.js';
import type { AgentStream } from './agent-streams.js';
import type { Runtime } from './runtime.js';

export class ProtocolGuard {
  constructor(private readonly deps: { runtime: Runtime; events: EventLog }) {}

  /** Records a refused frame or message; closes the stream when `fatal` or too many. */
  refuse(stream: AgentStream, error: BitacoraError, fatal: boolean): void {
    const { settings, log } = this.deps.runtime;
    stream.violations++;
    const tooMany = stream.violations >= settings.maxViolationsPerConnection;
    const close = fatal || tooMany;
    const address = stream.connection.remoteAddress;
    if (stream.violations <= settings.maxViolationsPerConnection) {
      this.deps.events
        .append({
          type: 'protocol.violation',
          subject: stream.nodeId,
          data: { code: error.code, message: error.message.slice(0, 500), address, connection: stream.connection.id, closed: close },
        })
        .catch((err: unknown) => log.warn(`cannot record protocol violation: ${(err as Error).message}`));
    }
    log.warn(`refused input from ${stream.nodeId ?? address}: ${error.message}`, { code: error.code });
    const message = tooMany && !fatal ? `${error.message} (too many refused frames: closing)` : error.message;
    this.reply(stream, { type: 'error', code: error.code, message: message.slice(0, 4000), fatal: close });
    if (close) stream.connection.close(`protocol violation: ${error.code}`);
  }

  /** Sends on this very stream (before it is a node's live stream, too); a failed send is logged. */
  reply(stream: AgentStream, message: CoordinatorMessage): void {
    try {
      stream.connection.send(message);
    } catch (err) {
      this.deps.runtime.log.warn(`cannot send ${message.type}: ${(err as Error).message}`);
    }
  }
}
