/** Conformance of SessionRepository (status, pause bookkeeping, current) and ProjectRepository (slugs, workspaces, status). */
import { describe, expect, it } from 'vitest';
import { ConflictError, ErrorCode, InvalidTransitionError, NotFoundError, sessionDurationMs } from '../../core/index.js';
import { caught, eventsOf, T0, useBackbone, type OpenBackbone } from './harness.js';

export function describeSessionRepository(open: OpenBackbone): void {
  describe('SessionRepository', () => {
    const backbone = useBackbone(open);

    it('starts an active session with its defaults and records the event', async () => {
      const b = backbone();
      const session = await b.sessions.start({ user: 'ana' }, T0);
      expect(session).toMatchObject({
        user: 'ana', project: null, status: 'active', description: '', startedAt: T0, endedAt: null, pausedMs: 0, pausedAt: null,
        primaryNode: null, participatingNodes: [], strategy: 'MasterSlave', syncIntervalMs: 5000, lastSyncAt: null,
      });
      expect(session.id).toMatch(/^ses_/);
      expect(await b.sessions.get(session.id)).toEqual(session);
      expect((await eventsOf(b, 'session.started')).map((e) => e.subject)).toEqual([session.id]);
    });

    it('names a project that may not be created yet (a pipeline run creates it after its session starts)', async () => {
      const b = backbone();
      const session = await b.sessions.start({ user: 'ana', project: 'alpha' }, T0);
      await b.projects.create({ name: 'alpha' }, T0 + 1);
      expect((await b.sessions.list({ project: 'alpha' })).map((s) => s.id)).toEqual([session.id]);
      expect((await caught(() => b.sessions.start({ user: 'ana', project: '../alpha' }, T0))).code).toBe(ErrorCode.Validation);
    });

    it('refuses invalid input and stores nothing', async () => {
      const b = backbone();
      expect((await caught(() => b.sessions.start({ user: '' }, T0))).code).toBe(ErrorCode.Validation);
      expect((await caught(() => b.sessions.start({ user: 'ana', strategy: 'Chaos' as never }, T0))).code).toBe(ErrorCode.Validation);
      expect(await b.sessions.list()).toEqual([]);
    });

    it('adds each pause to pausedMs, so the working time excludes it', async () => {
      const b = backbone();
      const s = await b.sessions.start({ user: 'ana' }, T0);
      expect(await b.sessions.pause(s.id, T0 + 1000)).toMatchObject({ status: 'paused', pausedAt: T0 + 1000 });
      const resumed = await b.sessions.resume(s.id, T0 + 4000);
      expect(resumed).toMatchObject({ status: 'active', pausedAt: null, pausedMs: 3000 });
      expect(sessionDurationMs(resumed, T0 + 10_000)).toBe(7000);
      expect((await eventsOf(b)).map((e) => e.type)).toEqual(['session.started', 'session.paused', 'session.resumed']);
    });

    it('closes an open pause when a paused session ends', async () => {
      const b = backbone();
      const s = await b.sessions.start({ user: 'ana' }, T0);
      await b.sessions.pause(s.id, T0 + 1000);
      const ended = await b.sessions.end(s.id, T0 + 3000);
      expect(ended).toMatchObject({ status: 'ended', endedAt: T0 + 3000, pausedAt: null, pausedMs: 2000 });
      expect(sessionDurationMs(ended, T0 + 99_999)).toBe(1000);
      expect(await b.sessions.get(s.id)).toEqual(ended);
    });

    it('refuses transitions the table does not allow', async () => {
      const b = backbone();
      const s = await b.sessions.start({ user: 'ana' }, T0);
      expect(await caught(() => b.sessions.resume(s.id, T0 + 1))).toBeInstanceOf(InvalidTransitionError);
      await b.sessions.end(s.id, T0 + 2);
      expect(await caught(() => b.sessions.pause(s.id, T0 + 3))).toBeInstanceOf(InvalidTransitionError);
      expect(await caught(() => b.sessions.end(s.id, T0 + 3))).toBeInstanceOf(InvalidTransitionError);
      expect(await caught(() => b.sessions.pause('ses_unknown', T0))).toBeInstanceOf(NotFoundError);
    });

    it('finds the current session: the most recent one active or paused', async () => {
      const b = backbone();
      expect(await b.sessions.current()).toBeNull();
      const older = await b.sessions.start({ user: 'ana' }, T0);
      const newer = await b.sessions.start({ user: 'ana' }, T0 + 10);
      await b.sessions.pause(newer.id, T0 + 20);
      expect((await b.sessions.current())?.id).toBe(newer.id);
      await b.sessions.end(newer.id, T0 + 30);
      expect((await b.sessions.current())?.id).toBe(older.id);
      await b.sessions.end(older.id, T0 + 40);
      expect(await b.sessions.current()).toBeNull();
    });

    it('lists sessions oldest first, filtered, and limited to the most recent', async () => {
      const b = backbone();
      await b.projects.create({ name: 'alpha' }, T0);
      const ids: string[] = [];
      for (const i of [0, 1, 2]) ids.push((await b.sessions.start({ user: 'ana', project: i === 1 ? null : 'alpha' }, T0 + i)).id);
      await b.sessions.end(ids[0]!, T0 + 5);
      expect((await b.sessions.list()).map((s) => s.id)).toEqual(ids);
      expect((await b.sessions.list({ status: 'active' })).map((s) => s.id)).toEqual([ids[1], ids[2]]);
      expect((await b.sessions.list({ project: 'alpha' })).map((s) => s.id)).toEqual([ids[0], ids[2]]);
      expect((await b.sessions.list({ limit: 2 })).map((s) => s.id)).toEqual([ids[1], ids[2]]);
    });

    it('updates the distributed fields and records it', async () => {
      const b = backbone();
      const s = await b.sessions.start({ user: 'ana' }, T0);
      const updated = await b.sessions.update(s.id, { primaryNode: 'nod_1', participatingNodes: ['nod_1', 'nod_2'], strategy: 'PeerToPeer', syncIntervalMs: 1000, lastSyncAt: T0 + 5 }, T0 + 5);
      expect(updated).toMatchObject({ primaryNode: 'nod_1', participatingNodes: ['nod_1', 'nod_2'], strategy: 'PeerToPeer', syncIntervalMs: 1000, lastSyncAt: T0 + 5 });
      expect(await b.sessions.get(s.id)).toEqual(updated);
      expect(await eventsOf(b, 'session.updated')).toHaveLength(1);
      expect((await caught(() => b.sessions.update(s.id, { syncIntervalMs: 0 }, T0))).code).toBe(ErrorCode.Validation);
    });
  });
}

export function describeProjectRepository(open: OpenBackbone): void {
  describe('ProjectRepository', () => {
    const backbone = useBackbone(open);

    it('creates a project with its defaults; the workspace defaults to the name', async () => {
      const b = backbone();
      const project = await b.projects.create({ name: 'alpha' }, T0);
      expect(project).toEqual({
        name: 'alpha', description: '', repository: null, status: 'planning', workspace: 'alpha', pinnedNodes: [], createdAt: T0, updatedAt: T0,
      });
      expect(await b.projects.get('alpha')).toEqual(project);
      expect((await eventsOf(b, 'project.created')).map((e) => e.subject)).toEqual(['alpha']);
    });

    it('refuses a duplicate name and a workspace already in use', async () => {
      const b = backbone();
      await b.projects.create({ name: 'alpha' }, T0);
      const dup = await caught(() => b.projects.create({ name: 'alpha' }, T0));
      expect(dup).toBeInstanceOf(ConflictError);
      expect(dup.message).toContain('alpha');
      expect(await caught(() => b.projects.create({ name: 'beta', workspace: 'alpha' }, T0))).toBeInstanceOf(ConflictError);
      expect((await b.projects.list()).map((p) => p.name)).toEqual(['alpha']);
    });

    it('refuses unsafe names', async () => {
      const b = backbone();
      for (const name of ['../etc', 'Alpha', 'a b', '']) expect((await caught(() => b.projects.create({ name }, T0))).code).toBe(ErrorCode.Validation);
      expect((await caught(() => b.projects.create({ name: 'ok', workspace: '../x' }, T0))).code).toBe(ErrorCode.Validation);
      expect(await b.projects.list()).toEqual([]);
    });

    it('updates fields and status along the allowed transitions', async () => {
      const b = backbone();
      await b.projects.create({ name: 'alpha' }, T0);
      const updated = await b.projects.update('alpha', { status: 'active', description: 'the plan', pinnedNodes: ['nod_1'] }, T0 + 5);
      expect(updated).toMatchObject({ status: 'active', description: 'the plan', pinnedNodes: ['nod_1'], updatedAt: T0 + 5, createdAt: T0 });
      expect(await b.projects.get('alpha')).toEqual(updated);
      await b.projects.update('alpha', { status: 'archived' }, T0 + 6);
      expect(await caught(() => b.projects.update('alpha', { status: 'active' }, T0 + 7))).toBeInstanceOf(InvalidTransitionError);
      expect((await b.projects.get('alpha'))?.status).toBe('archived');
      expect(await eventsOf(b, 'project.updated')).toHaveLength(2);
      expect(await caught(() => b.projects.update('ghost', { description: 'x' }, T0))).toBeInstanceOf(NotFoundError);
    });

    it('lists projects, filtered by status', async () => {
      const b = backbone();
      await b.projects.create({ name: 'alpha' }, T0);
      await b.projects.create({ name: 'beta', status: 'active' }, T0 + 1);
      expect((await b.projects.list()).map((p) => p.name)).toEqual(['alpha', 'beta']);
      expect((await b.projects.list({ status: 'active' })).map((p) => p.name)).toEqual(['beta']);
      expect(await b.projects.get('ghost')).toBeNull();
    });
  });
}
