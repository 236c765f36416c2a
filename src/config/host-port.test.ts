import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { formatHostPort, parseHostPort } from './host-port.js';

describe('parseHostPort', () => {
  it('reads IPv4, bracketed IPv6 and host names', () => {
    expect(parseHostPort('127.0.0.1:7700')).toEqual({ host: '127.0.0.1', port: 7700 });
    expect(parseHostPort('[::1]:7701')).toEqual({ host: '::1', port: 7701 });
    expect(parseHostPort(' Fleet.LAN:80 ')).toEqual({ host: 'fleet.lan', port: 80 });
    expect(parseHostPort('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
  });

  it.each([
    ['::1:7701', 'IPv6 addresses need brackets'],
    ['[::1]7701', 'write an IPv6 address as [::1]:7701'],
    ['[1.2.3.4]:80', 'is not an IPv6 address'],
    ['localhost', 'missing :port'],
    [':7700', 'missing host'],
    ['localhost:70000', 'the port must be a number from 0 to 65535'],
    ['localhost:http', 'the port must be a number'],
    ['bad host:1', 'is not a host name or IP address'],
    ['-x:1', 'is not a host name or IP address'],
  ])('refuses %s with a message saying why', (text, why) => {
    expect(() => parseHostPort(text, 'http')).toThrow(ValidationError);
    try {
      parseHostPort(text, 'http');
    } catch (err) {
      expect((err as ValidationError).issues[0]?.path).toBe('http');
      expect((err as ValidationError).message).toContain(why);
    }
  });

  it('round-trips with formatHostPort', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), fc.integer({ min: 0, max: 65_535 }), (host, port) => {
        const parsed = parseHostPort(formatHostPort({ host, port }));
        expect(parsed.port).toBe(port);
        expect(formatHostPort(parseHostPort(formatHostPort(parsed)))).toBe(formatHostPort(parsed));
      }),
    );
  });
});
