// Proves the integration-test servers with the clients the product uses:
//  (a) librdkafka's mock cluster with kafkajs: producer, a consumer group committing
//      offsets after each batch (as src/ingest/kafka.ts does), a restart that resumes from
//      the committed offsets, admin.fetchOffsets; plus the figures the other integration
//      tests plan around (consume rate, the per-partition log bound, createTopics).
//  (b) Debian's influxd (1.x): /write?db= line protocol, InfluxQL /query, a hard kill and
//      restart on the same port and data, a freeze (SIGSTOP) and thaw.
//  (c) victoria-metrics: @influxdata/influxdb-client's WriteApi (/api/v2/write), read back
//      with /api/v1/export.
//
// What the mock cluster (librdkafka 2.0.2) does with kafkajs 2.2.4, found here:
//  - works: produce (acks 1 and -1), fetch, consumer groups over several brokers (join,
//    sync, heartbeat, leave), OffsetCommit/OffsetFetch (consumer.commitOffsets,
//    admin.fetchOffsets), ListOffsets (admin.fetchTopicOffsets: low and high watermarks),
//    Metadata (admin.fetchTopicMetadata, listTopics, describeCluster).
//  - fails: admin.createTopics and deleteTopics ("Broker 0 not found in the cached
//    metadata": the mock reports controller id 0, which is no broker, and it does not
//    serve CreateTopics/DeleteTopics anyway); admin.describeGroups, listGroups,
//    deleteGroups, setOffsets and resetOffsets ("The Kafka server does not support the
//    requested API version": no DescribeGroups/ListGroups/DeleteGroups; setOffsets and
//    resetOffsets call describeGroups first). Topics are created by the launcher; a topic
//    a producer names that does not exist is auto-created with 4 partitions.
//  - timing: the first JoinGroup of an empty group is held 3 s (the broker's initial
//    rebalance delay). When a member leaves (or its session times out), the mock holds
//    the next JoinGroup for sessionTimeout - 1 s waiting for the others to rejoin: with
//    kafkajs' default sessionTimeout of 30 s a restarted consumer waits ~29 s before it
//    gets partitions; with sessionTimeout 6000 (used here), ~5 s. Below ~3 s kafkajs'
//    JoinGroup request times out against the 3 s initial delay.
//  - bounded log: each partition keeps at most 5 MiB of record batches (and at most
//    100,000 batches), fixed in the library; older batches are dropped. A consumer whose
//    committed offset fell below the low watermark gets OFFSET_OUT_OF_RANGE and kafkajs
//    silently resets it to the earliest (fromBeginning) or latest offset: data loss, so
//    tests consume as they go or keep each partition under the bound.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { Kafka, logLevel, Partitioners, type Consumer, type EachBatchPayload } from 'kafkajs';
import { MOCK_LOG_LIMITS, startKafkaMock, type KafkaMock } from '../support/kafka';
import { startInfluxd, type Influxd } from '../support/influxdb';
import { startVictoria, type Victoria } from '../support/victoria';

const MESSAGES = 10_000;
const RATE_MESSAGES = 80_000; // 20,000 a partition: ~3.9 MB, under the 5 MiB bound

/** A telemetry message as DESIGN §3 describes it (~170 bytes). */
function telemetry(i: number): string {
  return JSON.stringify({
    deviceId: `thermo-${String(i % 1000).padStart(4, '0')}`,
    ts: 1732500000000 + i * 10,
    seq: i,
    source: '10.20.0.17',
    credential: 'sha256:9f2c41aa',
    firmware: '2.4.1',
    bytes: 212,
    metrics: { temp: 21.5, rh: 40.1 },
  });
}

async function produce(kafka: Kafka, topic: string, count: number, opts: { first?: number; partitions?: number; batch?: number } = {}): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const first = opts.first ?? 0;
    const batch = opts.batch ?? 2000;
    for (let i = first; i < first + count; i += batch) {
      const n = Math.min(batch, first + count - i);
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: n }, (_, j) => {
          const k = i + j;
          return { key: `thermo-${k % 1000}`, value: telemetry(k), ...(opts.partitions ? { partition: k % opts.partitions } : {}) };
        }),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

interface GroupRun {
  consumer: Consumer;
  /** "partition:offset" of every message delivered */
  seen: string[];
  firstBatchAt: number;
  lastBatchAt: number;
  /** resolves once `want` messages were delivered (and their offsets committed) */
  reached(want: number, ms: number): Promise<void>;
}

/**
 * A consumer in `groupId` that commits after every batch, as the detector does
 * (autoCommit off, one partition at a time, resolveOffset + commitOffsets of the batch's
 * last offset + 1).
 */
async function runGroupConsumer(kafka: Kafka, groupId: string, topic: string): Promise<GroupRun> {
  // the detector's consumer settings, but sessionTimeout 6 s instead of 30 s (see the top)
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 1000, maxBytesPerPartition: 4 << 20, maxWaitTimeInMs: 250 });
  const run: GroupRun = {
    consumer,
    seen: [],
    firstBatchAt: 0,
    lastBatchAt: 0,
    reached: (want, ms) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const poll = () => {
          if (run.seen.length >= want) resolve();
          else if (Date.now() > deadline) reject(new Error(`${groupId}: ${run.seen.length}/${want} messages within ${ms} ms`));
          else setTimeout(poll, 20);
        };
        poll();
      }),
  };
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat }: EachBatchPayload) => {
      if (batch.messages.length === 0) return;
      run.firstBatchAt ||= Date.now();
      const last = batch.messages[batch.messages.length - 1].offset;
      resolveOffset(last);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      for (const m of batch.messages) run.seen.push(`${batch.partition}:${m.offset}`);
      run.lastBatchAt = Date.now();
      await heartbeat();
    },
  });
  return run;
}

/** Committed offsets of a group per partition, via kafkajs admin (OffsetFetch). */
async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(t.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

describe('harness (a): librdkafka mock cluster with kafkajs', { timeout: 60_000 }, () => {
  let mock: KafkaMock | undefined;
  let kafka: Kafka;
  const consumers: Consumer[] = [];

  before(async () => {
    mock = await startKafkaMock({ brokers: 3, topics: ['telemetry:4', 'telemetry.dlq:1', 'alerts:1', 'rate:4', 'bound:1'] });
    kafka = new Kafka({ clientId: 'harness', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  });
  after(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await mock?.stop();
  });

  test('launcher: three brokers on loopback, the topics with their partitions', async () => {
    assert.equal(mock!.brokers.length, 3);
    for (const b of mock!.brokers) assert.match(b, /^127\.0\.0\.1:\d+$/);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      const { topics } = await admin.fetchTopicMetadata({ topics: ['telemetry', 'telemetry.dlq', 'alerts'] });
      assert.deepEqual(
        topics.map((t) => [t.name, t.partitions.length]).sort(),
        [
          ['alerts', 1],
          ['telemetry', 4],
          ['telemetry.dlq', 1],
        ],
      );
    } finally {
      await admin.disconnect();
    }
  });

  test(`${MESSAGES} messages through a consumer group; a restarted consumer resumes at the committed offsets`, async (t) => {
    await produce(kafka, 'telemetry', MESSAGES);

    const joinStarted = Date.now();
    const first = await runGroupConsumer(kafka, 'harness-group', 'telemetry');
    consumers.push(first.consumer);
    await first.reached(MESSAGES, 30_000);
    assert.equal(new Set(first.seen).size, MESSAGES, 'every message once');
    const ms = Math.max(1, first.lastBatchAt - first.firstBatchAt);
    t.diagnostic(`consumer group: first batch ${first.firstBatchAt - joinStarted} ms after run() (the mock holds the first join 3 s); ${MESSAGES} messages in ${ms} ms = ${Math.round((MESSAGES / ms) * 1000)} msg/s`);
    await first.consumer.disconnect();

    const committed = await committedOffsets(kafka, 'harness-group', 'telemetry');
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets('telemetry');
    await admin.disconnect();
    for (const p of ends) assert.equal(committed.get(p.partition), Number(p.high), `partition ${p.partition}: committed offset = end of log`);
    assert.equal([...committed.values()].reduce((a, b) => a + b, 0), MESSAGES);

    // more messages while nobody consumes; the restarted consumer gets exactly those
    await produce(kafka, 'telemetry', 100, { first: MESSAGES });
    const restarted = Date.now();
    const second = await runGroupConsumer(kafka, 'harness-group', 'telemetry');
    consumers.push(second.consumer);
    await second.reached(100, 30_000);
    await new Promise((r) => setTimeout(r, 500)); // anything re-delivered would show up now
    t.diagnostic(`restart in the same group: first batch after ${second.firstBatchAt - restarted} ms (the mock holds the join sessionTimeout - 1 s after a member left)`);
    assert.equal(second.seen.length, 100, 'only the new messages, nothing re-delivered');
    for (const s of second.seen) {
      const [p, o] = s.split(':').map(Number);
      assert.ok(o >= committed.get(p)!, `partition ${p} offset ${o} is at or after the committed ${committed.get(p)}`);
    }
    await second.consumer.disconnect();
    const after2 = await committedOffsets(kafka, 'harness-group', 'telemetry');
    assert.equal([...after2.values()].reduce((a, b) => a + b, 0), MESSAGES + 100);
  });

  test('consume rate (kafkajs eachBatch against the mock)', async (t) => {
    const t0 = Date.now();
    await produce(kafka, 'rate', RATE_MESSAGES, { partitions: 4, batch: 5000 });
    const produceMs = Date.now() - t0;
    const run = await runGroupConsumer(kafka, 'harness-rate', 'rate');
    consumers.push(run.consumer);
    await run.reached(RATE_MESSAGES, 30_000);
    const ms = Math.max(1, run.lastBatchAt - run.firstBatchAt);
    t.diagnostic(`produce: ${RATE_MESSAGES} messages (${telemetry(1).length} B) in ${produceMs} ms = ${Math.round((RATE_MESSAGES / produceMs) * 1000)} msg/s (acks -1, 5000 a request)`);
    t.diagnostic(`consume: ${RATE_MESSAGES} messages in ${ms} ms = ${Math.round((RATE_MESSAGES / ms) * 1000)} msg/s (4 partitions, a commit per batch)`);
    assert.equal(new Set(run.seen).size, RATE_MESSAGES);
    await run.consumer.disconnect();
  });

  test('the per-partition log bound (how much can be produced before old messages go)', async (t) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const size = telemetry(0).length;
      const batch = 500;
      let produced = 0;
      let low = 0;
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      try {
        while (low === 0 && produced < 200_000) {
          await producer.send({ topic: 'bound', messages: Array.from({ length: batch }, () => ({ key: 'thermo-0001', value: telemetry(produced++) })) });
          low = Number((await admin.fetchTopicOffsets('bound'))[0].low);
        }
      } finally {
        await producer.disconnect();
      }
      assert.ok(low > 0, 'the log is bounded');
      const retained = produced - low;
      const perMessage = MOCK_LOG_LIMITS.maxBytesPerPartition / retained;
      t.diagnostic(
        `bound: ${size} B messages in batches of ${batch}: truncation began after ${produced - batch}-${produced} produced; ${retained} retained (low watermark ${low}) = 5 MiB / ${perMessage.toFixed(0)} B a message`,
      );
      // 5 MiB of record batches: the value plus the record's own overhead (key, varints)
      assert.ok(perMessage > size && perMessage < size + 64, `about 5 MiB retained (${perMessage.toFixed(1)} B a message)`);
      // a fresh group reading from the beginning starts at the low watermark
      const run = await runGroupConsumer(kafka, 'harness-bound', 'bound');
      consumers.push(run.consumer);
      await run.reached(retained, 20_000);
      assert.equal(run.seen[0], `0:${low}`);
      await run.consumer.disconnect();
    } finally {
      await admin.disconnect();
    }
  });

  test('kafkajs admin against the mock: createTopics fails, fetchOffsets and fetchTopicOffsets work', async (t) => {
    const admin = kafka.admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      let createError: string | undefined;
      try {
        await admin.createTopics({ topics: [{ topic: 'created-by-kafkajs', numPartitions: 2 }] });
      } catch (e) {
        createError = `${(e as Error).name}: ${(e as Error).message}`;
      }
      t.diagnostic(`admin.createTopics: ${createError ? `fails (${createError})` : 'works'}`);
      const [offsets] = await admin.fetchOffsets({ groupId: 'nobody', topics: ['telemetry'] });
      assert.deepEqual(
        offsets.partitions.map((p) => p.offset),
        ['-1', '-1', '-1', '-1'],
        'a group that never committed: -1 everywhere',
      );
      assert.equal((await admin.fetchTopicOffsets('alerts')).length, 1);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('harness (b): InfluxDB 1.x (influxd), v1 API', { timeout: 60_000 }, () => {
  let influx: Influxd | undefined;

  before(async () => {
    influx = await startInfluxd({ databases: ['sentinel'] });
  });
  after(async () => {
    await influx?.stop();
  });

  test('line protocol in through /write?db=, out through InfluxQL; same point identity overwrites', async () => {
    const i = influx!;
    assert.match(i.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ping = await fetch(`${i.url}/ping`);
    assert.equal(ping.status, 204);
    assert.match(ping.headers.get('x-influxdb-version') ?? '', /^1\./);

    const r = await fetch(`${i.url}/write?db=sentinel&precision=ms`, {
      method: 'POST',
      body: [
        'alert,device=thermo-0042,kind=replay,severity=high score=0.97,summary="seq went back",count=12i,offset="1822" 1732500000123',
        'alert,device=thermo-0042,kind=replay,severity=high score=0.99,summary="seq went back again",count=13i,offset="1830" 1732500000123',
        'device_score,device=thermo-0042 max=0.97,events=40i,temp=21.5 1732500000000',
        'device_score,device=thermo-0043 max=0.12,events=38i,temp=19.0 1732500000000',
      ].join('\n'),
    });
    assert.equal(r.status, 204, await r.text());

    const alerts = await i.query('SELECT "score", "summary", "count", "device", "kind" FROM "alert"', 'sentinel');
    assert.deepEqual(alerts, [{ time: 1732500000123, score: 0.99, summary: 'seq went back again', count: 13, device: 'thermo-0042', kind: 'replay' }]);
    const byDevice = await i.query('SELECT sum("events") FROM "device_score" GROUP BY "device"', 'sentinel');
    assert.deepEqual(
      byDevice.map((row) => [row.device, row.sum]),
      [
        ['thermo-0042', 40],
        ['thermo-0043', 38],
      ],
    );
    await assert.rejects(i.query('SELECT nonsense FROM', 'sentinel'), /influxd \/query/);
  });

  test('killed and restarted on the same port and data: points still there, writes work again', async () => {
    const i = influx!;
    await i.write('sentinel', 'restart_probe,device=a v=1 1732500001000');
    await i.kill();
    assert.equal(i.running(), false);
    await assert.rejects(fetch(`${i.url}/ping`), 'nothing listens while it is down');
    await i.restart();
    assert.equal(i.running(), true);
    assert.equal((await i.query('SELECT count("score") FROM "alert"', 'sentinel'))[0].count, 1);
    assert.equal((await i.query('SELECT count("v") FROM "restart_probe"', 'sentinel'))[0].count, 1);
    await i.write('sentinel', 'restart_probe,device=b v=2 1732500002000');
    assert.equal((await i.query('SELECT count("v") FROM "restart_probe"', 'sentinel'))[0].count, 2);
  });

  test('paused (SIGSTOP): requests hang until resumed', async () => {
    const i = influx!;
    await i.pause();
    try {
      await assert.rejects(fetch(`${i.url}/ping`, { signal: AbortSignal.timeout(500) }), /TimeoutError|aborted/);
    } finally {
      await i.resume();
    }
    assert.equal((await fetch(`${i.url}/ping`)).status, 204);
  });
});

describe('harness (c): victoria-metrics as the InfluxDB v2 write endpoint', { timeout: 60_000 }, () => {
  let vm: Victoria | undefined;

  before(async () => {
    vm = await startVictoria();
  });
  after(async () => {
    await vm?.stop();
  });

  test('@influxdata/influxdb-client WriteApi (org/bucket/token arbitrary) → /api/v1/export', async () => {
    const v = vm!;
    const writeApi = new InfluxDB({ url: v.url, token: 'any-token' }).getWriteApi('any-org', 'any-bucket', 'ms', { maxRetries: 0 });
    writeApi.useDefaultTags({ host: 'edge-1' });
    // an old timestamp on purpose: kept because the helper sets -retentionPeriod=100y
    writeApi.writePoint(new Point('alert').tag('device', 'thermo-0042').tag('kind', 'replay').tag('severity', 'high').floatField('score', 0.97).intField('count', 12).stringField('summary', 'seq went back').timestamp(1732500000123));
    writeApi.writePoint(new Point('device_score').tag('device', 'thermo-0042').floatField('max', 0.5).intField('events', 40).timestamp(1732500000000));
    writeApi.writePoint(new Point('device_score').tag('device', 'thermo-0043').floatField('max', 0.25).intField('events', 38).timestamp(1732500000000));
    await writeApi.close();

    const series = await v.exportSeries();
    const byName = new Map(series.map((s) => [`${s.metric.__name__}{${s.metric.device}}`, s]));
    assert.deepEqual(byName.get('alert_score{thermo-0042}')?.values, [0.97]);
    assert.deepEqual(byName.get('alert_score{thermo-0042}')?.timestamps, [1732500000123]);
    assert.deepEqual(byName.get('alert_count{thermo-0042}')?.values, [12]);
    assert.equal(byName.get('alert_score{thermo-0042}')?.metric.kind, 'replay');
    assert.equal(byName.get('alert_score{thermo-0042}')?.metric.host, 'edge-1');
    assert.deepEqual(byName.get('alert_summary{thermo-0042}')?.values, [0], 'string fields are kept as 0 (their text is lost)');
    assert.deepEqual(byName.get('device_score_events{thermo-0043}')?.values, [38]);
    assert.equal(byName.get('device_score_events{thermo-0043}')?.metric.db, undefined, 'bucket and org are not labels');

    const one = await v.exportSeries('{__name__="device_score_max",device="thermo-0042"}');
    assert.deepEqual(
      one.map((s) => s.values),
      [[0.5]],
    );
  });
});
