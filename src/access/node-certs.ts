/**
 * Node certificates on the master: issues them from agents' CSRs (first join, rotation), tells
 * who a verified peer certificate names, and keeps the revocation list — persisted in the
 * backbone KV (`security/revocations`) so a revoked node stays out across restarts and, with
 * a replicated backbone, on every coordinator.
 */
import { BitacoraError, ErrorCode, type NodeRole } from '../core/index.js';
import { issueNodeCertificate, nodeIdentityFromSubjectAltName, type FleetCa, type NodeIdentity } from '../security/index.js';
import type { KeyValueStore } from '../store/kv.js';
import { UnauthenticatedError } from './errors.js';

/** What the transport verified of a client certificate (the agent endpoint exposes it per stream). */
export interface PeerCertificate {
  /** As Node prints it: `URI:bitacora://node/<id>?role=worker`. */
  subjectAltName: string;
  /** Hex, lower case, without separators. */
  serialNumber: string;
  /** ms since the epoch. */
  notAfter: number;
}

export const REVOCATIONS_KEY = 'security/revocations';
const certsKey = (nodeId: string): string => `security/certs/${nodeId}`;
/** Serials remembered per node (the live one and a few rotated ones still within their validity). */
const SERIALS_KEPT = 8;

export interface RevocationList {
  /** Revoked node ids: every certificate naming them is refused, including ones issued before. */
  nodes: Record<string, { at: number; reason: string }>;
  /** Revoked serials (hex, lower case): what a CRL would carry. */
  serials: string[];
}

interface IssuedSerials {
  serials: Array<{ serial: string; notAfter: number }>;
}

export interface NodeCertOptions {
  ca: FleetCa;
  /** Lifetime of node certificates. Default 7 days (security/ca DEFAULT_NODE_VALIDITY_DAYS). */
  validityDays?: number;
}

export class CertificateRevokedError extends BitacoraError {
  override name = 'CertificateRevokedError';
  constructor(message: string, details: Record<string, unknown>) {
    super(ErrorCode.CertificateRevoked, message, { details });
  }
}

export interface PeerIdentity extends NodeIdentity {
  serial: string;
  notAfter: number;
}

export class NodeCertificates {
  private revoked: RevocationList = { nodes: {}, serials: [] };
  private revokedSerials = new Set<string>();

  constructor(private readonly kv: KeyValueStore, private readonly options: NodeCertOptions) {}

  /** Reads the revocation list (coordinator start). */
  async load(): Promise<void> {
    const stored = (await this.kv.get<RevocationList>(REVOCATIONS_KEY))?.value;
    this.revoked = { nodes: { ...(stored?.nodes ?? {}) }, serials: [...(stored?.serials ?? [])] };
    this.revokedSerials = new Set(this.revoked.serials);
  }

  /**
   * Who the verified `peer` certificate names. Throws UnauthenticatedError when there is no
   * verified certificate or it names no node, CertificateRevokedError when revoked.
   */
  identify(peer: PeerCertificate | null): PeerIdentity {
    if (peer === null) throw new UnauthenticatedError('this stream has no valid node certificate (none presented, or not issued by the fleet CA)');
    const identity = nodeIdentityFromSubjectAltName(peer.subjectAltName);
    if (identity === null) throw new UnauthenticatedError('the client certificate names no fleet node', { details: { serial: peer.serialNumber } });
    const revokedNode = this.revoked.nodes[identity.nodeId];
    if (revokedNode || this.revokedSerials.has(peer.serialNumber)) {
      throw new CertificateRevokedError(`the certificate of node ${identity.nodeId} was revoked${revokedNode ? `: ${revokedNode.reason}` : ''}`, {
        nodeId: identity.nodeId,
        serial: peer.serialNumber,
      });
    }
    return { ...identity, serial: peer.serialNumber, notAfter: peer.notAfter };
  }

  isNodeRevoked(nodeId: string): boolean {
    return this.revoked.nodes[nodeId] !== undefined;
  }

  /** Signs a certificate for `csrPem` naming the node; remembers its serial for revocation. CertificateError on a bad CSR. */
  async issue(csrPem: string, identity: { nodeId: string; role: NodeRole }, now: number): Promise<{ certPem: string; serial: string; notAfter: number }> {
    if (this.isNodeRevoked(identity.nodeId)) throw new CertificateRevokedError(`node ${identity.nodeId} is revoked: no new certificate`, { nodeId: identity.nodeId });
    const issued = await issueNodeCertificate(this.options.ca, csrPem, {
      ...identity,
      now: new Date(now),
      ...(this.options.validityDays !== undefined ? { validityDays: this.options.validityDays } : {}),
    });
    const notAfter = issued.notAfter.getTime();
    const known = (await this.kv.get<IssuedSerials>(certsKey(identity.nodeId)))?.value.serials ?? [];
    const serials = [...known.filter((s) => s.notAfter > now), { serial: issued.serialNumber, notAfter }].slice(-SERIALS_KEPT);
    await this.kv.put<IssuedSerials>(certsKey(identity.nodeId), { serials }, { quiet: true });
    return { certPem: issued.certPem, serial: issued.serialNumber, notAfter };
  }

  /** Revokes the node and every serial issued to it; persisted before it returns. Returns the serials. */
  async revoke(nodeId: string, reason: string, now: number): Promise<string[]> {
    const serials = ((await this.kv.get<IssuedSerials>(certsKey(nodeId)))?.value.serials ?? []).map((s) => s.serial);
    const next: RevocationList = {
      nodes: { ...this.revoked.nodes, [nodeId]: { at: now, reason } },
      serials: [...new Set([...this.revoked.serials, ...serials])],
    };
    await this.kv.put(REVOCATIONS_KEY, next);
    this.revoked = next;
    this.revokedSerials = new Set(next.serials);
    return serials;
  }
}
