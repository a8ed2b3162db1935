// The hygiene report and the learning rules on small hand-made fleets, where every
// expected row can be written down.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learnInventory, summariseSources } from '../../src/inventory/learn';
import { parseInventory } from '../../src/inventory/load';
import { Observations } from '../../src/inventory/observe';
import { inventoryReport, telemetrySightings } from '../../src/inventory/report';
import { formatReport } from '../../src/inventory/report-text';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

const INVENTORY = parseInventory(
  [
    'deviceId,credential,issuedAt,expiresAt',
    'a,ka,2026-01-01,', // 151 days old at NOW
    'a,ka2,2026-05-20,2026-05-31T00:00:00Z', // young, expired
    'b,shared,2026-05-01,',
    'c,shared,2026-05-01,',
    'd,revoked-1,2026-05-01,',
    'e,,,', // no credential constraint
    'never,kn,2026-05-01,',
  ].join('\n'),
  'inventory.csv',
);

function observe(lines: object[]): Observations {
  const o = new Observations();
  for (const l of lines) o.add(JSON.stringify(l));
  return o;
}

test('inventory only: rotation age, expiry, shared and revoked-but-enrolled; the sighting sections are null', () => {
  const r = inventoryReport({ devices: INVENTORY, revoked: new Set(['revoked-1', 'not-enrolled']) }, undefined, { now: NOW, rotationAgeDays: 90 });
  assert.equal(r.observed, 'none');
  assert.deepEqual(r.totals, { devices: 6, credentials: 6, revoked: 2, seenDevices: null });
  assert.deepEqual(r.pastRotation, [{ deviceId: 'a', credential: 'ka', issuedAt: Date.UTC(2026, 0, 1), ageDays: 151 }]);
  assert.deepEqual(r.expired, [{ deviceId: 'a', credential: 'ka2', expiresAt: Date.UTC(2026, 4, 31), inUse: null }]);
  assert.deepEqual(r.sharedEnrolled, [{ credential: 'shared', deviceIds: ['b', 'c'] }]);
  assert.deepEqual(r.revokedEnrolled, [{ credential: 'revoked-1', deviceIds: ['d'] }]);
  for (const k of ['sharedObserved', 'revokedInUse', 'credentialNotEnrolled', 'unenrolled', 'neverSeen'] as const) {
    assert.equal(r[k], null, k);
    assert.equal(r.counts[k], null, k);
  }
  // a longer rotation age: nothing is due
  assert.deepEqual(inventoryReport({ devices: INVENTORY, revoked: new Set() }, undefined, { now: NOW, rotationAgeDays: 200 }).pastRotation, []);
});

test('with telemetry: unenrolled, never seen, revoked/expired in use, shared in use, credential not enrolled', () => {
  const t = NOW - DAY;
  const obs = observe([
    { deviceId: 'a', ts: t, credential: 'ka2' }, // expired and in use
    { deviceId: 'b', ts: t, credential: 'shared' },
    { deviceId: 'c', ts: t, credential: 'shared' },
    { deviceId: 'd', ts: t, credential: 'revoked-1' },
    { deviceId: 'd', ts: t + 1, credential: 'stolen' }, // d lists only revoked-1
    { deviceId: 'e', ts: t, credential: 'anything' }, // e lists none: not "not enrolled"
    { deviceId: 'rogue', ts: t - 5, credential: 'ka' },
    { deviceId: 'rogue', ts: t + 5, credential: 'ka' },
  ]);
  const r = inventoryReport({ devices: INVENTORY, revoked: new Set(['revoked-1']) }, telemetrySightings(obs), { now: NOW, rotationAgeDays: 90 });
  assert.equal(r.observed, 'telemetry');
  assert.equal(r.totals.seenDevices, 6);
  assert.deepEqual(r.expired, [{ deviceId: 'a', credential: 'ka2', expiresAt: Date.UTC(2026, 4, 31), inUse: true }]);
  assert.deepEqual(r.unenrolled, [{ deviceId: 'rogue', firstSeen: t - 5, lastSeen: t + 5, messages: 2 }]);
  assert.deepEqual(r.neverSeen, [{ deviceId: 'never', credentials: 1 }]);
  assert.deepEqual(r.revokedInUse, [{ credential: 'revoked-1', deviceIds: ['d'] }]);
  assert.deepEqual(r.sharedObserved, [{ credential: 'shared', deviceIds: ['b', 'c'] }]);
  assert.deepEqual(r.credentialNotEnrolled, [{ deviceId: 'd', credential: 'stolen' }]);

  const text = formatReport(r, 'telemetry.ndjson');
  assert.match(text, /^Inventory report at 2026-06-01T00:00:00Z, rotation age 90 days, sightings from telemetry\.ndjson\n6 devices enrolled, 6 credentials, 1 revoked; 6 devices seen\n/);
  assert.match(text, /\nDevices seen but not enrolled: 1\n {2}DEVICE +FIRST SEEN +LAST SEEN +MESSAGES\n {2}rogue +2026-05-30T23:59:59\.995Z +2026-05-31T00:00:00\.005Z +2\n/);
  assert.match(text, /\nCredentials past rotation age \(issued over 90 days ago\): 1\n {2}DEVICE  CREDENTIAL  ISSUED                AGE \(DAYS\)\n {2}a       ka          2026-01-01T00:00:00Z         151\n/);
});

test('limit cuts the lists, never the counts', () => {
  const devices = parseInventory(['deviceId,credential,issuedAt', ...Array.from({ length: 30 }, (_, i) => `d${String(i).padStart(2, '0')},k${i},2020-01-01`)].join('\n'), 'i.csv');
  const r = inventoryReport({ devices, revoked: new Set() }, undefined, { now: NOW, rotationAgeDays: 90, limit: 10 });
  assert.equal(r.pastRotation.length, 10);
  assert.equal(r.counts.pastRotation, 30);
  assert.match(formatReport(r, undefined), /\n {2}… and 20 more \(--json lists all\)\n/);
});

test('only a revocation list: revoked credentials in use, no "unknown" devices', () => {
  const obs = observe([{ deviceId: 'x', ts: NOW, credential: 'bad' }]);
  const r = inventoryReport({ devices: undefined, revoked: new Set(['bad']) }, telemetrySightings(obs), { now: NOW, rotationAgeDays: 90 });
  assert.deepEqual(r.revokedInUse, [{ credential: 'bad', deviceIds: ['x'] }]);
  assert.equal(r.unenrolled, null);
  assert.equal(r.neverSeen, null);
  assert.equal(r.totals.seenDevices, 1);
});

test('sources: addresses sharing a /24 become the /24, a lone address stays exact, names stay names', () => {
  const rules = summariseSources(['10.1.0.7', '10.1.0.99', '10.2.3.4', 'gw-eu-1', '192.168.1.1', '10.1.0.7']);
  assert.deepEqual(
    rules?.map((r) => r.text),
    ['10.1.0.0/24', '10.2.3.4', '192.168.1.1', 'gw-eu-1'],
  );
  assert.equal(summariseSources(['fe80::/10']), undefined, 'a source no rule can express');
  assert.deepEqual(summariseSources([]), []);
});

test('learn: what each device did, the lowest firmware, malformed lines counted, --min-messages', () => {
  const lines = [
    { deviceId: 'a', ts: 3000, credential: 'k2', source: '10.0.0.1', firmware: '2.4.1' },
    { deviceId: 'a', ts: 1000, credential: 'k1', source: '10.0.0.2', firmware: '2.3.9-rc1' },
    { deviceId: 'a', ts: 2000, credential: 'k1', source: 'gw-1', firmware: '2.10.0' },
    { deviceId: 'once', ts: 1000, credential: 'k1' },
  ].map((l) => JSON.stringify(l));
  const obs = new Observations();
  for (const l of [...lines, 'not json', '{"deviceId":"x"}', '{"deviceId":"x","ts":1,"firmware":"v2"}', '{"deviceId":"x","ts":1,"credential":5}', '']) obs.add(l);
  assert.equal(obs.lines, 8);
  assert.equal(obs.malformed, 4);
  const { devices, notes } = learnInventory(obs, { minMessages: 2 });
  assert.deepEqual([...devices.keys()], ['a']);
  const a = devices.get('a')!;
  assert.deepEqual(a.credentials, [
    { id: 'k1', issuedAt: 1000 },
    { id: 'k2', issuedAt: 3000 },
  ]);
  assert.deepEqual(
    a.sources.map((s) => s.text),
    ['10.0.0.0/24', 'gw-1'],
  );
  assert.equal(a.minFirmware, '2.3.9');
  assert.deepEqual(notes, { devices: 1, credentials: 2, skipped: 1, sharedCredentials: 0, multiCredential: 1, anySource: 0, firmwareVaried: 1 });
  const all = learnInventory(obs, { minMessages: 1 });
  assert.equal(all.notes.sharedCredentials, 1, 'k1 is used by a and once');
});
