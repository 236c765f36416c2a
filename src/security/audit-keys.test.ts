import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_FILES, AUDIT_KEY_ENV, AuditCheckpointFile, ensureAuditKeys } from './audit-keys.js';
import { signCheckpoint } from './audit.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const fresh = () => (dir = mkdtempSync(join(tmpdir(), 'bitacora-audit-keys-')));

describe('ensureAuditKeys', () => {
  it('creates 0600 keys on first start and loads the same ones afterwards', () => {
    fresh();
    const first = ensureAuditKeys(dir, {});
    expect(statSync(join(dir, AUDIT_FILES.macKey)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, AUDIT_FILES.signingKey)).mode & 0o777).toBe(0o600);
    const again = ensureAuditKeys(dir, {});
    expect(again.macKey.equals(first.macKey)).toBe(true);
    expect(again.publicKeyPem).toBe(first.publicKeyPem);
    expect(readFileSync(join(dir, AUDIT_FILES.publicKey), 'utf8')).toBe(first.publicKeyPem);
  });

  it('takes the MAC key from the environment, and refuses a short one', () => {
    fresh();
    const key = 'ab'.repeat(32);
    expect(ensureAuditKeys(dir, { [AUDIT_KEY_ENV]: key }).macKey.toString('hex')).toBe(key);
    expect(() => ensureAuditKeys(dir, { [AUDIT_KEY_ENV]: 'abcd' })).toThrow(expect.objectContaining({ code: 'BIT_ERR_AUDIT_KEY_INVALID' }));
  });

  it('refuses a key file others can read', () => {
    fresh();
    ensureAuditKeys(dir, {});
    chmodSync(join(dir, AUDIT_FILES.macKey), 0o644);
    expect(() => ensureAuditKeys(dir, {})).toThrow(/readable by others/);
  });
});

describe('AuditCheckpointFile', () => {
  it('appends lines and leaves out a line torn by a crash, also once more lines follow', () => {
    fresh();
    const { signingKey } = ensureAuditKeys(dir, {});
    const file = new AuditCheckpointFile(join(dir, AUDIT_FILES.checkpoints));
    const a = signCheckpoint({ index: 1, hash: 'a'.repeat(64) }, 10, null, signingKey);
    const b = signCheckpoint({ index: 2, hash: 'b'.repeat(64) }, 20, a, signingKey);
    file.append(a);
    file.append(b);
    appendFileSync(file.path, '{"version":1,"headInd');
    expect(file.read()).toEqual([a, b]);
    expect(file.latest()).toEqual(b);
    const c = signCheckpoint({ index: 3, hash: 'c'.repeat(64) }, 30, b, signingKey);
    file.append(c);
    expect(file.read()).toEqual([a, b, c]);
  });
});
