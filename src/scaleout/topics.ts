// The detector's own compacted topics (device-state snapshots, credential claims): learn
// a topic's partition count, creating it compacted when it is missing, and falling back
// to the cluster's auto-creation (a probe write) where the admin API cannot create it.

import type { Admin, Kafka, Producer } from 'kafkajs';

export interface TopicLog {
  warn(msg: string): void;
}

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]?.partitions.length ?? 0;
  } catch {
    return 0;
  }
}

async function withAdmin<T>(kafka: Kafka, f: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Partitions of a compacted topic of the detector's, created when missing; throws when it cannot exist. */
export async function ensureCompactedTopic(kafka: Kafka, producer: Producer, topic: string, log: TopicLog, partitions = 4): Promise<number> {
  let n = await withAdmin(kafka, async (admin) => {
    const have = await partitionCount(admin, topic);
    if (have > 0) return have;
    await admin
      .createTopics({ topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
      .catch((e: Error) => log.warn(`could not create ${topic} (${e.message}); relying on auto-creation`));
    return partitionCount(admin, topic);
  });
  if (n === 0) {
    // auto-creation happens on first produce; a probe write creates it
    await producer.send({ topic, acks: -1, messages: [{ key: 'probe', value: null }] });
    n = await withAdmin(kafka, (admin) => partitionCount(admin, topic));
  }
  if (n === 0) throw new Error(`topic ${topic} does not exist and could not be created`);
  return n;
}
