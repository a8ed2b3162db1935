// Kafka in and out (kafkajs, behind this module so another client could replace it):
// a consumer group reads the telemetry topic batch by batch; each chunk is scored and
// handed to the pipeline's sinks, and the next chunk (or batch) is scored while it is
// stored; offsets are committed in order, only after the sinks acknowledged the chunk and
// every chunk before it (src/ingest/commits.ts).
// Bad messages go to the dead-letter topic with their original bytes and a reason
// header; alerts go to the alert topic as OCSF JSON keyed by device id.

import { Consumer, EachBatchPayload, Kafka, KafkaConfig as KafkaJsConfig, logLevel, Producer } from 'kafkajs';
import type { KafkaConfig } from '../config';
import type { InMessage, OutMessage, Pipeline } from '../pipeline';
import { HandoverEvents, PartitionHandover } from '../scaleout/handover';
import { StateTopic } from '../scaleout/state-topic';
import { ClaimExchange } from '../scaleout/claims';
import { InOrderCommits } from './commits';

/**
 * The in-flight window: chunks scored whose results are not yet stored and committed.
 * Scoring runs ahead of storage by at most this much; when the window is full (a sink
 * slow, or InfluxDB down and retrying) consumption waits, nothing more is buffered.
 */
export const MAX_CHUNKS_IN_FLIGHT = 32;
export const MAX_MESSAGES_IN_FLIGHT = 16_384;

export interface KafkaLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function kafkaClient(c: KafkaConfig, log: KafkaLog): Kafka {
  const config: KafkaJsConfig = {
    clientId: c.clientId,
    brokers: c.brokers,
    ssl: c.ssl,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const text = `kafka: ${entry.log.message}${entry.log.error ? ` (${entry.log.error})` : ''}`;
      if (entry.level <= logLevel.ERROR) log.error(text);
      else log.warn(text);
    },
    retry: { initialRetryTime: 200, retries: 8 },
  };
  if (c.sasl) config.sasl = c.sasl as KafkaJsConfig['sasl'];
  return new Kafka(config);
}

export class KafkaSource {
  readonly consumer: Consumer;
  readonly producer: Producer;
  private running = false;
  private stopping = false;
  private inFlight: Promise<void> | undefined;
  connected = false;
  /** High watermark minus committed, per partition (consumer lag estimate). */
  readonly lag = new Map<number, number>();
  /** Chunks scored and not yet committed, committed in order once stored. */
  private readonly commits: InOrderCommits;
  /** Per partition, the offset after the last event scored. */
  private readonly scoredUpTo = new Map<number, bigint>();
  /** Lag after each commit (for the metrics). */
  onLag?: (topic: string, partition: number, lag: number) => void;
  /** The consumer crashed (kafkajs gave up retrying). */
  onCrash?: (reason: string) => void;
  /** The consumer is back in the group after a crash. */
  onRejoined?: () => void;
  /** Partitions of the telemetry topic assigned to this instance (after each rebalance). */
  assigned: number[] = [];
  onAssigned?: (partitions: number[]) => void;
  private currentHeartbeat: (() => Promise<void>) | undefined;
  /** Partition ownership and device-state hand-over (when a state topic is configured). */
  handover?: PartitionHandover;
  /** Hooks for metrics and logs of the hand-over. */
  handoverEvents: HandoverEvents = {};
  private assigning: Promise<void> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly c: KafkaConfig,
    private readonly pipeline: Pipeline,
    private readonly log: KafkaLog,
  ) {
    this.consumer = kafka.consumer({ groupId: c.groupId, sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: Math.min(3000, c.sessionTimeoutMs / 3), maxBytesPerPartition: 4 << 20, maxWaitTimeInMs: c.maxWaitMs });
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
    this.commits = new InOrderCommits(
      (offsets) => this.consumer.commitOffsets(offsets.map((o) => ({ topic: c.topic, partition: o.partition, offset: o.offset.toString() }))),
      (offsets, lag) => {
        for (const { partition } of offsets) {
          const l = lag.get(partition) ?? -1;
          if (l < 0) continue;
          this.lag.set(partition, l);
          this.onLag?.(c.topic, partition, l);
        }
      },
    );
  }

  /** The pipeline's producer-backed sinks. */
  alertSink = (messages: OutMessage[]) => this.send(this.c.alertTopic, messages);
  deadLetterSink = (messages: OutMessage[]) => this.send(this.c.dlqTopic, messages);
  claimSink = (messages: OutMessage[]) => this.send(this.c.claimsTopic, messages);
  /** Credential claims exchanged with the other instances (when a claims topic is configured). */
  claims?: ClaimExchange;

  private async send(topic: string, messages: OutMessage[]): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({ key: m.key === null ? null : Buffer.from(m.key as string | Uint8Array), value: Buffer.from(m.value as string | Uint8Array), headers: m.headers })),
    });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    if (this.c.claimsTopic) {
      const claims = new ClaimExchange(this.kafka, this.c.claimsTopic, this.c.groupId, this.log);
      await claims.start(this.producer);
      this.claims = claims;
      this.pipeline.claims = claims;
    }
    if (this.c.stateTopic) {
      const state = new StateTopic(this.kafka, this.producer, this.c.stateTopic, this.c.groupId, this.log);
      await state.init();
      // a snapshot covers the events scored so far: it waits until they are stored and
      // committed, so its offset is never past what the group committed
      this.handover = new PartitionHandover(() => this.pipeline.detector.core, state, this.c.snapshotIntervalMs, this.log, this.handoverEvents, this.settle);
    }
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assigned = [...(e.payload.memberAssignment[this.c.topic] ?? [])].sort((a, b) => a - b);
      this.assigned = assigned;
      this.onAssigned?.(assigned);
      // kept partitions go on where scoring stopped, not at the committed offset (chunks
      // still in flight are committed when stored, or read again from there if not):
      // events scored twice would reach the device state twice
      const kept = new Set(assigned);
      for (const [partition, next] of this.scoredUpTo) {
        if (!kept.has(partition)) this.scoredUpTo.delete(partition);
        else {
          try {
            this.consumer.seek({ topic: this.c.topic, partition, offset: next.toString() });
          } catch (err) {
            this.log.warn(`kafka: partition ${partition}: cannot resume at ${next} (${(err as Error).message}); reading from the committed offset`);
          }
        }
      }
      // a rebalance: hand over what was lost, start reading the snapshots of what is new
      const handover = this.handover;
      if (handover) this.assigning = this.assigning.then(() => handover.assign(assigned)).catch((err: Error) => this.log.warn(`state: hand-over after the rebalance failed: ${err.message}`));
    });
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.log.error(`kafka consumer crashed: ${e.payload.error.message}`);
      this.onCrash?.(e.payload.error.message);
      // kafkajs restarts by itself only after retriable errors; a detector must not stay
      // down after the others (a group request answered with an error it does not retry)
      if (!e.payload.restart && this.running) setTimeout(() => void this.rejoin(), 1000).unref();
    });
    await this.consumer.subscribe({ topic: this.c.topic, fromBeginning: this.c.fromBeginning });
    this.connected = true;
    this.running = true;
    await this.run();
  }

  private run(): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => this.eachBatch(p),
    });
  }

  private async rejoin(): Promise<void> {
    if (!this.running) return;
    this.log.warn('kafka consumer rejoining the group after the crash');
    try {
      await this.consumer.stop().catch(() => undefined);
      await this.run();
      this.onRejoined?.();
    } catch (e) {
      this.log.error(`kafka consumer could not rejoin: ${(e as Error).message}; retrying`);
      setTimeout(() => void this.rejoin(), 5000).unref();
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    this.inFlight = this.consume(payload);
    try {
      await this.inFlight;
    } catch (e) {
      // before kafkajs retries the batch or rejoins the group (a rebalance): what is in
      // flight is stored and committed (a group accepts its current generation's commits
      // while it prepares a rebalance); if a chunk was not stored, nothing behind it is
      // committed and its partitions are read again from there
      await this.commits.drain().catch(() => this.rewind());
      throw e;
    }
  }

  private async consume({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    this.currentHeartbeat = heartbeat;
    const chunkSize = this.pipeline.maxChunk;
    if (this.commits.failed !== undefined) throw this.commits.failed;
    if (this.handover) {
      await this.assigning;
      const first = batch.firstOffset();
      if (first !== null) {
        // the partition's devices come back before its first event is scored
        const back = await this.handover.prepare(partition, BigInt(first));
        if (back !== undefined) {
          this.consumer.seek({ topic, partition, offset: back.toString() });
          return;
        }
      }
    }
    const hw = BigInt(batch.highWatermark);
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      if (this.stopping || !isRunning() || isStale()) return;
      const slice = batch.messages.slice(start, start + chunkSize);
      const chunk: InMessage[] = slice.map((m) => ({
        value: m.value ?? Buffer.alloc(0),
        arrival: Number(m.timestamp),
        key: m.key,
        origin: { topic, partition, offset: m.offset },
      }));
      // events the previous owner already stored only rebuild state; the rest are scored,
      // stored and committed
      const silent = this.handover?.silentCount(partition, slice.map((m) => m.offset)) ?? 0;
      if (silent > 0) this.pipeline.warm(chunk.slice(0, silent));
      const last = BigInt(slice[slice.length - 1].offset);
      if (silent < chunk.length) {
        const scored = this.pipeline.score(silent > 0 ? chunk.slice(silent) : chunk);
        // the next fetch starts after this chunk; its commit waits for its storage (and for
        // the storage of every chunk scored before it)
        this.commits.track(partition, BigInt(slice[silent].offset), last + 1n, chunk.length - silent, this.pipeline.store(scored), hw);
      }
      resolveOffset(last.toString());
      this.scoredUpTo.set(partition, last + 1n);
      await this.handover?.processed(partition, last + 1n, silent);
      // bounded: with the window full (a sink slow or down) consumption waits here
      await this.commits.room(MAX_CHUNKS_IN_FLIGHT, MAX_MESSAGES_IN_FLIGHT);
      await heartbeat();
    }
  }

  /** Messages stored and committed so far. */
  get committed(): number {
    return this.commits.committedMessages;
  }

  /** Wait until every chunk scored so far is stored and committed (throws if one failed). */
  settle = (): Promise<void> => this.commits.drain();

  /** After a failed chunk: read every partition again from its oldest uncommitted chunk. */
  private async rewind(): Promise<void> {
    for (const { partition, offset } of await this.commits.rewind()) {
      this.scoredUpTo.set(partition, offset);
      this.log.warn(`kafka: partition ${partition}: results from offset ${offset} on were not stored; reading them again`);
      this.consumer.seek({ topic: this.c.topic, partition, offset: offset.toString() });
    }
  }

  /** Keep the group session alive while a sink retries (InfluxDB down). */
  heartbeat = async (): Promise<void> => {
    await this.currentHeartbeat?.().catch(() => undefined);
  };

  /**
   * Stop: the chunks in flight finish (stored and committed) while the consumer is
   * still a group member — a commit racing the group leave was seen to be lost — and
   * only then does the consumer stop fetching and leave.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping = true;
    await this.inFlight?.catch(() => undefined);
    await this.commits.drain().catch((e: Error) => this.log.warn(`kafka: results in flight at stop were not all stored (${e.message}); they are read again at the next start`));
    // a last snapshot of every owned partition, so whoever takes them over starts exactly here
    await this.handover?.saveAll().catch((e: Error) => this.log.warn(`state: final snapshots failed: ${e.message}`));
    await this.consumer.stop();
  }

  async disconnect(): Promise<void> {
    await this.claims?.stop();
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    this.connected = false;
  }
}
