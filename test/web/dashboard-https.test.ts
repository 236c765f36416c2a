/**
 * The dashboard over HTTPS (`bitacora up --http-tls fleet-ca`): served on the API's TLS port with
 * a certificate that chains to the fleet CA, a sign-in link that is https, a `Secure` session
 * cookie, and the live stream over wss with that cookie.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startBitacora } from '../helpers/cli-binary.js';
import { launch, type Browser } from './browser.js';

describe.skipIf(!existsSync(BIN))('the dashboard over HTTPS', () => {
  let dir: string;
  let master: ChildProcess;
  let banner: Record<string, unknown>;
  let browser: Browser | null = null;
  let trusting: Agent;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-web-tls-'));
    ({ child: master, banner } = await startBitacora([
      'up', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--http-tls', 'fleet-ca', '--json', '--data-dir', join(dir, 'master'),
    ]));
    const client = JSON.parse(readFileSync(join(dir, 'master', 'client.json'), 'utf8')) as { caFile: string };
    trusting = new Agent({ connect: { ca: readFileSync(client.caFile, 'utf8') } });
  });

  afterAll(async () => {
    await browser?.close();
    if (master && master.exitCode === null) master.kill('SIGKILL');
    await trusting?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves / over TLS with the fleet CA, and prints an https sign-in link', async () => {
    expect(banner['url']).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(banner['loginUrl']).toMatch(new RegExp(`^${String(banner['url'])}/#login=bat_`));
    const res = await undiciFetch(`${String(banner['url'])}/`, { dispatcher: trusting });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/<div id="app">/);
  });

  it('signs a browser in with a Secure cookie and goes live over wss', async () => {
    browser = await launch({ ignoreHTTPSErrors: true });
    await browser.page.goto(String(banner['loginUrl']));
    await browser.page.locator('[data-connection="live"]').waitFor({ timeout: 20_000 });
    const cookies = await browser.context.cookies();
    expect(cookies.find((c) => c.name === 'bitacora_session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });
  });
});
