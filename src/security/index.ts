/** Public surface of the security module: fleet CA and certificates, CA pinning, node identity, secrets. */
export * from './errors.js';
export * from './identity.js';
export * from './fingerprint.js';
export * from './tokens.js';
export * from './ca.js';
export * from './ca-files.js';
export { generateKeyPair, keyPairFromPem, type CryptoKeyPair, type KeyPairWithPem } from './keys.js';
export * from './audit.js';
export * from './acl.js';
export { writeFileDurably } from './durable-file.js';
export * from './audit-keys.js';
