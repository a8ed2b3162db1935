// Every kind's explanation names what was expected and what was observed, in units an
// analyst reads (seq numbers, sources, durations, bytes, metric names).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, firmwareText, formatBytes, formatDuration, sourceText } from '../../src/alerts/explain';
import type { Finding } from '../../src/alerts/explain';

const ctx = (message?: Record<string, unknown>) => ({ deviceId: 'thermo-0042', message, deviceIdOf: (s: number) => (s === 7 ? 'thermo-0007' : '') });
const f = (kind: Finding['kind'], expected: number, observed: number, spread = 0, aux = 0, score = 0.9): Finding => ({ kind, score, expected, observed, spread, aux });
const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

test('formatting helpers', () => {
  assert.equal(formatDuration(90_000), '1.5 min');
  assert.equal(formatDuration(3 * 3_600_000), '3 h');
  assert.equal(formatBytes(49_152), '48 kB');
  assert.equal(formatBytes(210), '210 B');
  assert.equal(sourceText(ip(10, 9, 9, 9)), '10.9.9.9');
  assert.equal(sourceText(4294967296 * 65536 + 4294967296 * 8080 + ip(10, 0, 0, 1)), '10.0.0.1:8080');
  assert.equal(sourceText(-1), undefined);
  assert.equal(firmwareText(2 * 4294967296 + 4 * 65536 + 1), '2.4.1');
});

test('replay: seq and device time, and the source it came from', () => {
  const e = explain(f('replay', 1_000_000_000, 1_000_000_000 - 3 * 3_600_000, 18231, 17950), ctx({ source: '10.9.9.9' }));
  assert.equal(e.summary, 'seq 17950 after 18231, device time 3 h in the past from source 10.9.9.9: an old message sent again');
  assert.deepEqual((e.evidence.observed as { seq: number }).seq, 17950);
  const same = explain(f('replay', 5000, 4000, 12, 12), ctx());
  assert.match(same.summary, /^seq 12 repeated with a different device time/);
});

test('clone: two streams, or two sources alternating', () => {
  assert.match(explain(f('clone', 5001, 120, 0, 5000), ctx({ source: '172.16.4.2' })).summary, /two seq streams.*seq 120 while the device is at 5000.*172\.16\.4\.2/);
  assert.match(explain(f('clone', ip(10, 1, 0, 7), ip(192, 168, 77, 5), 1, 3), ctx()).summary, /alternate between 10\.1\.0\.7 and 192\.168\.77\.5 \(3 switches/);
});

test('credentials: rotation, hijack, sharing', () => {
  assert.match(explain(f('credential_change', -1, -1, 0, 1, 0.35), ctx({ credential: 'sha256:abc' })).summary, /one-off rotation/);
  assert.match(explain(f('credential_change', -1, -1, 0, 1, 0.92), ctx({ credential: 'sha256:evil', source: '203.0.113.9' })).summary, /another network \(203\.0\.113\.9\).*hijacked/);
  assert.match(explain(f('credential_shared', 60_000, 0, 3_600_000, 7), ctx({ credential: 'sha256:shared' })).summary, /also in use by thermo-0007 \(seen 1 min ago\)/);
});

test('source, firmware, clock, rate, silence, size, metric', () => {
  assert.equal(explain(f('source_change', ip(10, 1, 0, 7), ip(10, 2, 0, 9)), ctx()).summary, 'source changed from 10.1.0.7 to 10.2.0.9');
  assert.equal(explain(f('firmware_downgrade', 2 * 4294967296 + 4 * 65536 + 1, 2 * 4294967296 + 65536), ctx()).summary, 'firmware went back from 2.4.1 to 2.1.0');
  assert.match(explain(f('clock_skew', 200, 2 * 3_600_000, 300_000), ctx()).summary, /^device clock 2 h ahead of its usual offset/);
  assert.match(explain(f('rate_spike', 30_000, 1000, 8), ctx()).summary, /every 1 s instead of every 30 s \(30× the usual rate\)/);
  assert.match(explain(f('silence', 30_000, 2 * 3_600_000, 900_000, 0), ctx()).summary, /^no message for 2 h; usually every 30 s \(limit 15 min\)/);
  assert.equal(explain(f('size_anomaly', 210, 49_152, 30), ctx()).summary, 'payload 48 kB, usual 210 B ± 30 B (234×)');
  const m = explain(f('metric_anomaly', 21.2, 29.5, 0.3, 1), ctx({ metrics: { rh: 40, temp: 29.5 } }));
  assert.equal(m.summary, 'temp 29.5, usual step ± 0.3 from 21.2 (27.7×)');
  assert.deepEqual(m.evidence.expected, { temp: 21.2, step: 0.3 });
  assert.deepEqual(m.evidence.observed, { temp: 29.5 });
});

test('inventory kinds: what the inventory lists against what the message shows', () => {
  const enrolled = {
    deviceId: 'thermo-0042',
    credentials: [{ id: 'sha256:good' }],
    sources: [{ kind: 'ipv4' as const, text: '10.20.0.0/16', network: ip(10, 20, 0, 0), prefix: 16 }],
  };
  const c = (message: Record<string, unknown>) => ({ ...ctx(message), enrolled });
  assert.equal(explain(f('unknown_device', -1, -1, 1200), ctx({ source: '10.9.9.9' })).summary, 'device thermo-0042 is not in the inventory (1200 devices enrolled) from source 10.9.9.9');
  assert.equal(explain(f('revoked_credential', -1, -1), ctx({ credential: 'tok-17' })).summary, 'revoked credential tok-17 used by thermo-0042');
  assert.equal(
    explain(f('credential_not_enrolled', -1, 1, 1), c({ credential: 'sha256:evil' })).summary,
    'credential sha256:evil for thermo-0042, which the inventory does not list (enrolled: sha256:good)',
  );
  assert.match(explain(f('credential_not_enrolled', -1, 0, 1), c({})).summary, /^no credential for thermo-0042/);
  const expiry = Date.UTC(2026, 5, 1);
  const expired = explain(f('credential_expired', expiry, expiry + 2 * 86_400_000, expiry - 86_400_000 * 365), ctx({ credential: 'sha256:old' }));
  assert.equal(expired.summary, 'credential sha256:old expired 2 d ago (at 2026-06-01T00:00:00.000Z)');
  assert.deepEqual(expired.evidence.expected, { expiresAt: expiry, issuedAt: expiry - 86_400_000 * 365 });
  assert.equal(explain(f('source_out_of_range', -1, ip(192, 168, 1, 4), 1), c({ source: '192.168.1.4' })).summary, 'source 192.168.1.4 is outside the networks allowed for thermo-0042 (10.20.0.0/16)');
  assert.equal(
    explain(f('firmware_below_minimum', 2 * 4294967296 + 4 * 65536, 2 * 4294967296 + 3 * 65536 + 9), ctx({ firmware: '2.3.9' })).summary,
    'firmware 2.3.9 is below the minimum 2.4.0 the inventory requires',
  );
});
