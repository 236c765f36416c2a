/** `host:port` addresses as users write them (`127.0.0.1:7700`, `[::1]:7701`, `fleet.lan:7700`) ↔ parts. Pure. */
import { isIP } from 'node:net';
import { ValidationError } from '../core/index.js';

export interface HostPort {
  /** IP literal (IPv6 without brackets) or host name. */
  host: string;
  /** 0 asks the OS for a free port (tests). */
  port: number;
}

const HOSTNAME = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/;

/**
 * Parses `host:port`; IPv6 hosts must be bracketed. Throws ValidationError at `path` with a
 * message that shows the accepted forms.
 */
export function parseHostPort(text: string, path = 'address'): HostPort {
  const fail = (why: string): never => {
    throw new ValidationError(`invalid ${path} ${JSON.stringify(text)}: ${why}`, [{ path, message: why }]);
  };
  const value = text.trim();
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const match = /^\[([^\]]*)\]:(.*)$/.exec(value);
    if (match === null) return fail('write an IPv6 address as [::1]:7701');
    host = match[1] as string;
    portText = match[2] as string;
    if (isIP(host) !== 6) return fail(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) return fail('missing :port (e.g. 127.0.0.1:7700)');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) return fail('IPv6 addresses need brackets, e.g. [::1]:7701');
    if (host === '') return fail('missing host; use 0.0.0.0 to listen on every interface');
    if (isIP(host) === 0 && !(HOSTNAME.test(host) && host.length <= 253)) return fail(`${JSON.stringify(host)} is not a host name or IP address`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) return fail('the port must be a number from 0 to 65535');
  return { host: isIP(host) === 0 ? host.toLowerCase() : host, port: Number(portText) };
}

/** The inverse of parseHostPort: brackets IPv6 hosts. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
