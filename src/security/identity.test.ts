import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { nodeIdentityFromSubjectAltName, nodeIdentityUri, parseNodeIdentityUri } from './identity.js';

describe('node identity', () => {
  it('round-trips through its URI', () => {
    const uri = nodeIdentityUri({ nodeId: 'nod_abc123', role: 'hybrid' });
    expect(uri).toBe('bitacora://node/nod_abc123?role=hybrid');
    expect(parseNodeIdentityUri(uri)).toEqual({ nodeId: 'nod_abc123', role: 'hybrid' });
  });

  it('refuses unknown roles, foreign URIs and unsafe ids', () => {
    expect(parseNodeIdentityUri('bitacora://node/nod_a?role=root')).toBeNull();
    expect(parseNodeIdentityUri('https://node/nod_a?role=worker')).toBeNull();
    expect(parseNodeIdentityUri('bitacora://node/../x?role=worker')).toBeNull();
    expect(parseNodeIdentityUri('bitacora://node/nod_a?role=worker&role=master')).toBeNull();
    expect(() => nodeIdentityUri({ nodeId: 'a/b', role: 'worker' })).toThrow(ValidationError);
  });

  it('reads the identity from a subjectAltName as Node prints it', () => {
    expect(nodeIdentityFromSubjectAltName('DNS:localhost, URI:bitacora://node/nod_1?role=worker')).toEqual({ nodeId: 'nod_1', role: 'worker' });
    expect(nodeIdentityFromSubjectAltName('URI:"bitacora://node/nod_1?role=worker"')).toEqual({ nodeId: 'nod_1', role: 'worker' });
    expect(nodeIdentityFromSubjectAltName('DNS:localhost')).toBeNull();
    expect(nodeIdentityFromSubjectAltName(undefined)).toBeNull();
  });

  it('trusts no one when a certificate names two different identities', () => {
    expect(nodeIdentityFromSubjectAltName('URI:bitacora://node/nod_1?role=worker, URI:bitacora://node/nod_1?role=master')).toBeNull();
  });
});
