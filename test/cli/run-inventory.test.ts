// `run` and `start` with an inventory: loaded at start (a bad file fails the start with
// every problem, exit 2, like any config error) and used: a device left out of it is
// reported unknown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'edge-sentinel.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, API_KEYS: '', API_HOST: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FLEET = ['--devices', '30', '--hours', '0.5', '--seed', 'inv-run'];
const FLEET_ENV = { API_ENABLED: 'false', FLEET_DEVICES: '30', FLEET_HOURS: '0.5', FLEET_SEED: 'inv-run', FLEET_SPEED: 'max' };

test('run and start: a device left out of the inventory is unknown; a bad inventory fails the start (exit 2)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-run-inv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // the same fleet as start/run's embedded one, learned, minus one device
  assert.equal(cli(['simulate', ...FLEET, '--out', dir]).code, 0);
  const draft = join(dir, 'draft.csv');
  assert.equal(cli(['inventory', 'learn', '--input', join(dir, 'telemetry.ndjson'), '--out', draft, '--quiet']).code, 0);
  const [header, first, ...rest] = readFileSync(draft, 'utf8').trim().split('\n');
  const left = first.split(',')[0];
  const inventory = join(dir, 'inventory.csv');
  writeFileSync(inventory, [header, ...rest.filter((r) => !r.startsWith(`${left},`))].join('\n') + '\n');

  const started = cli(['start', ...FLEET, '--speed', 'max', '--no-api', '--inventory', inventory]);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stderr, /inventory: .*inventory\.csv loaded \(\d+ devices, \d+ credentials, 0 revoked\); watching for changes/);
  const unknownLines = started.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d +[A-Z]+ +unknown_device /.test(l));
  assert.deepEqual(
    unknownLines.map((l) => l.split(/ +/)[3]),
    [left],
  );

  const ran = cli(['run'], { ...FLEET_ENV, INVENTORY_FILE: inventory });
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stderr, new RegExp(`INFO  alert .* unknown_device +${left} +device ${left} is not in the inventory`));
  assert.match(ran.stderr.trim().split('\n').pop()!, /unknown_device 1/);

  // bad files: every problem, exit 2, before any telemetry is read
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'deviceId,credential,expiresAt,rack\nd1,c1,2026-13-01,r1\n');
  const badRun = cli(['run'], { ...FLEET_ENV, INVENTORY_FILE: bad, REVOKED_FILE: join(dir, 'missing.txt') });
  assert.equal(badRun.code, 2);
  assert.match(badRun.stderr, /ERROR the inventory cannot be used \(2 problems\):\n.*ERROR {3}bad\.csv row 1: unknown column "rack"/);
  assert.match(badRun.stderr, /ERROR {3}.*missing\.txt does not exist\n/);
  assert.doesNotMatch(badRun.stderr, /done:/);
  const badStart = cli(['start', ...FLEET, '--no-api', '--inventory', bad]);
  assert.equal(badStart.code, 2);
  assert.match(badStart.stderr, /^edge-sentinel start: bad\.csv row 1: unknown column "rack"/m);

  const badAge = cli(['run', '--rotation-age-days', 'ninety'], FLEET_ENV);
  assert.equal(badAge.code, 2);
  assert.match(badAge.stderr, /^edge-sentinel run: ROTATION_AGE_DAYS \(--rotation-age-days\) must be a whole number from 1 to 36500, got "ninety"$/m);
});
