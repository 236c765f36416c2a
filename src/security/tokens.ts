/**
 * Secrets the fleet hands out — join tokens, admin/API tokens, node credentials — and how they
 * are kept: only a hash is stored (sha256 for lookup; HMAC with a fleet key where a stolen
 * database must not allow offline guessing, e.g. the audit trail), compared in constant time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A secret says what it is by its prefix, so a leaked one is easy to recognise (and to grep for). */
export const SECRET_PREFIXES = {
  /** One-time join token (`bitacora token create`). */
  join: 'bjt_',
  /** Admin / API bearer token. */
  admin: 'bat_',
  /** A node's long-lived credential, received at its first join. */
  node: 'bnc_',
} as const;
export type SecretKind = keyof typeof SECRET_PREFIXES;
export type SecretPrefix = (typeof SECRET_PREFIXES)[SecretKind];

/** 32 random bytes: 256 bits, beyond guessing. */
const SECRET_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
const BODY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** `prefix` + 32 random bytes in base64url, e.g. `bjt_Xq3…` (47 characters). */
export function generateSecret(prefix: SecretPrefix): string {
  return prefix + randomBytes(SECRET_BYTES).toString('base64url');
}

/** Which kind of secret `text` is shaped like, or null. Shape only: says nothing about validity. */
export function secretKindOf(text: string): SecretKind | null {
  for (const [kind, prefix] of Object.entries(SECRET_PREFIXES) as Array<[SecretKind, SecretPrefix]>) {
    if (text.startsWith(prefix) && BODY_PATTERN.test(text.slice(prefix.length))) return kind;
  }
  return null;
}

/** sha256 hex of the secret: what the store keeps and looks tokens up by. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** HMAC-SHA256 hex of the secret under `key` (a fleet-local key): for records that may leave the master. */
export function hmacSecret(key: string | Uint8Array, secret: string): string {
  return createHmac('sha256', key).update(secret, 'utf8').digest('hex');
}

/** A 32-byte random key for `hmacSecret`, base64url. */
export function generateHmacKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time equality; hashing first makes the time independent of where (and whether) lengths differ. */
export function secretsEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y);
}

/** Enough of a secret to tell tokens apart in logs and lists, never enough to use it: `bjt_Xq3a…`. */
export function redactSecret(secret: string): string {
  const kind = secretKindOf(secret);
  if (kind === null) return '…';
  const prefix = SECRET_PREFIXES[kind];
  return `${prefix}${secret.slice(prefix.length, prefix.length + 4)}…`;
}
