/**
 * AuditCheckpointer: every few seconds, when the audit head has moved, signs it (head index,
 * head hash, time; Ed25519) into the append-only checkpoint file outside the database, and
 * hands the newest checkpoint to every connected agent, which keeps it. The newest entries
 * can then not be removed unnoticed: a checkpoint, here or on any agent, names a later head.
 * The window left open is the interval (and a clean stop closes it with a last checkpoint).
 *
 * Single writer, like AuditWriter: runs on the coordinator's thread, between store calls.
 */
import { checkpointDigest, signCheckpoint, type AuditCheckpoint, type AuditTrust } from '../security/index.js';
import type { AuditWriter } from './audit-writer.js';
import type { AgentSession, Logger } from './context.js';

/** Default time between two checkpoints while the trail grows. */
export const DEFAULT_AUDIT_CHECKPOINT_INTERVAL_MS = 5000;
/** How often connected agents are checked for missing the newest checkpoint. */
const DELIVERY_CHECK_MS = 1000;

export interface AuditCheckpointerDeps {
  writer: AuditWriter;
  trust: AuditTrust;
  /** The live agent streams (the context's map): each active one gets the newest checkpoint once. */
  sessions: ReadonlyMap<string, AgentSession>;
  now: () => number;
  log: Logger;
  /** Default DEFAULT_AUDIT_CHECKPOINT_INTERVAL_MS. */
  intervalMs?: number;
}

export class AuditCheckpointer {
  private latest: AuditCheckpoint | null = null;
  private lastWrittenAt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** What each stream was last sent: a replaced stream is a new object and gets it again. */
  private readonly delivered = new WeakMap<AgentSession, string>();

  constructor(private readonly deps: AuditCheckpointerDeps) {}

  /** Reads the newest checkpoint, says loudly when the trail no longer matches it, starts the loop. */
  start(): void {
    this.latest = this.deps.trust.checkpointFile.latest();
    const check = this.deps.writer.verify();
    if (!check.ok) this.deps.log.error(`the audit trail is broken: ${check.break?.message ?? 'unknown break'} (see \`bitacora audit verify\`)`);
    const every = Math.min(DELIVERY_CHECK_MS, this.interval);
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  /** The newest checkpoint written (or found at start). */
  newest(): AuditCheckpoint | null {
    return this.latest;
  }

  /** Writes a checkpoint when the head moved and the interval has passed, then delivers. */
  tick(): void {
    try {
      if (this.deps.now() - this.lastWrittenAt >= this.interval) this.checkpoint();
      this.deliver();
    } catch (err) {
      // A checkpoint that cannot be written leaves the trail unprotected past the last one: say so, try again next tick.
      this.deps.log.error(`cannot write the audit checkpoint (${(err as Error).message}): retrying`);
    }
  }

  /** Signs and appends the head if it moved since the newest checkpoint; returns the newest either way. */
  checkpoint(): AuditCheckpoint | null {
    const head = this.deps.writer.currentHead();
    if (head === null && this.latest === null) return null;
    if (this.latest && head && this.latest.headIndex === head.index && this.latest.headHash === head.hash) return this.latest;
    const next = signCheckpoint(head, this.deps.now(), this.latest, this.deps.trust.signingKey);
    this.deps.trust.checkpointFile.append(next);
    this.latest = next;
    this.lastWrittenAt = next.at;
    return next;
  }

  /** Stops the loop after a last checkpoint, delivered to the agents still connected. Idempotent. */
  close(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    try {
      this.checkpoint();
      this.deliver();
    } catch (err) {
      this.deps.log.error(`cannot write the last audit checkpoint (${(err as Error).message})`);
    }
  }

  private deliver(): void {
    const latest = this.latest;
    if (!latest) return;
    const digest = checkpointDigest(latest);
    for (const session of this.deps.sessions.values()) {
      if (session.state !== 'active' || this.delivered.get(session) === digest) continue;
      if (session.connection.send({ type: 'auditCheckpoint', checkpoint: latest })) this.delivered.set(session, digest);
    }
  }

  private get interval(): number {
    return this.deps.intervalMs ?? DEFAULT_AUDIT_CHECKPOINT_INTERVAL_MS;
  }
}
