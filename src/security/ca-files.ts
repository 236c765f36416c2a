/**
 * The master's TLS material on disk, `<dataDir>/tls/`: created on first start, reused after.
 * The CA is never replaced silently (agents pin its fingerprint); the server certificate is
 * reissued whenever it no longer fits (hosts added, key or CA changed, close to expiry).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { createFleetCa, DEFAULT_SERVER_VALIDITY_DAYS, isIssuedBy, issueServerCertificate, type FleetCa } from './ca.js';
import { writeFileDurably } from './durable-file.js';
import { CertificateError } from './errors.js';
import { caFingerprint } from './fingerprint.js';
import { FLEET_SERVER_NAME } from '../core/index.js';

export const TLS_DIR = 'tls';
export const TLS_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
} as const;

/** Always in the server certificate, so local agents and the CLI can connect by any loopback name. */
export const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'] as const;
/** A server certificate with less than this left is reissued at start. Default 90 days. */
export const SERVER_RENEW_BEFORE_MS = 90 * 86_400_000;

export interface FleetTlsMaterial {
  caCertPem: string;
  /** The CA key, for issuing node certificates. Keep it in memory only. */
  caKeyPem: string;
  /** `sha256:<hex>` of the CA certificate: what `bitacora join --ca-hash` pins. */
  caHash: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Which files were (re)written by this call. */
  created: { ca: boolean; serverCertificate: boolean };
  paths: { dir: string; caCert: string; caKey: string; serverCert: string; serverKey: string };
}

export interface EnsureFleetCaOptions {
  /** Names and addresses clients use to reach the master; loopback names are always added. */
  hosts: readonly string[];
  /** Common name of a new CA. Default 'Bitacora Fleet CA'. */
  caCommonName?: string;
  /** Lifetime of a new server certificate. Default 825 days. */
  serverValidityDays?: number;
  now?: Date;
}

/**
 * Loads or creates `<dataDir>/tls/{ca,ca-key,server,server-key}.pem` (keys 0600, directory 0700).
 * CertificateError when the existing CA files are unusable (corrupt, or key and certificate do
 * not match): replacing the CA would lock every joined agent out, so that is left to the user.
 */
export async function ensureFleetCa(dataDir: string, options: EnsureFleetCaOptions): Promise<FleetTlsMaterial> {
  const now = options.now ?? new Date();
  const dir = join(dataDir, TLS_DIR);
  const paths = {
    dir,
    caCert: join(dir, TLS_FILES.caCert),
    caKey: join(dir, TLS_FILES.caKey),
    serverCert: join(dir, TLS_FILES.serverCert),
    serverKey: join(dir, TLS_FILES.serverKey),
  };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hosts = serverHosts(options.hosts);

  let ca = loadCaFiles(paths.caCert, paths.caKey);
  const createdCa = ca === null;
  if (ca === null) {
    ca = await createFleetCa({ commonName: options.caCommonName, now });
    // Key first, certificate last: a certificate on disk means the CA is complete. A crash in
    // between leaves a key without certificate, which the next start simply replaces. Each
    // write is durable (fsync of file and directory): after a crash of the file system a CA
    // file must not come back empty (RELIABILITY.md, B5).
    writeFileDurably(paths.caKey, ca.keyPem, { mode: 0o600 });
    writeFileDurably(paths.caCert, ca.certPem, { mode: 0o644 });
  }

  let server = createdCa ? null : loadServerFiles(paths.serverCert, paths.serverKey);
  const reuse = server !== null && serverCertificateFits(server, ca.certPem, hosts, now);
  if (server === null || !reuse) {
    server = await issueServerCertificate(ca, {
      commonName: 'bitacora-master',
      hosts,
      validityDays: options.serverValidityDays ?? DEFAULT_SERVER_VALIDITY_DAYS,
      now,
    });
    writeFileDurably(paths.serverKey, server.keyPem, { mode: 0o600 });
    writeFileDurably(paths.serverCert, server.certPem, { mode: 0o644 });
  }

  return {
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    caHash: caFingerprint(ca.certPem),
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    created: { ca: createdCa, serverCertificate: !reuse },
    paths,
  };
}

/** The fleet CA of `dataDir` without creating anything; null when there is none yet. */
export function loadFleetCa(dataDir: string): (FleetCa & { caHash: string }) | null {
  const dir = join(dataDir, TLS_DIR);
  const ca = loadCaFiles(join(dir, TLS_FILES.caCert), join(dir, TLS_FILES.caKey));
  return ca === null ? null : { ...ca, caHash: caFingerprint(ca.certPem) };
}

/**
 * Hosts to put in the certificate of a server bound to `bindHost`. A wildcard bind (0.0.0.0,
 * ::) is reachable under the machine's name and every interface address, so those are listed;
 * a specific bind is reachable under that address only.
 */
export function reachableHostsFor(bindHost: string): string[] {
  const host = stripBrackets(bindHost);
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => a !== undefined && (host === '::' || a.family === 'IPv4'))
    .map((a) => a.address.split('%')[0] as string);
  return [hostname(), ...addresses];
}

/** Requested hosts + loopback + the fixed name agents check (FLEET_SERVER_NAME), without brackets, wildcard addresses or duplicates. */
function serverHosts(requested: readonly string[]): string[] {
  const out = new Set<string>([...LOOPBACK_HOSTS, FLEET_SERVER_NAME]);
  for (const raw of requested) {
    const host = stripBrackets(raw.trim());
    if (host === '' || host === '0.0.0.0' || host === '::') continue; // a bind-all address is not a name anyone connects to
    out.add(isIP(host) === 0 ? host.toLowerCase() : host);
  }
  return [...out];
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function loadCaFiles(certPath: string, keyPath: string): FleetCa | null {
  if (!existsSync(certPath)) return null;
  if (!existsSync(keyPath)) {
    throw new CertificateError(
      `${certPath} exists but its key ${keyPath} is missing; restore it, or remove ${certPath} to create a new fleet CA (every node must then rejoin)`,
      { details: { path: keyPath } },
    );
  }
  const ca = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
  try {
    const cert = new X509Certificate(ca.certPem);
    if (!cert.ca) throw new Error('it is not a CA certificate');
    if (!cert.checkPrivateKey(createPrivateKey(ca.keyPem))) throw new Error(`${keyPath} is not its key`);
  } catch (err) {
    throw new CertificateError(`the fleet CA in ${certPath} is unusable: ${(err as Error).message}`, {
      cause: err,
      details: { path: certPath },
    });
  }
  tightenMode(keyPath);
  return ca;
}

function loadServerFiles(certPath: string, keyPath: string): { certPem: string; keyPem: string } | null {
  if (!existsSync(certPath) || !existsSync(keyPath)) return null;
  tightenMode(keyPath);
  return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
}

/** Reusable when readable, issued by this CA, keyed by this key, covering every host and not near expiry. */
function serverCertificateFits(server: { certPem: string; keyPem: string }, caCertPem: string, hosts: readonly string[], now: Date): boolean {
  try {
    const cert = new X509Certificate(server.certPem);
    if (!isIssuedBy(server.certPem, caCertPem, now)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(server.keyPem))) return false;
    if (Date.parse(cert.validTo) - now.getTime() < SERVER_RENEW_BEFORE_MS) return false;
    return hosts.every((h) => (isIP(h) !== 0 ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
  } catch {
    return false; // unreadable: reissue
  }
}

/** Private keys must not be readable by others, even if someone loosened them by hand. */
function tightenMode(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch {
    // Not the owner (e.g. read-only mount): reading still works; nothing more to do here.
  }
}
