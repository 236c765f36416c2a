/**
 * The audit trail's keys and checkpoint file, kept outside the database: whoever holds
 * `fleet.db` (a backup, a copied file, a PostgreSQL login) can neither MAC nor sign.
 *
 * - MAC key: `BITACORA_AUDIT_KEY` (64+ hex digits) or `<dataDir>/secrets/audit-mac.key`
 *   (created on first start, mode 0600; refused when group or others can read it).
 * - Signing key: Ed25519, `<dataDir>/secrets/audit-signing.key` (PKCS#8 PEM, 0600); its public
 *   half is written to `<dataDir>/audit-signing.pub` for auditors (verification needs only it).
 * - Checkpoints: `<dataDir>/audit-checkpoints.jsonl`, one signed checkpoint per line, only ever
 *   appended, fsynced after each line.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileDurably } from './durable-file.js';
import { AuditKeyError } from './errors.js';
import type { AuditCheckpoint } from './audit.js';

export const AUDIT_FILES = {
  secretsDir: 'secrets',
  macKey: join('secrets', 'audit-mac.key'),
  signingKey: join('secrets', 'audit-signing.key'),
  publicKey: 'audit-signing.pub',
  checkpoints: 'audit-checkpoints.jsonl',
} as const;

/** The environment variable that supplies the MAC key instead of the key file. */
export const AUDIT_KEY_ENV = 'BITACORA_AUDIT_KEY';

export interface AuditKeys {
  macKey: Buffer;
  signingKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
  /** Where each one came from (the MAC key: `env:BITACORA_AUDIT_KEY` or its file). */
  sources: { macKey: string; signingKey: string; publicKey: string; checkpoints: string };
}

/** Loads the audit keys of a master's data directory, creating what is missing (first start). */
export function ensureAuditKeys(dataDir: string, env: Readonly<Record<string, string | undefined>> = process.env): AuditKeys {
  mkdirSync(join(dataDir, AUDIT_FILES.secretsDir), { recursive: true, mode: 0o700 });
  const mac = macKeyFrom(dataDir, env);
  const signingFile = join(dataDir, AUDIT_FILES.signingKey);
  if (!existsSync(signingFile)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileDurably(signingFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  }
  checkPrivate(signingFile);
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(readFileSync(signingFile, 'utf8'));
  } catch (err) {
    throw new AuditKeyError(`${signingFile} is not a readable private key: ${(err as Error).message}`, { cause: err });
  }
  if (signingKey.asymmetricKeyType !== 'ed25519') throw new AuditKeyError(`${signingFile} holds a ${signingKey.asymmetricKeyType ?? 'unknown'} key, not an Ed25519 one`);
  const publicKey = createPublicKey(signingKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const publicFile = join(dataDir, AUDIT_FILES.publicKey);
  if (!existsSync(publicFile) || readFileSync(publicFile, 'utf8') !== publicKeyPem) writeFileDurably(publicFile, publicKeyPem, { mode: 0o644 });
  return {
    macKey: mac.key,
    signingKey,
    publicKey,
    publicKeyPem,
    sources: { macKey: mac.source, signingKey: signingFile, publicKey: publicFile, checkpoints: join(dataDir, AUDIT_FILES.checkpoints) },
  };
}

/** Reads an auditor's public key file (PEM). AuditKeyError when it is not an Ed25519 public key. */
export function loadAuditPublicKey(pem: string, what: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key, not an Ed25519 one`);
    return key;
  } catch (err) {
    throw new AuditKeyError(`${what} is not an audit public key: ${(err as Error).message}`, { cause: err });
  }
}

function macKeyFrom(dataDir: string, env: Readonly<Record<string, string | undefined>>): { key: Buffer; source: string } {
  const fromEnv = env[AUDIT_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^(?:[0-9a-fA-F]{2}){32,}$/.test(fromEnv.trim())) throw new AuditKeyError(`${AUDIT_KEY_ENV} must be at least 64 hex digits (32 bytes)`);
    return { key: Buffer.from(fromEnv.trim(), 'hex'), source: `env:${AUDIT_KEY_ENV}` };
  }
  const file = join(dataDir, AUDIT_FILES.macKey);
  if (!existsSync(file)) writeFileDurably(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  checkPrivate(file);
  const text = readFileSync(file, 'utf8').trim();
  if (!/^(?:[0-9a-fA-F]{2}){32,}$/.test(text)) throw new AuditKeyError(`${file} must hold at least 64 hex digits (32 bytes)`);
  return { key: Buffer.from(text, 'hex'), source: file };
}

/** A secret readable by group or others is refused, as ssh does: it may already have leaked. */
function checkPrivate(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new AuditKeyError(`${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it (and rotate it if it may have leaked)`);
}

/**
 * The append-only checkpoint file. `append` writes one line and fsyncs it (and the directory
 * when it created the file) before returning. `read` returns every checkpoint, oldest first,
 * leaving out lines torn by a crash mid-append (what the parsed ones prove is checked by
 * verification: signatures and the links between them).
 */
export class AuditCheckpointFile {
  constructor(readonly path: string) {}

  append(checkpoint: AuditCheckpoint): void {
    const created = !existsSync(this.path);
    // After a crash mid-append the file ends in a torn line: start on a line of our own.
    const torn = !created && statSync(this.path).size > 0 && !readFileSync(this.path, 'utf8').endsWith('\n');
    const fd = openSync(this.path, 'a', 0o644);
    try {
      const bytes = Buffer.from(`${torn ? '\n' : ''}${JSON.stringify(checkpoint)}\n`, 'utf8');
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDirectory(dirname(this.path));
  }

  read(): unknown[] {
    if (!existsSync(this.path)) return [];
    const out: unknown[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as unknown);
      } catch {
        // A line torn by a crash mid-append: its checkpoint was never complete, and the next
        // one names the one before it, so leaving it out loses nothing.
      }
    }
    return out;
  }

  /** The newest checkpoint in the file, or null (none, or the last line does not parse). */
  latest(): AuditCheckpoint | null {
    const all = this.read();
    const last = all[all.length - 1];
    return last !== undefined && typeof last === 'object' ? (last as AuditCheckpoint) : null;
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What the coordinator's audit writer and checkpointer use: the keys and the checkpoint file. */
export interface AuditTrust {
  macKey: Uint8Array;
  signingKey: KeyObject;
  publicKey: KeyObject;
  checkpointFile: Pick<AuditCheckpointFile, 'append' | 'read' | 'latest' | 'path'>;
}

/** The AuditTrust of a master's data directory (keys created on first start). */
export function auditTrustFor(dataDir: string, env: Readonly<Record<string, string | undefined>> = process.env): AuditTrust & { keys: AuditKeys } {
  const keys = ensureAuditKeys(dataDir, env);
  return { macKey: keys.macKey, signingKey: keys.signingKey, publicKey: keys.publicKey, checkpointFile: new AuditCheckpointFile(keys.sources.checkpoints), keys };
}
