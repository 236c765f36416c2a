import { createHash, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/index.js';
import { createFleetCa, type FleetCa } from './ca.js';
import { CaMismatchError, CertificateError } from './errors.js';
import { assertCaPin, caFingerprint, fingerprintsEqual, normalizeFingerprint } from './fingerprint.js';

describe('caFingerprint', () => {
  let ca: FleetCa;
  let other: FleetCa;
  beforeAll(async () => {
    [ca, other] = await Promise.all([createFleetCa(), createFleetCa()]);
  });

  it('is sha256: and the hex of the DER certificate', () => {
    const der = new X509Certificate(ca.certPem).raw;
    expect(caFingerprint(ca.certPem)).toBe(`sha256:${createHash('sha256').update(der).digest('hex')}`);
    expect(caFingerprint(ca.certPem)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses what is not a certificate', () => {
    expect(() => caFingerprint('nonsense')).toThrow(CertificateError);
  });

  it('pins: the right CA passes, another CA is a CaMismatchError', () => {
    const pin = caFingerprint(ca.certPem);
    expect(assertCaPin(ca.certPem, pin.toUpperCase().replace('SHA256', 'sha256'))).toBe(pin);
    const err = (() => {
      try {
        assertCaPin(other.certPem, pin);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CaMismatchError);
    expect((err as CaMismatchError).code).toBe(ErrorCode.CaMismatch);
    expect((err as CaMismatchError).expected).toBe(pin);
  });
});

describe('fingerprintsEqual', () => {
  const a = `sha256:${'ab'.repeat(32)}`;

  it('compares the normalized forms: case and openssl-style colons do not matter', () => {
    expect(fingerprintsEqual(a, `SHA256:${'AB:'.repeat(31)}AB`)).toBe(true);
    expect(normalizeFingerprint(` ${a} `)).toBe(a);
  });

  it('is false for different or malformed fingerprints', () => {
    expect(fingerprintsEqual(a, `sha256:${'ab'.repeat(31)}ac`)).toBe(false);
    expect(fingerprintsEqual(a, 'sha256:abab')).toBe(false);
    expect(fingerprintsEqual(a, `md5:${'ab'.repeat(32)}`)).toBe(false);
    expect(fingerprintsEqual('', '')).toBe(false);
  });
});
