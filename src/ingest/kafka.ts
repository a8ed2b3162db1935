// Kafka in and out (kafkajs, behind this module so another client could replace it):
// a consumer group reads the telemetry topic batch by batch; each chunk goes through the
// pipeline, and its offsets are committed only after the pipeline's sinks acknowledged.
// Bad messages go to the dead-letter topic with their original bytes and a reason
// header; alerts go to the alert topic as OCSF JSON keyed by device id.

import { Consumer, EachBatchPayload, Kafka, KafkaConfig as KafkaJsConfig, logLevel, Producer } from 'kafkajs';
import type { KafkaConfig } from '../config';
import type { InMessage, OutMessage, Pipeline } from '../pipeline';

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
  /** Highest offset seen minus committed, per partition (consumer lag estimate). */
  readonly lag = new Map<number, number>();
  committed = 0;
  /** Lag after each committed chunk (for the metrics). */
  onLag?: (topic: string, partition: number, lag: number) => void;
  /** The consumer crashed (kafkajs gave up retrying). */
  onCrash?: (reason: string) => void;
  private currentHeartbeat: (() => Promise<void>) | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly c: KafkaConfig,
    private readonly pipeline: Pipeline,
    private readonly log: KafkaLog,
  ) {
    this.consumer = kafka.consumer({ groupId: c.groupId, sessionTimeout: 30_000, heartbeatInterval: 3000, maxBytesPerPartition: 4 << 20, maxWaitTimeInMs: c.maxWaitMs });
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
  }

  /** The pipeline's producer-backed sinks. */
  alertSink = (messages: OutMessage[]) => this.send(this.c.alertTopic, messages);
  deadLetterSink = (messages: OutMessage[]) => this.send(this.c.dlqTopic, messages);

  private async send(topic: string, messages: OutMessage[]): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({ key: m.key === null ? null : Buffer.from(m.key as string | Uint8Array), value: Buffer.from(m.value as string | Uint8Array), headers: m.headers })),
    });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.log.error(`kafka consumer crashed: ${e.payload.error.message}`);
      this.onCrash?.(e.payload.error.message);
    });
    await this.consumer.subscribe({ topic: this.c.topic, fromBeginning: this.c.fromBeginning });
    this.connected = true;
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => this.eachBatch(p),
    });
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    this.inFlight = this.consume(payload);
    await this.inFlight;
  }

  private async consume({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    this.currentHeartbeat = heartbeat;
    const chunkSize = this.pipeline.maxChunk;
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      if (this.stopping || !isRunning() || isStale()) return;
      const slice = batch.messages.slice(start, start + chunkSize);
      const chunk: InMessage[] = slice.map((m) => ({
        value: m.value ?? Buffer.alloc(0),
        arrival: Number(m.timestamp),
        key: m.key,
        origin: { topic, partition, offset: m.offset },
      }));
      await this.pipeline.process(chunk);
      const last = slice[slice.length - 1].offset;
      resolveOffset(last);
      await this.consumer.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
      this.committed += slice.length;
      const lag = Number(BigInt(batch.highWatermark) - BigInt(last) - 1n);
      this.lag.set(partition, lag);
      this.onLag?.(topic, partition, lag);
      await heartbeat();
    }
  }

  /** Keep the group session alive while a sink retries (InfluxDB down). */
  heartbeat = async (): Promise<void> => {
    await this.currentHeartbeat?.().catch(() => undefined);
  };

  /**
   * Stop: the chunk in flight finishes (stored and committed) while the consumer is
   * still a group member — a commit racing the group leave was seen to be lost — and
   * only then does the consumer stop fetching and leave.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping = true;
    await this.inFlight?.catch(() => undefined);
    await this.consumer.stop();
  }

  async disconnect(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    this.connected = false;
  }
}
