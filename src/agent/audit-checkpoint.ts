/**
 * The agent's copy of the master's newest signed audit checkpoint, in
 * `<dataDir>/audit-checkpoint.json`: a witness outside the master of how far its audit trail
 * reached (`bitacora audit verify --checkpoint <that file>`). The agent cannot check the
 * signature (it holds no audit key) and need not: verification does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../security/index.js';
import type { AuditCheckpointMessage } from '../rpc/messages.js';

export const AUDIT_CHECKPOINT_FILE = 'audit-checkpoint.json';

/** Keeps `checkpoint` unless the one kept is newer (a reordered or replayed delivery). Returns whether it was written. */
export function keepAuditCheckpoint(dataDir: string, checkpoint: AuditCheckpointMessage): boolean {
  const file = join(dataDir, AUDIT_CHECKPOINT_FILE);
  const kept = readKept(file);
  if (kept && kept.keyId === checkpoint.keyId && kept.at >= checkpoint.at) return false;
  writeFileDurably(file, `${JSON.stringify(checkpoint, null, 2)}\n`, { mode: 0o644 });
  return true;
}

function readKept(file: string): { at: number; keyId: string } | null {
  if (!existsSync(file)) return null;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { at?: unknown; keyId?: unknown };
    return typeof value.at === 'number' && typeof value.keyId === 'string' ? { at: value.at, keyId: value.keyId } : null;
  } catch {
    return null; // a damaged copy is replaced by the next one
  }
}
