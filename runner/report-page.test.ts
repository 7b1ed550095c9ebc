// reports/report.html in headless Chromium (Debian's chromium, driven by playwright-core), from a run
// against a reference broker made to fail S6: the page renders its matrix from nothing but the file (any
// request it makes is counted, and there must be none), the filters narrow what it shows, and a failing
// S6 scenario is open with the CONNECT and CONNACK that show the intruder accepted. A screenshot is kept
// in reports/report-s6-failing.png. The same run, piped, shows its progress as a line per rule.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { temporaryDir } from '../common/test-support.ts';
import { runConformance } from '../testkit/conformance-run.ts';

const CHROMIUM = '/usr/bin/chromium';
const AVAILABLE = existsSync(CHROMIUM);
if (!AVAILABLE) console.log('runner/report-page.test.ts: skipped: no /usr/bin/chromium (Debian: apt-get install chromium)');

const OWNER_UNDISTURBED = 'a second identity cannot take over an active session, and the owner is undisturbed';

let browser: BrowserContext | undefined;
let profile: string | undefined;
afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe.skipIf(!AVAILABLE)('the HTML report in headless Chromium', () => {
  it('renders the matrix offline, filters, and shows the packets of a failing S6 scenario', async () => {
    const reportDir = temporaryDir();
    const run = await runConformance(reportDir, ['--identities', inject('pkiDir'), '--break', 'S6', '--rules', 'S6', '--mqtt', '5', '--transport', 'tcp']);
    expect(run.exitCode, run.stderr).toBe(1);
    // Not a terminal (a pipe): the progress is a plain line per rule and version as its verdict is known, nothing redrawn.
    expect(run.stdout).toMatch(/^\[\s*\d+\/\d+ \d+ s\] FAIL S6 over MQTT 5 \(\d+ scenarios\): /m);
    expect(run.stdout).not.toMatch(/\r|\u001b/);
    profile = mkdtempSync(join(tmpdir(), 'mmc-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const requests: string[] = [];
    await browser.route('**/*', (route) => {
      if (!route.request().url().startsWith('file:')) requests.push(route.request().url());
      return route.request().url().startsWith('file:') ? route.continue() : route.abort();
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(join(reportDir, 'report.html')).href);

    // The matrix: S6's row, failed over MQTT 5.
    const s6 = page.locator('#matrix tr[data-rule="S6"]');
    await expect.poll(() => s6.count()).toBeGreaterThan(0);
    expect(await s6.first().locator('td.failed').count()).toBeGreaterThan(0);

    // The failing scenario is open, its CONNACK to the intruder accepted with Session Present.
    const scenario = page.locator('details.scenario.failed', { hasText: OWNER_UNDISTURBED }).first();
    expect(await scenario.getAttribute('open')).not.toBeNull();
    const packets = scenario.locator('table.packets');
    expect(await packets.isVisible()).toBe(true);
    const intruder = packets.locator('tr', { hasText: 'beta' });
    expect(await intruder.filter({ hasText: 'CONNECT' }).first().isVisible()).toBe(true);
    const connack = intruder.filter({ hasText: 'CONNACK' }).first();
    expect(await connack.isVisible()).toBe(true);
    expect(await connack.textContent()).toMatch(/0x00.*"sessionPresent":true/);
    mkdirSync('reports', { recursive: true });
    await scenario.screenshot({ path: join('reports', 'report-s6-failing.png') });

    // The filters: by verdict, and by free text.
    const total = await page.locator('details.scenario').count();
    await page.selectOption('#verdict', 'failed');
    const failed = await page.locator('details.scenario').count();
    expect(failed).toBeGreaterThan(0);
    expect(await page.locator('details.scenario:not(.failed)').count()).toBe(0);
    await page.selectOption('#verdict', '');
    await page.fill('#text', 'no scenario says this');
    expect(await page.locator('details.scenario').count()).toBe(0);
    expect(await page.locator('#matrix tr[data-rule]').count()).toBe(0);
    await page.fill('#text', '');
    expect(await page.locator('details.scenario').count()).toBe(total);

    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 180_000);
});
