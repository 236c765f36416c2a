/**
 * CertificateKeeper: the agent's side of node certificates — the key pair of a join or a
 * rotation in flight (it becomes the node's key only with a certificate that matches it and
 * names this node), and the timer that asks for a new certificate over the live stream once
 * enough of the current one's lifetime has passed. The Agent stores what it hands back.
 */
import type { Clock } from '../engine/ports.js';
import type { AgentMessage } from '../rpc/messages.js';
import { certificateFacts, certificateMatchesKey, newKeyAndCsr, renewalDue, type PendingKey } from './node-identity.js';

export interface AdoptedCertificate {
  keyPem: string;
  certPem: string;
  role: 'worker' | 'hybrid';
  notAfter: number;
}

export interface CertificateKeeperOptions {
  nodeName: string;
  clock: Clock;
  log: { info(message: string): void; warn(message: string): void };
  /** How often the certificate's age is checked. Default 60000 ms. */
  checkMs?: number;
  /** Rotate once this fraction of the lifetime has passed. Default 2/3. */
  renewAtFraction?: number;
  /** The node id and certificate in force (from the state file). */
  current(): { nodeId: string | null; certPem: string | null } | null;
  /** Sends on the live stream; false when not connected. */
  send(message: AgentMessage): boolean;
}

export class CertificateKeeper {
  private pending: PendingKey | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: CertificateKeeperOptions) {}

  /** A fresh key for a first join; returns the CSR to send with the token. */
  async prepareJoin(): Promise<string> {
    this.pending = await newKeyAndCsr(this.options.nodeName);
    return this.pending.csrPem;
  }

  /** The join's certificate, if it is for our pending key and names `nodeId`; null (and a warning) otherwise. */
  acceptJoin(nodeId: string, certPem: string): AdoptedCertificate | null {
    return this.adopt(certPem, nodeId);
  }

  /** The answer to a rotation request. */
  acceptRenewal(certPem: string): AdoptedCertificate | null {
    return this.adopt(certPem, this.options.current()?.nodeId ?? null);
  }

  /** Starts checking the certificate's age (after each welcome). */
  arm(): void {
    this.disarm();
    if (!this.options.current()?.certPem) return;
    this.timer = setInterval(() => {
      const certPem = this.options.current()?.certPem;
      const facts = certPem ? certificateFacts(certPem) : null;
      if (facts && !this.pending && renewalDue(facts, this.options.clock.now(), this.options.renewAtFraction)) void this.renewNow();
    }, this.options.checkMs ?? 60_000);
    this.timer.unref();
  }

  /** Sends a CSR for a fresh key over the live stream (rotation, or a role change). */
  async renewNow(): Promise<void> {
    if (this.pending) return;
    const pending = await newKeyAndCsr(this.options.nodeName);
    this.pending = pending;
    if (!this.options.send({ type: 'renewCertificate', csrPem: pending.csrPem })) this.pending = null;
  }

  /** The stream closed: a request in flight is void with it; the next check asks again. */
  reset(): void {
    this.pending = null;
  }

  disarm(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private adopt(certPem: string, nodeId: string | null): AdoptedCertificate | null {
    const key = this.pending;
    this.pending = null;
    const facts = certificateFacts(certPem);
    if (!key || !facts || facts.nodeId !== nodeId || facts.role === 'master' || !certificateMatchesKey(certPem, key.keyPem)) {
      this.options.log.warn('ignoring a certificate from the master that does not match our pending key or node id');
      return null;
    }
    return { keyPem: key.keyPem, certPem, role: facts.role, notAfter: facts.notAfter };
  }
}
