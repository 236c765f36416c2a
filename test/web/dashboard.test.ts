/**
 * The dashboard end to end: a real `bitacora up` (built binary) and a real `bitacora join`
 * worker on loopback, Debian's Chromium through playwright-core. Signs in through the one-time
 * link, watches a worker join and die, runs a task and reads its output, freezes and resumes the
 * fleet, and survives a restart of the master without a reload. Every view is screenshotted at
 * 390×844 and 1280×800 into test-artifacts/ and checked with axe-core. No timing is asserted:
 * every wait is for something to appear.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { FleetClient } from '../../src/client/index.js';
import { BIN, bitacora, startBitacora } from '../helpers/cli-binary.js';
import { freePort } from '../helpers/processes.js';
import { clearScreenshots, DESKTOP, launch, MOBILE, screenshot, seriousViolations, type Browser } from './browser.js';

const VIEWS = ['now', 'fleet', 'tasks', 'approvals', 'projects', 'logbook', 'audit', 'controls', 'more'] as const;
const WAIT = { timeout: 20_000 };

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

describe.skipIf(!existsSync(BIN))('the dashboard (real master, real worker, Chromium)', () => {
  let dir: string;
  let httpPort: number;
  let grpcPort: number;
  let master: ChildProcess;
  let worker: ChildProcess;
  let banner: Record<string, unknown>;
  let admin: FleetClient;
  let browser: Browser;
  let page: Page;
  const children: ChildProcess[] = [];
  const cspErrors: string[] = [];

  const startMaster = async () => {
    const started = await startBitacora([
      'up', '--http', `127.0.0.1:${httpPort}`, '--grpc', `127.0.0.1:${grpcPort}`, '--json', '--data-dir', join(dir, 'master'),
    ]);
    children.push(started.child);
    return started;
  };
  const url = () => String(banner['url']);
  const open = async (route: string) => {
    // In-page code is passed as text: the test's TypeScript has no DOM types.
    await page.evaluate(`location.hash = ${JSON.stringify(`#/${route}`)}`);
    await page.locator(`main[data-view="${route.split('/')[0]}"]`).waitFor(WAIT);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-web-'));
    clearScreenshots();
    httpPort = await freePort();
    grpcPort = await freePort();
    ({ child: master, banner } = await startMaster());
    admin = new FleetClient({ url: url(), token: String(banner['adminToken']) });
    browser = await launch();
    page = browser.page;
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) cspErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in through the one-time link printed by `bitacora up` (which works only once)', async () => {
    expect(banner['loginUrl']).toMatch(new RegExp(`^${url()}/#login=bat_`));
    await page.goto(String(banner['loginUrl']));
    await page.locator('[data-connection="live"]').waitFor(WAIT);
    // The token left the address bar at once.
    expect(page.url()).not.toContain('login=');
    await page.getByRole('button', { name: /Sign out admin/ }).waitFor(WAIT);
    await page.locator('.all-well').waitFor(WAIT);

    const token = decodeURIComponent(String(banner['loginUrl']).split('#login=')[1]!);
    const again = await fetch(`${url()}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(again.status).toBe(401);
  });

  it('signs in another browser with the link of `bitacora token create --user admin --login --json`', async () => {
    await page.getByRole('button', { name: /Sign out admin/ }).click();
    await page.getByLabel('Or paste a login token').waitFor(WAIT);
    const created = await bitacora(['token', 'create', '--user', 'admin', '--login', '--json', '--data-dir', join(dir, 'master')]);
    expect(created.code).toBe(0);
    const { url: link, kind } = JSON.parse(created.stdout) as { url: string; kind: string };
    expect(kind).toBe('login');
    expect(link).toMatch(new RegExp(`^${url()}/#login=bat_`));
    await page.goto(link);
    await page.locator('[data-connection="live"]').waitFor(WAIT);
  });

  it('shows a worker appear when it joins', async () => {
    await open('fleet');
    await page.getByText(/No node has joined/).waitFor(WAIT);
    const joinArgs = String(banner['join']).split(' ').slice(1); // the printed command, without "bitacora"
    const started = await startBitacora([...joinArgs, '--name', 'web-worker', '--capacity', '2', '--json', '--data-dir', join(dir, 'worker')]);
    worker = started.child;
    children.push(worker);
    await page.locator('[data-node="web-worker"][data-status="ready"]').waitFor(WAIT);
    expect(await page.locator('[data-node="web-worker"]').textContent()).toMatch(/worker.*Load: 0 of 2 slots/s);
  });

  it('drains a node after a confirmation, offers an undo, and undrains it', async () => {
    const drain = async () => {
      await page.getByRole('button', { name: 'Drain web-worker' }).click();
      await page.getByRole('dialog', { name: 'Drain web-worker?' }).getByRole('button', { name: 'Drain', exact: true }).click();
      await page.locator('[data-node="web-worker"][data-status="draining"]').waitFor(WAIT);
    };
    await drain();
    await page.getByRole('status').getByRole('button', { name: 'Undo' }).click();
    await page.locator('[data-node="web-worker"][data-status="ready"]').waitFor(WAIT);
    await drain();
    await page.getByRole('button', { name: 'Undrain web-worker' }).click();
    await page.locator('[data-node="web-worker"][data-status="ready"]').waitFor(WAIT);
  });

  it('runs a task from the Tasks view and shows its output arriving, with a jump to the first error', async () => {
    await open('tasks');
    await page.getByLabel('Run a command on the fleet').fill("echo hello-from-the-dashboard; echo 'error: flaky thing' >&2; echo finished-line");
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForURL(/#\/tasks\/tsk_/, WAIT);
    const output = page.getByTestId('task-output');
    await output.getByText('finished-line').waitFor(WAIT);
    // stdout and stderr are separate pipes: only the order within one is given.
    await output.getByText('error: flaky thing').waitFor(WAIT);
    expect(await output.textContent()).toMatch(/hello-from-the-dashboard[\s\S]*finished-line/);
    await page.getByTestId('task-state').getByText(/succeeded/).waitFor(WAIT);
    await page.getByRole('button', { name: 'Jump to first error' }).click();
    expect(await page.evaluate('document.activeElement?.textContent')).toMatch(/error: flaky thing/);
    await page.getByRole('list', { name: 'Attempt timeline' }).getByText(/Attempt 1 on web-worker/).waitFor(WAIT);
  });

  it('cancels a running task from its detail, after a confirmation', async () => {
    await open('tasks');
    await page.getByLabel('Run a command on the fleet').fill('echo started-long; sleep 60');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByTestId('task-output').getByText('started-long').waitFor(WAIT);
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.getByRole('dialog', { name: 'Cancel this task?' }).getByRole('button', { name: 'Cancel task' }).click();
    await page.getByTestId('task-state').getByText(/cancelled/).waitFor(WAIT);
    await page.getByRole('list', { name: 'Attempt timeline' }).getByText(/cancelled/).waitFor(WAIT);
    await page.getByRole('button', { name: 'Retry this task' }).waitFor(WAIT);
  });

  it('freezes the fleet by press-and-hold: scheduling stops; resume lets the work run', async () => {
    await open('controls');
    await page.getByLabel(/^Reason/).fill('e2e freeze drill');
    const hold = page.getByRole('button', { name: /Hold to freeze the fleet/ });
    // A click is not enough: nothing is sent.
    await hold.click();
    expect((await admin.status()).acceptingWork).toBe(true);
    await hold.hover();
    await page.mouse.down();
    await page.getByTestId('freeze').waitFor(WAIT);
    await page.mouse.up();
    expect((await admin.status()).acceptingWork).toBe(false);

    const { task } = await admin.submitTask({ command: ['sh', '-c', 'echo after-the-freeze'] });
    await open('now');
    await page.getByTestId('freeze').waitFor(WAIT);
    await page.locator('[data-testid="pulse-queued"]', { hasText: /^1$/ }).waitFor(WAIT);
    expect((await admin.getTask(task.id)).state).toBe('pending');

    const beforeResume = Date.now();
    await page.getByRole('button', { name: 'Resume dispatch' }).click();
    await page.getByTestId('freeze').waitFor({ ...WAIT, state: 'detached' });
    await open('tasks');
    await page.locator(`[data-task="${task.id}"][data-state="succeeded"]`).waitFor(WAIT);
    // Placed only once the freeze was lifted (same machine, same clock).
    expect((await admin.getTask(task.id)).assignedAt).toBeGreaterThanOrEqual(beforeResume);

    // The same deliberate hold works from the keyboard (Space held down on the focused button).
    await open('controls');
    await page.getByLabel(/^Reason/).fill('keyboard drill');
    await page.getByRole('button', { name: /Hold to freeze the fleet/ }).focus();
    await page.keyboard.down('Space');
    await page.getByTestId('freeze').waitFor(WAIT);
    await page.keyboard.up('Space');
    await page.getByRole('button', { name: 'Resume dispatch' }).click();
    await page.getByTestId('freeze').waitFor({ ...WAIT, state: 'detached' });
    expect((await admin.status()).acceptingWork).toBe(true);
  });

  it('turns the worker visibly down when it is SIGKILLed', async () => {
    await open('fleet');
    worker.kill('SIGKILL');
    await page.locator('[data-node="web-worker"][data-status="down"]').waitFor(WAIT);
    await open('now');
    await page.locator('main [data-node="web-worker"]', { hasText: /is\s*down/ }).waitFor(WAIT);
  });

  it('shows the last known state marked stale while the master is down, and catches up without a reload after a restart', async () => {
    await page.evaluate('window.notReloaded = true');
    await open('fleet');
    master.kill('SIGINT');
    await exited(master);
    await page.locator('[data-connection="offline"]').waitFor(WAIT);
    expect(await page.locator('[data-connection="offline"]').textContent()).toMatch(/stale/i);
    // Last known state is still shown.
    await page.locator('[data-node="web-worker"]').waitFor(WAIT);
    await screenshot(page, 'offline-stale');

    ({ child: master, banner } = await startMaster());
    expect(banner['url']).toBe(`http://127.0.0.1:${httpPort}`);
    admin = new FleetClient({ url: url(), token: String(banner['adminToken']) });
    const { task } = await admin.submitTask({ command: ['sh', '-c', 'echo while-you-were-away'] });
    await page.locator('[data-connection="live"]').waitFor(WAIT);
    await open('tasks');
    await page.locator(`[data-task="${task.id}"]`).waitFor(WAIT);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
  });

  it('shows a project with its topics, progress and current step, live', async () => {
    await open('projects');
    await page.getByText(/No project yet/).waitFor(WAIT);
    await admin.logbook.createProject({ name: 'web-demo', description: 'the dashboard itself', status: 'active' });
    const design = await admin.logbook.createTopic({ project: 'web-demo', title: 'Design the views' });
    await admin.logbook.createTopic({ project: 'web-demo', title: 'Ship it', risk: 'high', dependsOn: [design.id] });
    await admin.logbook.activateTopic(design.id);
    const card = page.locator('[data-project="web-demo"]');
    await card.getByText(/Current step:\s*Design the views/).waitFor(WAIT);
    await admin.logbook.setTopicStatus(design.id, 'completed');
    await card.getByText('Topics: 1 of 2 completed').waitFor(WAIT);
  });

  it('captures a spark in two taps', async () => {
    await open('logbook');
    await page.getByRole('button', { name: '+ Spark' }).click();
    await page.getByLabel(/New spark/).fill('ship the dashboard on Friday');
    await page.getByRole('button', { name: 'Save spark' }).click();
    await page.getByRole('list', { name: 'Logbook timeline' }).getByText('ship the dashboard on Friday').waitFor(WAIT);
  });

  it('renders every view at 390×844 and 1280×800, light and dark, with no serious or critical axe violations', async () => {
    const [someTask] = await admin.listTasks({ limit: 1 });
    const views: string[] = [...VIEWS, `tasks/${someTask!.id}`];
    const failures: string[] = [];
    const check = async (label: string) => {
      for (const view of views) {
        await open(view);
        await page.locator('.loading').first().waitFor({ ...WAIT, state: 'detached' });
        await screenshot(page, `${view.startsWith('tasks/') ? 'task-detail' : view}${label}`);
        for (const v of await seriousViolations(page)) failures.push(`${view}${label} @${page.viewportSize()?.width}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
      }
    };
    for (const size of [MOBILE, DESKTOP]) {
      await page.setViewportSize(size);
      await check('');
    }
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize(MOBILE);
    await check('-dark');
    expect(failures).toEqual([]);
    // Everything the page needed came from the master itself.
    expect(cspErrors).toEqual([]);
  });
});
