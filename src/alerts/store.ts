// The in-memory store of recent alerts that the API serves: bounded (the oldest raised
// goes first when full), newest first, filtered and paged by cursor. It listens to the
// detector's alert events and numbers what it publishes (raised, updated, closed,
// verdict) with a sequence that only grows, so a stream client can resume after its
// last event id. Analyst verdicts live on the stored alert; a false-positive or benign
// verdict asks the alert policy to suppress the same device × kind for a while, and is
// handed to the sinks (InfluxDB stores it with the alert).
//
// Updates are coalesced: a flooding device updates its alert once per event, but the
// store publishes at most one `updated` per alert per turn of the event loop (after the
// batch that caused them), so stream clients see the state, not the storm.

import type { Alert, Severity } from './alert';
import { SEVERITIES } from './alert';
import type { AlertEvent, AlertListener } from './policy';
import type { AlertKind } from '../core/layout';

export type VerdictValue = 'true_positive' | 'false_positive' | 'benign';
export const VERDICT_VALUES: readonly VerdictValue[] = ['true_positive', 'false_positive', 'benign'];

export interface Verdict {
  verdict: VerdictValue;
  note: string | null;
  /** Who gave it (the analyst's name, or the API key's label). */
  by: string;
  /** Wall time (ms) it was given. */
  at: number;
  /** Fleet time (ms) until which the device × kind raises nothing (false_positive, benign). */
  suppressedUntil: number | null;
}

export type AlertStatus = 'open' | 'closed';

/** An alert as the API serves it. */
export interface StoredAlert extends Alert {
  status: AlertStatus;
  verdict: Verdict | null;
}

export type StoreEventType = 'raised' | 'updated' | 'closed' | 'verdict';

export interface StoreEvent {
  /** Grows with every event published; stream clients resume after it. */
  seq: number;
  type: StoreEventType;
  alert: StoredAlert;
}

/** Somewhere alerts are kept for good (the InfluxDB sink): told about verdicts. */
export interface AlertSink {
  onVerdict?(alert: StoredAlert, verdict: Verdict): void | Promise<void>;
}

/** What the store needs from the alert policy (an AlertPolicy satisfies it). */
export interface SuppressionTarget {
  suppress(deviceId: string, kind: AlertKind, untilFleetTime: number): void;
  openAlerts(): Iterable<Alert>;
}

export interface AlertStoreOptions {
  /** Alerts kept at most; the oldest raised is dropped first. */
  capacity: number;
  /** Fleet time (ms) a false-positive or benign verdict suppresses the device × kind. */
  suppressForMs: number;
  sinks: AlertSink[];
  /** First event sequence number; by default wall-clock µs, so ids keep growing across restarts. */
  firstSeq?: number;
}

export const DEFAULT_STORE: Readonly<AlertStoreOptions> = Object.freeze({
  capacity: 10_000,
  suppressForMs: 24 * 3_600_000,
  sinks: [],
});

export interface AlertQuery {
  deviceId?: string;
  kind?: AlertKind;
  /** Minimum severity. */
  severity?: Severity;
  status?: AlertStatus;
  /** detectedAt ≥ since (ms). */
  since?: number;
  /** detectedAt < until (ms). */
  until?: number;
  limit: number;
  /** From a previous page's nextCursor. */
  cursor?: string;
}

export interface AlertPage {
  alerts: StoredAlert[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface VerdictInput {
  verdict: VerdictValue;
  note?: string | null;
  by: string;
}

export interface VerdictResult {
  alert: StoredAlert;
  /** Sinks that failed to store the verdict (it is applied in memory regardless). */
  sinkErrors: Error[];
}

export const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

interface Rec {
  /** Raise order: listing order and cursor. */
  n: number;
  alert: Alert;
  status: AlertStatus;
  verdict: Verdict | null;
  /** Seq of the last event published for it, and of its raise. */
  seq: number;
  raisedSeq: number;
  lastType: StoreEventType;
  dirty: boolean;
  removed: boolean;
}

const keyOf = (deviceId: string, kind: string) => `${deviceId}\u0000${kind}`;

export class AlertStore {
  readonly options: AlertStoreOptions;
  private readonly byId = new Map<string, Rec>();
  /** Records in raise order from `head`; removed ones are skipped and dropped lazily. */
  private order: Rec[] = [];
  private head = 0;
  private nextN = 1;
  private seq: number;
  private readonly openByKey = new Map<string, Rec>();
  /** device × kind → the alert whose verdict suppressed it. */
  private readonly suppressions = new Map<string, { id: string; until: number }>();
  private readonly subscribers = new Set<(e: StoreEvent) => void>();
  private dirty: Rec[] = [];
  private flushScheduled = false;
  private target: SuppressionTarget | undefined;
  /** Alerts dropped because the store was full. */
  evicted = 0;

  /** Pass to the Detector (or compose): `onAlert: store.listener`. */
  readonly listener: AlertListener = (e) => this.onAlertEvent(e);

  constructor(options: Partial<AlertStoreOptions> = {}) {
    this.options = { ...DEFAULT_STORE, ...options, sinks: [...(options.sinks ?? DEFAULT_STORE.sinks)] };
    if (!(this.options.capacity >= 1)) throw new RangeError('alert store capacity must be at least 1');
    this.seq = this.options.firstSeq ?? Date.now() * 1000;
  }

  /** Use this policy for verdict suppression, and take in the alerts it has open now. */
  attach(target: SuppressionTarget): this {
    this.target = target;
    for (const alert of target.openAlerts()) if (!this.byId.has(alert.id)) this.insert(alert, 'raised');
    return this;
  }

  addSink(sink: AlertSink): void {
    this.options.sinks.push(sink);
  }

  /** Receive every event published from now on; returns the unsubscribe function. */
  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Seq of the last event published (a stream resuming from it misses nothing). */
  get lastSeq(): number {
    return this.seq;
  }

  get(id: string): StoredAlert | undefined {
    const r = this.byId.get(id);
    return r && view(r);
  }

  /** Newest first. */
  list(q: AlertQuery): AlertPage {
    const minRank = q.severity ? SEVERITY_RANK[q.severity] : 0;
    const since = q.since ?? -Infinity;
    const until = q.until ?? Infinity;
    let i = this.order.length - 1;
    if (q.cursor !== undefined) i = this.indexBefore(Number(q.cursor));
    const out: StoredAlert[] = [];
    let last: Rec | undefined;
    let more = false;
    for (; i >= this.head; i--) {
      const r = this.order[i];
      if (r.removed) continue;
      const a = r.alert;
      if (q.deviceId !== undefined && a.deviceId !== q.deviceId) continue;
      if (q.kind !== undefined && a.kind !== q.kind) continue;
      if (SEVERITY_RANK[a.severity] < minRank) continue;
      if (q.status !== undefined && r.status !== q.status) continue;
      if (a.detectedAt < since || a.detectedAt >= until) continue;
      if (out.length === q.limit) {
        more = true;
        break;
      }
      out.push(view(r));
      last = r;
    }
    return { alerts: out, nextCursor: more && last ? String(last.n) : null };
  }

  /** The device's alerts, newest first (at most `limit`). */
  forDevice(deviceId: string, limit = 100): StoredAlert[] {
    return this.list({ deviceId, limit }).alerts;
  }

  /**
   * What a stream client that saw everything up to `afterSeq` has missed: every stored
   * alert changed since, once, in its current state, oldest change first. An id this
   * store never published (from the future, e.g. before a restart) resends everything.
   */
  eventsAfter(afterSeq: number): StoreEvent[] {
    const from = afterSeq > this.seq ? -Infinity : afterSeq;
    const out: StoreEvent[] = [];
    for (const r of this.byId.values()) {
      if (r.seq > from) out.push({ seq: r.seq, type: r.raisedSeq > from ? 'raised' : r.lastType, alert: view(r) });
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /**
   * Record an analyst's verdict. False-positive and benign suppress the device × kind
   * until `lastSeen + suppressForMs` of fleet time (closing the alert if it is open);
   * true-positive after either lifts the suppression this alert set. Undefined: no such
   * alert.
   */
  async setVerdict(id: string, input: VerdictInput): Promise<VerdictResult | undefined> {
    const r = this.byId.get(id);
    if (!r) return undefined;
    const a = r.alert;
    const key = keyOf(a.deviceId, a.kind);
    const suppress = input.verdict !== 'true_positive';
    const verdict: Verdict = {
      verdict: input.verdict,
      note: input.note ?? null,
      by: input.by,
      at: Date.now(),
      suppressedUntil: suppress ? a.lastSeen + this.options.suppressForMs : null,
    };
    r.verdict = verdict;
    if (this.target) {
      if (suppress) {
        this.suppressions.set(key, { id, until: verdict.suppressedUntil! });
        this.target.suppress(a.deviceId, a.kind, verdict.suppressedUntil!); // closes it if open
      } else if (this.suppressions.get(key)?.id === id) {
        this.suppressions.delete(key);
        // an alert open for the key means the suppression has already run out
        if (!this.openByKey.has(key)) this.target.suppress(a.deviceId, a.kind, -Infinity);
      }
    }
    this.publish(r, 'verdict');
    const stored = view(r);
    const sinkErrors: Error[] = [];
    await Promise.all(
      this.options.sinks.map(async (s) => {
        try {
          await s.onVerdict?.(stored, verdict);
        } catch (err) {
          sinkErrors.push(err instanceof Error ? err : new Error(String(err)));
        }
      }),
    );
    return { alert: stored, sinkErrors };
  }

  /** Publish pending coalesced updates now (normally done after each event-loop turn). */
  flushUpdates(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const r of dirty) {
      if (!r.dirty || r.removed) continue;
      r.dirty = false;
      this.publish(r, 'updated');
    }
  }

  private onAlertEvent(e: AlertEvent): void {
    const a = e.alert;
    const r = this.byId.get(a.id);
    if (e.type === 'raised' || !r) {
      if (e.type === 'closed' && !r) return; // closed before we knew it (or evicted): nothing to show
      this.insert(a, e.type === 'raised' ? 'raised' : 'updated');
      return;
    }
    r.alert = a;
    if (e.type === 'updated') {
      if (!r.dirty) {
        r.dirty = true;
        this.dirty.push(r);
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => this.flushUpdates());
        }
      }
      return;
    }
    // closed
    r.dirty = false;
    r.status = 'closed';
    const key = keyOf(a.deviceId, a.kind);
    if (this.openByKey.get(key) === r) this.openByKey.delete(key);
    this.publish(r, 'closed');
  }

  private insert(alert: Alert, type: 'raised' | 'updated'): void {
    const old = this.byId.get(alert.id);
    if (old) this.remove(old); // the same incident replayed again: the new one replaces it
    const r: Rec = { n: this.nextN++, alert, status: 'open', verdict: null, seq: 0, raisedSeq: 0, lastType: type, dirty: false, removed: false };
    this.byId.set(alert.id, r);
    this.order.push(r);
    this.openByKey.set(keyOf(alert.deviceId, alert.kind), r);
    while (this.byId.size > this.options.capacity) {
      const oldest = this.order[this.head];
      this.head++;
      if (!oldest.removed) {
        this.remove(oldest);
        this.evicted++;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    this.publish(r, type);
    r.raisedSeq = r.seq;
  }

  private remove(r: Rec): void {
    r.removed = true;
    this.byId.delete(r.alert.id);
    const key = keyOf(r.alert.deviceId, r.alert.kind);
    if (this.openByKey.get(key) === r) this.openByKey.delete(key);
  }

  private publish(r: Rec, type: StoreEventType): void {
    r.seq = ++this.seq;
    r.lastType = type;
    if (this.subscribers.size === 0) return;
    const e: StoreEvent = { seq: r.seq, type, alert: view(r) };
    for (const fn of this.subscribers) fn(e);
  }

  /** Index in `order` of the newest record raised before raise number n. */
  private indexBefore(n: number): number {
    let lo = this.head;
    let hi = this.order.length; // first index with order[i].n >= n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid].n < n) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}

/** The alert as served: a fresh object of one fixed shape (a spread with extra keys is ~20× slower). */
function view(r: Rec): StoredAlert {
  const a = r.alert;
  return {
    id: a.id,
    deviceId: a.deviceId,
    kind: a.kind,
    severity: a.severity,
    score: a.score,
    ts: a.ts,
    detectedAt: a.detectedAt,
    firstSeen: a.firstSeen,
    lastSeen: a.lastSeen,
    count: a.count,
    summary: a.summary,
    evidence: a.evidence,
    reasons: a.reasons,
    origin: a.origin,
    status: r.status,
    verdict: r.verdict,
  };
}

/** One listener that calls several (the store, a printer, a sink…) in order. */
export function fanOut(...listeners: (AlertListener | undefined)[]): AlertListener {
  const ls = listeners.filter((l): l is AlertListener => l !== undefined);
  return (e) => {
    for (const l of ls) l(e);
  };
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}
