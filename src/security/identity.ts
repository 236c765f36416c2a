/**
 * A node's identity as its certificate states it: a URI SAN `bitacora://node/<id>?role=<role>`.
 * Pure: the rpc server reads the peer certificate's subjectAltName and asks here who it is;
 * the ACL decides with the result. The CA alone writes identities (from the join record),
 * never the node's CSR, so the role in a certificate can be trusted as far as the CA is.
 */
import { NODE_ROLES, ValidationError, type NodeRole } from '../core/index.js';

export interface NodeIdentity {
  nodeId: string;
  role: NodeRole;
}

export const NODE_URI_PREFIX = 'bitacora://node/';

/** Node ids are generated (`nod_…`); anything outside this alphabet is refused, not escaped. */
const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isValidNodeId(nodeId: string): boolean {
  return NODE_ID_PATTERN.test(nodeId);
}

export function nodeIdentityUri(identity: NodeIdentity): string {
  if (!isValidNodeId(identity.nodeId)) {
    const message = 'must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit';
    throw new ValidationError(`invalid node id for a certificate: ${JSON.stringify(identity.nodeId)}`, [{ path: 'nodeId', message }]);
  }
  return `${NODE_URI_PREFIX}${identity.nodeId}?role=${identity.role}`;
}

/** The identity in a `bitacora://node/<id>?role=<role>` URI, or null for anything else. */
export function parseNodeIdentityUri(uri: string): NodeIdentity | null {
  if (!uri.startsWith(NODE_URI_PREFIX)) return null;
  const rest = uri.slice(NODE_URI_PREFIX.length);
  const q = rest.indexOf('?');
  if (q < 0) return null;
  const nodeId = rest.slice(0, q);
  const query = rest.slice(q + 1);
  if (!isValidNodeId(nodeId) || !query.startsWith('role=')) return null;
  const role = query.slice('role='.length);
  return (NODE_ROLES as readonly string[]).includes(role) ? { nodeId, role: role as NodeRole } : null;
}

/**
 * The identity in a certificate's subjectAltName as Node prints it (`X509Certificate.subjectAltName`,
 * `tlsSocket.getPeerCertificate().subjectaltname`: `DNS:a, URI:bitacora://node/…`). Null when there
 * is none, or when there are several different ones (an ambiguous certificate identifies no one).
 */
export function nodeIdentityFromSubjectAltName(subjectAltName: string | undefined): NodeIdentity | null {
  if (subjectAltName === undefined) return null;
  let found: NodeIdentity | null = null;
  for (const raw of subjectAltName.split(', ')) {
    // Node quotes entries that contain special characters as JSON strings: `URI:"…"`.
    const entry = raw.startsWith('URI:"') ? safeJson(raw.slice(4)) : raw.startsWith('URI:') ? raw.slice(4) : null;
    if (entry === null) continue;
    const identity = parseNodeIdentityUri(entry);
    if (identity === null) continue;
    if (found !== null && (found.nodeId !== identity.nodeId || found.role !== identity.role)) return null;
    found = identity;
  }
  return found;
}

function safeJson(text: string): string | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}
