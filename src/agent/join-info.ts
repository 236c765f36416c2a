/**
 * Trust bootstrap: fetch the master's public join info over plain HTTP and decide whether to
 * trust its CA — pinned (`--ca-hash`, as kubeadm does), previously stored, or trust on
 * first use with a warning. The gRPC channel then trusts only that CA.
 */
import { z } from 'zod';
import { assertCaPin, caFingerprint, CertificateError } from '../security/index.js';
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

/** GET <masterUrl>/v1/join-info. Network trouble and bad bodies → MasterUnreachableError (retryable). */
export async function fetchJoinInfo(masterUrl: string, fetchFn: typeof fetch = fetch, timeoutMs = 5000): Promise<JoinInfo> {
  const url = `${masterUrl.replace(/\/+$/, '')}/v1/join-info`;
  let body: unknown;
  try {
    const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = await res.json();
  } catch (err) {
    throw new MasterUnreachableError(`cannot fetch ${url}: ${(err as Error).message}`, { cause: err });
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
    const info = await fetchJoinInfo(masterUrl, fetchFn);
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
