// Partition snapshots on a Kafka topic (`<topic>.state`, meant to be compacted): Kafka
// itself keeps the detector's memory, so any instance of the group can take a partition
// over. A snapshot may be larger than a Kafka message, so it is written as chunks (keys
// `<partition>/<i>`) followed by a manifest (key `<partition>`) naming the snapshot id,
// the chunk count and the source offset it covers. Everything for one source partition
// goes to one state partition, so the manifest is read after its chunks; compaction
// keeps the latest manifest and chunk per key, which is all a reader needs.

import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { ensureCompactedTopic } from './topics';

/** Largest chunk value (below Kafka's default 1 MB message limit with room for headers). */
export const CHUNK_BYTES = 512 * 1024;
const READ_TIMEOUT_MS = 60_000;

export interface StoredSnapshot {
  bytes: Uint8Array;
  /** Next source offset the snapshot has not seen (undefined: unknown). */
  offset: bigint | undefined;
  writtenAt: number;
}

export interface StateTopicLog {
  info(msg: string): void;
  warn(msg: string): void;
}

function header(h: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = h?.[name];
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString() : String(v);
}

interface Manifest {
  snapshot: string;
  set?: string;
  chunks: number;
  bytes: number;
  offset: string | null;
  writtenAt: number;
}

export class StateTopic {
  private statePartitions = 0;
  /** Chunk set of the latest manifest seen or written, per source partition. */
  private readonly lastSet = new Map<number, string>();

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    readonly topic: string,
    private readonly groupId: string,
    private readonly log: StateTopicLog,
  ) {}

  /** Learn the state topic's partition count, creating it (compacted) when it is missing. */
  async init(): Promise<void> {
    this.statePartitions = await ensureCompactedTopic(this.kafka, this.producer, this.topic, this.log);
  }

  private statePartitionOf(partition: number): number {
    return partition % this.statePartitions;
  }

  /** Write one partition's snapshot; resolves when every chunk and the manifest are acknowledged. */
  async save(partition: number, bytes: Uint8Array, offset: bigint | undefined): Promise<void> {
    if (this.statePartitions === 0) await this.init();
    const id = randomUUID();
    const set = this.lastSet.get(partition) === 'a' ? 'b' : 'a';
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
    const target = this.statePartitionOf(partition);
    const messages = [];
    for (let i = 0; i < chunks; i++) {
      messages.push({
        partition: target,
        key: `${partition}/${set}/${i}`,
        value: Buffer.from(bytes.buffer, bytes.byteOffset + i * CHUNK_BYTES, Math.min(CHUNK_BYTES, bytes.length - i * CHUNK_BYTES)),
        headers: { snapshot: id, chunk: String(i) },
      });
    }
    messages.push({
      partition: target,
      key: String(partition),
      value: Buffer.from(JSON.stringify({ snapshot: id, set, chunks, bytes: bytes.length, offset: offset?.toString() ?? null, writtenAt: Date.now() } satisfies Manifest)),
      headers: { snapshot: id, manifest: '1' },
    });
    // one request per few chunks keeps each produce request well under the broker's limits
    for (let i = 0; i < messages.length; i += 4) {
      await this.producer.send({ topic: this.topic, acks: -1, messages: messages.slice(i, i + 4) });
    }
    this.lastSet.set(partition, set);
  }

  /**
   * The latest complete snapshot of each wanted partition (absent: none on the topic).
   * Reads the state partitions that hold them from the start to their current end.
   */
  async load(partitions: number[]): Promise<Map<number, StoredSnapshot>> {
    const wanted = new Set(partitions);
    const found = new Map<number, StoredSnapshot>();
    if (wanted.size === 0) return found;
    if (this.statePartitions === 0) await this.init();
    const statePartitions = new Set(partitions.map((p) => this.statePartitionOf(p)));
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      ends = new Map(offsets.filter((o) => statePartitions.has(o.partition) && BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
    if (ends.size === 0) return found;

    // per source partition: chunks of snapshots not yet superseded, then the manifests
    const chunks = new Map<string, Map<number, Buffer>>();
    const latest = new Map<number, Manifest>();
    const consumer = this.kafka.consumer({ groupId: `${this.groupId}.state-reader.${randomUUID()}`, maxBytesPerPartition: 8 << 20 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      const done = new Promise<void>((resolve, reject) => {
        const reached = new Set<number>();
        // a partition whose last records were compacted away may never report its end
        // offset: stop waiting after a while and use what was read
        const timer = setTimeout(() => {
          this.log.warn(`state: stopped reading ${this.topic} after ${READ_TIMEOUT_MS / 1000} s (${reached.size}/${ends.size} partitions read to the end)`);
          resolve();
        }, READ_TIMEOUT_MS);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) {
                const key = m.key?.toString() ?? '';
                const snapshot = header(m.headers, 'snapshot');
                const source = Number.parseInt(key, 10);
                if (!snapshot || !wanted.has(source) || !m.value) continue;
                if (header(m.headers, 'manifest')) {
                  const manifest = JSON.parse(m.value.toString()) as Manifest;
                  const previous = latest.get(source);
                  if (previous && previous.snapshot !== manifest.snapshot) chunks.delete(previous.snapshot);
                  latest.set(source, manifest);
                } else {
                  let set = chunks.get(snapshot);
                  if (!set) chunks.set(snapshot, (set = new Map()));
                  set.set(Number(header(m.headers, 'chunk')), m.value);
                }
              }
              const end = ends.get(batch.partition);
              if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) reached.add(batch.partition);
              if (reached.size >= ends.size) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      await done;
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    for (const [source, manifest] of latest) {
      if (manifest.set) this.lastSet.set(source, manifest.set);
      const set = chunks.get(manifest.snapshot);
      const parts: Buffer[] = [];
      for (let i = 0; i < manifest.chunks; i++) {
        const part = set?.get(i);
        if (part) parts.push(part);
      }
      if (parts.length !== manifest.chunks) {
        this.log.warn(`state: the latest snapshot of partition ${source} is incomplete (${parts.length}/${manifest.chunks} chunks)`);
        continue;
      }
      found.set(source, { bytes: Buffer.concat(parts), offset: manifest.offset === null ? undefined : BigInt(manifest.offset), writtenAt: manifest.writtenAt });
    }
    return found;
  }
}
