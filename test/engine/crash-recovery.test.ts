// Crash recovery of in-doubt atomic actions: the engine process is SIGKILLed mid-action,
// then a new engine on the same SQLite file resolves what the crash left behind.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryWorkspaces } from '../../src/agent/runner/workspaces.js';
import { ProcessRunner } from '../../src/agent/runner/process-runner.js';
import { systemClock, ThreadManager } from '../../src/engine/index.js';
import { openSqliteBackbone } from '../../src/store/sqlite/index.js';
import { killTagged, newTag, tempDir, waitFor } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'run-until-killed.mjs');
const COMPILED = join(here, '..', '..', 'dist', 'engine', 'index.js');

describe('crash recovery of atomic actions (integration)', () => {
  let dir: string;
  let cleanup: () => void;
  let tag: string;

  beforeEach(() => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run \`npm run build\` first (npm test does it in pretest)`);
    ({ dir, cleanup } = tempDir('bitacora-crash-engine-'));
    tag = newTag();
  });
  afterEach(() => {
    killTagged(tag); // the crashed engine's command outlives it; that is the crash we simulate
    cleanup();
  });

  /** Starts the engine on `action`, SIGKILLs it once `killWhen` holds, returns the phases it printed. */
  async function crashDuring(action: string, killWhen: (ws: string) => boolean): Promise<string[]> {
    const pipelineFile = join(dir, 'pipeline.yaml');
    writeFileSync(pipelineFile, `project: { name: crashy, env: { TEST_TAG: "${tag}" } }\ntopics:\n  - id: release\n    steps:\n      - action:\n${action}`);
    const ws = join(dir, 'workspaces', 'crashy');
    const child = spawn(process.execPath, [FIXTURE, join(dir, 'bitacora.db'), join(dir, 'workspaces'), pipelineFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    await waitFor(() => killWhen(ws) || child.exitCode !== null, 20_000, 'the action to reach the crash point');
    child.kill('SIGKILL');
    expect(await closed, `engine exited on its own:\n${out}\n${err}`).toBe('SIGKILL');
    return out.split('\n').filter((l) => l.startsWith('phase ')).map((l) => l.slice(6));
  }

  async function recoveringEngine() {
    const backbone = await openSqliteBackbone({ file: join(dir, 'bitacora.db') });
    const manager = new ThreadManager({
      runner: new ProcessRunner(), workspaces: new DirectoryWorkspaces(join(dir, 'workspaces')), clock: systemClock, logbook: backbone,
    });
    return { backbone, manager };
  }

  it('rolls back an action that crashed while preparing (no commit decision)', async () => {
    const phases = await crashDuring(
      [
        '          name: deploy',
        '          prepare: touch prepared.flag && sleep 300',
        '          commit: mv prepared.flag live.flag',
        '          rollback: rm -f prepared.flag',
      ].join('\n'),
      (ws) => existsSync(join(ws, 'prepared.flag')),
    );
    expect(phases).toEqual(['validating', 'preparing']);
    const { backbone, manager } = await recoveringEngine();
    try {
      const [inDoubt] = await backbone.actions.inDoubt();
      expect(inDoubt).toMatchObject({ phase: 'preparing', decision: null, outcome: null });
      const report = await manager.recoverInDoubtActions();
      expect(report).toEqual([{ actionId: inDoubt!.id, from: 'preparing', to: 'rolled-back', summary: 'recovered after a crash in phase preparing, rolled back' }]);
      expect(existsSync(join(dir, 'workspaces', 'crashy', 'prepared.flag'))).toBe(false);
      expect(await backbone.actions.get(inDoubt!.id)).toMatchObject({ phase: 'rolled-back', decision: 'abort' });
      expect(await backbone.actions.inDoubt()).toEqual([]);
    } finally {
      await backbone.close();
    }
  });

  it('re-drives the commit of an action that crashed after deciding to commit', async () => {
    const phases = await crashDuring(
      [
        '          name: deploy',
        '          prepare: touch staged.flag',
        // The first commit attempt hangs (the crash hits it); the re-driven one completes.
        '          commit: if [ -f commit-tried ]; then mv staged.flag live.flag; else touch commit-tried && sleep 300; fi',
        '          rollback: rm -f staged.flag',
      ].join('\n'),
      (ws) => existsSync(join(ws, 'commit-tried')),
    );
    expect(phases).toEqual(['validating', 'preparing', 'prepared', 'committing']);
    const { backbone, manager } = await recoveringEngine();
    try {
      const report = await manager.recoverInDoubtActions();
      expect(report).toEqual([expect.objectContaining({ from: 'committing', to: 'committed', summary: 'recovered after a crash in phase committing, commit ok' })]);
      const ws = join(dir, 'workspaces', 'crashy');
      expect(existsSync(join(ws, 'live.flag'))).toBe(true);
      expect(existsSync(join(ws, 'staged.flag'))).toBe(false);
      expect(await backbone.actions.get(report[0]!.actionId)).toMatchObject({ phase: 'committed', decision: 'commit', outcome: { error: null } });
    } finally {
      await backbone.close();
    }
  });
});
