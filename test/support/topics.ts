// Reading back what the detector did on Kafka: a group's committed offsets, and every
// message of a topic (with headers), read by a fresh consumer group.

import type { Kafka } from 'kafkajs';
import { eventually } from './process';

export interface ReadMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** Sum over partitions of the group's committed offsets (0 where none). */
export async function committedTotal(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Everything on a topic from the start, once `enough(count)` holds (then a short grace). */
export async function readTopic(kafka: Kafka, topic: string, enough: (n: number) => boolean): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const out: ReadMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ key: message.key?.toString() ?? '', value: message.value ?? Buffer.alloc(0), headers });
    },
  });
  await eventually(() => enough(out.length), 30_000, `${topic} read`);
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  return out;
}
