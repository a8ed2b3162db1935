// bench:scaleout — what scale-out costs and gives, in one run:
//  (1) snapshot and restore of 100,000 devices in process with the WASM core: export +
//      encode of each partition's device state, decode + import into a fresh core (median
//      and min of several repetitions), the bytes per device, and a check that the
//      restored core describes a sample of devices exactly as the original does;
//  (2) the same state through Kafka: StateTopic.save then StateTopic.load of one
//      partition snapshot against a local Kafka-protocol broker (librdkafka's mock
//      cluster), with the time the load spends joining its reader group apart;
//  (3) throughput of 1 vs 2 detector instances (`edge-sentinel run` child processes, one
//      consumer group, no InfluxDB) on an 8-partition topic that a feeder fills with
//      simulated telemetry as fast as it can: consumed events/s over a fixed window from
//      the group's committed offsets, once the group is stable, with the feeder's rate in
//      the same window and where the CPU went.
//
// The broker, the feeder and the instances share the machine's cores: (3) says how much
// a second instance gives on this machine, not how far a cluster of separate machines
// scales. The mock keeps only ~5 MiB per partition (older data dropped silently), so the
// feeder holds back when the consumers fall that far behind (it says for how long), and
// the Kafka round trip (2) uses a state small enough to fit. Each part says how many
// cores other processes on the machine kept busy meanwhile, and warns when they did.
//
//   npm run bench:scaleout [-- --json]
//   options: --devices N (100000) --partitions N (4) --reps N (5) --sample N (2000)
//            --state-devices N (10000) --kafka-reps N (3)
//            --window S (20) --feed-devices N (10000) --feed-pool N (1000000 messages
//            generated before the runs) --max-lag N (10000 per partition)

import { isDeepStrictEqual, parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { Kafka, logLevel, type Admin, type Consumer, type ConsumerRunConfig, type Producer } from 'kafkajs';
import { WasmCore } from '../src/core/wasm';
import { decodeSnapshot, encodeSnapshot, type PartitionState } from '../src/core/snapshot';
import { hashString } from '../src/core/reference/hash';
import { createFleet } from '../src/ingest/simulator';
import { StateTopic } from '../src/scaleout/state-topic';
import { MOCK_LOG_LIMITS, startKafkaMock, type KafkaMock } from '../test/support/kafka';
import { DetectorProcess, eventually, startDetector } from '../test/support/process';
import { reapOnExit, waitExit } from '../test/support/ports';
import { childPid, cpuSeconds, machineBusySeconds } from './proc';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    devices: { type: 'string' },
    partitions: { type: 'string' },
    reps: { type: 'string' },
    sample: { type: 'string' },
    'state-devices': { type: 'string' },
    'kafka-reps': { type: 'string' },
    window: { type: 'string' },
    'feed-devices': { type: 'string' },
    'max-lag': { type: 'string' },
    'feed-pool': { type: 'string' },
  },
});
const num = (name: keyof typeof values, dflt: number, min = 1): number => {
  const v = values[name] === undefined ? dflt : Number(values[name]);
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${String(values[name])}`);
  return v;
};
const DEVICES = num('devices', 100_000);
const PARTITIONS = num('partitions', 4);
const REPS = num('reps', 5);
const SAMPLE = num('sample', 2000);
const STATE_DEVICES = num('state-devices', 10_000);
const KAFKA_REPS = num('kafka-reps', 3);
const WINDOW_MS = num('window', 20) * 1000;
const FEED_DEVICES = num('feed-devices', 10_000);
const MAX_LAG = num('max-lag', 10_000, 100);
const FEED_POOL = num('feed-pool', 1_000_000);
/** Partitions of the telemetry topic in (3). */
const TOPIC_PARTITIONS = 8;
const SESSION_TIMEOUT_MS = 8000;
/** "Stable": nothing moved for longer than a session timeout. */
const SETTLE_MS = SESSION_TIMEOUT_MS + 2000;

const log = (s: string) => {
  if (!values.json) process.stderr.write(s + '\n');
};
const quiet = { info: () => undefined, warn: (m: string) => log(`  (state topic: ${m})`) };
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x: number) => Number(x.toFixed(1));
const stat = (xs: number[]) => ({ medianMs: ms(median(xs)), minMs: ms(Math.min(...xs)) });
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

// ---- (1) snapshot and restore in process -----------------------------------------------

/** A WASM core that has seen `devices` distinct devices of the bench fleet, spread over `partitions`. */
function fill(devices: number, partitions: number, seed: string): { core: WasmCore; messages: number; capacity: number } {
  // twice the devices: two-choice buckets of 8 slots still evict now and then when fuller
  const capacity = Math.max(1024, devices * 2);
  const core = new WasmCore({ capacity });
  const fleet = createFleet({ devices, hours: 48, seed, profile: 'bench' });
  const pending: { bytes: Uint8Array; arrival: number }[][] = Array.from({ length: partitions }, () => []);
  const flush = () => {
    for (let p = 0; p < partitions; p++) {
      core.setPartition(p);
      for (const m of pending[p]) {
        if (!core.add(m.bytes, m.arrival)) {
          core.score();
          core.add(m.bytes, m.arrival);
        }
      }
      core.score();
      pending[p] = [];
    }
  };
  let messages = 0;
  for (let ev = fleet.next(); ev; ev = fleet.next()) {
    pending[hashString(ev.deviceId) % partitions].push({ bytes: Buffer.from(ev.line), arrival: ev.arrivalTs });
    if (++messages % 32_768 === 0) {
      flush();
      if (core.stats().devices >= devices) break;
    }
  }
  flush();
  const s = core.stats();
  if (s.devices !== devices) throw new Error(`filling the core: ${s.devices} devices held, wanted ${devices} (${s.evictions} evicted)`);
  return { core, messages, capacity };
}

/** What describe() says of a device, without the table slot (a fresh core may place it elsewhere). */
function described(core: WasmCore, deviceId: string): unknown {
  const slot = core.findDevice(deviceId);
  if (slot < 0) return undefined;
  const { slot: _slot, ...rest } = core.describe(slot)!;
  return rest;
}

function snapshotInProcess() {
  log(`(1) snapshot and restore of ${fmt(DEVICES)} devices in process (WASM core, ${PARTITIONS} partition${PARTITIONS > 1 ? 's' : ''}, ${REPS} repetitions)`);
  const t0 = performance.now();
  const { core, messages, capacity } = fill(DEVICES, PARTITIONS, 'bench-scaleout');
  log(`  filled from ${fmt(messages)} simulated messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const per = Array.from({ length: PARTITIONS }, () => ({ export: [] as number[], encode: [] as number[], decode: [] as number[], import: [] as number[], devices: 0, credentials: 0, bytes: 0 }));
  const totals = { snapshot: [] as number[], restore: [] as number[] };
  let ids: string[] = [];
  let verified = Infinity;
  for (let rep = 0; rep < REPS; rep++) {
    const snapshots: Uint8Array[] = [];
    let snap = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const a = performance.now();
      const state = core.exportPartition(p);
      const b = performance.now();
      const bytes = encodeSnapshot(state, BigInt(messages));
      const c = performance.now();
      per[p].export.push(b - a);
      per[p].encode.push(c - b);
      per[p].devices = state.ids.length;
      per[p].credentials = state.credSeen.length;
      per[p].bytes = bytes.length;
      snap += c - a;
      snapshots.push(bytes);
      if (rep === 0) ids = ids.concat(state.ids);
    }
    totals.snapshot.push(snap);

    const fresh = new WasmCore({ capacity });
    let restore = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const a = performance.now();
      const { state } = decodeSnapshot(snapshots[p]);
      const b = performance.now();
      fresh.importPartition(state);
      const c = performance.now();
      per[p].decode.push(b - a);
      per[p].import.push(c - b);
      restore += c - a;
    }
    totals.restore.push(restore);

    // the restored core must know every device, and describe a sample exactly as the original
    const held = fresh.stats().devices;
    if (held !== DEVICES) throw new Error(`restored core holds ${held} devices, the original ${DEVICES}`);
    if (ids.length !== DEVICES) throw new Error(`the snapshots name ${ids.length} devices, the core held ${DEVICES}`);
    const step = Math.max(1, Math.floor(ids.length / SAMPLE));
    let checked = 0;
    for (let i = (rep * 7919) % step; i < ids.length; i += step, checked++) {
      const want = described(core, ids[i]);
      const got = described(fresh, ids[i]);
      if (want === undefined || !isDeepStrictEqual(got, want)) {
        throw new Error(`restored device ${ids[i]} differs from the original:\n  original ${JSON.stringify(want)}\n  restored ${JSON.stringify(got)}`);
      }
    }
    verified = Math.min(verified, checked);
    fresh.destroy();
  }
  core.destroy();

  const bytes = per.reduce((s, p) => s + p.bytes, 0);
  const result = {
    devices: DEVICES,
    partitions: PARTITIONS,
    messages,
    reps: REPS,
    bytes,
    bytesPerDevice: Number((bytes / DEVICES).toFixed(1)),
    snapshot: stat(totals.snapshot),
    restore: stat(totals.restore),
    perPartition: per.map((p, i) => ({
      partition: i,
      devices: p.devices,
      credentials: p.credentials,
      bytes: p.bytes,
      export: stat(p.export),
      encode: stat(p.encode),
      decode: stat(p.decode),
      import: stat(p.import),
    })),
    verifiedDevicesPerRep: verified,
  };
  log(`  partition  devices     bytes   export  encode  decode  import   (median ms; min in the JSON)`);
  for (const p of result.perPartition) {
    log(`  ${String(p.partition).padStart(9)} ${fmt(p.devices).padStart(8)} ${mb(p.bytes).padStart(7)} MB ${String(p.export.medianMs).padStart(7)} ${String(p.encode.medianMs).padStart(7)} ${String(p.decode.medianMs).padStart(7)} ${String(p.import.medianMs).padStart(7)}`);
  }
  log(`  all ${fmt(DEVICES)} devices: ${mb(bytes)} MB (${result.bytesPerDevice} bytes/device)`);
  log(`    snapshot (export + encode): median ${result.snapshot.medianMs} ms, min ${result.snapshot.minMs} ms`);
  log(`    restore (decode + import into a fresh core): median ${result.restore.medianMs} ms, min ${result.restore.minMs} ms`);
  log(`  verified: every repetition restored all ${fmt(DEVICES)} devices; at least ${fmt(verified)} of them per repetition described identically`);
  return result;
}

// ---- (2) the same through Kafka ----------------------------------------------------------

interface LoadMarks {
  joinedAt?: number;
  firstBatchAt?: number;
  lastBatchAt?: number;
}

/** The client StateTopic is given, with its reader consumer's group join and batches timed. */
function timedKafka(kafka: Kafka, marks: () => LoadMarks): Kafka {
  return new Proxy(kafka, {
    get(target, prop) {
      if (prop === 'consumer') {
        return (cfg: Parameters<Kafka['consumer']>[0]): Consumer => {
          const c = target.consumer(cfg);
          const m = marks();
          c.on(c.events.GROUP_JOIN, () => (m.joinedAt ??= performance.now()));
          const run = c.run.bind(c);
          c.run = (o?: ConsumerRunConfig) => {
            const inner = o?.eachBatch;
            return run({
              ...o,
              eachBatch: inner
                ? async (p) => {
                    m.firstBatchAt ??= performance.now();
                    await inner(p);
                    m.lastBatchAt = performance.now();
                  }
                : undefined,
            });
          };
          return c;
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function snapshotThroughKafka(mock: KafkaMock, stateTopic: string) {
  log(`\n(2) one partition snapshot through Kafka (StateTopic.save, then StateTopic.load by a new reader), ${KAFKA_REPS} repetitions`);
  const { core } = fill(STATE_DEVICES, 1, 'bench-scaleout-state');
  const state: PartitionState = core.exportPartition(0);
  const bytes = encodeSnapshot(state, 0n);
  core.destroy();
  // chunks are record batches of their own, each with a little overhead
  if (bytes.length > MOCK_LOG_LIMITS.maxBytesPerPartition * 0.9) {
    throw new Error(`a ${mb(bytes.length)} MB snapshot (${fmt(STATE_DEVICES)} devices) does not fit the mock broker's ${MOCK_LOG_LIMITS.maxBytesPerPartition >> 20} MiB per partition: lower --state-devices`);
  }
  const why = `${fmt(STATE_DEVICES)} devices (${mb(bytes.length)} MB)${DEVICES <= STATE_DEVICES ? '' : `, not ${fmt(DEVICES)}`}: the mock broker keeps ${MOCK_LOG_LIMITS.maxBytesPerPartition >> 20} MiB per partition and silently drops older data, and ${fmt(DEVICES)} devices are ~${mb((bytes.length / STATE_DEVICES) * DEVICES)} MB`;
  log(`  ${why}`);

  const kafka = new Kafka({ clientId: 'bench-scaleout', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  let marks: LoadMarks = {};
  const topic = new StateTopic(timedKafka(kafka, () => marks), producer, stateTopic, 'bench-scaleout', quiet);
  await topic.init();
  const runs: { saveMs: number; loadMs: number; joinMs: number; fetchMs: number }[] = [];
  try {
    for (let rep = 0; rep < KAFKA_REPS; rep++) {
      // source partition `rep` lives on state partition `rep`: each load reads one snapshot
      marks = {};
      const a = performance.now();
      await topic.save(rep, bytes, 0n);
      const b = performance.now();
      const found = await topic.load([rep]);
      const c = performance.now();
      const got = found.get(rep);
      if (!got || Buffer.compare(Buffer.from(got.bytes), Buffer.from(bytes)) !== 0) throw new Error(`StateTopic.load did not give back the snapshot saved (repetition ${rep + 1})`);
      decodeSnapshot(got.bytes);
      if (marks.joinedAt === undefined || marks.lastBatchAt === undefined) throw new Error('the state reader was not seen joining and fetching');
      runs.push({ saveMs: b - a, loadMs: c - b, joinMs: marks.joinedAt - b, fetchMs: marks.lastBatchAt - marks.joinedAt });
    }
  } finally {
    await producer.disconnect();
  }
  const pick = (k: keyof (typeof runs)[0]) => stat(runs.map((r) => r[k]));
  const result = {
    devices: STATE_DEVICES,
    bytes: bytes.length,
    reps: KAFKA_REPS,
    save: { ...pick('saveMs'), mbPerSec: Number((bytes.length / 1e6 / (median(runs.map((r) => r.saveMs)) / 1000)).toFixed(1)) },
    load: pick('loadMs'),
    loadJoin: pick('joinMs'),
    loadFetch: { ...pick('fetchMs'), mbPerSec: Number((bytes.length / 1e6 / (median(runs.map((r) => r.fetchMs)) / 1000)).toFixed(1)) },
    why100kNotSent: why,
  };
  log(`  save: median ${result.save.medianMs} ms (min ${result.save.minMs}), ${result.save.mbPerSec} MB/s`);
  log(`  load: median ${result.load.medianMs} ms (min ${result.load.minMs}), of which`);
  log(`    joining the reader's new consumer group: median ${result.loadJoin.medianMs} ms (the broker holds a new group's first join ~3 s, as Kafka's group.initial.rebalance.delay.ms does by default)`);
  log(`    fetching the snapshot once joined: median ${result.loadFetch.medianMs} ms, ${result.loadFetch.mbPerSec} MB/s`);
  return result;
}

// ---- (3) throughput of 1 vs 2 instances ---------------------------------------------------

const running: DetectorProcess[] = [];

function ownedPartitions(d: DetectorProcess): number[] {
  const lines = d.lines.filter((l) => /owning partitions/.test(l));
  const last = lines[lines.length - 1];
  if (!last) return [];
  return (/owning partitions ([\d, ]+) of/.exec(last)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
}
const assignments = (ds: DetectorProcess[]) => ds.map((d) => d.lines.filter((l) => /owning partitions/.test(l)).length).reduce((a, b) => a + b, 0);

/** Every instance owns some partitions, together all of them, and nothing moved for SETTLE_MS. */
async function settled(ds: DetectorProcess[]): Promise<void> {
  let seen = '';
  let since = 0;
  try {
    await eventually(
      () => {
        const owned = ds.map(ownedPartitions);
        const split = owned.every((o) => o.length > 0) && new Set(owned.flat()).size === TOPIC_PARTITIONS && owned.flat().length === TOPIC_PARTITIONS;
        const now = `${owned.map((o) => o.join(',')).join('|')}#${assignments(ds)}`;
        if (!split || now !== seen) {
          seen = now;
          since = Date.now();
          return false;
        }
        return Date.now() - since > SETTLE_MS;
      },
      120_000,
      `partitions split between ${ds.length} instance(s), and stable`,
    );
  } catch (e) {
    const tails = ds.map((d, i) => `instance ${i + 1}:\n${d.lines.filter((l) => !/ messages, /.test(l)).slice(-20).join('\n')}`);
    throw new Error(`${(e as Error).message}\n${tails.join('\n')}`);
  }
}

/**
 * The feeder's telemetry, generated before the runs so that the simulator's time is not
 * taken from the instances while they are measured: the lines in one buffer, their device
 * (as an index into `keys`) and arrival time. Both runs send the same stream (each to a
 * fresh topic and group); past its end the feeder generates on the fly.
 */
interface Pool {
  bytes: Buffer;
  starts: Uint32Array;
  device: Uint32Array;
  arrival: Float64Array;
  keys: Buffer[];
  count: number;
}
type FeedMessage = { key: Buffer; value: Buffer; timestamp: string };

function feedFleet() {
  return createFleet({ devices: FEED_DEVICES, hours: 48, seed: 'bench-scaleout-feed', profile: 'bench' });
}

function generatePool(count: number): Pool {
  const fleet = feedFleet();
  const parts: Buffer[] = [];
  const starts = new Uint32Array(count + 1);
  const device = new Uint32Array(count);
  const arrival = new Float64Array(count);
  const index = new Map<string, number>();
  const keys: Buffer[] = [];
  let size = 0;
  let n = 0;
  for (let ev = fleet.next(); ev && n < count; ev = fleet.next()) {
    const b = Buffer.from(ev.line);
    parts.push(b);
    starts[n] = size;
    size += b.length;
    let k = index.get(ev.deviceId);
    if (k === undefined) {
      index.set(ev.deviceId, (k = keys.length));
      keys.push(Buffer.from(ev.deviceId));
    }
    device[n] = k;
    arrival[n] = ev.arrivalTs;
    n++;
  }
  starts[n] = size;
  return { bytes: Buffer.concat(parts, size), starts, device, arrival, keys, count: n };
}

/** The pool's messages, then the same fleet generated on the fly from where the pool ends. */
function* feed(pool: Pool): Generator<FeedMessage> {
  for (let i = 0; i < pool.count; i++) {
    yield { key: pool.keys[pool.device[i]], value: pool.bytes.subarray(pool.starts[i], pool.starts[i + 1]), timestamp: String(pool.arrival[i]) };
  }
  const fleet = feedFleet();
  for (let i = 0; i < pool.count; i++) fleet.next();
  for (let ev = fleet.next(); ev; ev = fleet.next()) yield { key: Buffer.from(ev.deviceId), value: Buffer.from(ev.line), timestamp: String(ev.arrivalTs) };
}

/**
 * Produces the telemetry to `topic` as fast as it can (keyed by device id, a few sends in
 * flight), holding back only while some partition's consumer lag exceeds MAX_LAG (the
 * mock would otherwise drop unread data). Watches for that drop too.
 */
class Feeder {
  acked = 0;
  heldMs = 0;
  maxLag = 0;
  lost: string | undefined;
  private stopping = false;
  private holding = false;
  private done: Promise<void> | undefined;
  private watching: Promise<void> | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly group: string,
    private readonly pool: Pool,
  ) {}

  /** Messages sent past the pre-generated pool (generated while measuring). */
  get live(): number {
    return Math.max(0, this.acked - this.pool.count);
  }

  start(): void {
    this.done = this.produce();
    this.watching = this.watch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([this.done, this.watching]);
  }

  private async produce(): Promise<void> {
    const stream = feed(this.pool);
    const inFlight = new Set<Promise<void>>();
    let failed: Error | undefined;
    while (!this.stopping && !failed) {
      if (this.holding) {
        const t = performance.now();
        await sleep(10);
        this.heldMs += performance.now() - t;
        continue;
      }
      const messages: FeedMessage[] = [];
      for (let i = 0; i < 2000; i++) {
        const m = stream.next();
        if (m.done) throw new Error('the feeder ran out of simulated telemetry: lower --window');
        messages.push(m.value);
      }
      const sent: Promise<void> = this.producer.send({ topic: this.topic, acks: -1, messages }).then(
        () => {
          this.acked += messages.length;
          inFlight.delete(sent);
        },
        (e: Error) => {
          failed = e;
          inFlight.delete(sent);
        },
      );
      inFlight.add(sent);
      if (inFlight.size >= 3) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failed) throw failed;
  }

  private async watch(): Promise<void> {
    while (!this.stopping) {
      const read = await Promise.all([this.admin.fetchTopicOffsets(this.topic), this.admin.fetchOffsets({ groupId: this.group, topics: [this.topic] })]).catch(() => undefined);
      if (!read) {
        await sleep(100); // a failed look (the group coordinator moving): look again
        continue;
      }
      const [ends, [committed]] = read;
      const at = new Map(committed.partitions.map((p) => [p.partition, Number(p.offset)]));
      let lag = 0;
      for (const e of ends) {
        const c = Math.max(0, at.get(e.partition) ?? 0);
        lag = Math.max(lag, Number(e.high) - c);
        if (Number(e.low) > c) this.lost ??= `partition ${e.partition}: the broker dropped offsets ${c}…${Number(e.low) - 1} before the group read them`;
      }
      this.maxLag = Math.max(this.maxLag, lag);
      this.holding = lag > MAX_LAG;
      await sleep(100);
    }
  }
}

/** What test/support/topics committedTotal sums, on a connected admin (milliseconds to read under load, not a new connection). */
async function committedSum(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return t.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
}

async function throughput(mock: KafkaMock, kafka: Kafka, pool: Pool, instances: number, topic: string) {
  const group = `${topic}-group`;
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();
  const ds: DetectorProcess[] = [];
  const start = () => {
    const d = startDetector(['run'], {
      KAFKA_BROKERS: mock.bootstrap,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      KAFKA_ALERT_TOPIC: `${topic}.alerts`,
      KAFKA_STATE_TOPIC: `${topic}.state`,
      KAFKA_FROM_BEGINNING: 'true',
      KAFKA_MAX_WAIT_MS: '200',
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      REPORT_INTERVAL_MS: '1000',
      API_PORT: '0',
    });
    reapOnExit(d.child);
    running.push(d);
    ds.push(d);
    return d;
  };
  const feeder = new Feeder(producer, admin, topic, group, pool);
  try {
    await start().waitFor(/owning partitions \d/, 60_000);
    feeder.start();
    for (let i = 1; i < instances; i++) start();
    await settled(ds);

    const pids = { broker: childPid('kafka-mock'), instances: ds.map((d) => d.child.pid) };
    // one instant: the group's committed total, what the feeder had sent, CPU used so far
    const mark = async () => {
      const a = performance.now();
      const committed = await committedSum(admin, group, topic);
      const t = performance.now();
      return { t, readMs: t - a, committed, produced: feeder.acked, live: feeder.live, held: feeder.heldMs, broker: cpuSeconds(pids.broker), instances: pids.instances.map(cpuSeconds), bench: process.cpuUsage(), machine: machineBusySeconds() };
    };
    const owned0 = ds.map(ownedPartitions);
    const moves0 = assignments(ds);
    const m0 = await mark();
    await sleep(WINDOW_MS);
    const m1 = await mark();
    const seconds = (m1.t - m0.t) / 1000;
    const moved = assignments(ds) !== moves0;
    await feeder.stop();
    if (feeder.lost) throw new Error(`the mock broker dropped unread telemetry (${feeder.lost}): lower --max-lag`);
    if (m1.committed - m0.committed <= 0) throw new Error(`nothing was committed in the window:\n${ds.map((d) => d.lines.slice(-10).join('\n')).join('\n')}`);

    const busy = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : Number(((b - a) / seconds).toFixed(2)));
    const benchCpu = (m1.bench.user + m1.bench.system - m0.bench.user - m0.bench.system) / 1e6;
    const ours = [busy(m0.broker, m1.broker), benchCpu / seconds, ...pids.instances.map((_, i) => busy(m0.instances[i], m1.instances[i]))];
    const machine = busy(m0.machine, m1.machine);
    // anything else running on the machine takes cores from the measurement: say how much
    const others = machine === undefined || ours.some((x) => x === undefined) ? undefined : Number(Math.max(0, machine - ours.reduce((a: number, b) => a + b!, 0)).toFixed(2));
    return {
      instances,
      partitionsOwned: owned0,
      windowSec: Number(seconds.toFixed(2)),
      /** Longest read of the committed offsets at either end of the window (its uncertainty). */
      offsetReadMs: Math.round(Math.max(m0.readMs, m1.readMs)),
      consumed: m1.committed - m0.committed,
      consumedPerSec: Math.round((m1.committed - m0.committed) / seconds),
      produced: m1.produced - m0.produced,
      producedPerSec: Math.round((m1.produced - m0.produced) / seconds),
      /** Of those, generated on the fly after the pre-generated pool ran out. */
      producedLive: m1.live - m0.live,
      feederHeldBackSec: Number(((m1.held - m0.held) / 1000).toFixed(2)),
      maxPartitionLag: feeder.maxLag,
      rebalancedInWindow: moved,
      /** CPU used in the window, in cores (CPU seconds per second). */
      /** CPU the instances spent per consumed event, summed over the instances (µs). */
      instanceCpuPerEventUs: ours.slice(2).some((x) => x === undefined) ? undefined : Number(((ours.slice(2).reduce((a: number, b) => a + b!, 0) / ((m1.committed - m0.committed) / seconds)) * 1e6).toFixed(1)),
      coresBusy: { broker: busy(m0.broker, m1.broker), feederAndBench: Number((benchCpu / seconds).toFixed(2)), instances: pids.instances.map((_, i) => busy(m0.instances[i], m1.instances[i])), machine, otherProcesses: others },
    };
  } finally {
    await feeder.stop().catch(() => undefined);
    for (const d of ds) if (d.child.exitCode === null) d.child.kill('SIGTERM');
    await Promise.all(ds.map((d) => waitExit(d.child, 20_000)));
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

function reportThroughput(r: Awaited<ReturnType<typeof throughput>>): void {
  const c = r.coresBusy;
  const cores = (s: number | undefined) => (s === undefined ? '?' : s.toFixed(2));
  log(`  ${r.instances} instance${r.instances > 1 ? 's' : ''} (partitions ${r.partitionsOwned.map((o) => o.join(',')).join(' | ')}): consumed ${fmt(r.consumedPerSec)} events/s over ${r.windowSec} s; feeder produced ${fmt(r.producedPerSec)}/s${r.producedLive ? ` (${fmt(r.producedLive)} generated on the fly)` : ''}, held back ${r.feederHeldBackSec} s (consumer lag over ${fmt(MAX_LAG)} on a partition)`);
  log(`    cores busy: broker ${cores(c.broker)}, feeder ${cores(c.feederAndBench)}, instance${r.instances > 1 ? 's' : ''} ${c.instances.map(cores).join(' + ')}; other processes ${cores(c.otherProcesses)}; the machine ${cores(c.machine)} of ${availableParallelism()}`);
  log(`    instance CPU per consumed event: ${r.instanceCpuPerEventUs ?? '?'} µs${r.instances > 1 ? ' (summed over the instances)' : ''}${r.rebalancedInWindow ? '  [a rebalance happened in the window]' : ''}`);
  if ((c.otherProcesses ?? 0) > 0.2) log(`    WARNING: other processes kept ${cores(c.otherProcesses)} cores busy during this window: the figures may be too low; run again on a quiet machine`);
}

// ---- main -----------------------------------------------------------------------------------

/** Cores that processes other than this one and the broker kept busy from now to done() (warns when it matters). */
function others(): { done(): number | undefined } {
  const pid = childPid('kafka-mock');
  const take = () => {
    const c = process.cpuUsage();
    return { t: performance.now(), machine: machineBusySeconds(), ours: (c.user + c.system) / 1e6 + (cpuSeconds(pid) ?? 0) };
  };
  const a = take();
  return {
    done() {
      const b = take();
      if (a.machine === undefined || b.machine === undefined) return undefined;
      const cores = Number(Math.max(0, (b.machine - a.machine - (b.ours - a.ours)) / ((b.t - a.t) / 1000)).toFixed(2));
      if (cores > 0.2) log(`  WARNING: other processes kept ${cores} cores busy meanwhile: these times may be too high; run again on a quiet machine`);
      return cores;
    },
  };
}

async function main() {
  const startedAt = Date.now();
  for (const k of Object.keys(process.env)) if (k.startsWith('INFLUX_')) delete process.env[k]; // no InfluxDB for the instances
  let o = others();
  const inProcess = { ...snapshotInProcess(), otherProcessesCores: o.done() };

  const stateTopic = 'bench.state';
  const topics = [`${stateTopic}:${KAFKA_REPS}`];
  for (const t of ['one', 'two']) topics.push(`${t}:${TOPIC_PARTITIONS}`, `${t}.dlq:1`, `${t}.alerts:1`, `${t}.state:4`);
  const mock = await startKafkaMock({ topics });
  try {
    o = others();
    const viaKafka = { ...(await snapshotThroughKafka(mock, stateTopic)), otherProcessesCores: o.done() };

    log(`\n(3) throughput of 1 vs 2 detector instances in one consumer group (\`edge-sentinel run\`, no InfluxDB, state topic on)`);
    log(`  ${TOPIC_PARTITIONS}-partition topic fed continuously by a feeder in this process (${fmt(FEED_DEVICES)} devices, ~200-byte messages keyed by device id); each window ${WINDOW_MS / 1000} s once the group is stable (nothing moved for ${SETTLE_MS / 1000} s)`);
    const g = performance.now();
    const pool = generatePool(FEED_POOL);
    log(`  feeder's telemetry generated beforehand: ${fmt(pool.count)} messages, ${mb(pool.bytes.length)} MB in ${((performance.now() - g) / 1000).toFixed(1)} s (past them it generates on the fly)`);
    const kafka = new Kafka({ clientId: 'bench-scaleout', brokers: mock.brokers, logLevel: logLevel.NOTHING });
    const one = await throughput(mock, kafka, pool, 1, 'one');
    reportThroughput(one);
    const two = await throughput(mock, kafka, pool, 2, 'two');
    reportThroughput(two);
    const ratio = Number((two.consumedPerSec / one.consumedPerSec).toFixed(2));
    const cores = availableParallelism();
    // held back (almost) never: the consumers kept up with the feeder, which may have been the limit
    const feederLimited = [one, two].filter((r) => r.feederHeldBackSec < 0.05 * r.windowSec).map((r) => r.instances);
    log(`  ratio 2 / 1 instances: ${ratio}`);
    log(`  all of it on the ${cores} cores of this machine: the broker, the feeder and the instances compete for them (when "the machine" is near ${cores}, the cores were the limit), so this is what a second instance gives here, not how a cluster of machines scales`);
    if (feederLimited.length) log(`  NOTE: with ${feederLimited.join(' and ')} instance(s) the feeder was (almost) never held back: it, not the detectors, may have been the limit`);

    const report = {
      benchmark: 'scaleout',
      node: process.version,
      cores,
      snapshotInProcess: inProcess,
      snapshotViaKafka: viaKafka,
      throughput: {
        partitions: TOPIC_PARTITIONS,
        feedDevices: FEED_DEVICES,
        feedPool: pool.count,
        maxLagPerPartition: MAX_LAG,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        settleMs: SETTLE_MS,
        one,
        two,
        ratio,
        feederMayHaveLimited: feederLimited,
        note: `broker, feeder and instances share the ${cores} cores of one machine`,
      },
      seconds: Math.round((Date.now() - startedAt) / 1000),
    };
    if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
    else log(`\ndone in ${report.seconds} s`);
  } finally {
    for (const d of running) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await mock.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench:scaleout: ${(e as Error).stack}\n`);
  for (const d of running) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  process.exit(1);
});
