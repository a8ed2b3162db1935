// Alert policy: verdict records → alerts. One open alert per device × kind, updated
// (count, lastSeen, max score) instead of repeated; closed after `closeAfterMs` of fleet
// time without a new finding of that kind, so a later incident is a new alert. Only
// the strongest finding of an event raises an alert: the others are listed in its
// `reasons` (a replayed message is also skewed and from another source; one incident,
// one alert). Memory: at most `maxOpen` open alerts; the stalest is closed first.

import { createHash } from 'node:crypto';
import type { Core } from '../core/core';
import type { Inventory } from '../inventory/model';
import { ALERT_KINDS, AlertKind, ALERTING_REASONS, NO_REASON, SWEEP_MESSAGE, V } from '../core/layout';
import type { Alert, Origin, Severity } from './alert';
import { explain } from './explain';

/** The alert line: the score from which a finding raises an alert, unless configured per kind. */
export const DEFAULT_ALERT_THRESHOLD = 0.5;

export interface PolicyOptions {
  /** Minimum score per kind to raise an alert (default DEFAULT_ALERT_THRESHOLD for every kind). */
  thresholds: Partial<Record<AlertKind, number>>;
  /** Score from which an alert is high severity… */
  highFrom: number;
  /** …and medium. */
  mediumFrom: number;
  /** Fleet time (ms) without a new finding after which an open alert closes. */
  closeAfterMs: number;
  /** Open alerts kept at most. */
  maxOpen: number;
}

export const DEFAULT_POLICY: Readonly<PolicyOptions> = Object.freeze({
  thresholds: {},
  highFrom: 0.85,
  mediumFrom: 0.65,
  closeAfterMs: 1_800_000,
  maxOpen: 100_000,
});

export type AlertEvent = { type: 'raised' | 'updated' | 'closed'; alert: Alert };
export type AlertListener = (e: AlertEvent) => void;

/** Maps message index → where it came from (topic/partition/offset or file/line). */
export type OriginOf = (message: number) => Origin;

const decoder = new TextDecoder();

export class AlertPolicy {
  readonly options: PolicyOptions;
  private readonly thresholds: Float64Array;
  private readonly open = new Map<string, Alert>();
  private lastClose = -Infinity;
  /** Alerts raised per kind since start. */
  readonly raised: Record<AlertKind, number>;
  /** Findings not raised because an analyst suppressed their device × kind. */
  suppressedFindings = 0;
  /** device × kind → fleet time until which findings raise nothing (analyst verdicts). */
  private readonly suppressed = new Map<string, number>();
  /** The loaded inventory, for explanations that name enrolled credentials and networks. */
  inventory: Inventory | undefined;
  /** Who another instance says holds a credential (scale-out claims), for explanations. */
  remoteOwnerOf: ((credential: string) => string | undefined) | undefined;

  constructor(
    private readonly listener: AlertListener,
    options: Partial<PolicyOptions> = {},
  ) {
    this.options = { ...DEFAULT_POLICY, ...options, thresholds: { ...DEFAULT_POLICY.thresholds, ...options.thresholds } };
    this.thresholds = new Float64Array(ALERT_KINDS.map((k) => this.options.thresholds[k] ?? DEFAULT_ALERT_THRESHOLD));
    this.raised = Object.fromEntries(ALERT_KINDS.map((k) => [k, 0])) as Record<AlertKind, number>;
  }

  severityOf(score: number): Severity {
    return score >= this.options.highFrom ? 'high' : score >= this.options.mediumFrom ? 'medium' : 'low';
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Apply the verdicts of the batch just scored by `core`. */
  apply(core: Core, count: number, originOf: OriginOf): void {
    const v = core.verdicts;
    let clock = -Infinity;
    for (let k = 0; k < count; k++) {
      const at = k * V.SIZE;
      const reasons = v.getUint32(at + V.REASONS, true);
      if ((reasons & ALERTING_REASONS) === 0) continue;
      const r1 = v.getUint32(at + V.EV1_REASON, true);
      if (r1 === NO_REASON || r1 >= ALERT_KINDS.length) continue;
      const score = v.getFloat64(at + V.EV1_SCORE, true);
      const arrival = v.getFloat64(at + V.ARRIVAL, true);
      if (arrival > clock) clock = arrival;
      if (score < this.thresholds[r1]) continue;
      this.finding(core, at, r1, score, reasons, originOf);
    }
    if (clock - this.lastClose >= 60_000) {
      this.closeStale(clock);
      this.lastClose = clock;
    }
  }

  private finding(core: Core, at: number, r1: number, score: number, reasons: number, originOf: OriginOf): void {
    const v = core.verdicts;
    const kind = ALERT_KINDS[r1];
    const slot = v.getUint32(at + V.SLOT, true);
    const message = v.getUint32(at + V.MESSAGE, true);
    const arrival = v.getFloat64(at + V.ARRIVAL, true);
    const ts = v.getFloat64(at + V.TS, true);
    const bytes = message === SWEEP_MESSAGE ? undefined : core.message(message);
    let parsed: Record<string, unknown> | undefined;
    if (bytes) {
      try {
        parsed = JSON.parse(decoder.decode(bytes)) as Record<string, unknown>;
      } catch {
        parsed = undefined;
      }
    }
    const deviceId = typeof parsed?.deviceId === 'string' ? parsed.deviceId : core.deviceId(slot);
    const key = `${deviceId}\u0000${kind}`;
    const until = this.suppressed.get(key);
    if (until !== undefined) {
      if (arrival <= until) {
        this.suppressedFindings++;
        return;
      }
      this.suppressed.delete(key);
    }
    const existing = this.open.get(key);
    if (existing && arrival - existing.lastSeen <= this.options.closeAfterMs) {
      existing.count++;
      existing.lastSeen = Math.max(existing.lastSeen, arrival);
      if (score > existing.score) {
        existing.score = score;
        existing.severity = this.severityOf(score);
      }
      // keep the map ordered by last activity, so the stalest is first when full
      this.open.delete(key);
      this.open.set(key, existing);
      this.listener({ type: 'updated', alert: existing });
      return;
    }
    if (existing) this.close(key, existing);

    const finding = {
      kind,
      score,
      expected: v.getFloat64(at + V.EV1_EXPECTED, true),
      observed: v.getFloat64(at + V.EV1_OBSERVED, true),
      spread: v.getFloat64(at + V.EV1_SPREAD, true),
      aux: v.getFloat64(at + V.EV1_AUX, true),
    };
    const enrolled = this.inventory?.devices?.get(deviceId);
    const { summary, evidence } = explain(finding, { deviceId, message: parsed, deviceIdOf: (s) => core.deviceId(s), remoteOwnerOf: this.remoteOwnerOf, enrolled });
    const alert: Alert = {
      id: alertId(deviceId, kind, arrival),
      deviceId,
      kind,
      severity: this.severityOf(score),
      score,
      ts,
      detectedAt: arrival,
      firstSeen: arrival,
      lastSeen: arrival,
      count: 1,
      summary,
      evidence,
      reasons: reasonNames(reasons, r1),
      origin: message === SWEEP_MESSAGE ? {} : originOf(message),
    };
    if (this.open.size >= this.options.maxOpen) {
      const [oldKey, oldest] = this.open.entries().next().value as [string, Alert];
      this.close(oldKey, oldest);
    }
    this.open.set(key, alert);
    this.raised[kind]++;
    this.listener({ type: 'raised', alert });
  }

  private close(key: string, alert: Alert): void {
    this.open.delete(key);
    this.listener({ type: 'closed', alert });
  }

  /** Close alerts whose last finding is older than closeAfterMs at fleet time `now`. */
  closeStale(now: number): void {
    for (const [key, alert] of this.open) {
      if (now - alert.lastSeen <= this.options.closeAfterMs) break; // ordered by activity
      this.close(key, alert);
    }
  }

  /**
   * Raise nothing for this device × kind until fleet time `until` (an analyst's
   * false-positive or benign verdict). The open alert, if any, is closed.
   */
  suppress(deviceId: string, kind: AlertKind, until: number): void {
    const key = `${deviceId}\u0000${kind}`;
    this.suppressed.set(key, until);
    if (this.suppressed.size > this.options.maxOpen) {
      const oldest = this.suppressed.keys().next().value as string;
      this.suppressed.delete(oldest);
    }
    const open = this.open.get(key);
    if (open) this.close(key, open);
  }

  /** Open alerts, stalest first (for the API's store to resync). */
  openAlerts(): IterableIterator<Alert> {
    return this.open.values();
  }

  /** Close every open alert (end of a replay, shutdown). */
  closeAll(): void {
    for (const [key, alert] of this.open) this.close(key, alert);
  }
}

/** Deterministic id: the same incident replayed after a crash gets the same id. */
export function alertId(deviceId: string, kind: string, firstSeen: number): string {
  return createHash('sha1').update(`${deviceId}\u0000${kind}\u0000${firstSeen}`).digest('hex').slice(0, 20);
}

function reasonNames(reasons: number, first: number): string[] {
  const names = [ALERT_KINDS[first]];
  for (let b = 0; b < ALERT_KINDS.length; b++) if (b !== first && reasons & (1 << b)) names.push(ALERT_KINDS[b]);
  return names;
}
