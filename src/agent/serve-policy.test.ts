import { describe, expect, it } from 'vitest';
import { advertisedCapabilities, decideServe, refusalReason, SERVE_EVERYTHING, type ServeDecision } from './serve-policy.js';

const refused = (d: ServeDecision) => (d.serve ? null : refusalReason(d));

describe('decideServe', () => {
  it('serves everything without allow-lists', () => {
    expect(decideServe(SERVE_EVERYTHING, { project: 'x', needs: ['gpu'] })).toEqual({ serve: true });
    expect(decideServe(SERVE_EVERYTHING, { project: null })).toEqual({ serve: true });
  });

  it('refuses a project outside the project allow-list, naming it', () => {
    const policy = { capabilities: null, projects: ['web', 'default'] };
    expect(decideServe(policy, { project: 'web' })).toEqual({ serve: true });
    expect(decideServe(policy, { project: null })).toEqual({ serve: true });
    expect(refused(decideServe(policy, { project: 'billing' }))).toBe("BIT_ERR_FORBIDDEN: project 'billing' is not served by this node (it serves web, default)");
    expect(refused(decideServe({ capabilities: null, projects: ['web'] }, { project: null }))).toContain("project 'default' is not served");
  });

  it('refuses a task needing a capability the node does not serve', () => {
    const policy = { capabilities: ['docker', 'linux'], projects: null };
    expect(decideServe(policy, { project: null, needs: ['docker'] })).toEqual({ serve: true });
    expect(decideServe(policy, { project: null, needs: [] })).toEqual({ serve: true });
    expect(refused(decideServe(policy, { project: null, needs: ['docker', 'gpu', 'arm'] }))).toBe(
      "BIT_ERR_FORBIDDEN: capabilities 'gpu', 'arm' not served by this node (it serves docker, linux)",
    );
  });

  it('judges an assignment that does not declare its needs by project only', () => {
    expect(decideServe({ capabilities: [], projects: null }, { project: 'web' })).toEqual({ serve: true });
    expect(decideServe({ capabilities: [], projects: ['api'] }, { project: 'web' }).serve).toBe(false);
  });
});

describe('advertisedCapabilities', () => {
  it('advertises only what is served', () => {
    expect(advertisedCapabilities(['linux', 'docker', 'gpu'], { capabilities: ['docker'], projects: null })).toEqual(['docker']);
    expect(advertisedCapabilities(['linux'], SERVE_EVERYTHING)).toEqual(['linux']);
  });
});
