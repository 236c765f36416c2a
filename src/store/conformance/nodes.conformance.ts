/** Conformance of NodeRepository: registration, unique live names, guarded status, heartbeats, removal. */
import { describe, expect, it } from 'vitest';
import { ConflictError, ErrorCode, InvalidTransitionError, NotFoundError } from '../../core/index.js';
import { caught, eventsOf, nodeInput, T0, useBackbone, type OpenBackbone } from './harness.js';

export function describeNodeRepository(open: OpenBackbone): void {
  describe('NodeRepository', () => {
    const backbone = useBackbone(open);

    it('registers a node in status joining and records the event', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      expect(node).toMatchObject({
        name: 'worker-1', role: 'worker', status: 'joining', capabilities: ['linux', 'node'], specializations: ['build'], capacity: 4,
        runningTasks: 0, lastHeartbeatAt: null, joinedAt: T0, agentVersion: '0.1.0', address: '10.0.0.2',
      });
      expect(node.id).toMatch(/^nod_/);
      expect(await b.nodes.get(node.id)).toEqual(node);
      expect(await b.nodes.getByName('worker-1')).toEqual(node);
      expect(await b.nodes.list()).toEqual([node]);
      expect((await eventsOf(b, 'node.registered')).map((e) => e.subject)).toEqual([node.id]);
    });

    it('keeps the credential hash apart from the node record', async () => {
      const b = backbone();
      const input = nodeInput('worker-1');
      const node = await b.nodes.register(input, T0);
      expect(await b.nodes.credentialHash(node.id)).toBe(input.credentialHash);
      expect(JSON.stringify(node)).not.toContain(input.credentialHash);
      expect(await b.nodes.credentialHash('nod_unknown')).toBeNull();
    });

    it('refuses a name already used by a node that has not left', async () => {
      const b = backbone();
      await b.nodes.register(nodeInput('worker-1'), T0);
      const err = await caught(() => b.nodes.register(nodeInput('worker-1'), T0));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toContain('worker-1');
      expect(await b.nodes.list()).toHaveLength(1);
    });

    it('lets a name be reused once its node has left', async () => {
      const b = backbone();
      const old = await b.nodes.register(nodeInput('worker-1'), T0);
      await b.nodes.setStatus(old.id, 'left', 'removed by admin', T0 + 1);
      const fresh = await b.nodes.register(nodeInput('worker-1'), T0 + 2);
      expect((await b.nodes.getByName('worker-1'))?.id).toBe(fresh.id);
      expect(await caught(() => b.nodes.setStatus(old.id, 'joining', 'rejoin', T0 + 3))).toBeInstanceOf(ConflictError);
    });

    it('refuses invalid registrations and stores nothing', async () => {
      const b = backbone();
      expect((await caught(() => b.nodes.register(nodeInput('../etc'), T0))).code).toBe(ErrorCode.Validation);
      expect((await caught(() => b.nodes.register(nodeInput('worker-2', { capacity: -1 }), T0))).code).toBe(ErrorCode.Validation);
      expect(await b.nodes.list()).toEqual([]);
      expect(await b.events.latestSeq()).toBe(0);
    });

    it('changes status along the allowed transitions and records the reason', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      expect((await b.nodes.setStatus(node.id, 'ready', 'joined', T0 + 1)).status).toBe('ready');
      expect((await b.nodes.setStatus(node.id, 'down', 'missed heartbeats', T0 + 2)).status).toBe('down');
      expect((await b.nodes.get(node.id))?.status).toBe('down');
      const events = await eventsOf(b, 'node.status');
      expect(events.map((e) => e.data)).toEqual([
        expect.objectContaining({ from: 'joining', to: 'ready', reason: 'joined' }),
        expect.objectContaining({ from: 'ready', to: 'down', reason: 'missed heartbeats' }),
      ]);
    });

    it('treats setting the same status as a no-op', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      const before = await b.events.latestSeq();
      expect(await b.nodes.setStatus(node.id, 'joining', 'again', T0 + 1)).toEqual(node);
      expect(await b.events.latestSeq()).toBe(before);
    });

    it('refuses a transition the table does not allow, and unknown nodes', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      await b.nodes.setStatus(node.id, 'left', 'bye', T0 + 1);
      expect(await caught(() => b.nodes.setStatus(node.id, 'ready', 'back?', T0 + 2))).toBeInstanceOf(InvalidTransitionError);
      expect(await caught(() => b.nodes.setStatus('nod_unknown', 'ready', 'x', T0))).toBeInstanceOf(NotFoundError);
    });

    it('changes the role and records it', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('hybrid-1'), T0);
      expect((await b.nodes.setRole(node.id, 'hybrid', T0 + 1)).role).toBe('hybrid');
      expect((await b.nodes.get(node.id))?.role).toBe('hybrid');
      expect((await eventsOf(b, 'node.role'))[0]?.data).toMatchObject({ from: 'worker', to: 'hybrid' });
    });

    it('replaces what the agent reports at reconnect, keeping name and identity', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      const updated = await b.nodes.updateInfo(node.id, { capabilities: ['linux', 'docker'], capacity: 8, agentVersion: '0.2.0', address: null }, T0 + 1);
      expect(updated).toMatchObject({ id: node.id, name: 'worker-1', capabilities: ['linux', 'docker'], capacity: 8, agentVersion: '0.2.0', address: null });
      expect(await b.nodes.get(node.id)).toEqual(updated);
      expect(await eventsOf(b, 'node.updated')).toHaveLength(1);
    });

    it('records heartbeats without events and reports unknown nodes', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      const before = await b.events.latestSeq();
      const resources = { cpus: 4, memoryBytes: 1024, load: 2.5 };
      expect(await b.nodes.recordHeartbeat(node.id, { at: T0 + 500, resources, runningTasks: 3 })).toBe(true);
      expect(await b.nodes.get(node.id)).toMatchObject({ lastHeartbeatAt: T0 + 500, resources, runningTasks: 3 });
      expect(await b.nodes.recordHeartbeat('nod_unknown', { at: T0, resources, runningTasks: 0 })).toBe(false);
      expect(await b.events.latestSeq()).toBe(before);
    });

    it('removes a node and records it', async () => {
      const b = backbone();
      const node = await b.nodes.register(nodeInput('worker-1'), T0);
      await b.nodes.remove(node.id, T0 + 1);
      expect(await b.nodes.get(node.id)).toBeNull();
      expect(await b.nodes.getByName('worker-1')).toBeNull();
      expect((await eventsOf(b, 'node.removed')).map((e) => e.subject)).toEqual([node.id]);
      expect(await caught(() => b.nodes.remove(node.id, T0 + 2))).toBeInstanceOf(NotFoundError);
    });
  });
}
