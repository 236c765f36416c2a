/**
 * Debian's Chromium driven by playwright-core for the dashboard's end-to-end tests: a fresh
 * profile per run, flags that keep it off the network, screenshots into the git-ignored
 * test-artifacts/ folder, and an axe-core accessibility check injected into the page.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env['BITACORA_CHROMIUM'] ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

export const MOBILE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** `ignoreHTTPSErrors`: for a master whose private CA this fresh profile does not trust (the HTTPS test checks the chain itself). */
export async function launch(options: { ignoreHTTPSErrors?: boolean } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does) or set BITACORA_CHROMIUM`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'bitacora-chromium-'));
  // launchPersistentContext passes the fresh profile as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: MOBILE,
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const SHOTS = join(ARTIFACTS, 'dashboard');

/** Each run leaves exactly its own screenshots. */
export function clearScreenshots(): void {
  rmSync(SHOTS, { recursive: true, force: true });
}

/** Saves `<name>-390x844.png` (or the current viewport) under test-artifacts/dashboard/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = SHOTS;
  mkdirSync(dir, { recursive: true });
  const size = page.viewportSize();
  const path = join(dir, `${name}-${size?.width ?? 0}x${size?.height ?? 0}.png`);
  // What a person sees at that size (a full-page capture would paint the fixed bottom bar mid-page).
  await page.screenshot({ path });
  return path;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.x A/AA rules). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') does not block it.
  await page.evaluate(AXE_SOURCE);
  // Passed as text: the test's TypeScript has no DOM types.
  const violations = (await page.evaluate(`(async () => {
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  })()`)) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
