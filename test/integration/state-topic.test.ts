// The state topic against a real Kafka-protocol broker (librdkafka's mock cluster):
// snapshots larger than a Kafka message go as chunks, the latest complete one of each
// partition is what a reader gets, and a snapshot whose chunks are missing is reported
// absent rather than returned half.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Producer } from 'kafkajs';
import { startKafkaMock } from '../support/kafka';
import { CHUNK_BYTES, StateTopic } from '../../src/scaleout/state-topic';

type Mock = Awaited<ReturnType<typeof startKafkaMock>>;

describe('state topic', () => {
  let mock: Mock;
  let kafka: Kafka;
  let producer: Producer;
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (m: string) => warnings.push(m) };

  before(async () => {
    mock = await startKafkaMock({ topics: ['t.state:2'] });
    kafka = new Kafka({ clientId: 'state-topic', brokers: mock.brokers, logLevel: logLevel.NOTHING });
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await mock?.stop();
  });

  test('the latest snapshot of each partition comes back whole, chunked or not', async () => {
    const store = new StateTopic(kafka, producer, 't.state', 'g', log);
    await store.init();
    const big = randomBytes(CHUNK_BYTES * 2 + 12345); // three chunks
    const older = randomBytes(1000);
    await store.save(3, older, 10n);
    await store.save(3, big, 250n);
    await store.save(1, Buffer.from('partition one'), undefined);
    await store.save(5, randomBytes(100), 7n); // not asked for below

    const reader = new StateTopic(kafka, producer, 't.state', 'g', log);
    await reader.init();
    const got = await reader.load([1, 3, 4]);
    assert.deepEqual([...got.keys()].sort(), [1, 3]);
    assert.ok(Buffer.from(got.get(3)!.bytes).equals(big), 'the latest snapshot of partition 3, all three chunks');
    assert.equal(got.get(3)!.offset, 250n);
    assert.equal(Buffer.from(got.get(1)!.bytes).toString(), 'partition one');
    assert.equal(got.get(1)!.offset, undefined);

    // a writer that learned the latest chunk set writes the other one, so the chunks of
    // the snapshot a manifest names are never overwritten before the next manifest lands
    const next = randomBytes(CHUNK_BYTES + 1);
    await reader.save(3, next, 300n);
    const again = await new StateTopic(kafka, producer, 't.state', 'g', log).load([3]);
    assert.ok(Buffer.from(again.get(3)!.bytes).equals(next));
  });

  test('a manifest whose chunks are missing is reported, and nothing half is returned', async () => {
    const store = new StateTopic(kafka, producer, 't.state', 'g', log);
    await store.init();
    // a manifest naming three chunks that were never written
    await producer.send({
      topic: 't.state',
      acks: -1,
      messages: [{ partition: 9 % 2, key: '9', value: JSON.stringify({ snapshot: 'lost', set: 'a', chunks: 3, bytes: 3, offset: '5', writtenAt: Date.now() }), headers: { snapshot: 'lost', manifest: '1' } }],
    });
    const got = await store.load([9]);
    assert.equal(got.has(9), false);
    assert.ok(warnings.some((w) => /partition 9 is incomplete \(0\/3 chunks\)/.test(w)), warnings.join('\n'));
  });
});
