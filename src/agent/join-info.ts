/**
 * Trust bootstrap: fetch the master's public join info (over HTTP or HTTPS) and decide whether
 * to trust its CA — pinned (`--ca-hash`, as kubeadm does), previously stored, or trust on
 * first use with a warning. The gRPC channel then trusts only that CA.
 *
 * What crosses which channel: the join info is public (no secret is sent to get it) and is
 * authenticated by the pin itself (its CA must hash to the pin). The join token and the CSR go
 * only over gRPC, whose server must present a certificate from that pinned CA (enroll.ts,
 * the agent's connect loop). Over `https://` the agent additionally refuses, before sending the
 * request, a server whose certificate is neither issued by the pinned CA (the master serves the
 * CA in its chain with `--http-tls fleet-ca`) nor trusted by this machine (a configured
 * certificate: system CAs and NODE_EXTRA_CA_CERTS), so a man in the middle learns nothing and
 * cannot even answer.
 */
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, checkServerIdentity, type TLSSocket, type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import { z } from 'zod';
import { assertCaPin, CaMismatchError, caFingerprint, CertificateError } from '../security/index.js';
import { MasterUnreachableError } from './errors.js';

export interface JoinInfo {
  caCertPem: string;
  grpcAddress: string;
  protocolVersion: number;
}

const joinInfoSchema = z.object({
  caCertPem: z.string().min(1).max(64 * 1024),
  grpcAddress: z.string().min(1).max(300),
  protocolVersion: z.number().int(),
});

/** The CA an `https://` master's certificate is checked against: the pin, and the CA PEM when stored at an earlier join. */
export interface ExpectedCa {
  hash: string;
  caCertPem?: string;
}

/**
 * GET <masterUrl>/v1/join-info. Network trouble and bad bodies → MasterUnreachableError
 * (retryable). Over `https://` without an injected `fetchFn`, the server is verified as
 * described at the top (`expected` absent: trust on first use, like the CA itself).
 */
export async function fetchJoinInfo(masterUrl: string, fetchFn?: typeof fetch, timeoutMs = 5000, expected?: ExpectedCa): Promise<JoinInfo> {
  const url = `${masterUrl.replace(/\/+$/, '')}/v1/join-info`;
  let body: unknown;
  const verified = fetchFn === undefined && url.startsWith('https:') ? await verifiedHttps(expected) : null;
  try {
    const doFetch = fetchFn ?? verified?.fetch ?? fetch;
    const res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = await res.json();
  } catch (err) {
    const cause = (err as Error).cause;
    // A server presenting another fleet's CA is the wrong --ca-hash (or an impostor): terminal, as over gRPC.
    if (cause instanceof CaMismatchError) throw cause;
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    throw new MasterUnreachableError(`cannot fetch ${url}: ${(err as Error).message}${detail}`, { cause: err });
  } finally {
    await verified?.close();
  }
  const parsed = joinInfoSchema.safeParse(body);
  if (!parsed.success) throw new MasterUnreachableError(`${url} returned unusable join info`);
  return { ...parsed.data, grpcAddress: dialableAddress(parsed.data.grpcAddress, masterUrl) };
}

export type TrustDecision = { fingerprint: string; firstUse: boolean };

/**
 * Decides whether `caCertPem` may be trusted. Throws CaMismatchError (terminal) when it does
 * not match the pin or the CA stored at an earlier join; the pin wins over the stored CA.
 */
export function trustCa(caCertPem: string, pin: string | undefined, storedHash: string | undefined): TrustDecision {
  const expected = pin ?? storedHash;
  let fingerprint: string;
  try {
    fingerprint = expected === undefined ? caFingerprint(caCertPem) : assertCaPin(caCertPem, expected);
  } catch (err) {
    if (err instanceof CertificateError) throw new MasterUnreachableError(`the master serves an unusable CA: ${err.message}`, { cause: err });
    throw err;
  }
  return { fingerprint, firstUse: expected === undefined };
}

/**
 * A master listening on 0.0.0.0 / :: advertises an address nobody can dial; use the host the
 * agent reached it through instead.
 */
export function dialableAddress(grpcAddress: string, masterUrl: string): string {
  const match = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(grpcAddress);
  if (!match) return grpcAddress;
  const host = match[1] ?? match[2] ?? '';
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return grpcAddress;
  const urlHost = new URL(masterUrl).hostname.replace(/^\[|\]$/g, '');
  return urlHost.includes(':') ? `[${urlHost}]:${match[3]}` : `${urlHost}:${match[3]}`;
}

export interface DialTarget {
  address: string;
  caCertPem: string;
  caHash: string;
}

/**
 * Where to dial and which CA to trust: fresh join info checked against the pin or the CA
 * stored at the first join; when the master's HTTP side is unreachable but we joined before,
 * the stored address and CA. Throws CaMismatchError (terminal) or MasterUnreachableError.
 */
export async function resolveDialTarget(
  masterUrl: string,
  pin: string | undefined,
  stored: { grpcAddress: string | null; caCertPem: string; caHash: string } | null,
  log: { warn(message: string): void },
  fetchFn?: typeof fetch,
): Promise<DialTarget> {
  try {
    const expectedHash = pin ?? stored?.caHash;
    const expected = expectedHash === undefined ? undefined : { hash: expectedHash, ...(stored && !pin ? { caCertPem: stored.caCertPem } : {}) };
    const info = await fetchJoinInfo(masterUrl, fetchFn, undefined, expected);
    const trust = trustCa(info.caCertPem, pin, stored?.caHash);
    if (trust.firstUse) log.warn(`no --ca-hash given: trusting the master's CA ${trust.fingerprint} on first use; pass --ca-hash to pin it`);
    return { address: info.grpcAddress, caCertPem: info.caCertPem, caHash: trust.fingerprint };
  } catch (err) {
    if (err instanceof MasterUnreachableError && stored?.grpcAddress) {
      return { address: stored.grpcAddress, caCertPem: stored.caCertPem, caHash: stored.caHash };
    }
    throw err;
  }
}

/**
 * A fetch (undici, one connection per call) whose TLS connector checks the server before undici
 * writes anything on the socket. Node's own chain check cannot express "issued by the CA with
 * this hash" (the agent has only the hash before its first join), so the connector verifies by
 * hand: `rejectUnauthorized: false` here means "decide in onSecure", and onSecure destroys the
 * socket unless the check passes. The request it then carries holds no secret anyway.
 */
async function verifiedHttps(expected: ExpectedCa | undefined): Promise<{ fetch: typeof fetch; close(): Promise<void> }> {
  const undici = await import('undici');
  const dispatcher = new undici.Agent({
    connections: 1,
    connect: (opts, callback) => {
      const host = opts.hostname.replace(/^\[|\]$/g, '');
      const servername = opts.servername ?? host;
      const socket = tlsConnect({
        host,
        port: Number(opts.port) || 443,
        ...(isIpAddress(host) ? {} : { servername }),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      let settled = false;
      const done = (err: Error | null) => {
        if (settled) return;
        settled = true;
        if (err) {
          socket.destroy();
          callback(err, null);
        } else callback(null, socket);
      };
      socket.once('secureConnect', () => done(checkMasterCertificate(socket, opts.hostname, expected)));
      socket.once('error', (err) => done(err));
    },
  });
  const verifiedFetch = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) =>
    (await undici.fetch(input as Parameters<typeof undici.fetch>[0], { ...(init as Parameters<typeof undici.fetch>[1]), dispatcher })) as unknown as Response) as typeof fetch;
  return { fetch: verifiedFetch, close: () => dispatcher.destroy().catch(() => undefined) };
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** null when the peer may be trusted (see the file header), else the reason. */
export function checkMasterCertificate(socket: TLSSocket, hostname: string, expected: ExpectedCa | undefined): Error | null {
  const host = hostname.replace(/^\[|\]$/g, '');
  const peer = socket.getPeerCertificate(true);
  if (!peer || !peer.raw) return new MasterUnreachableError('the master presented no HTTPS certificate');
  // Trusted by this machine (a configured certificate from a known CA), for the name we dialled.
  if (socket.authorized && checkServerIdentity(host, peer) === undefined) return null;
  if (expected === undefined) return null; // trust on first use: the CA itself is not pinned either
  const leaf = new X509Certificate(peer.raw);
  const candidates = chainOf(peer).map((c) => new X509Certificate(c.raw).toString());
  if (expected.caCertPem) candidates.push(expected.caCertPem);
  const ca = candidates.find((pem) => {
    try {
      assertCaPin(pem, expected.hash);
      return true;
    } catch {
      return false;
    }
  });
  if (!ca) {
    const otherCa = candidates.slice(1).find((pem) => new X509Certificate(pem).ca);
    if (otherCa) return new CaMismatchError(expected.hash, caFingerprint(otherCa));
    return new MasterUnreachableError(
      `the master's HTTPS certificate is neither from the pinned CA ${expected.hash} nor trusted by this machine (${socket.authorizationError ?? 'no chain'})`,
    );
  }
  const caCert = new X509Certificate(ca);
  const now = Date.now();
  const nameOk = /^[\d.]+$/.test(host) || host.includes(':') ? leaf.checkIP(host) !== undefined : leaf.checkHost(host) !== undefined;
  if (!leaf.checkIssued(caCert) || !leaf.verify(caCert.publicKey)) return new MasterUnreachableError(`the master's HTTPS certificate is not signed by the pinned CA ${expected.hash}`);
  if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) return new MasterUnreachableError(`the master's HTTPS certificate is not valid now (${leaf.validFrom} – ${leaf.validTo})`);
  if (!nameOk) return new MasterUnreachableError(`the master's HTTPS certificate does not name ${host}`);
  return null;
}

/** The peer's certificates, leaf first, each once (a self-signed root points at itself). */
function chainOf(peer: DetailedPeerCertificate): PeerCertificate[] {
  const out: PeerCertificate[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = peer; c && c.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    out.push(c);
  }
  return out;
}
