/**
 * The logbook commands driven in-process against a real SQLite data directory: sessions,
 * projects, topics, actions, sparks, the timeline and approvals, with their exit codes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action, Approval, Project, Session, Spark, Topic } from '../../src/core/index.js';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';
import type { TimelineEntry } from '../../src/cli/logbook/timeline.js';
import { run, runJson, tempData, terminal, type TempData, type Terminal } from './harness.js';

let data: TempData;
let term: Terminal;

beforeEach(() => {
  data = tempData();
  term = terminal(data);
});
afterEach(() => data.cleanup());

type SessionView = Session & { durationMs: number };

describe('bitacora session', () => {
  it('starts, pauses, resumes and ends the current session, deriving the worked time', async () => {
    const started = await runJson<SessionView>(term, ['session', 'start', '--description', 'auth refactor', '--strategy', 'PeerToPeer']);
    expect(started).toMatchObject({ status: 'active', user: 'tester', description: 'auth refactor', strategy: 'PeerToPeer' });
    expect(existsSync(join(data.dataDir, 'fleet.db'))).toBe(true);

    const paused = await runJson<SessionView>(term, ['session', 'pause']);
    expect(paused).toMatchObject({ id: started.id, status: 'paused' });
    const resumed = await runJson<SessionView>(term, ['session', 'resume']);
    expect(resumed.status).toBe('active');

    const status = await runJson<SessionView>(term, ['session', 'status']);
    expect(status.id).toBe(started.id);
    expect(status.durationMs).toBeGreaterThanOrEqual(0);

    const human = await run(term, ['session', 'status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/worked\s+\S+/);
    expect(human.stdout).toContain(started.id);

    const ended = await runJson<SessionView>(term, ['session', 'end']);
    expect(ended.status).toBe('ended');
    expect(ended.endedAt).not.toBeNull();
    expect(await runJson(term, ['session', 'status'])).toBeNull();
  });

  it('refuses a second open session and names the fix (exit 2)', async () => {
    await run(term, ['session', 'start']);
    const second = await run(term, ['session', 'start']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('bitacora session end');
  });

  it('refuses to pause when no session is open (exit 2) and to resume an ended one', async () => {
    const none = await run(term, ['session', 'pause']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('bitacora session start');

    const s = await runJson<Session>(term, ['session', 'start']);
    await run(term, ['session', 'end']);
    const resume = await run(term, ['session', 'resume', s.id]);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(/ended/);
  });

  it('rejects an unknown strategy, listing the valid ones, and changes nothing', async () => {
    const bad = await run(term, ['session', 'start', '--strategy', 'Anarchy']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('MasterSlave');
    expect(await runJson(term, ['session', 'status'])).toBeNull();
  });

  it('starts a session on an unknown project only after it exists', async () => {
    const bad = await run(term, ['session', 'start', '--project', 'ghost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bitacora project create ghost');
  });
});

describe('bitacora project and topic', () => {
  it('creates, lists and shows a project', async () => {
    const created = await runJson<Project>(term, ['project', 'create', 'api', '--description', 'public API', '--repository', 'git@example.com:me/api.git']);
    expect(created).toMatchObject({ name: 'api', description: 'public API', status: 'planning', workspace: 'api' });
    const list = await runJson<Project[]>(term, ['project', 'list']);
    expect(list.map((p) => p.name)).toEqual(['api']);
    const table = await run(term, ['project', 'list']);
    expect(table.stdout).toMatch(/^NAME\s+STATUS/);
    const shown = await runJson<Project & { topics: Topic[] }>(term, ['project', 'show', 'api']);
    expect(shown.topics).toEqual([]);

    const duplicate = await run(term, ['project', 'create', 'api']);
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toContain('already exists');
  });

  it('refuses an unsafe project name with the rule it breaks (exit 2)', async () => {
    const bad = await run(term, ['project', 'create', '../etc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/slug/);
    expect(await runJson<Project[]>(term, ['project', 'list'])).toEqual([]);
  });

  it('creates topics with risk, priority, dependencies and estimate; lists them', async () => {
    await run(term, ['project', 'create', 'api']);
    const first = await runJson<Topic>(term, ['topic', 'create', '--project', 'api', 'design', 'the', 'schema']);
    expect(first).toMatchObject({ title: 'design the schema', project: 'api', risk: 'low', priority: 5 });
    const second = await runJson<Topic>(term, [
      'topic', 'create', '--project', 'api', '--risk', 'high', '--priority', '8', '--depends-on', first.id, '--estimate', '90m', 'migrate users',
    ]);
    expect(second).toMatchObject({ risk: 'high', priority: 8, dependsOn: [first.id], estimatedHours: 1.5 });

    const listed = await runJson<Topic[]>(term, ['topic', 'list', '--project', 'api']);
    expect(listed.map((t) => t.id)).toEqual([second.id, first.id]);

    const badEstimate = await run(term, ['topic', 'create', '--project', 'api', '--estimate', 'soon', 'x']);
    expect(badEstimate.code).toBe(2);
    expect(badEstimate.stderr).toContain('2h');
    const badDep = await run(term, ['topic', 'create', '--project', 'api', '--depends-on', 'top_nope', 'x']);
    expect(badDep.code).toBe(2);
  });

  it('takes the project of the current session when --project is omitted', async () => {
    await run(term, ['project', 'create', 'web']);
    await run(term, ['session', 'start', '--project', 'web']);
    const topic = await runJson<Topic>(term, ['topic', 'create', 'landing page']);
    expect(topic.project).toBe('web');
  });

  it('allows one active topic per project and says how to free the project', async () => {
    await run(term, ['project', 'create', 'api']);
    const a = await runJson<Topic>(term, ['topic', 'create', '--project', 'api', 'first']);
    const b = await runJson<Topic>(term, ['topic', 'create', '--project', 'api', 'second']);
    expect((await runJson<Topic>(term, ['topic', 'activate', a.id])).status).toBe('in-progress');

    const refused = await run(term, ['topic', 'activate', b.id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('BIT_ERR_ACTIVE_TOPIC_EXISTS');
    expect(refused.stderr).toContain(a.id);
    expect(refused.stderr).toContain(`bitacora topic complete ${a.id}`);

    const json = await run(term, ['topic', 'activate', b.id, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr).error.code).toBe('BIT_ERR_ACTIVE_TOPIC_EXISTS');

    await run(term, ['topic', 'complete', a.id]);
    expect((await runJson<Topic>(term, ['topic', 'activate', b.id])).status).toBe('in-progress');
  });

  it('reports an unknown topic with the command that lists them', async () => {
    const res = await run(term, ['topic', 'activate', 'top_missing']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('bitacora topic list');
  });
});

describe('bitacora action, spark and log', () => {
  it('links logged actions and sparks to the current session and shows them in its timeline', async () => {
    await run(term, ['project', 'create', 'api']);
    const session = await runJson<Session>(term, ['session', 'start', '--project', 'api']);
    const topic = await runJson<Topic>(term, ['topic', 'create', '--project', 'api', 'auth']);

    const action = await runJson<Action>(term, ['action', 'log', '--type', 'debug', '--topic', topic.id, '--tags', 'auth,login', 'found', 'the', 'race']);
    expect(action).toMatchObject({ sessionId: session.id, topicId: topic.id, project: 'api', type: 'debug', tags: ['auth', 'login'], description: 'found the race', phase: 'logged' });

    const spark = await runJson<Spark>(term, ['spark', 'add', '--type', 'idea', '--tags', 'perf', 'cache the token']);
    expect(spark).toMatchObject({ sessionId: session.id, project: 'api', type: 'idea', content: 'cache the token' });
    const sparks = await runJson<Spark[]>(term, ['spark', 'list']);
    expect(sparks.map((s) => s.id)).toEqual([spark.id]);
    expect(await runJson<Spark[]>(term, ['spark', 'list', '--type', 'bug'])).toEqual([]);

    const badType = await run(term, ['action', 'log', '--type', 'nap', 'x']);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('debug');

    await run(term, ['session', 'end']);
    const timeline = await runJson<TimelineEntry[]>(term, ['log', '--session', session.id]);
    expect(timeline.map((e) => `${e.kind}:${e.event}`)).toEqual(['session:started', 'action:logged', 'spark:added', 'session:ended']);
    expect(timeline.map((e) => e.at)).toEqual([...timeline.map((e) => e.at)].sort((x, y) => x - y));

    const byProject = await runJson<TimelineEntry[]>(term, ['log', '--project', 'api']);
    expect(byProject.filter((e) => e.kind !== 'session').map((e) => e.id)).toEqual([action.id, spark.id]);

    const human = await run(term, ['log', '--project', 'api']);
    expect(human.stdout).toContain('found the race');

    const both = await run(term, ['log', '--session', session.id, '--project', 'api']);
    expect(both.code).toBe(2);
  });

  it('logs an action without a session, with a note on stderr', async () => {
    const res = await run(term, ['action', 'log', 'quick', 'fix']);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('bitacora session start');
  });
});

describe('bitacora approve and approvals', () => {
  async function requestApproval(): Promise<Approval> {
    const backbone = await openSqliteBackbone({ file: join(data.dataDir, 'fleet.db') });
    try {
      const now = Date.now();
      await backbone.projects.create({ name: 'shop' }, now);
      const topic = await backbone.topics.create({ project: 'shop', title: 'release', risk: 'high' }, now);
      return await backbone.approvals.request({ topicId: topic.id, project: 'shop', reason: 'risk high', expiresAt: now + 60_000 }, now);
    } finally {
      await backbone.close();
    }
  }

  it('lists pending approvals, decides one once and records who and why', async () => {
    await run(term, ['session', 'status']); // creates the data directory and schema
    const approval = await requestApproval();
    const pending = await runJson<Approval[]>(term, ['approvals']);
    expect(pending.map((a) => a.id)).toEqual([approval.id]);
    const human = await run(term, ['approvals']);
    expect(human.stdout).toContain(`bitacora approve ID`);

    const decided = await runJson<Approval>(term, ['approve', approval.id, '--reject', '--note', 'freeze']);
    expect(decided).toMatchObject({ state: 'rejected', decidedBy: 'tester', note: 'freeze' });
    expect(await runJson<Approval[]>(term, ['approvals'])).toEqual([]);

    const again = await run(term, ['approve', approval.id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already rejected');

    const unknown = await run(term, ['approve', 'apv_nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('bitacora approvals');
  });
});

describe('--help', () => {
  it('shows examples for the command groups', async () => {
    for (const group of ['session', 'project', 'topic', 'action', 'spark', 'log', 'approve', 'pipeline']) {
      const res = await run(term, [group, '--help']);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('Examples:');
    }
  });
});
