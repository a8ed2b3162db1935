// The claim exchange without a broker: what one instance collects from its verdicts is
// what another receives from the claims topic and gives its core; its own claims and
// malformed messages are skipped; explanations name the remote holder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import { createCore } from '../../src/core';
import type { Core } from '../../src/core/core';
import { ClaimExchange, CLAIM_REFRESH_MS } from '../../src/scaleout/claims';
import { Detector } from '../../src/detector';
import type { Alert } from '../../src/alerts/alert';
import { encode, series, T0 } from '../support/telemetry';

const noKafka = {} as Kafka;
const quiet = { info: () => undefined, warn: () => undefined };

function score(core: Core, msgs: ReturnType<typeof series>): number {
  for (const m of msgs) assert.ok(core.add(encode(m)));
  return core.score();
}

test('claims collected on one instance and received on another make its device credential_shared, naming the holder', () => {
  const a = new ClaimExchange(noKafka, 'telemetry.credentials', 'g', quiet);
  const b = new ClaimExchange(noKafka, 'telemetry.credentials', 'g', quiet);
  const coreA = createCore('wasm', { capacity: 256, claimRefreshMs: CLAIM_REFRESH_MS });
  const owner = series(60, { deviceId: 'meter-00007', credential: 'sha256:77aa' });
  // three batches of 10 minutes each: one claim per batch (the latest of the holder's)
  const out = [0, 20, 40].flatMap((i) => a.collect(coreA, score(coreA, owner.slice(i, i + 20))));
  assert.equal(out.length, 3);
  assert.equal(new Set(out.map((m) => m.key)).size, 1, 'one key per credential and holder');
  assert.match(String(out[0].key), /^[0-9a-f]{16}\/[0-9a-f]{16}$/);

  // its own claims come back from the topic too: skipped
  for (const m of out) a.receive(String(m.key), Buffer.from(String(m.value)));
  assert.equal(a.totals.received, 0);
  b.receive('not-a-claim', Buffer.from('{}'));
  b.receive(String(out[0].key), Buffer.from('not json'));
  assert.equal(b.totals.malformed, 2);
  for (const m of out) b.receive(String(m.key), Buffer.from(String(m.value)));
  assert.equal(b.totals.received, out.length);
  assert.equal(b.ownerOf('sha256:77aa'), 'meter-00007');

  const alerts: Alert[] = [];
  const detector = new Detector({ engine: 'wasm', params: { capacity: 256, claimRefreshMs: CLAIM_REFRESH_MS }, policy: {}, originOf: () => ({}), onAlert: (e) => e.type === 'raised' && alerts.push(e.alert) });
  detector.policy.remoteOwnerOf = (c) => b.ownerOf(c);
  b.apply(detector.core);
  assert.equal(b.totals.taken, 1, 'the latest claim of the holder was taken');
  for (const m of series(3, { deviceId: 'meter-99999', credential: 'sha256:77aa', source: '203.0.113.7' }, 30_000, T0 + 61 * 30_000)) detector.add(encode(m), -1, 0);
  detector.finish();
  const shared = alerts.find((x) => x.kind === 'credential_shared');
  assert.ok(shared, `alerts: ${alerts.map((x) => x.kind)}`);
  assert.equal(shared.deviceId, 'meter-99999');
  assert.match(shared.summary, /also in use by meter-00007/);
});

test('claims wait for the next batch, bounded: a newer claim of the same holder replaces the older one', () => {
  const b = new ClaimExchange(noKafka, 't.credentials', 'g', quiet);
  const key = `${'0'.repeat(15)}1/${'0'.repeat(15)}2`;
  b.receive(key, Buffer.from(JSON.stringify({ deviceId: 'd', seen: 1000, instance: 'other' })));
  b.receive(key, Buffer.from(JSON.stringify({ deviceId: 'd', seen: 2000, instance: 'other' })));
  const seen: number[] = [];
  b.apply({ importClaim: (c: { seen: number }) => (seen.push(c.seen), true) } as unknown as Core);
  assert.deepEqual(seen, [2000]);
  b.apply({ importClaim: () => assert.fail('applied twice') } as unknown as Core);
});
