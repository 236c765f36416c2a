/**
 * SecurityClient — node revocation and the audit trail. Reached as `FleetClient.security`; it
 * shares the FleetClient's transport (auth, timeout, errors as BitacoraErrors with the server's code).
 */
import type { FleetNode } from '../core/index.js';

/** The FleetClient's request function. */
export type SecurityTransport = <T>(
  method: string,
  path: string,
  options: { body?: unknown; query?: Record<string, string | number | undefined>; what: string },
) => Promise<T>;

/** One audit entry as the API returns it (the chain fields let a client re-verify it). */
export interface AuditEntryView {
  seq: number;
  entry: {
    index: number;
    at: number;
    actor: string;
    action: string;
    target: string | null;
    outcome: 'allowed' | 'denied' | 'succeeded' | 'failed';
    reason: string | null;
    details: Record<string, unknown>;
    prevHash: string;
    hash: string;
  };
}

export interface AuditVerificationView {
  ok: boolean;
  checked: number;
  break: null | { position: number; index: number | null; seq: number | null; kind: string; message: string };
}

export class SecurityClient {
  constructor(private readonly request: SecurityTransport) {}

  revokeNode(idOrName: string, reason?: string): Promise<FleetNode> {
    return this.request('POST', `/v1/nodes/${encodeURIComponent(idOrName)}/revoke`, { body: reason ? { reason } : {}, what: 'node revocation' });
  }

  auditLog(query: { afterIndex?: number; limit?: number } = {}): Promise<AuditEntryView[]> {
    return this.request('GET', '/v1/audit', { query, what: 'audit trail' });
  }

  verifyAudit(): Promise<AuditVerificationView> {
    return this.request('GET', '/v1/audit/verify', { what: 'audit verification' });
  }
}
