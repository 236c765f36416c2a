/**
 * The one catalogue of stable error codes. Codes never change meaning once released;
 * scripts and the HTTP/gRPC edges rely on them. Add new codes, never rename.
 */
export const ErrorCode = {
  /** Input failed schema validation; `details.issues` lists every problem with its path. */
  Validation: 'BIT_ERR_VALIDATION',
  /** A pipeline file is malformed; `details.issues` lists every problem with its path. */
  PipelineInvalid: 'BIT_ERR_PIPELINE_INVALID',
  /** A name (project, workspace, node) is unsafe: path traversal, control characters, bad slug. */
  UnsafeName: 'BIT_ERR_UNSAFE_NAME',
  /** Payload above the size limit of the boundary that received it. */
  PayloadTooLarge: 'BIT_ERR_PAYLOAD_TOO_LARGE',
  NotFound: 'BIT_ERR_NOT_FOUND',
  /** Unique constraint or compare-and-set lost; re-read and retry. */
  Conflict: 'BIT_ERR_CONFLICT',
  /** A state machine refused a transition (e.g. resuming an ended session). */
  InvalidTransition: 'BIT_ERR_INVALID_TRANSITION',
  /** Only one topic may be in progress per project. */
  ActiveTopicExists: 'BIT_ERR_ACTIVE_TOPIC_EXISTS',
  /** Fencing: a result, log or claim for a superseded attempt. Terminal for that attempt. */
  StaleAttempt: 'BIT_ERR_STALE_ATTEMPT',
  /** Same idempotency key, different payload. */
  IdempotencyMismatch: 'BIT_ERR_IDEMPOTENCY_MISMATCH',
  TokenInvalid: 'BIT_ERR_TOKEN_INVALID',
  TokenExpired: 'BIT_ERR_TOKEN_EXPIRED',
  TokenUsed: 'BIT_ERR_TOKEN_USED',
  TokenRevoked: 'BIT_ERR_TOKEN_REVOKED',
  Unauthenticated: 'BIT_ERR_UNAUTHENTICATED',
  Forbidden: 'BIT_ERR_FORBIDDEN',
  /** Agent and coordinator speak different PROTOCOL_VERSIONs. */
  ProtocolVersion: 'BIT_ERR_PROTOCOL_VERSION',
  /** A message arrived that the protocol does not allow in the current state. */
  ProtocolViolation: 'BIT_ERR_PROTOCOL_VIOLATION',
  /** The master's CA does not match the pinned sha256 fingerprint. */
  CaMismatch: 'BIT_ERR_CA_MISMATCH',
  /** A certificate, key or certificate request is malformed, unsupported, not issued by the fleet CA, or its files are inconsistent. */
  CertificateInvalid: 'BIT_ERR_CERTIFICATE_INVALID',
  /** A node certificate (or the node it names) was revoked: refused from then on. Terminal. */
  CertificateRevoked: 'BIT_ERR_CERTIFICATE_REVOKED',
  /** No ready node satisfies a task's hard constraints (capabilities, pin). */
  NoCapableNode: 'BIT_ERR_NO_CAPABLE_NODE',
  ApprovalRejected: 'BIT_ERR_APPROVAL_REJECTED',
  ApprovalExpired: 'BIT_ERR_APPROVAL_EXPIRED',
  Timeout: 'BIT_ERR_TIMEOUT',
  Cancelled: 'BIT_ERR_CANCELLED',
  /** A command could not be started (missing binary, bad cwd). */
  SpawnFailed: 'BIT_ERR_SPAWN_FAILED',
  /** The store cannot write (disk full, read-only, locked). Retryable. */
  StoreUnavailable: 'BIT_ERR_STORE_UNAVAILABLE',
  /** The audit trail cannot be written; privileged operations are refused (fail-closed). */
  AuditUnavailable: 'BIT_ERR_AUDIT_UNAVAILABLE',
  /** An audit key (MAC key file or env, signing key, public key) is missing, malformed or readable by others. Terminal. */
  AuditKeyInvalid: 'BIT_ERR_AUDIT_KEY_INVALID',
  /** Too many failed attempts from one address (dashboard login): wait `details.retryAfterMs`. Retryable. */
  RateLimited: 'BIT_ERR_RATE_LIMITED',
  /** A client could not reach the master at all (connection refused, DNS, TLS, timeout). Retryable. */
  MasterUnreachable: 'BIT_ERR_MASTER_UNREACHABLE',
  /** The coordinator is shutting down or refuses new work (emergency shutdown). */
  Unavailable: 'BIT_ERR_UNAVAILABLE',
  Internal: 'BIT_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
