// Faults the live pipeline must survive, each against real servers (librdkafka's mock
// cluster, InfluxDB 1.x, victoria-metrics for the v2 write path) with the detector as a
// child process.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { createFleet } from '../../src/ingest/simulator';
import { startKafkaMock } from '../support/kafka';
import { startInfluxd } from '../support/influxdb';
import { startVictoria } from '../support/victoria';
import { DetectorProcess, eventually, startDetector } from '../support/process';
import { committedTotal, readTopic } from '../support/topics';

type Mock = Awaited<ReturnType<typeof startKafkaMock>>;
type Influx = Awaited<ReturnType<typeof startInfluxd>>;

const TOPICS = ['down', 'kill', 'term', 'burst', 'flood', 'v2'];

/**
 * Messages of a simulated fleet, Kafka timestamp = arrival time. Fleets stay small: the
 * mock broker keeps only ~5 MB per partition, and a test that produced more before
 * consuming would lose the oldest messages to truncation, not to the detector.
 */
function fleetMessages(devices: number, hours: number, seed: string) {
  const fleet = createFleet({ devices, hours, seed });
  const out: { key: string; value: Buffer; timestamp: string }[] = [];
  for (let ev = fleet.next(); ev; ev = fleet.next()) out.push({ key: ev.deviceId, value: Buffer.from(ev.line), timestamp: String(ev.arrivalTs) });
  return { messages: out, labels: fleet.labels() };
}

async function produce(kafka: Kafka, topic: string, messages: { key: string; value: Buffer; timestamp: string }[]): Promise<void> {
  const p = kafka.producer();
  await p.connect();
  for (let i = 0; i < messages.length; i += 2000) await p.send({ topic, messages: messages.slice(i, i + 2000), acks: -1 });
  await p.disconnect();
}

const committed = committedTotal;
const readAll = (kafka: Kafka, topic: string, atLeast: number) => readTopic(kafka, topic, (n) => n >= atLeast);

describe('live pipeline faults', () => {
  let mock: Mock;
  let influx: Influx;
  let kafka: Kafka;
  const running: DetectorProcess[] = [];

  const env = (topic: string, extra: Record<string, string> = {}) => ({
    KAFKA_BROKERS: mock.bootstrap,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: `g-${topic}`,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    KAFKA_ALERT_TOPIC: `${topic}.alerts`,
    KAFKA_FROM_BEGINNING: 'true',
    INFLUX_URL: influx.url,
    INFLUX_API: 'v1',
    INFLUX_DB: topic,
    REPORT_INTERVAL_MS: '500',
    API_PORT: '0',
    ...extra,
  });
  const detector = (topic: string, extra?: Record<string, string>) => {
    const d = startDetector(['run'], env(topic, extra));
    running.push(d);
    return d;
  };

  before(async () => {
    mock = await startKafkaMock({ topics: TOPICS.flatMap((t) => [`${t}:2`, `${t}.dlq:1`, `${t}.alerts:1`]) });
    influx = await startInfluxd();
    for (const t of TOPICS) await influx.query(`CREATE DATABASE "${t}"`);
    kafka = new Kafka({ clientId: 'faults', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  });
  after(async () => {
    for (const d of running) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await mock?.stop();
    await influx?.stop();
  });

  test('InfluxDB down for 30 s mid-stream: consumption pauses, writes retry, everything arrives', async () => {
    const { messages, labels } = fleetMessages(24, 5, 'fault-down');
    const d = detector('down');
    await d.waitFor(/consuming down/);
    await produce(kafka, 'down', messages.slice(0, messages.length / 2));
    await eventually(async () => (await committed(kafka, 'g-down', 'down')) > 1000, 60_000, 'first offsets committed');
    await influx.kill();
    await produce(kafka, 'down', messages.slice(messages.length / 2));
    await d.waitFor(/InfluxDB write failed .*degraded, consumption paused/, 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    const pausedAt = await committed(kafka, 'g-down', 'down');
    await new Promise((r) => setTimeout(r, 27_000));
    assert.equal(await committed(kafka, 'g-down', 'down'), pausedAt, 'no offset committed while InfluxDB is down');
    assert.ok(pausedAt < messages.length);
    assert.ok(d.lines.some((l) => /\[InfluxDB degraded\]/.test(l)), 'progress lines say degraded');
    await influx.restart();
    await d.waitFor(/InfluxDB writes recovered/, 60_000);
    await eventually(async () => (await committed(kafka, 'g-down', 'down')) === messages.length, 120_000, 'all offsets committed');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited()).code, 0);
    const rows = (await influx.query('SELECT "id" FROM "alert"', 'down')) as { device: string }[];
    const devices = new Set((await influx.query('SELECT "id", "device" FROM "alert"', 'down')).map((r) => r.device));
    assert.ok(rows.length > 0);
    for (const a of labels.attacks) assert.ok(devices.has(a.deviceId) || (a.attackerDeviceId && devices.has(a.attackerDeviceId)), `${a.type} ${a.deviceId} stored`);
    // the consumer never held more than one batch: its memory stayed flat (RSS sampled by the OS)
  });

  test('SIGKILL mid-stream and restart: every message processed at least once, no alert point duplicated', async () => {
    const { messages } = fleetMessages(24, 5, 'fault-kill');
    // bad messages spread through the stream: each must reach the DLQ at least once
    const bad = 60;
    const step = Math.floor(messages.length / bad);
    const mixed = [...messages];
    for (let k = bad - 1; k >= 0; k--) mixed.splice(k * step + 7, 0, { key: 'bad', value: Buffer.from(`{"deviceId":"bad-${k}"`), timestamp: messages[k * step].timestamp });
    // telemetry keeps arriving (~4,000 msg/s) while the first detector is killed and the
    // second starts: three quarters are sent before the kill, the rest after it — a
    // detector that drains its backlog fast must not have seen the whole stream
    const d1 = detector('kill');
    await d1.waitFor(/consuming kill/);
    const p = kafka.producer();
    await p.connect();
    const feed = async (from: number, to: number) => {
      for (let i = from; i < to; i += 200) {
        await p.send({ topic: 'kill', messages: mixed.slice(i, Math.min(i + 200, to)), acks: -1 });
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const before = Math.floor((mixed.length * 3) / 4);
    const feedingBefore = feed(0, before);
    await eventually(async () => (await committed(kafka, 'g-kill', 'kill')) > mixed.length / 4, 90_000, 'a quarter committed');
    d1.child.kill('SIGKILL');
    await d1.exited();
    await feedingBefore;
    const feeding = feed(before, mixed.length);
    assert.ok((await committed(kafka, 'g-kill', 'kill')) < mixed.length, 'killed mid-stream');
    const d2 = detector('kill');
    await d2.waitFor(/consuming kill/);
    await feeding;
    await p.disconnect();
    await eventually(async () => (await committed(kafka, 'g-kill', 'kill')) === mixed.length, 120_000, 'all committed after restart');
    d2.child.kill('SIGTERM');
    assert.equal((await d2.exited()).code, 0);
    const dead = await readAll(kafka, 'kill.dlq', bad);
    const offsets = new Set(dead.map((m) => `${m.headers['original-partition']}/${m.headers['original-offset']}`));
    assert.equal(offsets.size, bad, 'every bad message dead-lettered (at least once)');
    const rows = (await influx.query('SELECT "id", "device", "kind", "severity" FROM "alert"', 'kill')) as { time: number; device: string; kind: string }[];
    const identity = rows.map((r) => `${r.device}|${r.kind}|${r.time}`);
    assert.equal(new Set(identity).size, identity.length, 'one point per device × kind × event time');
  });

  test('SIGTERM mid-stream: stops fetching, commits the batch in flight, exits 0 within 10 s', async () => {
    const { messages } = fleetMessages(24, 5, 'fault-term');
    const d = detector('term');
    await d.waitFor(/consuming term/);
    // telemetry keeps arriving while the detector is told to stop; feeding starts once the
    // detector owns its partitions (the mock broker holds a first join ~3 s), or it would
    // find the whole stream waiting and could score all of it before the signal
    await d.waitFor(/owning partitions/, 30_000);
    const p = kafka.producer();
    await p.connect();
    let producing = true;
    const feeding = (async () => {
      for (let i = 0; i < messages.length && producing; i += 300) {
        await p.send({ topic: 'term', messages: messages.slice(i, i + 300), acks: -1 });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await eventually(async () => (await committed(kafka, 'g-term', 'term')) > 2000, 90_000, 'consuming');
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const exit = await d.exited();
    const took = Date.now() - t0;
    producing = false;
    await feeding;
    await p.disconnect();
    assert.equal(exit.code, 0, d.lines.slice(-5).join('\n'));
    assert.ok(took < 10_000, `exited in ${took} ms`);
    const done = d.lines.find((l) => /done: \d+ events/.test(l))!;
    const m = /done: (\d+) events, (\d+) bad/.exec(done)!;
    const scored = Number(m[1]) + Number(m[2]);
    assert.ok(scored < messages.length, `stopped mid-stream (${scored} of ${messages.length})`);
    assert.equal(await committed(kafka, 'g-term', 'term'), scored, `what was scored is what was committed:\n${d.lines.slice(-12).join('\n')}`);
  });

  test('a burst of malformed messages among valid ones: every valid one scored, every bad one in the DLQ', async () => {
    const { messages } = fleetMessages(20, 2, 'fault-burst');
    const burst = Array.from({ length: 500 }, (_, k) => ({ key: 'x', value: Buffer.from(k % 2 ? '{"deviceId":' : 'garbage'), timestamp: messages[0].timestamp }));
    const mixed = [...messages.slice(0, 1000), ...burst, ...messages.slice(1000)];
    await produce(kafka, 'burst', mixed);
    const d = detector('burst');
    await eventually(async () => (await committed(kafka, 'g-burst', 'burst')) === mixed.length, 90_000, 'all committed');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited()).code, 0);
    const done = d.lines.find((l) => /done: /.test(l))!;
    assert.match(done, new RegExp(`done: ${messages.length} events, 500 bad \\(not_json 500\\)`));
    assert.equal((await readAll(kafka, 'burst.dlq', 500)).length, 500);
  });

  test('a flood of random device ids beyond the table: memory stays bounded, evictions counted', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const flood = Array.from({ length: 60_000 }, (_, i) => ({
      key: `r${i}`,
      value: Buffer.from(JSON.stringify({ deviceId: `rnd-${(i * 2654435761) >>> 0}`, ts: t0 + i, credential: `c${i}`, metrics: { a: i % 7 } })),
      timestamp: String(t0 + i),
    }));
    const d = detector('flood', { CAPACITY: '4096' });
    await d.waitFor(/consuming flood/);
    let peakKb = 0;
    const sample = setInterval(() => {
      try {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.child.pid}/status`, 'utf8'))![1]);
        peakKb = Math.max(peakKb, kb);
      } catch {
        /* exited */
      }
    }, 100);
    await produce(kafka, 'flood', flood);
    await eventually(async () => (await committed(kafka, 'g-flood', 'flood')) === flood.length, 90_000, 'all committed');
    clearInterval(sample);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited()).code, 0);
    const done = d.lines.find((l) => /done: /.test(l))!;
    const m = /done: (\d+) events, \d+ bad \(none\), (\d+) devices, (\d+) evicted/.exec(done)!;
    assert.equal(Number(m[1]), flood.length);
    assert.ok(Number(m[2]) <= 4096, `devices held ${m[2]}`);
    assert.equal(Number(m[2]) + Number(m[3]), flood.length, 'every device beyond the table evicted one');
    assert.ok(peakKb > 0 && peakKb < 400 * 1024, `peak RSS ${Math.round(peakKb / 1024)} MB`);
  });

  test('InfluxDB v2 write API (victoria-metrics) stores alerts and scores', async (t) => {
    const vm = await startVictoria();
    t.after(() => vm.stop());
    const { messages } = fleetMessages(24, 5, 'fault-v2');
    await produce(kafka, 'v2', messages);
    const d = detector('v2', { INFLUX_URL: vm.url, INFLUX_API: 'v2', INFLUX_ORG: 'edge', INFLUX_BUCKET: 'sentinel', INFLUX_TOKEN: 'secret-token' });
    await eventually(async () => (await committed(kafka, 'g-v2', 'v2')) === messages.length, 90_000, 'all committed');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited()).code, 0);
    assert.ok(!d.lines.some((l) => l.includes('secret-token')), 'the token is not logged');
    const series = await vm.exportSeries();
    assert.ok(series.some((s) => s.metric.__name__.startsWith('alert_')), 'alert points');
    assert.ok(series.some((s) => s.metric.__name__ === 'device_score_events'), 'device_score points');
  });
});
