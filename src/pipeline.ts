// The live loop, independent of where messages come from: a chunk of raw messages →
// core → alert policy → sinks (InfluxDB points, alert topic, dead letters). score() is
// the synchronous part; store() hands the results to one in-order writer per sink and
// resolves only when every sink has acknowledged the chunk and everything before it —
// the caller commits its offsets after that and never before. Between the two, the
// caller may score the next chunk (src/ingest/kafka.ts keeps a bounded window of chunks
// in flight).

import type { Alert, Origin } from './alerts/alert';
import type { AlertEvent } from './alerts/policy';
import { toOcsf } from './alerts/ocsf';
import { BAD_REASONS, SWEEP_MESSAGE, V } from './core/layout';
import { Detector } from './detector';
import type { Core } from './core/core';
import type { RunConfig } from './config';
import { alertLine, DeviceScoreWindows } from './sinks/points';
import type { InfluxSink } from './sinks/influx';
import { CLAIM_REFRESH_MS, type ClaimExchange } from './scaleout/claims';
import { OrderedWrites } from './sinks/queue';

export interface InMessage {
  value: Uint8Array;
  /** Transport arrival (Kafka timestamp, ms) or −1. */
  arrival: number;
  key?: Uint8Array | string | null;
  origin: Origin;
}

export interface OutMessage {
  key: string | Uint8Array | null;
  value: string | Uint8Array;
  headers?: Record<string, string>;
}

export interface Sinks {
  influx?: InfluxSink;
  /** Produce to the alert topic; resolves when acknowledged. */
  alerts?: (messages: OutMessage[]) => Promise<void>;
  /** Produce to the dead-letter topic; resolves when acknowledged. */
  deadLetters?: (messages: OutMessage[]) => Promise<void>;
  /** Produce credential claims for the other instances; resolves when acknowledged. */
  claims?: (messages: OutMessage[]) => Promise<void>;
}

/** A chunk scored and not yet stored: what each sink is to receive. */
export interface ScoredChunk {
  messages: InMessage[];
  /** Alerts raised or updated by the chunk. */
  alerts: Alert[];
  /** InfluxDB line protocol (alert points, ended device_score windows). */
  lines: string[];
  /** Alert-topic messages. */
  produced: OutMessage[];
  /** Dead letters. */
  dead: OutMessage[];
  /** Credential claims for the other instances. */
  claims: OutMessage[];
  startedAt: number;
}

export interface PipelineTotals {
  batches: number;
  deadLettered: number;
  alertsProduced: number;
  pointsWritten: number;
  lastBatchMs: number;
}

const VERSION = (require('../package.json') as { version: string }).version;

export class Pipeline {
  readonly detector: Detector;
  private readonly windows?: DeviceScoreWindows;
  private batch: InMessage[] = [];
  /** Alerts raised or updated in the current chunk (written once per chunk). */
  private touched = new Map<string, { alert: Alert; type: AlertEvent['type'] }>();
  /** Severity tag each open alert was raised with (point identity must not change). */
  private readonly severityTags = new Map<string, string>();
  readonly totals: PipelineTotals = { batches: 0, deadLettered: 0, alertsProduced: 0, pointsWritten: 0, lastBatchMs: 0 };
  /** One in-order writer per sink (the sinks are looked up at write time: callers may set them later). */
  private readonly influxWrites = new OrderedWrites<string>((lines) => this.sinks.influx!.writeAll(lines));
  private readonly alertWrites = new OrderedWrites<OutMessage>((m) => this.sinks.alerts!(m));
  private readonly deadLetterWrites = new OrderedWrites<OutMessage>((m) => this.sinks.deadLetters!(m));
  private readonly claimWrites = new OrderedWrites<OutMessage>((m) => this.sinks.claims!(m));
  /** Settles when the last chunk handed to store() was (or failed to be) stored. */
  private lastStored: Promise<void> = Promise.resolve();
  /** While re-scoring events another instance already stored: state only, no output. */
  private silent = false;
  private exchange?: ClaimExchange;
  /** Every alert event, for the API and logs. */
  onAlert?: (e: AlertEvent) => void;
  /** After a chunk was scored, with the core holding its verdicts (device history). */
  onScored?: (core: Core, verdicts: number) => void;
  /** After a chunk's results were acknowledged by every sink (latency measurements). */
  onStored?: (chunk: InMessage[], alerts: Alert[]) => void;

  constructor(
    config: RunConfig,
    private readonly sinks: Sinks,
  ) {
    this.detector = new Detector({
      engine: config.engine,
      // credential holders tell the other instances about themselves (src/scaleout/claims.ts)
      params: { capacity: config.capacity, claimRefreshMs: config.kafka?.claimsTopic ? CLAIM_REFRESH_MS : 0 },
      policy: {},
      originOf: (i) => this.batch[i].origin,
      onAlert: (e) => this.alertEvent(e),
    });
    if (sinks.influx && config.influx) this.windows = new DeviceScoreWindows(this.detector.core.stats().slots, config.influx.windowMs);
  }

  /** The severity tag an alert's points carry (its severity when raised). */
  severityTagOf(alert: Alert): string {
    return this.severityTags.get(alert.id) ?? alert.severity;
  }

  /** The credential-claim exchange with the other instances: applied before and collected after each chunk. */
  set claims(exchange: ClaimExchange | undefined) {
    this.exchange = exchange;
    this.detector.policy.remoteOwnerOf = exchange && ((credential) => exchange.ownerOf(credential));
  }

  get maxChunk(): number {
    return this.detector.core.maxBatch;
  }

  private alertEvent(e: AlertEvent): void {
    if (e.type === 'raised') {
      this.severityTags.set(e.alert.id, e.alert.severity);
      // kept after close too (a verdict may come later), bounded
      if (this.severityTags.size > 100_000) this.severityTags.delete(this.severityTags.keys().next().value as string);
    }
    if (this.silent) return;
    this.touched.set(e.alert.id, { alert: e.alert, type: e.type === 'closed' && this.touched.get(e.alert.id)?.type === 'raised' ? 'raised' : e.type });
    this.onAlert?.(e);
  }

  /**
   * Score a chunk for its effect on device state and open alerts only: these events'
   * results were stored by the partition's previous owner (a hand-over catching up).
   */
  warm(messages: InMessage[]): void {
    this.batch = messages;
    const d = this.detector;
    d.core.setPartition(messages[0]?.origin.partition ?? 0);
    this.exchange?.apply(d.core);
    for (let i = 0; i < messages.length; i++) {
      if (!d.core.add(messages[i].value, messages[i].arrival)) throw new Error('chunk larger than the core batch');
    }
    const n = d.core.score();
    this.silent = true;
    try {
      d.policy.apply(d.core, n, (i) => messages[i].origin);
    } finally {
      this.silent = false;
    }
  }

  /** Score a chunk (≤ maxChunk messages, one partition) and store its results; resolves when stored. */
  process(messages: InMessage[]): Promise<void> {
    return this.store(this.score(messages));
  }

  /**
   * Score a chunk (≤ maxChunk messages, one partition): core, alert policy, and what each
   * sink is to receive. Synchronous; nothing is written yet.
   */
  score(messages: InMessage[]): ScoredChunk {
    const t0 = performance.now();
    this.batch = messages;
    const d = this.detector;
    d.core.setPartition(messages[0]?.origin.partition ?? 0);
    this.exchange?.apply(d.core);
    for (let i = 0; i < messages.length; i++) {
      if (!d.core.add(messages[i].value, messages[i].arrival)) throw new Error('chunk larger than the core batch');
    }
    const n = d.core.score();
    d.policy.apply(d.core, n, (i) => messages[i].origin);
    this.onScored?.(d.core, n);

    const dead: OutMessage[] = [];
    const v = d.core.verdicts;
    for (let k = 0; k < n; k++) {
      const at = k * V.SIZE;
      const status = v.getUint32(at + V.STATUS, true);
      if (status === 0) continue;
      const i = v.getUint32(at + V.MESSAGE, true);
      if (i === SWEEP_MESSAGE) continue;
      const m = messages[i];
      dead.push({
        key: (m.key as string | Uint8Array | null | undefined) ?? null,
        value: m.value,
        headers: {
          reason: BAD_REASONS[status],
          ...(m.origin.topic !== undefined ? { 'original-topic': m.origin.topic, 'original-partition': String(m.origin.partition), 'original-offset': String(m.origin.offset) } : {}),
        },
      });
    }

    const lines: string[] = [];
    const produced: OutMessage[] = [];
    const stored: Alert[] = [];
    for (const { alert, type } of this.touched.values()) {
      stored.push(alert);
      const tag = this.severityTags.get(alert.id) ?? alert.severity;
      lines.push(alertLine(alert, tag, alert.origin.offset));
      produced.push({ key: alert.deviceId, value: JSON.stringify(toOcsf(alert, type, VERSION)) });
    }
    this.touched.clear();
    if (this.windows) this.windows.add(d.core, n, d.core.stats().clock, lines);
    const claims = this.exchange?.collect(d.core, n) ?? [];
    return { messages, alerts: stored, lines, produced, dead, claims, startedAt: t0 };
  }

  /**
   * Hand a scored chunk to the sinks. Each sink writes in order (one write at a time,
   * chunks queued meanwhile written together), so this returns at once and the next chunk
   * can be scored while this one is stored. Resolves when every sink acknowledged this
   * chunk and every chunk handed over before it; rejects when a sink failed it.
   */
  store(c: ScoredChunk): Promise<void> {
    const mine = Promise.all([
      this.sinks.influx && c.lines.length ? this.influxWrites.push(c.lines) : undefined,
      this.sinks.alerts && c.produced.length ? this.alertWrites.push(c.produced) : undefined,
      this.sinks.deadLetters && c.dead.length ? this.deadLetterWrites.push(c.dead) : undefined,
      this.sinks.claims && c.claims.length ? this.claimWrites.push(c.claims) : undefined,
    ]).then(() => undefined);
    // in order: a chunk counts as stored once everything before it is too
    const before = this.lastStored;
    const done = before.then(
      () => mine,
      () => mine,
    );
    this.lastStored = done.catch(() => undefined);
    return done.then(() => {
      this.totals.batches++;
      this.totals.deadLettered += c.dead.length;
      this.totals.alertsProduced += this.sinks.alerts ? c.produced.length : 0;
      this.totals.pointsWritten += this.sinks.influx ? c.lines.length : 0;
      this.totals.lastBatchMs = performance.now() - c.startedAt;
      this.onStored?.(c.messages, c.alerts);
    });
  }

  /** Store what is still open (device windows); alerts stay open across restarts. */
  async flush(): Promise<void> {
    if (this.windows && this.sinks.influx) {
      const lines = this.windows.drain();
      await this.influxWrites.push(lines); // behind whatever is still being written
      this.totals.pointsWritten += lines.length;
    }
  }
}
