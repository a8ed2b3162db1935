// bench:pipeline — against one local Kafka-protocol broker (librdkafka's mock cluster)
// and a local InfluxDB 1.x, in one run: (a) a bare kafkajs consumer that only counts
// messages, (b) the full pipeline (core, alert policy, InfluxDB writes, alert topic,
// DLQ, offsets committed after storage). Then (c) the full pipeline fed at half its
// measured rate, for the p99 latency from an event's produce time to its alert being
// stored.
//
// The mock broker keeps only the newest ~20k messages per partition, so data is
// produced in rounds that fit while the consumer is paused; each round is timed from
// its first fetched batch to "all counted" (bare) or "all stored and committed"
// (pipeline), so both sides are measured the same way.
//
//   npm run bench:pipeline [-- --json --rounds 5 --per-partition 12000]

import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { resolveConfig } from '../src/config';
import { createFleet } from '../src/ingest/simulator';
import { KafkaSource, kafkaClient } from '../src/ingest/kafka';
import { Pipeline, Sinks } from '../src/pipeline';
import { createWriter, InfluxSink } from '../src/sinks/influx';
import { startKafkaMock } from '../test/support/kafka';
import { startInfluxd } from '../test/support/influxdb';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, rounds: { type: 'string' }, 'per-partition': { type: 'string' }, 'no-influx': { type: 'boolean' } } });
/** --no-influx: the same pipeline storing nothing, to show what InfluxDB costs. */
const STORE = !values['no-influx'];
const ROUNDS = Number(values.rounds ?? 5);
const PARTITIONS = 4;
const PER_PARTITION = Number(values['per-partition'] ?? 12_000);
const ROUND = PARTITIONS * PER_PARTITION;
const log = (s: string) => {
  if (!values.json) process.stderr.write(s + '\n');
};
const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => process.stderr.write(m + '\n') };

async function until(done: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} did not finish within ${ms / 1000} s`);
    await new Promise((res) => setTimeout(res, 1));
  }
}

async function main() {
  const mock = await startKafkaMock({ topics: [`bare:${PARTITIONS}`, `full:${PARTITIONS}`, `lat:${PARTITIONS}`, 'full.dlq:1', 'full.alerts:1', 'lat.dlq:1', 'lat.alerts:1'] });
  const influx = await startInfluxd();
  await influx.query('CREATE DATABASE bench');
  const kafka = new Kafka({ clientId: 'bench', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();

  // the messages: a simulated fleet with attacks; arrival time travels in the line
  const total = ROUND * ROUNDS;
  log(`generating ${total.toLocaleString('en')} messages…`);
  const fleet = createFleet({ devices: 2000, hours: 48, seed: 'bench-pipeline', arrivalField: true });
  const all: { key: string; value: Buffer }[] = [];
  for (let ev = fleet.next(); ev && all.length < total; ev = fleet.next()) all.push({ key: ev.deviceId, value: Buffer.from(ev.line) });

  const produceRound = async (topic: string, r: number) => {
    const slice = all.slice(r * ROUND, (r + 1) * ROUND);
    for (let i = 0; i < slice.length; i += 4000) await producer.send({ topic, messages: slice.slice(i, i + 4000) });
  };

  // (a) bare consumer
  let counted = 0;
  const bare = kafka.consumer({ groupId: 'bare' });
  await bare.connect();
  await bare.subscribe({ topic: 'bare', fromBeginning: true });
  let firstAt = -1;
  await bare.run({
    eachBatch: async ({ batch }) => {
      if (firstAt < 0) firstAt = performance.now();
      counted += batch.messages.length;
    },
  });
  let bareMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    bare.pause([{ topic: 'bare' }]);
    await produceRound('bare', r);
    firstAt = -1;
    bare.resume([{ topic: 'bare' }]);
    await until(() => counted >= (r + 1) * ROUND, 'bare consumer round');
    bareMs += performance.now() - firstAt;
  }
  await bare.disconnect();
  const bareRate = (ROUNDS * ROUND) / (bareMs / 1000);
  log(`  bare kafkajs consumer: ${Math.round(bareRate).toLocaleString('en')} msg/s`);

  // (b) full pipeline
  const runPipeline = async (topic: string) => {
    const config = resolveConfig({
      KAFKA_BROKERS: mock.bootstrap,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: topic,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      KAFKA_ALERT_TOPIC: `${topic}.alerts`,
      KAFKA_FROM_BEGINNING: 'true',
      // the mock broker answers an empty fetch only when maxWait expires, even if data
      // arrives meanwhile (a real broker answers at once): keep it short for latency
      KAFKA_MAX_WAIT_MS: '20',
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
      INFLUX_DB: 'bench',
    });
    let source: KafkaSource | undefined;
    const sink = new InfluxSink(createWriter(config.influx!), { onWait: () => source?.heartbeat() ?? Promise.resolve() });
    const sinks: Sinks = STORE ? { influx: sink } : {};
    const pipeline = new Pipeline(config, sinks);
    source = new KafkaSource(kafkaClient(config.kafka!, quiet), config.kafka!, pipeline, quiet);
    sinks.alerts = source.alertSink;
    sinks.deadLetters = source.deadLetterSink;
    // the mock broker holds a new group's first join for ~3 s: measure from membership on
    const joined = new Promise<void>((resolve) => source!.consumer.on(source!.consumer.events.GROUP_JOIN, () => resolve()));
    await source.start();
    await joined;
    return { pipeline, source, sink };
  };
  const full = await runPipeline('full');
  const process0 = full.pipeline.process.bind(full.pipeline);
  full.pipeline.process = (chunk) => {
    if (firstAt < 0) firstAt = performance.now();
    return process0(chunk);
  };
  let fullMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    full.source.consumer.pause([{ topic: 'full' }]);
    await produceRound('full', r);
    firstAt = -1;
    full.source.consumer.resume([{ topic: 'full' }]);
    await until(() => full.source.committed >= (r + 1) * ROUND, 'pipeline round');
    fullMs += performance.now() - firstAt;
  }
  const fullRate = (ROUNDS * ROUND) / (fullMs / 1000);
  const fullTotals = full.pipeline.detector.totals();
  await full.source.stop();
  await full.source.disconnect();
  log(`  full pipeline:         ${Math.round(fullRate).toLocaleString('en')} msg/s (${fullTotals.alerts ? Object.values(fullTotals.alerts).reduce((a, b) => a + b, 0) : 0} alerts, ${full.pipeline.totals.pointsWritten} points)`);

  // (c) latency at half the full rate: produce continuously at that rate
  const lat = await runPipeline('lat');
  const latencies: number[] = [];
  lat.pipeline.onStored = (chunk, alerts) => {
    const now = Date.now();
    const byOffset = new Map(chunk.map((m) => [`${m.origin.partition}/${m.origin.offset}`, m.arrival]));
    for (const a of alerts) {
      const t = byOffset.get(`${a.origin.partition}/${a.origin.offset}`);
      if (t !== undefined) latencies.push(now - t);
    }
    for (const m of chunk) latencies.push(now - m.arrival); // every event's stored latency too
  };
  const target = fullRate / 2;
  // stay inside what the mock broker keeps per partition (~26k messages), consumer lag included
  const seconds = Math.min(10, (PARTITIONS * 15_000) / target);
  const t0 = Date.now();
  let sent = 0;
  while (Date.now() - t0 < seconds * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * target);
    if (due > sent) {
      const n = Math.min(due - sent, 2000);
      const messages = Array.from({ length: n }, (_, i) => all[(sent + i) % all.length]);
      await producer.send({ topic: 'lat', messages });
      sent += n;
    } else await new Promise((res) => setTimeout(res, 5));
  }
  await until(() => lat.source.committed >= sent, 'latency run');
  await lat.source.stop();
  await lat.source.disconnect();
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];

  await producer.disconnect();
  await mock.stop();
  await influx.stop();

  const report = {
    benchmark: 'pipeline',
    influx: STORE,
    node: process.version,
    messages: ROUNDS * ROUND,
    partitions: PARTITIONS,
    bare: { messagesPerSec: Math.round(bareRate) },
    full: { messagesPerSec: Math.round(fullRate), pointsWritten: full.pipeline.totals.pointsWritten },
    ratio: Number((fullRate / bareRate).toFixed(3)),
    latency: { rate: Math.round(target), messages: sent, samples: latencies.length, p50Ms: p(0.5), p99Ms: p(0.99), maxMs: latencies[latencies.length - 1] },
    targets: { ratio: 0.85, p99Ms: 250 },
  };
  if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    log(`  ratio:                 ${report.ratio}`);
    log(`  at ${report.latency.rate.toLocaleString('en')} msg/s: event → stored p50 ${report.latency.p50Ms} ms, p99 ${report.latency.p99Ms} ms (${report.latency.samples} samples)`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:pipeline: ${(e as Error).stack}\n`);
  process.exit(1);
});
