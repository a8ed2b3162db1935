// The alert store: bounded, newest first, filters, cursor paging, event sequence and
// resume, coalesced updates, verdicts (hook, suppression and its lifting) — and, with a
// real detector, that a suppressed device × kind raises no second incident.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertStore, StoreEvent, Verdict, StoredAlert } from '../../src/alerts/store';
import type { Alert } from '../../src/alerts/alert';
import type { AlertKind } from '../../src/core/layout';
import { Detector } from '../../src/detector';
import { fakeAlert, flood, secondFlood } from './support';

function filled(n: number, capacity = 10_000) {
  const store = new AlertStore({ capacity, firstSeq: 0 });
  for (let i = 0; i < n; i++) store.listener({ type: 'raised', alert: fakeAlert(i) });
  return store;
}

test('newest first, by id, bounded: the oldest raised goes first', () => {
  const store = filled(30, 25);
  assert.equal(store.size, 25);
  assert.equal(store.evicted, 5);
  const page = store.list({ limit: 1000 });
  assert.deepEqual(page.alerts.map((a) => a.id).slice(0, 3), ['a00029', 'a00028', 'a00027']);
  assert.equal(page.alerts.at(-1)!.id, 'a00005');
  assert.equal(page.nextCursor, null);
  assert.equal(store.get('a00004'), undefined, 'evicted');
  const a = store.get('a00010')!;
  assert.equal(a.status, 'open');
  assert.equal(a.verdict, null);
  assert.equal(a.summary, 'made-up alert 10');
});

test('filters: device, kind, minimum severity, status, since/until', () => {
  const store = filled(100);
  const t = (i: number) => fakeAlert(i).detectedAt;
  const by = (q: Parameters<AlertStore['list']>[0]) => store.list(q).alerts.map((a) => Number(a.id.slice(1)));
  assert.deepEqual(by({ deviceId: 'd-3', limit: 5 }), [94, 87, 80, 73, 66]);
  assert.ok(by({ kind: 'clone', limit: 1000 }).every((i) => i % 5 === 1));
  assert.equal(by({ severity: 'high', limit: 1000 }).length, 33);
  assert.equal(by({ severity: 'medium', limit: 1000 }).length, 66);
  assert.deepEqual(by({ since: t(10), until: t(13), limit: 1000 }), [12, 11, 10]);
  store.listener({ type: 'closed', alert: fakeAlert(50) });
  assert.deepEqual(by({ status: 'closed', limit: 10 }), [50]);
  assert.equal(by({ status: 'open', limit: 1000 }).length, 99);
  assert.deepEqual(by({ deviceId: 'nobody', limit: 10 }), []);
});

test('cursor paging visits every match once, even while new alerts arrive', () => {
  const store = filled(250);
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let next = 250;
  do {
    const page = store.list({ severity: 'medium', limit: 40, cursor });
    seen.push(...page.alerts.map((a) => a.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
    store.listener({ type: 'raised', alert: fakeAlert(next++) }); // newer ones do not shift older pages
  } while (cursor);
  const expected = Array.from({ length: 250 }, (_, i) => i).filter((i) => i % 3 !== 0).reverse().map((i) => fakeAlert(i).id);
  assert.deepEqual(seen, expected);
  assert.equal(pages, Math.ceil(expected.length / 40));
});

test('events: a growing sequence; updates coalesced per turn; resume after a seq', async () => {
  const store = new AlertStore({ firstSeq: 1000 });
  const got: StoreEvent[] = [];
  store.subscribe((e) => got.push(e));
  const a = fakeAlert(1);
  store.listener({ type: 'raised', alert: a });
  for (let i = 0; i < 500; i++) {
    a.count++;
    a.lastSeen += 1000;
    store.listener({ type: 'updated', alert: a });
  }
  assert.deepEqual(got.map((e) => e.type), ['raised'], 'updates wait for the end of the turn');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.map((e) => [e.type, e.seq]), [['raised', 1001], ['updated', 1002]]);
  assert.equal(got[1].alert.count, 501);
  const b = fakeAlert(2);
  store.listener({ type: 'raised', alert: b });
  store.listener({ type: 'updated', alert: b });
  store.listener({ type: 'closed', alert: b }); // closing drops the pending update
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.map((e) => e.type), ['raised', 'updated', 'raised', 'closed']);
  assert.equal(store.lastSeq, 1004);

  const missed = store.eventsAfter(1002);
  assert.deepEqual(missed.map((e) => [e.type, e.alert.id, e.alert.status]), [['raised', b.id, 'closed']], 'one event per alert, current state');
  assert.deepEqual(store.eventsAfter(1004), []);
  assert.equal(store.eventsAfter(0).length, 2);
  assert.equal(store.eventsAfter(99_999_999).length, 2, 'an id from another run resends everything');
});

test('verdicts: kept on the alert, handed to the sink hook, suppress (false_positive/benign) and lift (true_positive)', async () => {
  const calls: string[] = [];
  const hooked: [StoredAlert, Verdict][] = [];
  const store = new AlertStore({ suppressForMs: 3_600_000, sinks: [{ onVerdict: (a, v) => void hooked.push([a, v]) }] });
  const open = new Map<string, Alert>();
  store.attach({
    suppress(deviceId: string, kind: AlertKind, until: number) {
      calls.push(`${deviceId}/${kind}/${until}`);
      const key = `${deviceId}/${kind}`;
      const a = open.get(key);
      if (a) {
        open.delete(key);
        store.listener({ type: 'closed', alert: a }); // as the policy does
      }
    },
    openAlerts: () => open.values(),
  });
  const a = fakeAlert(3);
  open.set(`${a.deviceId}/${a.kind}`, a);
  store.listener({ type: 'raised', alert: a });

  const r = await store.setVerdict(a.id, { verdict: 'false_positive', note: 'test rig', by: 'ana' });
  assert.ok(r);
  assert.deepEqual(r.sinkErrors, []);
  assert.equal(r.alert.verdict!.verdict, 'false_positive');
  assert.equal(r.alert.verdict!.by, 'ana');
  assert.equal(r.alert.verdict!.note, 'test rig');
  assert.ok(Math.abs(r.alert.verdict!.at - Date.now()) < 5000);
  assert.equal(r.alert.verdict!.suppressedUntil, a.lastSeen + 3_600_000);
  assert.equal(r.alert.status, 'closed', 'the policy closed it');
  assert.deepEqual(calls, [`${a.deviceId}/${a.kind}/${a.lastSeen + 3_600_000}`]);
  assert.equal(hooked.length, 1);
  assert.equal(hooked[0][0].id, a.id);
  assert.equal(hooked[0][1].verdict, 'false_positive');
  assert.equal(store.get(a.id)!.verdict!.verdict, 'false_positive');

  await store.setVerdict(a.id, { verdict: 'true_positive', by: 'bob' });
  assert.equal(calls.at(-1), `${a.deviceId}/${a.kind}/-Infinity`, 'the suppression it set is lifted');
  assert.equal(hooked.length, 2);
  assert.equal(await store.setVerdict('nope', { verdict: 'benign', by: 'x' }), undefined);

  // a failing sink does not undo the verdict: it is reported
  const failing = new AlertStore({ sinks: [{ onVerdict: async () => Promise.reject(new Error('influx down')) }] });
  failing.listener({ type: 'raised', alert: fakeAlert(4) });
  const f = await failing.setVerdict(fakeAlert(4).id, { verdict: 'benign', by: 'x' });
  assert.equal(f!.sinkErrors[0].message, 'influx down');
  assert.equal(failing.get(fakeAlert(4).id)!.verdict!.verdict, 'benign');
});

function detectorWithStore(store: AlertStore) {
  const raised: Alert[] = [];
  const d = new Detector({
    engine: 'reference',
    params: { capacity: 1024 },
    policy: {},
    originOf: (l) => ({ file: 't', line: l }),
    onAlert: (e) => {
      store.listener(e);
      if (e.type === 'raised') raised.push({ ...e.alert });
    },
    maxBatch: 256,
  });
  store.attach(d.policy);
  let n = 0;
  const feed = (msgs: object[]) => {
    for (const m of msgs) d.add(Buffer.from(JSON.stringify(m)), -1, n++);
    d.flush();
  };
  return { d, raised, feed };
}

test('with the detector: a false-positive verdict suppresses the next incident of the device × kind, not others', async () => {
  // without a verdict: two floods hours apart are two incidents
  const plain = detectorWithStore(new AlertStore());
  plain.feed(flood('p-1'));
  plain.feed(secondFlood('p-1'));
  assert.deepEqual(plain.raised.map((a) => a.kind), ['rate_spike', 'rate_spike']);

  const store = new AlertStore();
  const { raised, feed, d } = detectorWithStore(store);
  feed([...flood('p-1')]);
  assert.equal(raised.length, 1);
  const first = raised[0];
  assert.equal(store.get(first.id)!.status, 'open');
  await store.setVerdict(first.id, { verdict: 'false_positive', by: 'ana' });
  assert.equal(store.get(first.id)!.status, 'closed');
  assert.equal(d.policy.openCount, 0);
  feed(secondFlood('p-1'));
  assert.equal(raised.length, 1, 'the second flood is suppressed');
  assert.ok(d.policy.suppressedFindings > 0);
  // another device's flood still raises
  feed(flood('p-2', first.lastSeen + 3_600_000));
  assert.deepEqual(raised.map((a) => a.deviceId), ['p-1', 'p-2']);
});
