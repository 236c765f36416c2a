/**
 * ECDSA P-256 keys between the three forms the module meets: WebCrypto keys (what
 * @peculiar/x509 signs with), PKCS#8 PEM (what Node's tls and the key files take) and
 * Node KeyObjects (to derive a public key from a stored private one).
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it loaded first.
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { PemConverter } from '@peculiar/x509';
import { CertificateError } from './errors.js';

export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type CryptoKey = webcrypto.CryptoKey;

/** Node's WebCrypto, passed explicitly to every @peculiar/x509 call (no global provider to mutate). */
export const crypto: webcrypto.Crypto = webcrypto;

export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyPairWithPem {
  keys: CryptoKeyPair;
  /** PKCS#8 PEM of the private key (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
}

/** A fresh P-256 key pair; the private key is extractable only so it can be written to its 0600 file. */
export async function generateKeyPair(): Promise<KeyPairWithPem> {
  const keys = (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, keyPem: PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** Loads a P-256 private key PEM (PKCS#8 or SEC1) and derives its public half. CertificateError otherwise. */
export async function keyPairFromPem(keyPem: string): Promise<CryptoKeyPair> {
  let pkcs8: Buffer;
  let spki: Buffer;
  try {
    const privateKey = createPrivateKey(keyPem);
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`expected an EC P-256 key, got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
    }
    pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new CertificateError(`not a usable P-256 private key: ${(err as Error).message}`, { cause: err });
  }
  const [privateKey, publicKey] = await Promise.all([
    crypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, false, ['sign']),
    crypto.subtle.importKey('spki', spki, KEY_ALGORITHM, true, ['verify']),
  ]);
  return { privateKey, publicKey };
}
