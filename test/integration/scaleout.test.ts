// Scale-out against a real Kafka-protocol broker (librdkafka's mock cluster): several
// detector processes in one consumer group share the telemetry partitions, and device
// state follows its partition through the state topic. Each case is compared with one
// detector that consumes the same topic alone (its own group): the same alerts, no more,
// no fewer.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createFleet } from '../../src/ingest/simulator';
import type { SimLabels } from '../../src/ingest/simulator';
import { hashString } from '../../src/core/reference/hash';
import { startKafkaMock } from '../support/kafka';
import { DetectorProcess, eventually, startDetector } from '../support/process';
import { committedTotal, readTopic } from '../support/topics';

type Mock = Awaited<ReturnType<typeof startKafkaMock>>;
interface Msg {
  key: string;
  value: Buffer;
  timestamp: string;
  partition: number;
}

const PARTITIONS = 4;
const partitionOf = (deviceId: string) => hashString(deviceId) % PARTITIONS;

/** A simulated fleet as Kafka messages keyed (and partitioned) by device id. */
function fleetMessages(devices: number, hours: number, seed: string, attacks?: number): { messages: Msg[]; labels: SimLabels } {
  const fleet = createFleet({ devices, hours, seed, attacks });
  const messages: Msg[] = [];
  for (let ev = fleet.next(); ev; ev = fleet.next()) {
    messages.push({ key: ev.deviceId, value: Buffer.from(ev.line), timestamp: String(ev.arrivalTs), partition: partitionOf(ev.deviceId) });
  }
  return { messages, labels: fleet.labels() };
}

/**
 * Put every credential thief on a partition of the other instance than its victim's, so
 * that the case tests what two instances must tell each other (a credential used by two
 * device ids scored apart). Returns those attacks.
 */
function straddle(messages: Msg[], labels: SimLabels, mine: number[]): SimLabels['attacks'] {
  const thefts = labels.attacks.filter((x) => x.attackerDeviceId);
  const theirs = [0, 1, 2, 3].filter((p) => !mine.includes(p));
  const moved = new Map<string, number>();
  for (const x of thefts) {
    const victimMine = mine.includes(partitionOf(x.deviceId));
    const side = victimMine ? theirs : mine;
    moved.set(x.attackerDeviceId!, side[0]);
  }
  for (const m of messages) m.partition = moved.get(m.key) ?? m.partition;
  return thefts;
}

/**
 * Produce in slices of 2000 messages (~20 min of the fleet's time); with `paced`, each
 * slice only once these groups have committed everything before it, as live telemetry
 * arrives: the instances then stay within one slice of each other in fleet time, which is
 * what the credential claims they exchange need (a claim heard an hour of fleet time late
 * is too late; README "Scale-out").
 */
async function produce(kafka: Kafka, topic: string, messages: Msg[], paced: { groups: string[]; before: number } = { groups: [], before: 0 }): Promise<void> {
  const p = kafka.producer();
  await p.connect();
  for (let i = 0; i < messages.length; i += 2000) {
    for (const g of paced.groups) await eventually(async () => (await committedTotal(kafka, g, topic)) >= paced.before + i, 60_000, `${g} caught up before slice ${i / 2000}`);
    await p.send({ topic, messages: messages.slice(i, i + 2000), acks: -1 });
  }
  await p.disconnect();
}

interface Raised {
  id: string;
  deviceId: string;
  kind: string;
}

/** The alerts raised on an alert topic (OCSF findings, activity "Create"). */
async function raised(kafka: Kafka, topic: string): Promise<Raised[]> {
  const findings = await readTopic(kafka, topic, (n) => n > 0);
  return findings
    .map((f) => JSON.parse(f.value.toString()) as { activity_id: number; finding_info: { uid: string; types: string[] }; device: { uid: string } })
    .filter((f) => f.activity_id === 1)
    .map((f) => ({ id: f.finding_info.uid, deviceId: f.device.uid, kind: f.finding_info.types[0] }));
}

/**
 * Alert identities for comparing runs: silence alerts carry the sweeping instance's
 * clock in their id, so they compare by device and kind; every other kind by its id
 * (device, kind and the arrival time of the event that raised it).
 */
function identities(alerts: Raised[]): string[] {
  return [...new Set(alerts.map((a) => (a.kind === 'silence' ? `silence ${a.deviceId}` : `${a.kind} ${a.deviceId} ${a.id}`)))].sort();
}

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

/**
 * Wait until the group has settled: both members own some of the partitions, and nothing
 * moved for longer than a session timeout (the mock broker may rebalance once more when a
 * member rejoins).
 */
async function settled(a: DetectorProcess, b: DetectorProcess): Promise<void> {
  let since = 0;
  let seen = '';
  try {
    await eventually(
      () => {
        const split = ownedPartitions(a).length > 0 && ownedPartitions(b).length > 0 && ownedPartitions(a).length + ownedPartitions(b).length === PARTITIONS;
        const now = `${ownedPartitions(a)}|${ownedPartitions(b)}|${a.lines.length}`;
        if (!split || now.split('|').slice(0, 2).join('|') !== seen.split('|').slice(0, 2).join('|')) {
          seen = now;
          since = Date.now();
          return false;
        }
        return Date.now() - since > 10_000;
      },
      90_000,
      'partitions split between the two, and stable',
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\nA:\n${a.lines.filter((l) => !/ messages, /.test(l)).slice(-20).join('\n')}\nB:\n${b.lines.filter((l) => !/ messages, /.test(l)).slice(-20).join('\n')}`);
  }
}

describe('scale-out: a consumer group of detectors keeps its memory across rebalances', () => {
  let mock: Mock;
  let kafka: Kafka;
  const running: DetectorProcess[] = [];

  const detector = (topic: string, group: string, alerts: string, extra: Record<string, string> = {}) => {
    const d = startDetector(['run'], {
      KAFKA_BROKERS: mock.bootstrap,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      KAFKA_ALERT_TOPIC: alerts,
      KAFKA_FROM_BEGINNING: 'true',
      KAFKA_MAX_WAIT_MS: '200',
      KAFKA_SESSION_TIMEOUT_MS: '8000',
      KAFKA_STATE_TOPIC: `${group}.state`,
      STATE_SNAPSHOT_INTERVAL_MS: '1000',
      REPORT_INTERVAL_MS: '1000',
      API_PORT: '0',
      ...extra,
    });
    running.push(d);
    return d;
  };

  before(async () => {
    const topics = ['share', 'move'].flatMap((t) => [`${t}:${PARTITIONS}`, `${t}.dlq:1`, `${t}.alerts:1`, `${t}.solo-alerts:1`, `${t}-g.state:2`, `${t}-solo.state:2`]);
    mock = await startKafkaMock({ topics });
    kafka = new Kafka({ clientId: 'scaleout', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  });
  after(async () => {
    for (const d of running) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await mock?.stop();
  });

  test('two instances share the partitions and together raise exactly the alerts one instance raises', async () => {
    const { messages, labels } = fleetMessages(40, 5, 'scale-share', 30);
    // the single instance is the yardstick: it hears no claims from the group
    const solo = detector('share', 'share-solo', 'share.solo-alerts', { KAFKA_CLAIMS_TOPIC: 'none' });
    const a = detector('share', 'share-g', 'share.alerts');
    await a.waitFor(/owning partitions/, 30_000);
    const b = detector('share', 'share-g', 'share.alerts');
    await settled(a, b);
    await solo.waitFor(/owning partitions/, 30_000);
    const splitA = ownedPartitions(a);
    const splitB = ownedPartitions(b);
    assert.deepEqual([...splitA, ...splitB].sort(), [0, 1, 2, 3]);
    const thefts = straddle(messages, labels, splitA);

    await produce(kafka, 'share', messages, { groups: ['share-g'], before: 0 });
    await eventually(async () => (await committedTotal(kafka, 'share-g', 'share')) === messages.length, 120_000, 'group committed to the end');
    await eventually(async () => (await committedTotal(kafka, 'share-solo', 'share')) === messages.length, 120_000, 'solo committed to the end');
    assert.deepEqual(ownedPartitions(a), splitA, 'no rebalance while the stream was consumed');

    // the API and the metrics say which partitions each instance owns
    const api = /API on (http:\/\/[^/]+)\/api\/alerts/.exec(await a.waitFor(/API on http/))![1];
    const metrics = await (await fetch(`${api}/metrics`)).text();
    for (const p of splitA) assert.match(metrics, new RegExp(`edge_sentinel_partition_owned\\{partition="${p}"\\} 1`));
    for (const event of ['published', 'received', 'taken']) assert.match(metrics, new RegExp(`edge_sentinel_credential_claims\\{event="${event}"\\} [1-9]`), `claims ${event}`);
    const someone = messages.find((m) => splitA.includes(m.partition) && m.partition === partitionOf(m.key))!.key;
    const view = (await (await fetch(`${api}/api/devices/${someone}`)).json()) as { device: { partition: number }; instance: { ownedPartitions: number[] } };
    assert.deepEqual(view.instance.ownedPartitions, splitA);
    assert.equal(view.device.partition, partitionOf(someone));

    const together = identities(await raised(kafka, 'share.alerts'));
    const alone = identities(await raised(kafka, 'share.solo-alerts'));
    assert.ok(alone.length > 3, `the stream raised alerts (${alone.length})`);
    // a credential used by two device ids whose partitions belong to different instances
    // is seen through the claims the instances exchange (README "Scale-out")
    assert.ok(thefts.length >= 2, `credential thefts across the two instances (${thefts.length})`);
    for (const x of thefts) assert.ok(alone.some((k) => k.startsWith(`credential_shared ${x.attackerDeviceId} `)), `the single instance sees ${x.id}`);
    assert.deepEqual(together, alone);
    for (const d of [solo, a, b]) d.child.kill('SIGTERM');
    for (const d of [solo, a, b]) assert.equal((await d.exited()).code, 0);
  });

  test('an instance killed mid-stream: the survivor restores its partitions, loses no event and raises what one instance raises', async () => {
    const { messages, labels } = fleetMessages(40, 6, 'scale-move', 30);
    // the attacks of the second half on the partitions that will move are what the
    // survivor can only catch with the devices' history
    const half = Math.floor(messages.length / 2);
    const solo = detector('move', 'move-solo', 'move.solo-alerts', { KAFKA_CLAIMS_TOPIC: 'none' });
    const a = detector('move', 'move-g', 'move.alerts');
    await a.waitFor(/owning partitions/, 30_000);
    const b = detector('move', 'move-g', 'move.alerts');
    await settled(a, b);
    await solo.waitFor(/owning partitions/, 30_000);
    const moving = ownedPartitions(a);
    straddle(messages, labels, moving);

    await produce(kafka, 'move', messages.slice(0, half), { groups: ['move-g'], before: 0 });
    await eventually(async () => (await committedTotal(kafka, 'move-g', 'move')) === half, 120_000, 'first half committed');
    // A has written snapshots of its partitions since its last commit
    const apiA = /API on (http:\/\/[^/]+)\/api\/alerts/.exec(await a.waitFor(/API on http/))![1];
    await new Promise((r) => setTimeout(r, 1500));
    await eventually(async () => /edge_sentinel_state_snapshots_total [1-9]/.test(await (await fetch(`${apiA}/metrics`)).text()), 30_000, 'snapshots written');
    a.child.kill('SIGKILL');
    await a.exited();

    const secondHalfAttacks = labels.attacks.filter((x) => x.start >= Number(messages[half].timestamp) && moving.includes(partitionOf(x.deviceId)));
    await produce(kafka, 'move', messages.slice(half));
    await eventually(() => ownedPartitions(b).length === PARTITIONS, 60_000, 'the survivor owns every partition');
    await eventually(async () => (await committedTotal(kafka, 'move-g', 'move')) === messages.length, 120_000, 'group committed to the end: no event lost');
    await eventually(async () => (await committedTotal(kafka, 'move-solo', 'move')) === messages.length, 120_000, 'solo committed to the end');

    const apiB = /API on (http:\/\/[^/]+)\/api\/alerts/.exec(await b.waitFor(/API on http/))![1];
    const metricsB = await (await fetch(`${apiB}/metrics`)).text();
    const restoredCount = Number(/edge_sentinel_state_restores_total\{result="restored"\} (\d+)/.exec(metricsB)?.[1] ?? 0);
    assert.ok(restoredCount >= moving.length, `the survivor restored the moved partitions (${restoredCount} restores)\n${b.lines.filter((l) => /state/.test(l)).join('\n')}`);

    // what the survivor knows of the moved devices is what the instance that saw their
    // whole history knows: the baselines came over, they were not relearned
    const apiSolo = /API on (http:\/\/[^/]+)\/api\/alerts/.exec(await solo.waitFor(/API on http/))![1];
    const movedDevices = [...new Set(messages.filter((m) => moving.includes(m.partition)).map((m) => m.key))].slice(0, 8);
    for (const id of movedDevices) {
      const view = async (api: string) => ((await (await fetch(`${api}/api/devices/${id}`)).json()) as { device: Record<string, unknown> }).device;
      const [survivor, whole] = [await view(apiB), await view(apiSolo)];
      for (const k of ['events', 'seq', 'lastArrival', 'usualIntervalMs', 'payloadBytes', 'clockOffsetMs', 'metrics', 'credentialHash', 'firmware']) {
        assert.deepEqual(survivor[k], whole[k], `${id}: ${k}`);
      }
    }

    const together = identities(await raised(kafka, 'move.alerts'));
    const alone = identities(await raised(kafka, 'move.solo-alerts'));
    assert.ok(secondHalfAttacks.length > 0, 'attacks after the hand-over on moved partitions');
    assert.deepEqual(together, alone);
    assert.ok(alone.length >= 3, `alerts to compare (${alone.length})`);
  });
});
