// GET /api/inventory/report on a listening server: the live inventory (a real file,
// reloaded) against what the detector has seen; keys, validation, OpenAPI, metrics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApiKeys } from '../../src/api/options';
import { attachInventory } from '../../src/inventory/attach';
import type { InventoryWatcher } from '../../src/inventory/watch';
import { series } from '../support/telemetry';
import { request, startHarness, T0 } from './support';

const DAY = 86_400_000;
const KEY = 'inventory-test-key-0123456789';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

test('no inventory configured: 404 that says what to configure', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const r = await request(`${h.url}/api/inventory/report`);
  assert.equal(r.status, 404);
  assert.match(r.body.message, /^no inventory is configured: start the detector with --inventory <file> \(INVENTORY_FILE\)/);
});

test('the report from the live inventory and what the detector saw; reloads show; key, validation, OpenAPI, metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-api-inv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'inventory.csv');
  const revoked = join(dir, 'revoked.txt');
  const old = new Date(T0 - 120 * DAY).toISOString();
  writeFileSync(
    file,
    [
      'deviceId,credential,issuedAt,expiresAt',
      `a,sha256:a,${old},`, // 120 days old at the fleet clock
      `b,sha256:b,${new Date(T0 - DAY).toISOString()},`,
      'd,sha256:d,,',
      'never,sha256:never,,',
      'twin-1,sha256:twin,,',
      'twin-2,sha256:twin,,',
    ].join('\n') + '\n',
  );
  writeFileSync(revoked, 'sha256:d\n');
  let watcher: InventoryWatcher | undefined;
  const h = await startHarness({ api: { keys: [] }, inventory: { watcher: { get inventory() { return watcher!.inventory; } }, rotationAgeDays: 90 } });
  t.after(() => h.close());
  watcher = await attachInventory({ inventory: file, revoked }, { target: h.detector, log: silent, metrics: h.metrics, health: h.health, watch: { pollMs: 0, debounceMs: 20 } });
  t.after(() => watcher!.close());

  await h.feed([
    ...series(5, { deviceId: 'a' }),
    ...series(5, { deviceId: 'b' }),
    ...series(5, { deviceId: 'd' }), // uses its revoked credential
    ...series(4, { deviceId: 'rogue' }), // not enrolled
  ]);
  const kinds = h.events.filter((e) => e.type === 'raised').map((e) => `${e.alert.deviceId}:${e.alert.kind}`);
  assert.ok(kinds.includes('rogue:unknown_device') && kinds.includes('d:revoked_credential'), kinds.join(' '));

  const r = await request(`${h.url}/api/inventory/report`);
  assert.equal(r.status, 200, r.text);
  const rep = r.body;
  assert.equal(rep.observed, 'live');
  assert.equal(rep.now, h.detector.core.stats().clock, 'judged at the fleet clock');
  assert.deepEqual(rep.totals, { devices: 6, credentials: 6, revoked: 1, seenDevices: 4 });
  assert.deepEqual(rep.pastRotation, [{ deviceId: 'a', credential: 'sha256:a', issuedAt: Date.parse(old), ageDays: Math.floor((rep.now - Date.parse(old)) / DAY) }]);
  assert.deepEqual(rep.sharedEnrolled, [{ credential: 'sha256:twin', deviceIds: ['twin-1', 'twin-2'] }]);
  assert.deepEqual(rep.revokedEnrolled, [{ credential: 'sha256:d', deviceIds: ['d'] }]);
  assert.deepEqual(rep.revokedInUse, [{ credential: 'sha256:d', deviceIds: ['d'] }]);
  assert.deepEqual(
    rep.unenrolled.map((u: { deviceId: string; messages: number }) => [u.deviceId, u.messages]),
    [['rogue', 4]],
  );
  assert.deepEqual(
    rep.neverSeen.map((n: { deviceId: string }) => n.deviceId),
    ['never', 'twin-1', 'twin-2'],
  );
  assert.equal(rep.counts.neverSeen, 3);

  // query: a shorter rotation age and a limit
  const short = (await request(`${h.url}/api/inventory/report?rotationAgeDays=1&limit=1`)).body;
  assert.equal(short.counts.pastRotation, 2);
  assert.equal(short.pastRotation.length, 1);
  assert.equal(short.neverSeen.length, 1);
  for (const q of ['rotationAgeDays=0', 'limit=0', 'verbose=1']) assert.equal((await request(`${h.url}/api/inventory/report?${q}`)).status, 400, q);

  // the file changes: rogue enrolled, never gone; the next report follows
  writeFileSync(file, 'deviceId,credential\na,sha256:a\nb,sha256:b\nd,sha256:d\nrogue,sha256:rogue\n');
  const until = Date.now() + 5000;
  while (watcher.state.reloads < 1 && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
  const after = (await request(`${h.url}/api/inventory/report`)).body;
  assert.deepEqual(after.unenrolled, []);
  assert.deepEqual(after.neverSeen, []);
  assert.deepEqual(after.pastRotation, []);

  // metrics and readiness
  const metrics = (await request(`${h.url}/metrics`)).text;
  assert.match(metrics, /\nedge_sentinel_inventory_devices 4\n/);
  assert.match(metrics, /\nedge_sentinel_inventory_reloads_total 1\n/);
  assert.match(metrics, /\nedge_sentinel_inventory_reload_failures_total 0\n/);
  writeFileSync(file, 'deviceId,credential\n,broken\n');
  const until2 = Date.now() + 5000;
  while (watcher.state.failedReloads < 1 && Date.now() < until2) await new Promise((res) => setTimeout(res, 10));
  const m2 = (await request(`${h.url}/metrics`)).text;
  assert.match(m2, /\nedge_sentinel_inventory_reload_failures_total 1\n/);
  assert.match(m2, /\nedge_sentinel_inventory_in_sync 0\n/);
  const ready = (await request(`${h.url}/readyz`)).body;
  assert.equal(ready.components.inventory.status, 'ok', 'the old inventory still works: not a readiness failure');
  assert.match(ready.components.inventory.reason, /a change to inventory\.csv was rejected \(inventory\.csv row 2, deviceId: is required\)/);

  // in the OpenAPI document, with its tag
  const doc = (await request(`${h.url}/docs/json`)).body;
  assert.deepEqual(doc.paths['/api/inventory/report'].get.tags, ['inventory']);
  assert.ok(doc.paths['/api/inventory/report'].get.responses['404']);
});

test('the report needs the API key when keys are configured', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-api-inv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'revoked.txt'), 'x\n');
  let watcher: InventoryWatcher | undefined;
  const k = await startHarness({
    api: { keys: parseApiKeys(KEY, undefined) },
    inventory: { watcher: { get inventory() { return watcher!.inventory; } }, rotationAgeDays: 90 },
  });
  t.after(() => k.close());
  watcher = await attachInventory({ revoked: join(dir, 'revoked.txt') }, { target: k.detector, log: silent, watch: { pollMs: 0 } });
  t.after(() => watcher!.close());
  assert.equal((await request(`${k.url}/api/inventory/report`)).status, 401);
  assert.equal((await request(`${k.url}/api/inventory/report`, { headers: { 'x-api-key': 'wrong-key-0123456789abc' } })).status, 401);
  const ok = await request(`${k.url}/api/inventory/report`, { headers: { 'x-api-key': KEY } });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.totals.devices, null, 'only a revocation list');
  assert.equal(ok.body.unenrolled, null);
  assert.deepEqual((await request(`${k.url}/docs/json`)).body.paths['/api/inventory/report'].get.security, [{ apiKey: [] }, { bearer: [] }]);
});
