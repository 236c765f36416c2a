/**
 * Logbook routes (sessions, projects, topics, actions, sparks, approvals) over a real fastify
 * server on loopback with a real SQLite backbone in a temp directory, driven by FleetClient:
 * every route round-trips, domain errors keep their code and status, validation lists every
 * issue, and decisions taken through REST land in the repository.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import { FleetClient, type SessionView as ClientSessionView } from '../../src/client/index.js';
import type { SessionView as ServerSessionView } from '../../src/api/routes/logbook-sessions.js';
import { BitacoraError, ErrorCode, ValidationError } from '../../src/core/index.js';
import { openSqliteBackbone, type SqliteBackbone } from '../../src/store/sqlite/index.js';
import { FakeFleet } from './fake-fleet.js';
import { FakeAccess } from './fake-access.js';

type Assignable<A, B> = A extends B ? true : false;
const shapesMatch: Assignable<ServerSessionView, ClientSessionView> = true;
void shapesMatch;

const TOKEN = 'logbook-token';

async function failure(promise: Promise<unknown>): Promise<BitacoraError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BitacoraError);
  return err as BitacoraError;
}

describe('logbook routes', () => {
  let dir: string;
  let backbone: SqliteBackbone;
  let server: ApiServer;
  let client: FleetClient;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-logbook-api-'));
    backbone = await openSqliteBackbone({ file: join(dir, 'fleet.db') });
    server = await startApiServer({ fleet: new FakeFleet(), host: '127.0.0.1', port: 0, access: new FakeAccess({ adminToken: TOKEN }), logbook: backbone });
    client = new FleetClient({ url: server.url, token: TOKEN });
  });
  afterEach(async () => {
    await server.close();
    await backbone.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips projects and topics', async () => {
    const lb = client.logbook;
    const alpha = await lb.createProject({ name: 'alpha', description: 'planning work' });
    expect(alpha).toMatchObject({ name: 'alpha', status: 'planning', workspace: 'alpha', pinnedNodes: [] });
    await lb.createProject({ name: 'beta', status: 'active' });
    expect((await lb.listProjects()).map((p) => p.name)).toEqual(['alpha', 'beta']);
    expect((await lb.listProjects({ status: 'active' })).map((p) => p.name)).toEqual(['beta']);
    expect(await lb.getProject('alpha')).toEqual(alpha);
    const patched = await lb.updateProject('alpha', { status: 'active', repository: 'git@example.org:alpha.git' });
    expect(patched).toMatchObject({ status: 'active', repository: 'git@example.org:alpha.git' });
    expect((await backbone.projects.get('alpha'))?.status).toBe('active');

    const design = await lb.createTopic({ project: 'alpha', title: 'Design', risk: 'high' });
    const build = await lb.createTopic({ project: 'alpha', title: 'Build', dependsOn: [design.id] });
    await lb.createTopic({ project: 'beta', title: 'Other' });
    expect(design).toMatchObject({ project: 'alpha', status: 'planning', risk: 'high', priority: 5 });
    expect((await lb.listTopics({ project: 'alpha' })).map((t) => t.title)).toEqual(['Design', 'Build']);
    expect(await lb.getTopic(build.id)).toEqual(build);
    expect((await lb.activateTopic(design.id)).status).toBe('in-progress');
    expect((await lb.listTopics({ status: 'in-progress' })).map((t) => t.id)).toEqual([design.id]);
    expect((await lb.setTopicStatus(design.id, 'completed')).status).toBe('completed');
    expect((await lb.activateTopic(build.id)).status).toBe('in-progress');
    expect((await backbone.topics.get(build.id))?.status).toBe('in-progress');

    // The same routes answer under /api/v1 too.
    const aliased = await fetch(`${server.url}/api/v1/projects/alpha`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(aliased.status).toBe(200);
    expect(((await aliased.json()) as { name: string }).name).toBe('alpha');
  });

  it('answers 409 with the code when a second topic of a project is activated', async () => {
    await client.logbook.createProject({ name: 'alpha' });
    const first = await client.logbook.createTopic({ project: 'alpha', title: 'First' });
    const second = await client.logbook.createTopic({ project: 'alpha', title: 'Second' });
    await client.logbook.activateTopic(first.id);
    const err = await failure(client.logbook.activateTopic(second.id));
    expect(err.code).toBe(ErrorCode.ActiveTopicExists);
    expect(err.details['httpStatus']).toBe(409);
    expect(err.message).toContain(first.id);
    expect((await backbone.topics.get(second.id))?.status).toBe('planning');

    // A transition the table forbids is a 409 too; a duplicate project a 409 Conflict.
    await client.logbook.setTopicStatus(second.id, 'cancelled');
    expect(await failure(client.logbook.setTopicStatus(second.id, 'planning'))).toMatchObject({ code: ErrorCode.InvalidTransition, details: { httpStatus: 409 } });
    expect(await failure(client.logbook.createProject({ name: 'alpha' }))).toMatchObject({ code: ErrorCode.Conflict, details: { httpStatus: 409 } });
  });

  it('round-trips sessions with their worked time', async () => {
    const lb = client.logbook;
    expect(await lb.currentSession()).toBeNull();
    await lb.createProject({ name: 'alpha' });
    const started = await lb.startSession({ project: 'alpha', strategy: 'PeerToPeer', description: 'morning' });
    expect(started).toMatchObject({ user: 'admin', project: 'alpha', status: 'active', strategy: 'PeerToPeer', pausedMs: 0 });
    expect(started.durationMs).toBeGreaterThanOrEqual(0);
    expect((await lb.currentSession())?.id).toBe(started.id);
    expect((await lb.getSession(started.id)).durationMs).toEqual(expect.any(Number));

    // One open session at a time.
    expect(await failure(lb.startSession({ user: 'ana' }))).toMatchObject({ code: ErrorCode.Conflict, details: { sessionId: started.id } });

    expect((await lb.pauseSession(started.id)).status).toBe('paused');
    expect(await failure(lb.pauseSession(started.id))).toMatchObject({ code: ErrorCode.InvalidTransition });
    expect((await lb.resumeSession()).status).toBe('active');
    const ended = await lb.endSession(started.id);
    expect(ended.status).toBe('ended');
    expect(ended.endedAt).not.toBeNull();
    expect(ended.durationMs).toBe(ended.endedAt! - ended.startedAt - ended.pausedMs);
    expect(await lb.currentSession()).toBeNull();
    expect((await backbone.sessions.get(started.id))?.status).toBe('ended');

    const second = await lb.startSession({ user: 'ana' });
    expect(second.user).toBe('ana');
    expect((await lb.listSessions()).map((s) => s.id)).toEqual([started.id, second.id]);
    expect((await lb.listSessions({ status: 'ended' })).map((s) => s.id)).toEqual([started.id]);
    expect((await lb.listSessions({ project: 'alpha' })).map((s) => s.id)).toEqual([started.id]);
    expect((await lb.listSessions({ limit: 1 })).map((s) => s.id)).toEqual([second.id]);
  });

  it('round-trips actions and sparks with their filters', async () => {
    const lb = client.logbook;
    await lb.createProject({ name: 'alpha' });
    const topic = await lb.createTopic({ project: 'alpha', title: 'Build' });
    const session = await lb.startSession({ project: 'alpha' });
    const a1 = await lb.logAction({ sessionId: session.id, topicId: topic.id, project: 'alpha', type: 'code', description: 'wrote the parser', tags: ['parser'] });
    expect(a1).toMatchObject({ phase: 'logged', type: 'code', sessionId: session.id, decision: null, outcome: null });
    const a2 = await lb.logAction({ project: 'alpha', description: 'meeting notes', type: 'meeting' });
    await lb.logAction({ description: 'unrelated' });
    expect(await lb.getAction(a1.id)).toEqual(a1);
    expect((await lb.listActions({ session: session.id })).map((a) => a.id)).toEqual([a1.id]);
    expect((await lb.listActions({ topic: topic.id })).map((a) => a.id)).toEqual([a1.id]);
    expect((await lb.listActions({ project: 'alpha' })).map((a) => a.id)).toEqual([a1.id, a2.id]);
    expect(await lb.listActions({ limit: 2 })).toHaveLength(2);
    expect((await backbone.actions.get(a2.id))?.description).toBe('meeting notes');

    const s1 = await lb.addSpark({ type: 'idea', content: 'cache the lexer', sessionId: session.id, project: 'alpha', relatedActions: [a1.id] });
    const s2 = await lb.addSpark({ content: 'a note' });
    expect(s1).toMatchObject({ type: 'idea', relatedActions: [a1.id] });
    expect(s2.type).toBe('note');
    expect(await lb.getSpark(s1.id)).toEqual(s1);
    expect((await lb.listSparks({ type: 'idea' })).map((s) => s.id)).toEqual([s1.id]);
    expect((await lb.listSparks({ session: session.id, project: 'alpha' })).map((s) => s.id)).toEqual([s1.id]);
    expect((await lb.listSparks({ limit: 1 })).map((s) => s.id)).toEqual([s2.id]);
    expect((await backbone.sparks.list()).map((s) => s.id)).toEqual([s1.id, s2.id]);
  });

  it('decides approvals through REST, seen by the repository', async () => {
    await client.logbook.createProject({ name: 'alpha' });
    const topic = await client.logbook.createTopic({ project: 'alpha', title: 'Deploy', risk: 'high' });
    const now = Date.now();
    const first = await backbone.approvals.request({ topicId: topic.id, project: 'alpha', reason: 'high risk', expiresAt: now + 600_000 }, now);
    const second = await backbone.approvals.request({ topicId: topic.id, project: 'alpha', reason: 'high risk again', expiresAt: now + 600_000 }, now);
    const late = await backbone.approvals.request({ topicId: topic.id, project: 'alpha', reason: 'too late', expiresAt: now - 1 }, now - 1000);

    expect((await client.logbook.listApprovals({ state: 'pending', project: 'alpha' })).map((a) => a.id)).toEqual([late.id, first.id, second.id]);
    expect(await client.logbook.getApproval(first.id)).toEqual(first);

    const approved = await client.logbook.decideApproval(first.id, 'approve', 'ship it');
    expect(approved).toMatchObject({ state: 'approved', decidedBy: 'admin', note: 'ship it' });
    expect(await backbone.approvals.get(first.id)).toMatchObject({ state: 'approved', decidedBy: 'admin', note: 'ship it' });
    expect((await client.logbook.decideApproval(second.id, 'reject')).state).toBe('rejected');
    expect(await backbone.approvals.get(second.id)).toMatchObject({ state: 'rejected', decidedBy: 'admin', note: null });

    // Deciding twice: 409 InvalidTransition, nothing changes.
    expect(await failure(client.logbook.decideApproval(first.id, 'reject'))).toMatchObject({ code: ErrorCode.InvalidTransition, details: { httpStatus: 409 } });
    expect((await backbone.approvals.get(first.id))?.state).toBe('approved');
    // Too late: 409 ApprovalExpired, and the repository records 'expired'.
    expect(await failure(client.logbook.decideApproval(late.id, 'approve'))).toMatchObject({ code: ErrorCode.ApprovalExpired, details: { httpStatus: 409 } });
    expect((await backbone.approvals.get(late.id))?.state).toBe('expired');
    expect((await client.logbook.listApprovals({ state: 'pending' }))).toEqual([]);
  });

  it('answers 404 for unknown ids and names', async () => {
    const lb = client.logbook;
    const lookups: Array<[() => Promise<unknown>, string]> = [
      [() => lb.getProject('nope'), 'project'],
      [() => lb.updateProject('nope', { description: 'x' }), 'project'],
      [() => lb.getTopic('top_nope'), 'topic'],
      [() => lb.activateTopic('top_nope'), 'topic'],
      [() => lb.setTopicStatus('top_nope', 'completed'), 'topic'],
      [() => lb.createTopic({ project: 'nope', title: 'x' }), 'project'],
      [() => lb.getSession('ses_nope'), 'session'],
      [() => lb.pauseSession('ses_nope'), 'session'],
      [() => lb.endSession(), 'session'],
      [() => lb.startSession({ project: 'nope' }), 'project'],
      [() => lb.getAction('act_nope'), 'action'],
      [() => lb.logAction({ description: 'x', sessionId: 'ses_nope' }), 'session'],
      [() => lb.getSpark('spk_nope'), 'spark'],
      [() => lb.getApproval('apv_nope'), 'approval'],
      [() => lb.decideApproval('apv_nope', 'approve'), 'approval'],
    ];
    for (const [call, entity] of lookups) {
      const err = await failure(call());
      expect(err, entity).toMatchObject({ code: ErrorCode.NotFound, details: { entity, httpStatus: 404 } });
    }
  });

  it('answers 400 listing every issue of an invalid body or query', async () => {
    const project = await failure(client.logbook.createProject({ name: 'Bad Name', status: 'nope', extra: 1 } as never));
    expect(project).toBeInstanceOf(ValidationError);
    expect((project as ValidationError).issues.map((i) => i.path).sort()).toEqual(['', 'name', 'status']);

    const topic = await failure(client.logbook.createTopic({ project: 'alpha', title: '', priority: 11, risk: 'extreme' } as never));
    expect((topic as ValidationError).issues.map((i) => i.path).sort()).toEqual(['priority', 'risk', 'title']);

    const session = await failure(client.logbook.startSession({ strategy: 'Anarchy', syncIntervalMs: -5 } as never));
    expect((session as ValidationError).issues.map((i) => i.path).sort()).toEqual(['strategy', 'syncIntervalMs']);

    // Hand-logged actions cannot pick an execution phase.
    const action = await failure(client.logbook.logAction({ description: 'x', type: 'dance', phase: 'committed' } as never));
    expect((action as ValidationError).issues.map((i) => i.path).sort()).toEqual(['', 'type']);

    const spark = await failure(client.logbook.addSpark({ content: '', type: 'rumour' } as never));
    expect((spark as ValidationError).issues.map((i) => i.path).sort()).toEqual(['content', 'type']);

    const status = await failure(client.logbook.setTopicStatus('top_x', 'done' as never));
    expect((status as ValidationError).issues.map((i) => i.path)).toEqual(['status']);

    const query = await failure(client.logbook.listSparks({ type: 'rumour' as never, limit: 0 }));
    expect((query as ValidationError).issues.map((i) => i.path).sort()).toEqual(['limit', 'type']);

    const note = await failure(client.logbook.decideApproval('apv_x', 'approve', 'x'.repeat(2001)));
    expect((note as ValidationError).issues.map((i) => i.path)).toEqual(['note']);

    // Raw: the wire shape is a 400 with details.issues.
    const raw = await fetch(`${server.url}/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: '../etc', pinnedNodes: 'all' }),
    });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { error: { code: string; details: { issues: Array<{ path: string }> } } };
    expect(body.error.code).toBe(ErrorCode.Validation);
    // '../etc' breaks two rules of a slug (alphabet and ".."): both are listed.
    expect(body.error.details.issues.map((i) => i.path).sort()).toEqual(['name', 'name', 'pinnedNodes']);
    expect(await backbone.projects.list()).toEqual([]);
  });

  it('requires the bearer token on every logbook route', async () => {
    const stranger = new FleetClient({ url: server.url, token: 'wrong' });
    const calls: Array<() => Promise<unknown>> = [
      () => stranger.logbook.listProjects(),
      () => stranger.logbook.createProject({ name: 'alpha' }),
      () => stranger.logbook.listTopics(),
      () => stranger.logbook.listSessions(),
      () => stranger.logbook.startSession(),
      () => stranger.logbook.listActions(),
      () => stranger.logbook.addSpark({ content: 'x' }),
      () => stranger.logbook.listApprovals(),
      () => stranger.logbook.decideApproval('apv_x', 'approve'),
    ];
    for (const call of calls) expect(await failure(call())).toMatchObject({ code: ErrorCode.Unauthenticated, details: { httpStatus: 401 } });
    const bare = await fetch(`${server.url}/api/v1/sessions`);
    expect(bare.status).toBe(401);
    expect(await backbone.projects.list()).toEqual([]);
    expect(await backbone.sessions.list()).toEqual([]);
    expect(await backbone.sparks.list()).toEqual([]);
  });

  it('serves no logbook routes without a logbook', async () => {
    const bare = await startApiServer({ fleet: new FakeFleet(), host: '127.0.0.1', port: 0, access: new FakeAccess({ adminToken: TOKEN }) });
    try {
      const err = await failure(new FleetClient({ url: bare.url, token: TOKEN }).logbook.listProjects());
      expect(err).toMatchObject({ code: ErrorCode.NotFound, details: { entity: 'route' } });
    } finally {
      await bare.close();
    }
  });
});
