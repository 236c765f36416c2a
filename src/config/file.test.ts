import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { parseFleetFile } from './file.js';

const issuesOf = (fn: () => unknown): Array<{ path: string; message: string }> => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error('expected a ValidationError');
};

describe('parseFleetFile', () => {
  it('accepts the commented example in examples/', () => {
    const file = parseFleetFile(readFileSync(new URL('../../examples/bitacora.yaml', import.meta.url), 'utf8'), 'bitacora.yaml');
    expect(file).toMatchObject({ enabled: true, nodeId: 'dev-server', nodeType: 'hybrid', discoveryPeers: ['http://127.0.0.1:7700'] });
    expect(file.up).toMatchObject({ http: '127.0.0.1:7700', heartbeatInterval: '1s', localWorker: true });
    expect(file.join).toMatchObject({ capabilities: ['linux', 'docker'], capacity: 4, heartbeatInterval: 1000 });
  });

  it('names every problem at once, with its path in the file', () => {
    const text = [
      'enabled: maybe',
      'node_type: boss',
      'discovery_peers: [ftp://x]',
      'colour: blue',
      'up:',
      '  heartbeatInterval: soon',
      '  grpc: nowhere',
      '  flavour: 1',
      'join:',
      '  capacity: 0',
      '  capabilities: [GPU]',
    ].join('\n');
    const paths = issuesOf(() => parseFleetFile(text, 'bad.yaml')).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([
      'enabled', 'node_type', 'discovery_peers[0]', 'colour', 'up.heartbeatInterval', 'up.grpc', 'up.flavour', 'join.capacity', 'join.capabilities[0]',
    ]));
    expect(() => parseFleetFile(text, 'bad.yaml')).toThrow(/invalid configuration file bad\.yaml/);
  });

  it('refuses YAML that does not parse, naming the line', () => {
    expect(() => parseFleetFile('up:\n  http: [unclosed\n', 'x.yaml')).toThrow(/x\.yaml is not valid YAML/);
  });

  it('keeps the cross-field rules of the schemas (lease longer than failure detection)', () => {
    expect(issuesOf(() => parseFleetFile('up:\n  selfFenceAfter: 1s\n', 'f.yaml'))).toEqual([expect.objectContaining({ path: 'up.selfFenceAfter' })]);
  });
});
