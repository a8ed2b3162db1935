// Alert policy: one open alert per device × kind (updated, not repeated), closing after
// quiet fleet time, thresholds, severity, bounded open set, deterministic ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../src/alerts/alert';
import { AlertEvent, alertId } from '../../src/alerts/policy';
import { Detector } from '../../src/detector';
import { Msg, series, T0 } from '../support/telemetry';
import type { PolicyOptions } from '../../src/alerts/policy';

function run(msgs: Msg[], policy: Partial<PolicyOptions> = {}): AlertEvent[] {
  const events: AlertEvent[] = [];
  const d = new Detector({
    engine: 'reference',
    params: { capacity: 1024 },
    policy,
    onAlert: (e) => events.push({ type: e.type, alert: { ...e.alert } }),
    originOf: (line) => ({ file: 't', line }),
    maxBatch: 64,
  });
  msgs.forEach((m, i) => d.add(Buffer.from(JSON.stringify(m)), -1, i));
  d.finish();
  return events;
}

/** A device that floods twice, 3 hours apart. */
function twoFloods(): Msg[] {
  const calm = series(100, { deviceId: 'p-1' });
  const flood1 = series(60, { deviceId: 'p-1' }, 1000, T0 + 100 * 30_000, 100);
  const calm2 = series(360, { deviceId: 'p-1' }, 30_000, T0 + 100 * 30_000 + 60_000, 160);
  const flood2 = series(60, { deviceId: 'p-1' }, 1000, T0 + 100 * 30_000 + 60_000 + 360 * 30_000, 520);
  return [...calm, ...flood1, ...calm2, ...flood2];
}

test('one incident is one alert: later findings update count and lastSeen', () => {
  const events = run(twoFloods());
  const raised = events.filter((e) => e.type === 'raised');
  const closed = events.filter((e) => e.type === 'closed');
  assert.equal(raised.length, 2, 'two floods, three hours apart, are two incidents');
  assert.ok(raised.every((e) => e.alert.kind === 'rate_spike'));
  assert.ok(events.some((e) => e.type === 'updated'));
  assert.equal(closed.length, 2);
  const first = closed[0].alert;
  assert.ok(first.count > 1, `updates counted (${first.count})`);
  assert.ok(first.lastSeen > first.firstSeen);
  assert.notEqual(closed[0].alert.id, closed[1].alert.id);
  assert.equal(first.origin.file, 't');
  assert.ok(first.origin.line! >= 100 && first.origin.line! < 115);
});

test('per-kind thresholds silence a kind; severity follows the score', () => {
  const events = run(twoFloods(), { thresholds: { rate_spike: 0.99 } });
  assert.equal(events.length, 0);
  const high = run(twoFloods(), { highFrom: 0.5 });
  assert.ok(high.filter((e) => e.type === 'raised').every((e) => e.alert.severity === 'high'));
});

test('the open set is bounded: the stalest alert closes first', () => {
  const msgs: Msg[] = [];
  for (let d = 0; d < 5; d++) {
    const base = series(40, { deviceId: `b-${d}` }, 30_000, T0 + d * 10);
    msgs.push(...base, { ...base[39], ts: (base[39].ts as number) + 30_000 + d, arrivalTs: base[39].arrivalTs! + 30_000, firmware: '1.0.0', seq: 40 });
  }
  msgs.sort((a, b) => a.arrivalTs! - b.arrivalTs!);
  const events = run(msgs, { maxOpen: 2 });
  const raised = events.filter((e) => e.type === 'raised');
  assert.equal(raised.length, 5);
  // with room for 2, three were closed before the end: at most 2 open at once
  let open = 0;
  let peak = 0;
  for (const e of events) {
    if (e.type === 'raised') open++;
    if (e.type === 'closed') open--;
    peak = Math.max(peak, open);
  }
  assert.equal(peak, 2);
});

test('alert ids are deterministic', () => {
  assert.equal(alertId('a', 'replay', 1), alertId('a', 'replay', 1));
  assert.notEqual(alertId('a', 'replay', 1), alertId('a', 'replay', 2));
  const a = run(twoFloods()).filter((e) => e.type === 'closed').map((e) => (e.alert as Alert).id);
  const b = run(twoFloods()).filter((e) => e.type === 'closed').map((e) => (e.alert as Alert).id);
  assert.deepEqual(a, b);
});

test('an analyst verdict suppresses the device × kind for a while, then findings raise again', () => {
  const events: AlertEvent[] = [];
  const d = new Detector({
    engine: 'reference',
    params: { capacity: 1024 },
    policy: {},
    onAlert: (e) => {
      events.push({ type: e.type, alert: { ...e.alert } });
      if (e.type === 'raised' && events.filter((x) => x.type === 'raised').length === 1) d.policy.suppress(e.alert.deviceId, e.alert.kind, e.alert.detectedAt + 4 * 3_600_000);
    },
    originOf: (line) => ({ line }),
    maxBatch: 16,
  });
  twoFloods().forEach((m, i) => d.add(Buffer.from(JSON.stringify(m)), -1, i));
  d.finish();
  // the first flood's alert is closed by the verdict; the second flood, 3 h later, is still suppressed
  assert.equal(events.filter((e) => e.type === 'raised').length, 1);
  assert.ok(d.policy.suppressedFindings > 0);
  const events2: AlertEvent[] = [];
  const d2 = new Detector({
    engine: 'reference',
    params: { capacity: 1024 },
    policy: {},
    onAlert: (e) => {
      events2.push(e);
      if (e.type === 'raised' && events2.filter((x) => x.type === 'raised').length === 1) d2.policy.suppress(e.alert.deviceId, e.alert.kind, e.alert.detectedAt + 60_000);
    },
    originOf: (line) => ({ line }),
    maxBatch: 16,
  });
  twoFloods().forEach((m, i) => d2.add(Buffer.from(JSON.stringify(m)), -1, i));
  d2.finish();
  assert.equal(events2.filter((e) => e.type === 'raised').length, 2, 'a short suppression lapses');
});
