// The API over real HTTP (a server on a free loopback port): alerts list, filters and
// cursor paging, one alert, 404s, verdicts with the sink hook, the device view, 400s
// that name the field, 413, /metrics, /healthz, /readyz, the OpenAPI document and the
// dashboard files.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredAlert, Verdict } from '../../src/alerts/store';
import { fakeAlert, flood, Harness, request, startHarness } from './support';

describe('API routes', () => {
  let h: Harness;
  const hooked: [StoredAlert, Verdict][] = [];

  before(async () => {
    h = await startHarness({ sinks: [{ onVerdict: async (a, v) => void hooked.push([a, v]) }] });
    for (let i = 0; i < 250; i++) h.store.listener({ type: 'raised', alert: fakeAlert(i) });
    await h.feed(flood('thermo-7'));
  });
  after(() => h.close());

  test('GET /api/alerts: newest first, default limit 100, the stream seq', async () => {
    const r = await request(`${h.url}/api/alerts`);
    assert.equal(r.status, 200);
    assert.equal(r.body.alerts.length, 100);
    assert.equal(r.body.alerts[0].deviceId, 'thermo-7', 'the real alert was raised last');
    assert.equal(r.body.alerts[0].kind, 'rate_spike');
    assert.equal(r.body.alerts[1].id, 'a00249');
    assert.equal(r.body.seq, h.store.lastSeq);
    assert.equal(typeof r.body.nextCursor, 'string');
    const a = r.body.alerts[1];
    assert.deepEqual(Object.keys(a), ['id', 'deviceId', 'kind', 'severity', 'score', 'ts', 'detectedAt', 'firstSeen', 'lastSeen', 'count', 'summary', 'evidence', 'reasons', 'origin', 'status', 'verdict']);
    assert.deepEqual(a.evidence, { expected: { n: 1 }, observed: { n: 2 } });
    assert.deepEqual(a.origin, { topic: 'telemetry', partition: 249 % 3, offset: '249' });
  });

  test('GET /api/alerts: filters and cursor paging', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; body: { alerts: StoredAlert[]; nextCursor: string | null } } = await request(
        `${h.url}/api/alerts?severity=medium&kind=replay&limit=7${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(r.status, 200);
      assert.ok(r.body.alerts.every((a) => a.kind === 'replay' && a.severity !== 'low'));
      ids.push(...r.body.alerts.map((a) => a.id));
      cursor = r.body.nextCursor;
    } while (cursor);
    const expected = Array.from({ length: 250 }, (_, i) => i).filter((i) => i % 5 === 0 && i % 3 !== 0).reverse().map((i) => fakeAlert(i).id);
    assert.deepEqual(ids, expected);

    const dev = await request(`${h.url}/api/alerts?deviceId=d-2&limit=3`);
    assert.deepEqual(dev.body.alerts.map((a: StoredAlert) => a.id), ['a00247', 'a00240', 'a00233']);
    const t = (i: number) => fakeAlert(i).detectedAt;
    const window = await request(`${h.url}/api/alerts?since=${t(20)}&until=${new Date(t(23)).toISOString()}`);
    assert.deepEqual(window.body.alerts.map((a: StoredAlert) => a.id), ['a00022', 'a00021', 'a00020']);
    const open = await request(`${h.url}/api/alerts?status=closed`);
    assert.deepEqual(open.body.alerts, []);
  });

  test('400 names the field', async () => {
    const cases: [string, string][] = [
      ['limit=1001', 'limit'],
      ['limit=0', 'limit'],
      ['limit=ten', 'limit'],
      ['severity=urgent', 'severity'],
      ['kind=meteor', 'kind'],
      ['since=yesterday', 'since'],
      ['until=2024-13-45T99:00:00Z', 'until'],
      ['cursor=abc', 'cursor'],
      ['sevrity=high', 'sevrity'],
    ];
    for (const [q, field] of cases) {
      const r = await request(`${h.url}/api/alerts?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.field, field, q);
      assert.match(r.body.message, new RegExp(`\\b${field}\\b`), q);
    }
    const v = await request(`${h.url}/api/alerts/a00001/verdict`, { method: 'POST', body: { verdict: 'maybe' } });
    assert.equal(v.status, 400);
    assert.equal(v.body.field, 'verdict');
    assert.match(v.body.message, /body\.verdict must be one of true_positive, false_positive, benign/);
    const missing = await request(`${h.url}/api/alerts/a00001/verdict`, { method: 'POST', body: { note: 'x' } });
    assert.equal(missing.body.field, 'verdict');
    assert.match(missing.body.message, /body\.verdict is required/);
    const extra = await request(`${h.url}/api/alerts/a00001/verdict`, { method: 'POST', body: { verdict: 'benign', severity: 'low' } });
    assert.equal(extra.body.field, 'severity');
    const badId = await request(`${h.url}/api/alerts/${'x'.repeat(65)}`);
    assert.equal(badId.status, 400);
    assert.equal(badId.body.field, 'id');
  });

  test('GET /api/alerts/:id and 404s', async () => {
    const r = await request(`${h.url}/api/alerts/a00123`);
    assert.equal(r.status, 200);
    assert.equal(r.body.summary, 'made-up alert 123');
    const missing = await request(`${h.url}/api/alerts/ffffffffffffffffffff`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { statusCode: 404, error: 'Not Found', message: 'alert not found' });
    assert.equal((await request(`${h.url}/api/alerts/ffff/verdict`, { method: 'POST', body: { verdict: 'benign' } })).status, 404);
    assert.equal((await request(`${h.url}/api/devices/nobody-here`)).status, 404);
    assert.equal((await request(`${h.url}/api/nothing`)).status, 404);
  });

  test('POST /api/alerts/:id/verdict: stored, hooked, suppressing; 413 for an oversize body', async () => {
    const real = h.store.list({ deviceId: 'thermo-7', limit: 1 }).alerts[0];
    assert.equal(real.status, 'open');
    const r = await request(`${h.url}/api/alerts/${real.id}/verdict`, { method: 'POST', body: { verdict: 'benign', note: 'firmware update storm', by: 'ana' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.id, real.id);
    assert.equal(r.body.verdict.verdict, 'benign');
    assert.equal(r.body.verdict.by, 'ana');
    assert.equal(r.body.verdict.note, 'firmware update storm');
    assert.equal(r.body.verdict.suppressedUntil, real.lastSeen + 24 * 3_600_000);
    assert.equal(r.body.status, 'closed');
    assert.equal(hooked.length, 1);
    assert.equal(hooked[0][0].id, real.id);
    assert.equal(hooked[0][1].verdict, 'benign');
    assert.equal((await request(`${h.url}/api/alerts/${real.id}`)).body.verdict.verdict, 'benign');
    const anon = await request(`${h.url}/api/alerts/a00002/verdict`, { method: 'POST', body: { verdict: 'true_positive' } });
    assert.equal(anon.body.verdict.by, 'anonymous', 'no key, no name');
    assert.equal(anon.body.verdict.suppressedUntil, null);

    const big = await request(`${h.url}/api/alerts/a00003/verdict`, { method: 'POST', body: { verdict: 'benign', note: 'x'.repeat(20_000) } });
    assert.equal(big.status, 413);
    assert.equal(h.store.get('a00003')!.verdict, null);
  });

  test('GET /api/devices/:deviceId: the core record with metric names, alerts, score history', async () => {
    const r = await request(`${h.url}/api/devices/thermo-7`);
    assert.equal(r.status, 200);
    const d = r.body;
    assert.equal(d.deviceId, 'thermo-7');
    assert.equal(d.device.deviceId, 'thermo-7');
    assert.equal(d.device.events, 160);
    assert.equal(d.device.source, '10.1.0.7');
    assert.equal(d.device.firmware, '2.4.1');
    assert.match(d.device.credentialHash, /^[0-9a-f]{16}$/);
    assert.deepEqual(d.device.metrics.map((m: { name: string }) => m.name).sort(), ['rh', 'temp']);
    assert.ok(d.device.metrics.every((m: { samples: number; mean: number }) => m.samples > 0 && Number.isFinite(m.mean)));
    assert.equal(d.recentAlerts[0].kind, 'rate_spike');
    assert.ok(d.history.length > 0, 'watched from its alert on');
    assert.ok(d.history.some((p: { score: number }) => p.score >= 0.5));
    assert.deepEqual(Object.keys(d.history[0].metrics).sort(), ['rh', 'temp']);
    // a device known only from stored alerts
    const ghost = await request(`${h.url}/api/devices/d-3`);
    assert.equal(ghost.status, 200);
    assert.equal(ghost.body.device, null);
    assert.equal(ghost.body.openAlerts.length, ghost.body.recentAlerts.length);
  });

  test('GET /metrics: Prometheus text with the detector totals and the metrics others set', async () => {
    h.metrics.consumerLag.set({ topic: 'telemetry', partition: '0' }, 42);
    h.metrics.influxWriteErrors.inc({ measurement: 'alert' });
    h.metrics.observeBatch(0.004);
    const r = await request(`${h.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    const t = r.text;
    assert.match(t, /^edge_sentinel_events_total 160$/m);
    assert.match(t, /^edge_sentinel_alerts_raised_total\{kind="rate_spike"\} 1$/m);
    assert.match(t, /^edge_sentinel_alerts_raised_total\{kind="clone"\} 0$/m);
    assert.match(t, /^edge_sentinel_bad_input_total\{reason="not_json"\} 0$/m);
    assert.match(t, /^edge_sentinel_batch_duration_seconds_bucket\{le="0.005"\} 1$/m);
    assert.match(t, /^edge_sentinel_consumer_lag_messages\{topic="telemetry",partition="0"\} 42$/m);
    assert.match(t, /^edge_sentinel_influx_write_errors_total\{measurement="alert"\} 1$/m);
    assert.match(t, /^edge_sentinel_device_table_fill_ratio 0\.000244140625$/m);
    assert.match(t, /^edge_sentinel_stored_alerts 251$/m);
    assert.match(t, /^edge_sentinel_verdicts_total\{verdict="benign"\} 1$/m);
    // bad input is counted by reason
    await h.feed([{ deviceId: 'x', ts: 'not a time' } as never]);
    assert.match((await request(`${h.url}/metrics`)).text, /^edge_sentinel_bad_input_total\{reason="bad_ts"\} 1$/m);
  });

  test('GET /healthz and /readyz with components', async () => {
    const live = await request(`${h.url}/healthz`);
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    assert.equal((await request(`${h.url}/readyz`)).status, 200, 'nothing registered: ready');
    h.health.register('kafka', 'ok');
    h.health.register('influx');
    const starting = await request(`${h.url}/readyz`);
    assert.equal(starting.status, 503);
    assert.equal(starting.body.components.influx.status, 'down');
    h.health.ok('influx');
    assert.equal((await request(`${h.url}/readyz`)).status, 200);
    h.health.degraded('influx', 'write errors for 30 s: 503 Service Unavailable');
    const degraded = await request(`${h.url}/readyz`);
    assert.equal(degraded.status, 503);
    assert.equal(degraded.body.status, 'degraded');
    assert.equal(degraded.body.ready, false);
    assert.equal(degraded.body.components.influx.reason, 'write errors for 30 s: 503 Service Unavailable');
    assert.equal(degraded.body.components.kafka.status, 'ok');
    assert.equal((await request(`${h.url}/healthz`)).status, 200, 'alive while not ready');
    h.health.ok('influx');
  });

  test('OpenAPI at /docs: every route with request and response schemas', async () => {
    const doc = (await request(`${h.url}/docs/json`)).body;
    assert.equal(doc.openapi, '3.0.3');
    const routes = ['/api/alerts', '/api/alerts/{id}', '/api/alerts/{id}/verdict', '/api/devices/{deviceId}', '/api/stream', '/metrics', '/healthz', '/readyz'];
    for (const p of routes) {
      const ops = doc.paths[p];
      assert.ok(ops, `${p} documented`);
      for (const op of Object.values(ops) as { responses: Record<string, unknown> }[]) assert.ok(op.responses['200'], `${p} has a 200 response schema`);
    }
    assert.ok(doc.paths['/api/alerts'].get.parameters.some((p: { name: string }) => p.name === 'cursor'));
    assert.ok(doc.paths['/api/alerts/{id}/verdict'].post.requestBody);
    assert.ok(doc.components.schemas.Alert);
    assert.equal(doc.paths['/'], undefined, 'the dashboard is not an API route');
    const ui = await request(`${h.url}/docs/`);
    assert.equal(ui.status, 200);
    assert.match(ui.text, /swagger/i);
  });

  test('the dashboard: page, script and style, with a content security policy', async () => {
    const page = await request(`${h.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.headers['content-security-policy'] as string, /default-src 'self'/);
    assert.match(page.text, /<script src="\/dashboard\/app.js"/);
    const js = await request(`${h.url}/dashboard/app.js`);
    assert.match(js.headers['content-type'] as string, /javascript/);
    assert.match(js.text, /\/api\/stream/);
    assert.equal((await request(`${h.url}/dashboard/style.css`)).status, 200);
  });
});
