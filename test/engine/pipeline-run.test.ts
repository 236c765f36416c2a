// The local engine end to end: real SQLite files, real child processes, real workspaces.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryWorkspaces } from '../../src/agent/runner/workspaces.js';
import { ProcessRunner } from '../../src/agent/runner/process-runner.js';
import { parsePipeline } from '../../src/core/pipeline/index.js';
import { systemClock, ThreadManager, type ProgressEvent, type ThreadManagerOptions } from '../../src/engine/index.js';
import { openSqliteBackbone, type SqliteBackbone } from '../../src/store/sqlite/index.js';
import { killTagged, newTag, processesWith, tempDir, waitFor } from './helpers.js';

const DEMO = readFileSync(new URL('../../examples/demo-pipeline.yaml', import.meta.url), 'utf8');

describe('local engine (integration)', () => {
  let dir: string;
  let cleanup: () => void;
  let backbone: SqliteBackbone;
  const tags: string[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir('bitacora-engine-'));
    backbone = await openSqliteBackbone({ file: join(dir, 'bitacora.db') });
  });
  afterEach(async () => {
    for (const tag of tags.splice(0)) killTagged(tag);
    await backbone.close();
    cleanup();
  });

  function engine(options: Partial<ThreadManagerOptions> = {}): { manager: ThreadManager; events: ProgressEvent[] } {
    const events: ProgressEvent[] = [];
    const manager = new ThreadManager({
      runner: new ProcessRunner({ killGraceMs: 300 }),
      workspaces: new DirectoryWorkspaces(join(dir, 'workspaces')),
      clock: systemClock,
      logbook: backbone,
      approvalPollMs: 50,
      onProgress: (e) => events.push(e),
      ...options,
    });
    return { manager, events };
  }

  it('runs the demo pipeline through all four levels; the high-risk topic waits for an approval from another connection', async () => {
    const { manager, events } = engine();
    const running = manager.runPipelines([{ pipeline: parsePipeline(DEMO, 'demo-pipeline.yaml') }]);

    // Another terminal: its own connection to the same file, like `bitacora approve ID`.
    const terminal = await openSqliteBackbone({ file: join(dir, 'bitacora.db') });
    try {
      const pending = await waitFor(async () => (await terminal.approvals.list({ state: 'pending' }))[0], 20_000, 'a pending approval');
      const release = (await terminal.topics.get(pending.topicId))!;
      expect(release).toMatchObject({ title: 'Release to production', status: 'on-hold', risk: 'high' });
      expect((await terminal.topics.list({ project: 'demo-shop' })).map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'on-hold']);
      expect(existsSync(join(dir, 'workspaces', 'demo-shop', 'release'))).toBe(false);
      await terminal.approvals.decide(pending.id, 'approved', 'alice', 'ship it', Date.now());
    } finally {
      await terminal.close();
    }

    const result = await running;
    expect(result.ok).toBe(true);
    const ws = join(dir, 'workspaces', 'demo-shop');
    expect(readFileSync(join(ws, 'release', 'app.js'), 'utf8')).toContain('hello from demo-shop');
    expect(existsSync(join(ws, 'release.staging'))).toBe(false);

    expect(await backbone.projects.get('demo-shop')).toMatchObject({ status: 'completed', workspace: 'demo-shop' });
    const actions = await backbone.actions.list({ project: 'demo-shop' });
    expect(actions.map((a) => [a.description.split(':')[0], a.phase])).toEqual([
      ['scaffold', 'succeeded'], ['check-sources', 'succeeded'], ['compile', 'succeeded'], ['atomic action deploy', 'committed'], ['verify', 'succeeded'],
    ]);
    const deploy = actions[3]!;
    expect(deploy).toMatchObject({ type: 'deploy', decision: 'commit', outcome: { summary: 'validate ok, prepare ok, commit ok', error: null } });
    expect(actions.every((a) => a.sessionId === result.sessionId && a.endedAt !== null)).toBe(true);
    const sparks = await backbone.sparks.list({ project: 'demo-shop' });
    expect(sparks.map((s) => s.result?.exitCode)).toEqual([0, 0, 0]);
    expect(sparks.map((s) => s.result?.outputTail).join('')).toContain('smoke shard 3 ok');
    expect((await backbone.approvals.list())[0]).toMatchObject({ state: 'approved', decidedBy: 'alice' });
    expect((await backbone.sessions.get(result.sessionId))!.status).toBe('ended');
    expect(events.some((e) => e.type === 'output' && e.line === 'released demo-shop')).toBe(true);
    expect(events.find((e) => e.type === 'approval.needed')).toMatchObject({ topic: 'release', subject: "topic 'release'" });
  });

  it('rolls back a failing prepare and records exactly what happened', async () => {
    const { manager } = engine();
    const pipeline = parsePipeline(`
project: { name: rollback-demo }
topics:
  - id: release
    steps:
      - action:
          name: deploy
          validate: test -d .
          prepare: echo staged > staged.txt && exit 2
          commit: mv staged.txt live.txt
          rollback: rm -f staged.txt
`);
    const [project] = (await manager.runPipelines([{ pipeline }])).projects;
    expect(project).toMatchObject({ status: 'failed', error: "topic 'release', step 'deploy': validate ok, prepare failed (exit 2), rolled back" });
    const ws = join(dir, 'workspaces', 'rollback-demo');
    expect(existsSync(join(ws, 'staged.txt'))).toBe(false);
    expect(existsSync(join(ws, 'live.txt'))).toBe(false);
    const [action] = await backbone.actions.list({ project: 'rollback-demo' });
    expect(action).toMatchObject({ phase: 'rolled-back', decision: 'abort', outcome: { exitCode: 2, error: 'prepare failed (exit 2)' } });
    expect(await backbone.actions.inDoubt()).toEqual([]);
    const phases = (await backbone.events.read(0)).filter((e) => e.type === 'action.phase' && e.subject === action!.id).map((e) => e.data.to ?? e.data.decision);
    expect(phases).toEqual(['preparing', 'abort', 'rolling-back', 'rolled-back', undefined]);
    expect((await backbone.topics.list({ project: 'rollback-demo' }))[0]!.status).toBe('on-hold');
  });

  it('kills a timed-out command together with its double-forked setsid grandchild', async () => {
    const tag = newTag();
    tags.push(tag);
    const { manager } = engine();
    const pipeline = parsePipeline(`
project: { name: timeouts, env: { TEST_TAG: "${tag}" } }
topics:
  - id: hang
    steps:
      - name: stuck
        run: (setsid sh -c "sleep 300" &) ; sleep 300
        timeout: 500ms
`);
    const [project] = (await manager.runPipelines([{ pipeline }])).projects;
    expect(project!.error).toBe("topic 'hang', step 'stuck': timeout");
    expect(processesWith('TEST_TAG', tag)).toEqual([]);
    expect((await backbone.actions.list({ project: 'timeouts' }))[0]).toMatchObject({ phase: 'failed', outcome: { error: 'timeout' } });
  });

  it('cancelling one project kills its sparks (and their setsid grandchildren) and leaves the other project alone', async () => {
    const tag = newTag();
    tags.push(tag);
    const { manager } = engine();
    const cancel = new AbortController();
    const doomed = parsePipeline(`
project: { name: doomed, env: { TEST_TAG: "${tag}" } }
topics:
  - id: shards
    steps:
      - sparks:
          - run: (setsid sh -c "sleep 300" &) ; sleep 300
          - run: sleep 300
`);
    const fine = parsePipeline(`
project: { name: fine }
topics:
  - id: work
    steps:
      - run: sleep 0.3 && echo done
`);
    const running = manager.runPipelines([{ pipeline: doomed, signal: cancel.signal }, { pipeline: fine }]);
    await waitFor(() => processesWith('TEST_TAG', tag).length >= 3, 10_000, 'sparks and grandchild running');
    cancel.abort();
    const result = await running;
    expect(result.projects.map((p) => [p.project, p.status])).toEqual([['doomed', 'cancelled'], ['fine', 'completed']]);
    expect(processesWith('TEST_TAG', tag)).toEqual([]);
    expect((await backbone.sparks.list({ project: 'doomed' })).map((s) => s.result?.error)).toEqual(['cancelled', 'cancelled']);
  });
});
