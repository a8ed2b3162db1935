// GET /api/stream over real HTTP: a client receives the alert a replayed telemetry
// stream raises, its updates (coalesced) and its verdict; a client reconnecting with
// Last-Event-ID gets what it missed and nothing twice; the minimum-severity filter; a
// slow client is dropped rather than buffered without bound; shutdown ends streams.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeAlert, flood, Harness, request, SseClient, sleep, startHarness, T0 } from './support';

describe('alert stream', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('a client receives the alert a replayed stream raises, then its verdict; resumes with Last-Event-ID', async () => {
    const c = await SseClient.connect(`${h.url}/api/stream`);
    assert.equal(c.status, 200);
    await h.feed(flood('cam-1'));
    const raised = await c.waitFor((e) => e.event === 'raised' && e.data.deviceId === 'cam-1');
    assert.equal(raised.data.kind, 'rate_spike');
    assert.equal(raised.data.status, 'open');
    assert.match(raised.id!, /^\d+$/);
    const updated = await c.waitFor((e) => e.event === 'updated' && e.data.id === raised.data.id);
    assert.ok(updated.data.count > 1);
    assert.ok(Number(updated.id) > Number(raised.id));
    const updates = c.events.filter((e) => e.event === 'updated').length;
    assert.ok(updates <= 2, `updates are coalesced per batch, got ${updates} for one batch`);

    await request(`${h.url}/api/alerts/${raised.data.id}/verdict`, { method: 'POST', body: { verdict: 'true_positive', by: 'ana' } });
    const verdict = await c.waitFor((e) => e.event === 'verdict');
    assert.equal(verdict.data.verdict.verdict, 'true_positive');
    const lastSeen = c.lastId!;
    c.close();

    // while disconnected: another device floods, the first one's alert gets a new verdict
    await h.feed(flood('cam-2', T0 + 10 * 3_600_000));
    await request(`${h.url}/api/alerts/${raised.data.id}/verdict`, { method: 'POST', body: { verdict: 'benign', by: 'ana' } });
    await sleep(20);

    const resumed = await SseClient.connect(`${h.url}/api/stream`, { 'last-event-id': lastSeen });
    const cam2 = await resumed.waitFor((e) => e.data.deviceId === 'cam-2');
    assert.equal(cam2.event, 'raised', 'raised while away: sent as raised, in its current state');
    const cam1 = await resumed.waitFor((e) => e.data.deviceId === 'cam-1');
    assert.equal(cam1.data.verdict.verdict, 'benign');
    assert.equal(cam1.data.status, 'closed');
    assert.equal(resumed.events.length, 2, 'each missed alert once, nothing seen before');
    assert.ok(resumed.events.every((e) => Number(e.id) > Number(lastSeen)));
    // and live again after the catch-up
    await h.feed(flood('cam-3', T0 + 20 * 3_600_000));
    await resumed.waitFor((e) => e.event === 'raised' && e.data.deviceId === 'cam-3');
    resumed.close();

    // ?lastEventId= for clients that cannot set headers; an up-to-date id gets nothing old
    const q = await SseClient.connect(`${h.url}/api/stream?lastEventId=${h.store.lastSeq}`);
    await sleep(50);
    assert.equal(q.events.length, 0);
    q.close();
  });

  test('minimum severity filter', async () => {
    const high = await SseClient.connect(`${h.url}/api/stream?severity=high`);
    const any = await SseClient.connect(`${h.url}/api/stream`);
    for (let i = 0; i < 6; i++) h.store.listener({ type: 'raised', alert: fakeAlert(900 + i) }); // low, medium, high, …
    await any.waitFor((e) => e.data.id === fakeAlert(905).id);
    const hi = await high.waitFor((e) => e.event === 'raised');
    assert.equal(hi.data.id, fakeAlert(902).id);
    await sleep(20);
    assert.deepEqual(high.events.map((e) => e.data.id), [fakeAlert(902).id, fakeAlert(905).id], 'nothing below high');
    assert.equal(any.events.length, 6);
    high.close();
    any.close();
    const bad = await request(`${h.url}/api/stream?severity=severe`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'severity');
  });

  test('clients are counted; a client that does not read is dropped; shutdown ends the streams', async () => {
    const small = await startHarness({ api: { streamBufferBytes: 64 * 1024, streamSlowMs: 300, maxStreamClients: 3 } });
    try {
      const clients = await Promise.all([1, 2, 3].map(() => SseClient.connect(`${small.url}/api/stream`)));
      assert.match((await request(`${small.url}/metrics`)).text, /^edge_sentinel_stream_clients 3$/m);
      const fourth = await request(`${small.url}/api/stream`);
      assert.equal(fourth.status, 503);
      clients[0].close();
      await sleep(50);
      assert.equal(small.server.hub.size, 2);

      // a client whose socket is paused: events pile up until it is dropped
      const slow = clients[1];
      (slow as unknown as { res: import('node:http').IncomingMessage }).res.pause();
      // a burst alone (400 kB in one turn, under the 8 × 64 kB hard cap) drops nobody
      for (let j = 0; j < 200; j++) small.store.listener({ type: 'raised', alert: bigAlert(j) });
      await sleep(100);
      assert.equal(small.server.hub.size, 2, 'a burst does not drop a client that reads');
      for (let i = 0; i < 100 && small.server.hub.size === 2; i++) {
        for (let j = 0; j < 20; j++) small.store.listener({ type: 'raised', alert: bigAlert(1000 + i * 20 + j) });
        await sleep(20);
      }
      assert.equal(small.server.hub.size, 1, 'the paused client was dropped');
      assert.equal(small.server.hub.dropped, 1);
      const ended = new Promise<void>((resolve) => (clients[2] as unknown as { res: import('node:http').IncomingMessage }).res.on('end', resolve));
      await small.close();
      await ended;
    } finally {
      await small.close().catch(() => {});
    }
  });
});

function bigAlert(i: number) {
  return {
    id: `big${i}`,
    deviceId: `dev-${i}`,
    kind: 'size_anomaly' as const,
    severity: 'high' as const,
    score: 0.99,
    ts: T0 + i,
    detectedAt: T0 + i,
    firstSeen: T0 + i,
    lastSeen: T0 + i,
    count: 1,
    summary: 'x'.repeat(2000),
    evidence: { expected: 1, observed: 2 },
    reasons: ['size_anomaly'],
    origin: {},
  };
}
