/**
 * Workspace confinement and the environment allow-list. A task starts only in its project's
 * workspace — whatever a (compromised) master names as its project: a path, '..', an absolute
 * path or a workspace a task replaced with a symlink — and sees only the allowlisted variables
 * of the agent's environment plus its own. Through the real agent (Executor + ProcessRunner +
 * DirectoryWorkspaces) and through a real master and agent process.
 */
import { existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task, TaskLogChunk, TaskResult } from '../../src/core/index.js';
import { Executor } from '../../src/agent/executor.js';
import { Outbox } from '../../src/agent/outbox.js';
import type { ServePolicy } from '../../src/agent/serve-policy.js';
import { DEFAULT_ENV_ALLOWLIST, ProcessRunner } from '../../src/agent/runner/process-runner.js';
import { DirectoryWorkspaces } from '../../src/agent/runner/workspaces.js';
import type { ExecuteTaskCommand, TaskFinishedReport, TaskRejectedReport } from '../../src/rpc/messages.js';
import { AgentProcess, Cleanup, freePort, MasterProcess, waitFor } from '../helpers/processes.js';

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

/** What the agent would report, in order (the items of its `reports` frames). */
type Reported =
  | { type: 'started'; taskId: string }
  | ({ type: 'output' } & TaskLogChunk)
  | ({ type: 'finished' } & TaskFinishedReport)
  | ({ type: 'rejected' } & TaskRejectedReport);

/** An Executor as the agent builds it, fed assignments directly as a compromised master would send them. */
function executorIn(root: string, parentEnv: NodeJS.ProcessEnv = process.env, serve?: ServePolicy) {
  const sent: Reported[] = [];
  const outbox = new Outbox({ now: () => Date.now() });
  outbox.attach({
    started: (r) => sent.push({ type: 'started', taskId: r.taskId }),
    output: (chunk) => sent.push({ type: 'output', ...chunk }),
    finished: (r) => sent.push({ type: 'finished', ...r }),
  });
  const executor = new Executor({
    runner: new ProcessRunner({ parentEnv }),
    workspaces: new DirectoryWorkspaces(join(root, 'workspaces')),
    outbox,
    clock: { now: () => Date.now() },
    capacity: 4,
    ...(serve ? { serve } : {}),
    reject: (ref, reason) => sent.push({ type: 'rejected', ...ref, reason }),
    onError: (m) => sent.push({ type: 'rejected', taskId: 'error', attempt: 0, reason: m }),
  });
  let n = 0;
  const run = async (project: string | null, command: string[], env: Record<string, string> = {}): Promise<{ result: TaskResult; output: string }> => {
    const taskId = `tsk_conf${++n}`;
    const task: ExecuteTaskCommand = { taskId, attempt: 1, kind: 'command', project, command, env, timeoutMs: 10_000, needs: [] };
    executor.execute(task);
    const finished = await waitFor(`task ${taskId} finishes`, () => sent.find((m) => m.type === 'finished' && m.taskId === taskId));
    const output = sent.flatMap((m) => (m.type === 'output' && m.taskId === taskId ? [m.data] : [])).join('');
    return { result: (finished as Extract<Reported, { type: 'finished' }>).result, output };
  };
  return { run, sent, executor };
}

describe('workspace confinement (the agent against whatever it is sent)', () => {
  it('starts a task in its own project workspace', async () => {
    const root = cleanup.dir();
    const { run } = executorIn(root);
    const { result, output } = await run('web', ['pwd']);
    expect(result).toMatchObject({ exitCode: 0, error: null });
    expect(output.trim()).toBe(realpathSync(join(root, 'workspaces', 'web')));
    expect((await run(null, ['pwd'])).output.trim()).toBe(realpathSync(join(root, 'workspaces', 'default')));
  });

  it.each([['../..'], ['..'], ['/etc'], ['/tmp/elsewhere'], ['web/../../..'], ['a/b'], ['.']])('refuses the project %j without running anything', async (project) => {
    const root = cleanup.dir();
    const outside = join(root, 'outside-marker');
    const { run } = executorIn(root);
    const { result } = await run(project, ['sh', '-c', `pwd > ${outside}`]);
    expect(result.exitCode).toBeNull();
    expect(result.error).toMatch(/^spawn-failed: unsafe workspace name/);
    expect(existsSync(outside)).toBe(false);
  });

  it('refuses a workspace that a task replaced with a symlink out of the workspaces (symlink escape)', async () => {
    const root = cleanup.dir();
    const target = join(root, 'target');
    mkdirSync(target);
    const { run } = executorIn(root);
    // A task of project 'a' can write next to its workspace: it plants 'b' → outside.
    expect((await run('a', ['ln', '-s', target, '../b'])).result.exitCode).toBe(0);
    const { result } = await run('b', ['sh', '-c', 'touch escaped']);
    expect(result.exitCode).toBeNull();
    expect(result.error).toContain('is a symbolic link: refusing to run there');
    expect(existsSync(join(target, 'escaped'))).toBe(false);
  });

  it('gives a task only the allowlisted environment plus its own variables', async () => {
    const root = cleanup.dir();
    const parentEnv = { PATH: process.env['PATH'], HOME: '/home/agent', BITACORA_ADMIN_TOKEN: 'bat_secret', AWS_SECRET_ACCESS_KEY: 'shh', LD_PRELOAD: '/evil.so' };
    const { run } = executorIn(root, parentEnv);
    const { result, output } = await run('web', ['env'], { TASK_VAR: 'mine' });
    expect(result.exitCode).toBe(0);
    const vars = Object.fromEntries(output.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(Object.keys(vars).sort()).toEqual(['BITACORA_RUN_ID', 'HOME', 'PATH', 'TASK_VAR']);
    expect(vars).toMatchObject({ HOME: '/home/agent', TASK_VAR: 'mine' });
    expect(output).not.toContain('secret');
    expect(output).not.toContain('shh');
  });
});

describe("the node's allow-lists hold whatever the master sends", () => {
  it('rejects an assignment outside them before any workspace or process exists', async () => {
    const root = cleanup.dir();
    const { sent, executor } = executorIn(root, process.env, { capabilities: ['linux'], projects: ['web'] });
    const marker = join(root, 'ran');
    const assign = (taskId: string, project: string | null, extra: Record<string, unknown> = {}) =>
      executor.execute({ taskId, attempt: 3, kind: 'command', project, command: ['touch', marker], env: {}, timeoutMs: null, needs: [], ...extra });
    assign('tsk_p', 'billing');
    assign('tsk_d', null);
    // A master that places a task needing what the node does not serve (ExecuteTask carries `needs`).
    assign('tsk_n', 'web', { needs: ['gpu'] });
    expect(sent).toEqual([
      { type: 'rejected', taskId: 'tsk_p', attempt: 3, reason: "BIT_ERR_FORBIDDEN: project 'billing' is not served by this node (it serves web)" },
      { type: 'rejected', taskId: 'tsk_d', attempt: 3, reason: "BIT_ERR_FORBIDDEN: project 'default' is not served by this node (it serves web)" },
      { type: 'rejected', taskId: 'tsk_n', attempt: 3, reason: "BIT_ERR_FORBIDDEN: capability 'gpu' not served by this node (it serves linux)" },
    ]);
    expect(executor.count).toBe(0);
    expect(existsSync(join(root, 'workspaces'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('workspace confinement and environment through a real master and agent', () => {
  let master: MasterProcess;
  let dir: string;
  let agent: AgentProcess;
  const SECRET = 'bitacora-confinement-secret-5f1c';

  beforeAll(async () => {
    dir = cleanup.dir();
    master = cleanup.track(await MasterProcess.start({ dataDir: join(dir, 'master'), httpPort: await freePort(), grpcPort: await freePort() }));
    const { token } = await master.createToken('worker');
    // The agent process inherits this variable; its tasks must not.
    process.env['FLEET_TEST_SECRET'] = SECRET;
    try {
      agent = cleanup.track(AgentProcess.spawn({ masterUrl: master.info.httpUrl, name: 'confined', dataDir: join(dir, 'confined'), caHash: master.info.caHash, token }));
      await agent.joined();
    } finally {
      delete process.env['FLEET_TEST_SECRET'];
    }
  });

  it('refuses a project name that is a path at submission', async () => {
    for (const project of ['../..', '/etc', 'a/b']) {
      await expect(master.call('submitTask', { project, command: ['true'] })).rejects.toMatchObject({ code: expect.stringMatching(/^BIT_ERR_(VALIDATION|UNSAFE_NAME)$/) });
    }
  });

  it("runs a task in its project's workspace with only allowlisted variables", async () => {
    const { task } = await master.call<{ task: Task }>('submitTask', { project: 'conf', command: ['sh', '-c', 'pwd; env'], env: { TASK_VAR: 'mine' } });
    await waitFor('the task finishes', async () => (await master.call<Task>('getTask', task.id)).state === 'succeeded');
    const output = (await master.call<TaskLogChunk[]>('taskLogs', task.id)).map((c) => c.data).join('');
    const [cwd, ...env] = output.trim().split('\n');
    expect(cwd).toBe(realpathSync(join(dir, 'confined', 'workspaces', 'conf')));
    const names = env.map((l) => l.slice(0, l.indexOf('=')));
    // Plus what the shell itself sets (PWD, SHLVL, …), which comes from no one's environment.
    const allowed = new Set([...DEFAULT_ENV_ALLOWLIST, 'TASK_VAR', 'BITACORA_RUN_ID', 'BITACORA_AGENT_ID', 'BITACORA_AGENT_RUN', 'PWD', 'OLDPWD', 'SHLVL', '_']);
    expect(names.filter((n) => !allowed.has(n))).toEqual([]);
    expect(names).toContain('TASK_VAR');
    expect(output).not.toContain(SECRET);
  });
});
