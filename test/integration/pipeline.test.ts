// The live pipeline end to end against real servers: librdkafka's mock cluster (Kafka
// protocol) and InfluxDB 1.x, with the detector run as an operator runs it (a child
// process, configured by environment). A simulated fleet with attacks and bad lines is
// produced into the topic while the detector consumes it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createFleet } from '../../src/ingest/simulator';
import type { SimLabels } from '../../src/ingest/simulator';
import { startKafkaMock } from '../support/kafka';
import { startInfluxd } from '../support/influxdb';
import { eventually, startDetector } from '../support/process';
import { committedTotal, readTopic } from '../support/topics';

type Mock = Awaited<ReturnType<typeof startKafkaMock>>;
type Influx = Awaited<ReturnType<typeof startInfluxd>>;

const BAD = ['{"deviceId":"x","ts":', 'NaN', '{"deviceId":7,"ts":1}', '{"deviceId":"y","ts":"never"}', '\u00ff\u00fe'];

interface Produced {
  messages: number;
  bad: number;
  badByReason: Record<string, number>;
  labels: SimLabels;
}

/** Produce a simulated fleet (Kafka timestamp = arrival) with bad lines mixed in. */
async function produceFleet(kafka: Kafka, topic: string, devices: number, hours: number, seed: string, badEvery: number): Promise<Produced> {
  const producer = kafka.producer();
  await producer.connect();
  const fleet = createFleet({ devices, hours, seed });
  let batch: { key: string; value: Buffer; timestamp: string }[] = [];
  let messages = 0;
  let bad = 0;
  const badByReason: Record<string, number> = {};
  const reasons = ['not_json', 'not_json', 'bad_device_id', 'bad_ts', 'invalid_utf8'];
  for (let ev = fleet.next(); ev; ev = fleet.next()) {
    batch.push({ key: ev.deviceId, value: Buffer.from(ev.line), timestamp: String(ev.arrivalTs) });
    messages++;
    if (badEvery && messages % badEvery === 0) {
      const k = bad % BAD.length;
      const value = k === 4 ? Buffer.from([0x7b, 0x22, 0x64, 0xff, 0xfe, 0x22, 0x7d]) : Buffer.from(BAD[k]);
      batch.push({ key: 'bad', value, timestamp: String(ev.arrivalTs) });
      badByReason[reasons[k]] = (badByReason[reasons[k]] ?? 0) + 1;
      bad++;
      messages++;
    }
    if (batch.length >= 2000) {
      await producer.send({ topic, messages: batch, acks: -1 });
      batch = [];
    }
  }
  if (batch.length) await producer.send({ topic, messages: batch, acks: -1 });
  await producer.disconnect();
  return { messages, bad, badByReason, labels: fleet.labels() };
}

describe('live pipeline: Kafka (mock cluster) → detector → InfluxDB 1.x + alert topic + DLQ', () => {
  let mock: Mock;
  let influx: Influx;
  let kafka: Kafka;

  before(async () => {
    mock = await startKafkaMock({ topics: ['telemetry:4', 'telemetry.dlq:1', 'alerts:1'] });
    influx = await startInfluxd();
    await influx.query('CREATE DATABASE sentinel');
    kafka = new Kafka({ clientId: 'test', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await mock?.stop();
    await influx?.stop();
  });

  test('every attack reaches InfluxDB and the alert topic, bad messages the DLQ exactly, offsets committed to the end', async () => {
    const detector = startDetector(['run'], {
      KAFKA_BROKERS: mock.bootstrap,
      KAFKA_FROM_BEGINNING: 'true',
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
      INFLUX_DB: 'sentinel',
      API_PORT: '0',
    });
    try {
      await detector.waitFor(/consuming telemetry as group edge-sentinel/, 30_000);
      const produced = await produceFleet(kafka, 'telemetry', 60, 6, 'it-e2e', 397);
      await eventually(async () => (await committedTotal(kafka, 'edge-sentinel', 'telemetry')) === produced.messages, 120_000, 'offsets committed to the end');

      // the SOC API serves what the live detector raised, and reports ready
      const api = /API on (http:\/\/[^/]+)\/api\/alerts/.exec(await detector.waitFor(/API on http/))![1];
      const listed = (await (await fetch(`${api}/api/alerts?limit=1000`)).json()) as { alerts: { deviceId: string }[] };
      assert.ok(listed.alerts.length > 0, 'alerts served over HTTP');
      const ready = await fetch(`${api}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
      assert.match(await (await fetch(`${api}/metrics`)).text(), /edge_sentinel_consumer_lag_messages\{topic="telemetry",partition="\d"\} 0/);

      detector.child.kill('SIGTERM');
      const t0 = Date.now();
      const exit = await detector.exited();
      assert.equal(exit.code, 0, detector.lines.slice(-10).join('\n'));
      assert.ok(Date.now() - t0 < 10_000, 'SIGTERM: exit within 10 s');
      assert.ok(detector.lines.some((l) => /INFLUX_URL|storing scores and alerts in InfluxDB/.test(l)));

      // InfluxDB: an alert point for every attacked identity
      const rows = (await influx.query('SELECT "id", "device", "kind", "count" FROM "alert"', 'sentinel')) as { device: string; kind: string; id: string }[];
      const alertedDevices = new Set(rows.map((r) => r.device));
      const missing = produced.labels.attacks.filter((a) => !alertedDevices.has(a.deviceId) && !(a.attackerDeviceId && alertedDevices.has(a.attackerDeviceId)));
      assert.deepEqual(missing.map((a) => `${a.type} ${a.deviceId}`), [], 'attacks without an alert point');
      // deterministic identity: one point per alert id
      const ids = rows.map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length, 'no alert duplicated');
      const scores = (await influx.query('SELECT sum("events") FROM "device_score"', 'sentinel')) as { sum: number }[];
      assert.equal(scores[0].sum, produced.messages - produced.bad, 'device_score windows account for every valid event');

      // the alert topic: OCSF findings keyed by device, for every attacked identity
      const findings = await readTopic(kafka, 'alerts', (n) => n > 0);
      const onTopic = new Set(findings.map((f) => f.key));
      for (const a of produced.labels.attacks) assert.ok(onTopic.has(a.deviceId) || (a.attackerDeviceId && onTopic.has(a.attackerDeviceId)), `${a.type} ${a.deviceId} on the alert topic`);
      const f0 = JSON.parse(findings[0].value.toString());
      assert.equal(f0.class_uid, 2004);
      assert.equal(f0.device.uid, findings[0].key);

      // the DLQ: exactly the bad messages, original bytes, a reason header
      const dead = await readTopic(kafka, 'telemetry.dlq', (n) => n >= produced.bad);
      assert.equal(dead.length, produced.bad);
      const byReason: Record<string, number> = {};
      for (const d of dead) byReason[d.headers.reason] = (byReason[d.headers.reason] ?? 0) + 1;
      assert.deepEqual(byReason, produced.badByReason);
      assert.ok(dead.every((d) => d.headers['original-topic'] === 'telemetry' && d.headers['original-offset'] !== undefined));
    } finally {
      if (detector.child.exitCode === null) detector.child.kill('SIGKILL');
    }
  });
});
