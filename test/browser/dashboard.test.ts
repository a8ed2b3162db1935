// The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core):
// the page loads with the alerts a simulated fleet raised, an alert raised while the
// page is open appears live, a verdict click reaches the server, and a screenshot is
// saved in test-artifacts/ for a human to look at.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createFleet, DEFAULT_START, SimEvent } from '../../src/ingest/simulator';
import { series } from '../support/telemetry';
import { startHarness } from '../api/support';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');

test('dashboard: loads, shows a live alert, takes a verdict click', async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `Debian chromium is missing (${CHROMIUM}); the browser test cannot run without it. ` +
      'Install it with `apt-get update && apt-get install -y --no-install-recommends chromium` (scripts/install-test-deps.sh does this).',
  );
  const h = await startHarness({ engine: 'wasm' });
  t.after(() => h.close());

  // a simulated fleet up to 2 h 50 min; the rest, and a flood, once the page is open
  const cutoff = DEFAULT_START + 170 * 60_000;
  const fleet = createFleet({ devices: 200, hours: 4, seed: 1 });
  let line = 0;
  const feedFleet = (until: number): void => {
    let ev: SimEvent | null;
    while ((ev = fleet.next())) {
      h.detector.add(Buffer.from(ev.line), ev.arrivalTs, line++);
      if (ev.arrivalTs > until) break;
    }
    h.detector.flush();
  };
  feedFleet(cutoff);
  const liveStart = cutoff - 100 * 30_000;
  await h.feed(series(100, { deviceId: 'cam-live' }, 30_000, liveStart)); // its baseline
  const before = h.store.size;
  assert.ok(before >= 3, `the fleet raised alerts before the page opened (${before})`);

  const profile = mkdtempSync(join(tmpdir(), 'es-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  // close the browser first, then remove its profile (after hooks run in order; chromium's
  // helpers may still be writing as it closes, hence the retries)
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });

  await page.goto(h.url + '/');
  assert.equal(await page.title(), 'edge-sentinel · alerts');
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
  await page.waitForSelector('#alerts tbody tr[data-id]');
  const shownBefore = await page.locator('#alerts tbody tr').count();
  assert.ok(shownBefore > 0);

  // live: a flood after the page has connected
  await h.feed(series(60, { deviceId: 'cam-live' }, 1000, cutoff, 100));
  const row = page.locator('#alerts tbody tr', { hasText: 'cam-live' }).filter({ hasText: 'rate spike' });
  await row.waitFor({ timeout: 10_000 });
  assert.match(await row.innerText(), /rate spike/);
  const id = await row.getAttribute('data-id');
  assert.ok(id && h.store.get(id), 'the row is the stored alert');

  // select it: evidence, device view with a sparkline
  await row.click();
  await page.waitForSelector('#alert-detail:not([hidden])');
  assert.match(await page.locator('#d-summary').innerText(), /sending every/);
  await page.waitForSelector('#device:not([hidden]) #dev-score polyline');
  assert.match(await page.locator('#dev-facts').innerText(), /10\.1\.0\.7/);

  // verdict click → stored on the server, shown in the table
  await page.fill('#d-note', 'load test from the lab');
  await page.click('button[data-verdict="false_positive"]');
  await row.filter({ hasText: 'false positive' }).waitFor({ timeout: 5000 });
  const stored = h.store.get(id!)!;
  assert.equal(stored.verdict?.verdict, 'false_positive');
  assert.equal(stored.verdict?.note, 'load test from the lab');
  assert.equal(stored.status, 'closed', 'suppression closed it');
  assert.match(await page.locator('#d-verdict').innerText(), /false positive by anonymous — “load test from the lab” · rate spike on this device suppressed until/);

  // the rest of the fleet: more alerts arrive live
  feedFleet(Infinity);
  await page.waitForFunction((n) => document.querySelectorAll('#alerts tbody tr').length > n, shownBefore + 1, { timeout: 5000 });
  await row.click();
  await page.waitForTimeout(300);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: false });
  assert.deepEqual(errors, [], 'no errors in the page');
});
