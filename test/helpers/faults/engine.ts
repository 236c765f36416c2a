/**
 * Crashes of the local engine in the middle of an atomic action, for fault 5 and the soak:
 * one incarnation runs a one-action pipeline and dies (SIGKILL) at a chosen point, the next
 * recovers on the same logbook; the test then reads the logbook and the workspace.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Action, FleetEvent } from '../../../src/core/index.js';
import { openSqliteBackbone } from '../../../src/store/sqlite/index.js';
import type { ActionEffect } from './history.js';
import { TAG_VAR } from './procs.js';

const FIXTURE = fileURLToPath(new URL('./atomic-engine.mjs', import.meta.url));

/**
 * Where the crash hits:
 *  - 'preparing'    SIGKILL from outside while the prepare command runs;
 *  - 'prepared'     prepare done and persisted, no decision yet (between prepare and commit);
 *  - 'committing'   commit decided and persisted, commit command not run yet;
 *  - 'rolling-back' prepare failed, abort decided, rollback not run yet.
 */
export type CrashPoint = 'preparing' | 'prepared' | 'committing' | 'rolling-back';
export const CRASH_POINTS: readonly CrashPoint[] = ['preparing', 'prepared', 'committing', 'rolling-back'];

export interface EngineRun {
  signal: NodeJS.Signals | null;
  code: number | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

export interface AtomicCrashResult {
  crashed: EngineRun;
  /** Workspace state right after the crash, before recovery. */
  effectAfterCrash: ActionEffect;
  recovered: EngineRun;
  effect: ActionEffect;
  action: Action;
  /** The action's events in the logbook's event log. */
  events: FleetEvent[];
}

/** Runs one engine incarnation; `killWhen` (polled) SIGKILLs it from outside. */
export function runEngine(args: Record<string, unknown>, killWhen?: () => boolean, timeoutMs = 60_000): Promise<EngineRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = killWhen ? setInterval(() => killWhen() && child.kill('SIGKILL'), 20) : null;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`engine did not end within ${timeoutMs} ms:\n${out}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      clearTimeout(timer);
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ signal, code, lines, stderr });
    });
  });
}

export function effectIn(workspace: string): ActionEffect {
  const staged = existsSync(join(workspace, 'staged.flag'));
  const live = existsSync(join(workspace, 'live.flag'));
  return staged && live ? 'both' : live ? 'committed' : staged ? 'prepared' : 'none';
}

function pipelineFor(point: CrashPoint, project: string, tag: string): string {
  // prepare stages, commit publishes, rollback removes the staged file (idempotent).
  const prepare = point === 'preparing' ? 'touch staged.flag && sleep 300' : point === 'rolling-back' ? 'touch staged.flag && exit 7' : 'touch staged.flag';
  return [
    `project: { name: ${project}, env: { ${TAG_VAR}: "${tag}" } }`,
    'topics:',
    '  - id: release',
    '    steps:',
    '      - action:',
    '          name: deploy',
    `          prepare: ${prepare}`,
    '          commit: mv staged.flag live.flag',
    '          rollback: rm -f staged.flag',
  ].join('\n');
}

/**
 * Crashes an atomic action at `point` in `dir` (its own logbook and workspaces), then starts
 * the next incarnation, which recovers. Returns what the logbook and the workspace say.
 */
export async function crashAtomicAction(dir: string, point: CrashPoint, tag: string, project = 'deploy-crash'): Promise<AtomicCrashResult> {
  const db = join(dir, 'bitacora.db');
  const workspaces = join(dir, 'workspaces');
  const workspace = join(workspaces, project);
  const pipeline = join(dir, `${project}.yaml`);
  writeFileSync(pipeline, pipelineFor(point, project, tag));
  const crashed = await runEngine(
    point === 'preparing' ? { db, workspaces, pipeline } : { db, workspaces, pipeline, dieAt: point },
    point === 'preparing' ? () => existsSync(join(workspace, 'staged.flag')) : undefined,
  );
  if (crashed.signal !== 'SIGKILL') throw new Error(`the engine was meant to die at ${point} but ended with ${crashed.code}/${crashed.signal}:\n${JSON.stringify(crashed.lines)}\n${crashed.stderr}`);
  const effectAfterCrash = effectIn(workspace);
  const recovered = await runEngine({ db, workspaces, recover: true });
  const backbone = await openSqliteBackbone({ file: db });
  try {
    const [action] = await backbone.actions.list({ project });
    if (!action) throw new Error(`no action recorded for ${project}`);
    const events = (await backbone.events.read(0, 100_000)).filter((e) => e.subject === action.id);
    return { crashed, effectAfterCrash, recovered, effect: effectIn(workspace), action, events };
  } finally {
    await backbone.close();
  }
}
