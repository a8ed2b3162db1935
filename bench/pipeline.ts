// bench:pipeline — against one local Kafka-protocol broker (librdkafka's mock cluster)
// and a local InfluxDB 1.x, in one run: (a) a bare kafkajs consumer that only counts
// messages, (b) the full pipeline (core, alert policy, InfluxDB writes, alert topic,
// DLQ, offsets committed after storage). Then (c) the full pipeline fed at half its
// measured rate, for the p99 latency from an event's produce time to its results being
// stored.
//
// The mock broker keeps only the newest ~20k messages per partition, so data is
// produced in rounds that fit while the consumer is paused; each round is timed from
// its first fetched batch to "all counted" (bare) or "all stored and committed"
// (pipeline), so both sides are measured the same way. In (c) the feeder (in this
// process) holds back when the pipeline lags by more than half of that bound, and says
// for how long (then the pipeline did not keep up).
//
// Where the CPU went: for each part, the CPU seconds of this process (consumer or
// pipeline, plus the feeder in (c)), of the broker and of influxd per second of the part
// (1.0 = one core busy), and of the rest of the machine (other work sharing the cores).
//
//   npm run bench:pipeline [-- --json --rounds 5 --per-partition 12000 --no-influx]
//   latency only: npm run bench:pipeline -- --latency-only --rate 30000 [--seconds 10 --linger-ms 50]

import { parseArgs } from 'node:util';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { resolveConfig } from '../src/config';
import { createFleet } from '../src/ingest/simulator';
import { KafkaSource, kafkaClient } from '../src/ingest/kafka';
import { Pipeline, Sinks } from '../src/pipeline';
import { createWriter, InfluxSink } from '../src/sinks/influx';
import { startKafkaMock } from '../test/support/kafka';
import { startInfluxd } from '../test/support/influxdb';
import { childPid, cpuSeconds, machineBusySeconds } from './proc';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    rounds: { type: 'string' },
    'per-partition': { type: 'string' },
    'no-influx': { type: 'boolean' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    'latency-only': { type: 'boolean' },
    'linger-ms': { type: 'string' },
  },
});
/** --no-influx: the same pipeline storing nothing, to show what InfluxDB costs. */
const STORE = !values['no-influx'];
const ROUNDS = Number(values.rounds ?? 5);
const PARTITIONS = 4;
const PER_PARTITION = Number(values['per-partition'] ?? 12_000);
const ROUND = PARTITIONS * PER_PARTITION;
/** The latency run: feed rate (default: half the full pipeline's measured rate) and length. */
const RATE = values.rate === undefined ? undefined : Number(values.rate);
const SECONDS = Number(values.seconds ?? 10);
/** --latency-only (needs --rate): skip the throughput rounds. */
const LATENCY_ONLY = !!values['latency-only'];
/**
 * The latency run's feeder sends what is due every --linger-ms (as a producer with
 * linger.ms does). It matters with this broker: librdkafka's mock answers a fetch with at
 * most one record batch per partition, so a consumer reads one producer request's worth
 * per partition per fetch, however much is waiting (a real broker returns up to
 * max.partition.fetch.bytes). Tiny requests would make the consumer lag for the broker's
 * sake; the event's clock starts at its produce request (its Kafka timestamp).
 */
const LINGER_MS = Number(values['linger-ms'] ?? 50);
if (LATENCY_ONLY && RATE === undefined) throw new Error('--latency-only needs --rate');
const log = (s: string) => {
  if (!values.json) process.stderr.write(s + '\n');
};
const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => process.stderr.write(m + '\n') };
const fmt = (n: number) => Math.round(n).toLocaleString('en');

async function until(done: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} did not finish within ${ms / 1000} s`);
    await new Promise((res) => setTimeout(res, 1));
  }
}

// ---- CPU per process --------------------------------------------------------------------

interface CpuSplit {
  /** cores (CPU seconds per second) */
  node: number;
  broker: number;
  influxd: number;
  /** the latency run's feeder process */
  feeder?: number;
  /** everything else on the machine (other work sharing the cores) */
  other: number;
}

function cpuMeter(pids: { broker?: number; influxd?: number; feeder?: number }) {
  const read = () => {
    const c = process.cpuUsage();
    return { t: performance.now(), node: (c.user + c.system) / 1e6, broker: cpuSeconds(pids.broker) ?? NaN, influxd: cpuSeconds(pids.influxd) ?? NaN, feeder: pids.feeder ? (cpuSeconds(pids.feeder) ?? NaN) : 0, machine: machineBusySeconds() ?? NaN };
  };
  let busy = 0;
  let acc = { node: 0, broker: 0, influxd: 0, feeder: 0, machine: 0 };
  let from: ReturnType<typeof read> | undefined;
  return {
    /** count CPU from now… */
    start() {
      from = read();
    },
    /** …to now (several start/stop spans add up) */
    stop() {
      const to = read();
      const f = from!;
      busy += (to.t - f.t) / 1000;
      acc = { node: acc.node + to.node - f.node, broker: acc.broker + to.broker - f.broker, influxd: acc.influxd + to.influxd - f.influxd, feeder: acc.feeder + to.feeder - f.feeder, machine: acc.machine + to.machine - f.machine };
    },
    split(): CpuSplit {
      const r = (x: number) => Number((x / busy).toFixed(2));
      const split: CpuSplit = { node: r(acc.node), broker: r(acc.broker), influxd: r(acc.influxd), other: r(Math.max(0, acc.machine - acc.node - acc.broker - acc.influxd - acc.feeder)) };
      if (pids.feeder) split.feeder = r(acc.feeder);
      return split;
    },
  };
}
const cpuText = (c: CpuSplit) => `CPU in cores: node ${c.node}, broker ${c.broker}, influxd ${c.influxd}${c.feeder !== undefined ? `, feeder ${c.feeder}` : ''}, other work ${c.other}`;

async function main() {
  const mock = await startKafkaMock({ topics: [`bare:${PARTITIONS}`, `full:${PARTITIONS}`, `lat:${PARTITIONS}`, 'full.dlq:1', 'full.alerts:1', 'lat.dlq:1', 'lat.alerts:1'] });
  const influx = await startInfluxd();
  await influx.query('CREATE DATABASE bench');
  const pids = { broker: childPid('kafka-mock'), influxd: childPid('influxd') };
  const kafka = new Kafka({ clientId: 'bench', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();

  // the messages: a simulated fleet with attacks; arrival time travels in the line
  const total = ROUND * ROUNDS;
  log(`generating ${fmt(total)} messages…`);
  const fleet = createFleet({ devices: 2000, hours: 48, seed: 'bench-pipeline', arrivalField: true });
  const all: { key: string; value: Buffer }[] = [];
  for (let ev = fleet.next(); ev && all.length < total; ev = fleet.next()) all.push({ key: ev.deviceId, value: Buffer.from(ev.line) });

  const produceRound = async (topic: string, r: number) => {
    const slice = all.slice(r * ROUND, (r + 1) * ROUND);
    for (let i = 0; i < slice.length; i += 4000) await producer.send({ topic, messages: slice.slice(i, i + 4000) });
  };

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

  let firstAt = -1;
  /** the CPU meters count from the first fetched batch of a round, as the rates do */
  let onFirst = () => undefined as void;
  let bare: { messagesPerSec: number; cpu: CpuSplit } | undefined;
  let full: { messagesPerSec: number; pointsWritten: number; alerts: number; cpu: CpuSplit } | undefined;
  if (!LATENCY_ONLY) {
    // (a) bare consumer
    let counted = 0;
    const consumer = kafka.consumer({ groupId: 'bare' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'bare', fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (firstAt < 0) {
          firstAt = performance.now();
          onFirst();
        }
        counted += batch.messages.length;
      },
    });
    let bareMs = 0;
    const cpu = cpuMeter(pids);
    for (let r = 0; r < ROUNDS; r++) {
      consumer.pause([{ topic: 'bare' }]);
      await produceRound('bare', r);
      firstAt = -1;
      onFirst = () => cpu.start();
      consumer.resume([{ topic: 'bare' }]);
      await until(() => counted >= (r + 1) * ROUND, 'bare consumer round');
      bareMs += performance.now() - firstAt;
      cpu.stop();
    }
    await consumer.disconnect();
    bare = { messagesPerSec: Math.round((ROUNDS * ROUND) / (bareMs / 1000)), cpu: cpu.split() };
    log(`  bare kafkajs consumer: ${fmt(bare.messagesPerSec)} msg/s (${cpuText(bare.cpu)})`);

    // (b) full pipeline
    const f = await runPipeline('full');
    const score0 = f.pipeline.score.bind(f.pipeline);
    f.pipeline.score = (chunk) => {
      if (firstAt < 0) {
        firstAt = performance.now();
        onFirst();
      }
      return score0(chunk);
    };
    let fullMs = 0;
    const fcpu = cpuMeter(pids);
    for (let r = 0; r < ROUNDS; r++) {
      f.source.consumer.pause([{ topic: 'full' }]);
      await produceRound('full', r);
      firstAt = -1;
      onFirst = () => fcpu.start();
      f.source.consumer.resume([{ topic: 'full' }]);
      await until(() => f.source.committed >= (r + 1) * ROUND, 'pipeline round');
      fullMs += performance.now() - firstAt;
      fcpu.stop();
    }
    const totals = f.pipeline.detector.totals();
    await f.source.stop();
    await f.source.disconnect();
    full = {
      messagesPerSec: Math.round((ROUNDS * ROUND) / (fullMs / 1000)),
      pointsWritten: f.pipeline.totals.pointsWritten,
      alerts: totals.alerts ? Object.values(totals.alerts).reduce((a, b) => a + b, 0) : 0,
      cpu: fcpu.split(),
    };
    log(`  full pipeline:         ${fmt(full.messagesPerSec)} msg/s (${full.alerts} alerts, ${full.pointsWritten} points; ${cpuText(full.cpu)})`);
  }

  // (c) latency at half the full rate (or --rate): produce continuously at that rate for
  // --seconds, and time every event from its produce time (its Kafka timestamp) to the
  // moment its chunk was scored and the moment its results were stored (every sink
  // acknowledged it and everything before it)
  const lat = await runPipeline('lat');
  const latencies: number[] = [];
  const toScored: number[] = [];
  const toStored: number[] = [];
  const scoredAt = new WeakMap<object, number>();
  const score1 = lat.pipeline.score.bind(lat.pipeline);
  let chunks = 0;
  lat.pipeline.score = (chunk) => {
    const now = Date.now();
    chunks++;
    for (const m of chunk) toScored.push(now - m.arrival);
    const scored = score1(chunk);
    scoredAt.set(scored.messages, now);
    return scored;
  };
  lat.pipeline.onStored = (chunk, alerts) => {
    const now = Date.now();
    const byOffset = new Map(chunk.map((m) => [`${m.origin.partition}/${m.origin.offset}`, m.arrival]));
    for (const a of alerts) {
      const t = byOffset.get(`${a.origin.partition}/${a.origin.offset}`);
      if (t !== undefined) latencies.push(now - t);
    }
    for (const m of chunk) latencies.push(now - m.arrival); // every event's stored latency too
    const at = scoredAt.get(chunk);
    if (at !== undefined) for (let i = 0; i < chunk.length; i++) toStored.push(now - at);
  };
  const target = RATE ?? full!.messagesPerSec / 2;
  // the feeder is a process of its own (bench/feed.ts); it holds back while the pipeline
  // lags by more than 6,000 messages a partition (the broker keeps ~20,000)
  const maxLag = PARTITIONS * 6000;
  const feeder = fork(join(__dirname, 'feed.ts'), [mock.bootstrap, 'lat', String(target), String(LINGER_MS), String(Math.ceil(target * (SECONDS + 1)))], { execArgv: ['--import', 'tsx'] });
  let sent = 0;
  let fed: { sent: number; heldMs: number; behindMs: number; requests: number; seconds: number } | undefined;
  const feederDone = new Promise<void>((resolve, reject) => {
    feeder.on('message', (m: { ready?: boolean; sent?: number; done?: boolean; heldMs: number; behindMs: number; requests: number; seconds: number }) => {
      if (m.done) {
        fed = { sent: m.sent!, heldMs: m.heldMs, behindMs: m.behindMs, requests: m.requests, seconds: m.seconds };
        resolve();
      } else if (m.sent !== undefined) sent = m.sent;
    });
    feeder.on('exit', (code) => (code ? reject(new Error(`the feeder exited with ${code}`)) : resolve()));
  });
  const ready = new Promise<void>((resolve) => feeder.once('message', () => resolve()));
  await Promise.race([ready, feederDone, new Promise((_, reject) => setTimeout(() => reject(new Error('the feeder was not ready within 120 s')), 120_000).unref())]);
  const lcpu = cpuMeter({ ...pids, feeder: feeder.pid });
  lcpu.start();
  feeder.send({ go: true });
  const t0 = Date.now();
  let held = false;
  let shown = t0;
  while (Date.now() - t0 < SECONDS * 1000) {
    const hold = sent - lat.source.committed > maxLag;
    if (hold !== held) feeder.send({ hold: (held = hold) });
    await new Promise((res) => setTimeout(res, 10));
    if (Date.now() - shown >= 1000) {
      shown = Date.now();
      log(`    ${Math.round((shown - t0) / 1000)} s: ${fmt(sent)} sent, ${fmt(lat.source.committed)} stored and committed${held ? ' (feeder holding back)' : ''}`);
    }
  }
  feeder.send({ stop: true });
  await Promise.race([feederDone, new Promise((_, reject) => setTimeout(() => reject(new Error('the feeder did not stop within 60 s')), 60_000).unref())]);
  sent = fed!.sent;
  const heldMs = fed!.heldMs;
  const feedSeconds = fed!.seconds;
  const sends = fed!.requests;
  await until(() => lat.source.committed >= sent, 'latency run');
  lcpu.stop();
  // only now: the meter reads the feeder's CPU time from its process, and its IPC channel
  // would keep this process alive
  feeder.kill();
  await lat.source.stop();
  await lat.source.disconnect();
  const p = (xs: number[], q: number) => {
    xs.sort((a, b) => a - b);
    return xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  };

  await producer.disconnect();
  await mock.stop();
  await influx.stop();

  const report = {
    benchmark: 'pipeline',
    influx: STORE,
    node: process.version,
    messages: ROUNDS * ROUND,
    partitions: PARTITIONS,
    bare,
    full,
    ratio: bare && full ? Number((full.messagesPerSec / bare.messagesPerSec).toFixed(3)) : undefined,
    latency: {
      rate: Math.round(target),
      seconds: SECONDS,
      lingerMs: LINGER_MS,
      messages: sent,
      achievedRate: Math.round(sent / feedSeconds),
      /** time the feeder held back because the pipeline lagged too far */
      feederHeldMs: heldMs,
      /** schedule time the feeder dropped because it could not produce that fast */
      feederBehindMs: fed!.behindMs,
      /** messages per producer request (each becomes one record batch per partition) */
      messagesPerSend: Math.round(sent / sends),
      /** messages per scored chunk (a chunk is at most one fetched batch of one partition) */
      messagesPerChunk: Math.round(sent / chunks),
      samples: latencies.length,
      p50Ms: p(latencies, 0.5),
      p99Ms: p(latencies, 0.99),
      maxMs: latencies[latencies.length - 1],
      producedToScored: { p50Ms: p(toScored, 0.5), p99Ms: p(toScored, 0.99) },
      scoredToStored: { p50Ms: p(toStored, 0.5), p99Ms: p(toStored, 0.99) },
      cpu: lcpu.split(),
    },
    targets: { ratio: 0.85, p99Ms: 250 },
  };
  if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    if (report.ratio !== undefined) log(`  ratio:                 ${report.ratio}`);
    const l = report.latency;
    log(`  at ${fmt(l.rate)} msg/s for ${SECONDS} s (${fmt(l.achievedRate)} sent/s): event → stored p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms (${l.samples} samples)`);
    log(`    produced → scored p50 ${l.producedToScored.p50Ms} / p99 ${l.producedToScored.p99Ms} ms, scored → stored p50 ${l.scoredToStored.p50Ms} / p99 ${l.scoredToStored.p99Ms} ms${heldMs ? `; the feeder held back ${heldMs} ms: the pipeline fell behind` : ''}${fed!.behindMs ? `; the feeder could not produce that fast (${Math.round(fed!.behindMs)} ms of its schedule dropped)` : ''}`);
    log(`    ${l.messagesPerSend} messages per producer request, ${l.messagesPerChunk} per scored chunk; ${cpuText(l.cpu)}`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:pipeline: ${(e as Error).stack}\n`);
  process.exit(1);
});
