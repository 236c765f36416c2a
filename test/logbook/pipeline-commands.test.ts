/**
 * `pipeline check` and `pipeline run --local` in-process with the real engine, the real
 * process runner and a real SQLite data directory; approval from a second "terminal" on the
 * same data directory unblocks a waiting run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action, Approval, Project } from '../../src/core/index.js';
import { registerLocalRun } from '../../src/cli/logbook/local-runs.js';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';
import { run, runJson, tempData, terminal, type TempData, type Terminal } from './harness.js';

const DEMO = join(process.cwd(), 'examples', 'demo-pipeline.yaml');

const BAD = `version: 1
project:
  name: Bad Name
topics:
  - id: build
    risk: extreme
    dependsOn: [test]
    steps:
      - run: make
        timeout: soon
  - id: test
    dependsOn: [build]
    stepz: []
`;

let data: TempData;
let term: Terminal;

beforeEach(() => {
  data = tempData();
  term = terminal(data);
});
afterEach(() => data.cleanup());

function writePipeline(name: string, text: string): string {
  const file = join(data.root, name);
  writeFileSync(file, text);
  return file;
}

type JsonEvent = { type: string; [key: string]: unknown };
const ndjson = (text: string): JsonEvent[] => text.trim().split('\n').map((l) => JSON.parse(l) as JsonEvent);

describe('bitacora pipeline check', () => {
  it('accepts the demo pipeline and shows its plan in execution order', async () => {
    const res = await run(term, ['pipeline', 'check', DEMO]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('valid');
    expect(res.stdout).toMatch(/1\. setup[\s\S]*2\. build[\s\S]*3\. test[\s\S]*4\. release/);
    expect(res.stdout).toContain('waits for approval');

    const json = await runJson<{ valid: boolean; project: string; topics: { id: string }[] }>(term, ['pipeline', 'check', DEMO]);
    expect(json).toMatchObject({ valid: true, project: 'demo-shop' });
    expect(json.topics.map((t) => t.id)).toEqual(['setup', 'build', 'test', 'release']);
  });

  it('lists every problem of a bad file with its path, exits 2 and creates nothing', async () => {
    const file = writePipeline('bad.yaml', BAD);
    const res = await run(term, ['pipeline', 'check', file]);
    expect(res.code).toBe(2);
    for (const path of ['project.name', 'topics[0].risk', 'topics[0].steps[0].timeout', 'topics[1].stepz']) {
      expect(res.stderr).toContain(path);
    }
    expect(res.stderr).toMatch(/cycle/);
    expect(res.stderr).toMatch(/line \d+/);
    expect(existsSync(data.dataDir)).toBe(false);

    const json = await run(term, ['pipeline', 'check', file, '--json']);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as { valid: boolean; issues: { path: string; message: string }[] };
    expect(report.valid).toBe(false);
    expect(report.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['project.name', 'topics[0].risk', 'topics[0].steps[0].timeout']));
  });

  it('names a missing file and exits 2', async () => {
    const res = await run(term, ['pipeline', 'check', 'nope.yaml']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('no such file');
  });
});

describe('bitacora pipeline run', () => {
  it('refuses to run without --local, saying how (exit 2)', async () => {
    const res = await run(term, ['pipeline', 'run', DEMO]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('not available yet');
    expect(res.stderr).toContain('--local');
  });

  it('refuses a bad file with every problem before anything runs (exit 2)', async () => {
    const res = await run(term, ['pipeline', 'run', '--local', writePipeline('bad.yaml', BAD)]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('topics[0].steps[0].timeout');
    expect(existsSync(data.dataDir)).toBe(false);
  });

  it('runs the demo pipeline with --yes: one line per event, exit 0, everything in the logbook', async () => {
    const res = await run(term, ['pipeline', 'run', '--local', '--yes', DEMO]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('demo-shop/setup ▶ topic started');
    expect(res.stdout).toContain('approving it (--yes)');
    expect(res.stdout).toContain('│ released demo-shop');
    expect(res.stdout).toMatch(/✓ demo-shop: completed/);
    expect(readFileSync(join(data.dataDir, 'workspaces', 'demo-shop', 'release', 'app.js'), 'utf8')).toContain('hello from demo-shop');

    const project = await runJson<Project>(term, ['project', 'show', 'demo-shop']);
    expect(project.status).toBe('completed');
    const approvals = await runJson<Approval[]>(term, ['approvals', '--all']);
    expect(approvals).toMatchObject([{ state: 'approved', decidedBy: 'auto-approve' }]);
    const timeline = await run(term, ['log', '--project', 'demo-shop']);
    expect(timeline.stdout).toContain('atomic action deploy');
    expect(timeline.stdout).toContain('"Release to production" by auto-approve');
  });

  it('streams NDJSON progress with --json, ending with the run summary', async () => {
    const res = await run(term, ['pipeline', 'run', '--local', '--yes', '--json', DEMO]);
    expect(res.code).toBe(0);
    const events = ndjson(res.stdout);
    expect(events[0]!.type).toBe('project.started');
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['topic.started', 'step.finished', 'spark.finished', 'action.phase', 'output']));
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', ok: true, projects: [{ project: 'demo-shop', status: 'completed' }] });
  });

  it('exits 1 when a step fails, naming the topic and step', async () => {
    const file = writePipeline('failing.yaml', `project:\n  name: failing\ntopics:\n  - id: build\n    steps:\n      - name: compile\n        run: echo broken >&2; exit 3\n`);
    const res = await run(term, ['pipeline', 'run', '--local', file]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('│ broken');
    expect(res.stdout).toMatch(/✗ failing: failed .*topic 'build', step 'compile': exit 3/);
  });

  it('waits for a high-risk topic until a second terminal approves it', async () => {
    const running = run(term, ['pipeline', 'run', '--local', DEMO]);
    const [, approvalId] = await term.stdout.waitFor(/approve: bitacora approve (apv_\w+)/);
    expect(term.stdout.text).toContain(`reject:  bitacora approve ${approvalId} --reject`);

    const other = terminal(data);
    const pending = await runJson<Approval[]>(other, ['approvals']);
    expect(pending.map((a) => a.id)).toEqual([approvalId]);
    const approved = await run(other, ['approve', approvalId!, '--note', 'ship it']);
    expect(approved.code).toBe(0);

    const res = await running;
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`approval ${approvalId} approved by tester`));
    expect(existsSync(join(data.dataDir, 'workspaces', 'demo-shop', 'release', 'app.js'))).toBe(true);
  });

  it('stops with exit 1 when the approval is rejected, and the release never runs', async () => {
    const running = run(term, ['pipeline', 'run', '--local', DEMO]);
    const [, approvalId] = await term.stdout.waitFor(/approve: bitacora approve (apv_\w+)/);
    expect((await run(terminal(data), ['approve', approvalId!, '--reject'])).code).toBe(0);
    const res = await running;
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/demo-shop: stopped/);
    expect(existsSync(join(data.dataDir, 'workspaces', 'demo-shop', 'release'))).toBe(false);
  });

  it('on a TTY redraws a status block and takes the answer at the y/N prompt', async () => {
    const tty = terminal(data, { tty: true });
    const running = run(tty, ['pipeline', 'run', '--local', DEMO]);
    await tty.stdout.waitFor(/Approve topic 'release' of demo-shop now\? \[y\/N\] $/);
    tty.stdin.write('y\n');
    const res = await running;
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('\x1b[J'); // the block is redrawn in place
    expect(res.stdout).toMatch(/Approved apv_\w+\./);
    expect(res.stdout).toMatch(/✓ setup\s+completed/);
    const approvals = await runJson<Approval[]>(term, ['approvals', '--all']);
    expect(approvals).toMatchObject([{ state: 'approved', decidedBy: 'tester', note: 'answered at the pipeline run prompt' }]);
  });

  /** An action a crash left in 'validating' (nothing prepared), as a killed run would. */
  async function leaveInDoubtAction(): Promise<string> {
    const backbone = await openSqliteBackbone({ file: join(data.dataDir, 'fleet.db') });
    try {
      return (await backbone.actions.create({ description: 'interrupted step', phase: 'validating' }, Date.now())).id;
    } finally {
      await backbone.close();
    }
  }

  it('resolves actions a crashed run left in doubt before running', async () => {
    const id = await leaveInDoubtAction();
    const res = await run(term, ['pipeline', 'run', '--local', '--yes', DEMO]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`recovery: action ${id} validating → failed`);
    const actions = await runJson<Action[]>(term, ['action', 'list', '--all']);
    expect(actions.find((a) => a.id === id)).toMatchObject({ phase: 'failed', outcome: { error: 'interrupted' } });
  });

  it('leaves recovery alone while another local run uses the data directory', async () => {
    const id = await leaveInDoubtAction();
    const backbone = await openSqliteBackbone({ file: join(data.dataDir, 'fleet.db') });
    const other = await registerLocalRun(backbone.kv);
    try {
      const res = await run(term, ['pipeline', 'run', '--local', '--yes', DEMO]);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('another `pipeline run --local` is using this data directory');
      expect((await backbone.actions.get(id))!.phase).toBe('validating');
    } finally {
      await other.release();
      await backbone.close();
    }
  });
});
