// Prometheus metrics (prom-client), one registry per detector process. The detector's
// own totals (events, bad input, alerts, table fill) are read from it at scrape time, so
// the hot path pays nothing; the rest is set by whoever knows it: batch latency by the
// loop that scores batches, consumer lag by the Kafka loop, write errors by the sinks.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ALERT_KINDS, BAD_REASONS } from './core/layout';
import type { CoreStats } from './core/core';
import type { AlertKind } from './core/layout';
import type { InventoryState } from './inventory/watch';

/** What the scrape reads the detector's totals from (a Detector satisfies it). */
export interface DetectorSource {
  core: { stats(): CoreStats };
  policy: { raised: Record<AlertKind, number>; openCount: number };
}

export interface MetricsOptions {
  /** Metric name prefix. */
  prefix: string;
  /** Also export Node's process metrics (CPU, memory, event loop lag, GC). */
  processMetrics: boolean;
}

export const DEFAULT_METRICS_OPTIONS: Readonly<MetricsOptions> = Object.freeze({ prefix: 'edge_sentinel_', processMetrics: true });

export class Metrics {
  readonly registry = new Registry();
  readonly options: MetricsOptions;
  /** Valid telemetry events scored. */
  readonly events: Counter;
  /** Rejected messages by reason (BAD_REASONS). */
  readonly badInput: Counter<'reason'>;
  /** Alerts raised by kind. */
  readonly alerts: Counter<'kind'>;
  readonly openAlerts: Gauge;
  /** Seconds to score one batch and apply the alert policy. */
  readonly batchSeconds: Histogram;
  /** Messages behind the partition's high watermark (set by the Kafka loop). */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /** Failed InfluxDB writes (incremented by the sinks). */
  readonly influxWriteErrors: Counter<'measurement'>;
  readonly devices: Gauge;
  /** Devices in the table / table slots. */
  readonly deviceTableFill: Gauge;
  readonly deviceEvictions: Counter;
  /** Connected SSE clients. */
  readonly streamClients: Gauge;
  /** Alerts held by the in-memory store. */
  readonly storedAlerts: Gauge;
  readonly verdicts: Counter<'verdict'>;

  private source: DetectorSource | undefined;
  private last = { events: 0, evictions: 0, bad: [] as number[], alerts: {} as Record<string, number> };

  constructor(options: Partial<MetricsOptions> = {}) {
    this.options = { ...DEFAULT_METRICS_OPTIONS, ...options };
    const p = this.options.prefix;
    const registers = [this.registry];
    // Counters of the detector's totals catch up at scrape time (one collect for all).
    const sync = () => this.sync();
    this.events = new Counter({ name: `${p}events_total`, help: 'Valid telemetry events scored', registers, collect: sync });
    this.badInput = new Counter({ name: `${p}bad_input_total`, help: 'Rejected messages by reason', labelNames: ['reason'], registers });
    this.alerts = new Counter({ name: `${p}alerts_raised_total`, help: 'Alerts raised by kind', labelNames: ['kind'], registers });
    this.openAlerts = new Gauge({ name: `${p}open_alerts`, help: 'Alerts open in the alert policy', registers });
    this.batchSeconds = new Histogram({
      name: `${p}batch_duration_seconds`,
      help: 'Time to score one batch and apply the alert policy',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.consumerLag = new Gauge({ name: `${p}consumer_lag_messages`, help: 'Kafka consumer lag per partition', labelNames: ['topic', 'partition'], registers });
    this.influxWriteErrors = new Counter({ name: `${p}influx_write_errors_total`, help: 'Failed InfluxDB writes', labelNames: ['measurement'], registers });
    this.devices = new Gauge({ name: `${p}devices`, help: 'Devices in the detector table', registers });
    this.deviceTableFill = new Gauge({ name: `${p}device_table_fill_ratio`, help: 'Devices in the table divided by its slots', registers });
    this.deviceEvictions = new Counter({ name: `${p}device_evictions_total`, help: 'Devices evicted from the table to make room', registers });
    this.streamClients = new Gauge({ name: `${p}stream_clients`, help: 'Connected Server-Sent Events clients', registers });
    this.storedAlerts = new Gauge({ name: `${p}stored_alerts`, help: 'Alerts held by the in-memory alert store', registers });
    this.verdicts = new Counter({ name: `${p}verdicts_total`, help: 'Analyst verdicts by value', labelNames: ['verdict'], registers });
    // every label value present from the start, so dashboards see zeros rather than gaps
    for (const r of BAD_REASONS) if (r !== 'ok') this.badInput.inc({ reason: r }, 0);
    for (const k of ALERT_KINDS) this.alerts.inc({ kind: k }, 0);
    if (this.options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  /** Read events, bad input, alerts and table fill from this detector at each scrape. */
  track(source: DetectorSource): this {
    this.source = source;
    return this;
  }

  /** Partition ownership and state hand-over (registered when Kafka is used). */
  partitions?: {
    owned: Gauge<'partition'>;
    restores: Counter<'result'>;
    restoreSeconds: Histogram;
    snapshots: Counter;
    snapshotBytes: Gauge<'partition'>;
    snapshotSeconds: Histogram;
    caughtUp: Counter;
  };

  trackPartitions(): NonNullable<Metrics['partitions']> {
    const p = this.options.prefix;
    const registers = [this.registry];
    this.partitions = {
      owned: new Gauge({ name: `${p}partition_owned`, help: 'Telemetry partitions this instance owns (1 per owned partition)', labelNames: ['partition'], registers }),
      restores: new Counter({ name: `${p}state_restores_total`, help: 'Partition state restores on assignment, by result (restored, missing, corrupt)', labelNames: ['result'], registers }),
      restoreSeconds: new Histogram({ name: `${p}state_restore_seconds`, help: 'Time to read and restore a partition snapshot', buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60], registers }),
      snapshots: new Counter({ name: `${p}state_snapshots_total`, help: 'Partition snapshots written to the state topic', registers }),
      snapshotBytes: new Gauge({ name: `${p}state_snapshot_bytes`, help: 'Size of the last snapshot of each owned partition', labelNames: ['partition'], registers }),
      snapshotSeconds: new Histogram({ name: `${p}state_snapshot_seconds`, help: 'Time to take and write a partition snapshot', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10], registers }),
      caughtUp: new Counter({ name: `${p}state_catchup_events_total`, help: 'Events re-scored silently after a restore (stored by the previous owner)', registers }),
    };
    for (const r of ['restored', 'missing', 'corrupt']) this.partitions.restores.inc({ result: r }, 0);
    return this.partitions;
  }

  /** Credential claims exchanged with the other instances, by what happened to them (read at each scrape). */
  trackClaims(totals: () => Record<string, number>): this {
    const p = this.options.prefix;
    new Gauge({
      name: `${p}credential_claims`,
      help: 'Credential claims since start: published to the other instances, received from them, taken by the core, kept out by an active holder here, dropped while waiting, malformed',
      labelNames: ['event'],
      registers: [this.registry],
      collect() {
        for (const [event, n] of Object.entries(totals())) this.set({ event }, n);
      },
    });
    return this;
  }

  /** Record the duration of one scored batch. */
  observeBatch(seconds: number): void {
    this.batchSeconds.observe(seconds);
  }

  /**
   * Inventory gauges and reload counters, read from `state` at each scrape. Registered
   * only when an inventory is configured: without one there is nothing to report.
   */
  trackInventory(state: () => InventoryState): this {
    const p = this.options.prefix;
    const registers = [this.registry];
    const seen = { reloads: 0, failed: 0 };
    new Gauge({ name: `${p}inventory_devices`, help: 'Devices enrolled in the inventory in use', registers, collect() { this.set(state().devices ?? 0); } });
    new Gauge({ name: `${p}inventory_credentials`, help: 'Credentials enrolled in the inventory in use', registers, collect() { this.set(state().credentials); } });
    new Gauge({ name: `${p}inventory_revoked_credentials`, help: 'Credentials on the revocation list in use', registers, collect() { this.set(state().revoked); } });
    new Gauge({ name: `${p}inventory_loaded_timestamp_seconds`, help: 'When the inventory in use was loaded (Unix time)', registers, collect() { this.set(state().loadedAt / 1000); } });
    new Gauge({ name: `${p}inventory_in_sync`, help: '1 when the files on disk are the ones in use, 0 while a changed file is rejected', registers, collect() { this.set(state().inSync ? 1 : 0); } });
    new Counter({
      name: `${p}inventory_reloads_total`,
      help: 'Inventory or revocation list reloads applied',
      registers,
      collect() {
        const n = state().reloads;
        if (n > seen.reloads) this.inc(n - seen.reloads);
        seen.reloads = n;
      },
    });
    new Counter({
      name: `${p}inventory_reload_failures_total`,
      help: 'Changed inventory or revocation files rejected (invalid or removed; the previous one stays in use)',
      registers,
      collect() {
        const n = state().failedReloads;
        if (n > seen.failed) this.inc(n - seen.failed);
        seen.failed = n;
      },
    });
    return this;
  }

  /** Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private sync(): void {
    const src = this.source;
    if (!src) return;
    const s = src.core.stats();
    const last = this.last;
    if (s.events > last.events) this.events.inc(s.events - last.events);
    last.events = s.events;
    if (s.evictions > last.evictions) this.deviceEvictions.inc(s.evictions - last.evictions);
    last.evictions = s.evictions;
    for (let code = 1; code < s.bad.length && code < BAD_REASONS.length; code++) {
      const d = s.bad[code] - (last.bad[code] ?? 0);
      if (d > 0) this.badInput.inc({ reason: BAD_REASONS[code] }, d);
    }
    last.bad = s.bad.slice();
    for (const k of ALERT_KINDS) {
      const n = src.policy.raised[k] ?? 0;
      const d = n - (last.alerts[k] ?? 0);
      if (d > 0) this.alerts.inc({ kind: k }, d);
      last.alerts[k] = n;
    }
    this.openAlerts.set(src.policy.openCount);
    this.devices.set(s.devices);
    this.deviceTableFill.set(s.slots > 0 ? s.devices / s.slots : 0);
  }
}
