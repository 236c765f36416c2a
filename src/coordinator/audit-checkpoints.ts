/**
 * AuditCheckpointer: every few seconds, when the audit head has moved, signs it (head index,
 * head hash, time; Ed25519) into the append-only checkpoint file outside the database, and
 * hands the newest checkpoint to every connected agent, which keeps it. The newest entries
 * can then not be removed unnoticed: a checkpoint, here or on any agent, names a later head.
 * The window left open is the interval (and a clean stop closes it with a last checkpoint).
 *
 * Single writer, like AuditWriter: one checkpoint at a time (tick and close are serialized),
 * and the head it signs is read through the writer's queue (`currentHead` waits for the
 * entries recorded before it to settle), so a checkpoint never names a head the log lacks.
 */
import type { Logger } from '../core/index.js';
import { checkpointDigest, signCheckpoint, type AuditCheckpoint, type AuditTrust } from '../security/index.js';
import type { AuditWriter } from '../access/audit-writer.js';
import type { AgentStream, AgentStreams } from './agent-streams.js';

/** Default time between two checkpoints while the trail grows. */
export const DEFAULT_AUDIT_CHECKPOINT_INTERVAL_MS = 5000;
/** How often connected agents are checked for missing the newest checkpoint. */
const DELIVERY_CHECK_MS = 1000;

export interface AuditCheckpointerDeps {
  writer: Pick<AuditWriter, 'currentHead' | 'verify'>;
  trust: AuditTrust;
  /** The live agent streams: each active one gets the newest checkpoint once. */
  streams: Pick<AgentStreams, 'all'>;
  now: () => number;
  log: Logger;
  /** Default DEFAULT_AUDIT_CHECKPOINT_INTERVAL_MS. */
  intervalMs?: number;
}

export class AuditCheckpointer {
  private latest: AuditCheckpoint | null = null;
  private lastWrittenAt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The checkpoint work in flight: ticks and the closing checkpoint run one after another. */
  private work: Promise<void> = Promise.resolve();
  private ticking = false;
  /** What each stream was last sent: a replaced stream is a new object and gets it again. */
  private readonly delivered = new WeakMap<AgentStream, string>();

  constructor(private readonly deps: AuditCheckpointerDeps) {}

  /** Reads the newest checkpoint, says loudly when the trail no longer matches it, starts the loop. */
  async start(): Promise<void> {
    this.latest = this.deps.trust.checkpointFile.latest();
    try {
      const check = await this.deps.writer.verify();
      if (!check.ok) this.deps.log.error(`the audit trail is broken: ${check.break?.message ?? 'unknown break'} (see \`bitacora audit verify\`)`);
    } catch (err) {
      this.deps.log.error(`cannot verify the audit trail at start (${(err as Error).message})`);
    }
    const every = Math.min(DELIVERY_CHECK_MS, this.interval);
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /** The newest checkpoint written (or found at start). */
  newest(): AuditCheckpoint | null {
    return this.latest;
  }

  /**
   * Writes a checkpoint when the head moved and the interval has passed, then delivers. A tick
   * while one is still in flight (a slow store) is skipped. Never rejects.
   */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.serial(async () => {
        try {
          if (this.deps.now() - this.lastWrittenAt >= this.interval) await this.write();
          this.deliver();
        } catch (err) {
          // A checkpoint that cannot be written leaves the trail unprotected past the last one: say so, try again next tick.
          this.deps.log.error(`cannot write the audit checkpoint (${(err as Error).message}): retrying`);
        }
      });
    } finally {
      this.ticking = false;
    }
  }

  /** Signs and appends the head if it moved since the newest checkpoint; resolves with the newest either way. */
  checkpoint(): Promise<AuditCheckpoint | null> {
    let out: AuditCheckpoint | null = null;
    return this.serial(async () => {
      out = await this.write();
    }).then(() => out);
  }

  /** Stops the loop after a last checkpoint, delivered to the agents still connected. Idempotent. */
  async close(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    await this.serial(async () => {
      try {
        await this.write();
        this.deliver();
      } catch (err) {
        this.deps.log.error(`cannot write the last audit checkpoint (${(err as Error).message})`);
      }
    });
  }

  private async write(): Promise<AuditCheckpoint | null> {
    // Through the writer's queue: the head once every entry recorded so far has settled.
    const head = await this.deps.writer.currentHead();
    if (head === null && this.latest === null) return null;
    if (this.latest && head && this.latest.headIndex === head.index && this.latest.headHash === head.hash) return this.latest;
    const next = signCheckpoint(head, this.deps.now(), this.latest, this.deps.trust.signingKey);
    this.deps.trust.checkpointFile.append(next);
    this.latest = next;
    this.lastWrittenAt = next.at;
    return next;
  }

  /** Runs `fn` after the checkpoint work before it (never two at once); a failure does not block the next. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.work.then(fn);
    this.work = run.catch(() => undefined);
    return run;
  }

  private deliver(): void {
    const latest = this.latest;
    if (!latest) return;
    const digest = checkpointDigest(latest);
    for (const stream of this.deps.streams.all()) {
      if (stream.state !== 'active' || this.delivered.get(stream) === digest) continue;
      if (stream.connection.send({ type: 'auditCheckpoint', checkpoint: latest })) this.delivered.set(stream, digest);
    }
  }

  private get interval(): number {
    return this.deps.intervalMs ?? DEFAULT_AUDIT_CHECKPOINT_INTERVAL_MS;
  }
}
