// Scores alerts against a simulated fleet's ground truth (labels.json): per attack type,
// how many were detected, with the right kind, how fast (in the attacked identity's own
// messages); alerts that match no attack are false positives, and any high-severity
// alert on a device that just made a benign change is called out.

import type { Alert } from '../alerts/alert';
import type { PolicyOptions } from '../alerts/policy';
import type { AttackLabel, BenignLabel, SimLabels } from '../ingest/simulator/labels';
import type { Fleet } from '../ingest/simulator';
import type { Engine } from '../core';
import { Detector } from '../detector';

export interface EvalOptions {
  /** An alert this long (ms) before an attack's first line still counts for it. */
  leadMs: number;
  /** …and this long after its last line. */
  graceMs: number;
  /** A benign change "draws" an alert raised on its device within this window (ms). */
  benignWindowMs: number;
}

export const DEFAULT_EVAL: EvalOptions = { leadMs: 60_000, graceMs: 2 * 3_600_000, benignWindowMs: 30 * 60_000 };

export interface TypeResult {
  attacks: number;
  detected: number;
  recall: number;
  /** Detected with one of the expected kinds. */
  kindMatch: number;
  /** Messages of the attacked identity from the attack's first line to the alert, per detection (1 = on the first). */
  delays: number[];
  medianDelay: number | null;
  missed: string[];
  /** The same counts per way of carrying the attack out (labels' detail.variant). */
  variants: Record<string, { attacks: number; detected: number }>;
}

export interface EvalResult {
  perType: Record<string, TypeResult>;
  attacks: number;
  detected: number;
  recall: number;
  falseAlerts: Alert[];
  /** Benign changes followed by an alert on the same device, by change type. */
  benignDrew: Record<string, { alerts: number; high: number; kinds: string[] }>;
  benignHigh: { benign: BenignLabel; alert: Alert }[];
}

/** Positions (line numbers) of each device's messages, for delays counted in messages. */
export type DeviceLines = Map<string, number[]>;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function identities(a: AttackLabel): string[] {
  return a.attackerDeviceId ? [a.deviceId, a.attackerDeviceId] : [a.deviceId];
}

/** Number of `device` messages in lines [from, to] (binary search). */
function messagesBetween(lines: number[] | undefined, from: number, to: number): number {
  if (!lines) return NaN;
  const lower = (x: number) => {
    let lo = 0;
    let hi = lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lines[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return lower(to + 1) - lower(from);
}

export function evaluate(alerts: Alert[], labels: SimLabels, deviceLines?: DeviceLines, options: Partial<EvalOptions> = {}): EvalResult {
  const o = { ...DEFAULT_EVAL, ...options };
  const byDevice = new Map<string, Alert[]>();
  for (const a of alerts) {
    const list = byDevice.get(a.deviceId);
    if (list) list.push(a);
    else byDevice.set(a.deviceId, [a]);
  }
  const matched = new Set<Alert>();
  const perType: Record<string, TypeResult> = {};
  for (const atk of labels.attacks) {
    const r = (perType[atk.type] ??= { attacks: 0, detected: 0, recall: 0, kindMatch: 0, delays: [], medianDelay: null, missed: [], variants: {} });
    const v = (r.variants[String(atk.detail.variant ?? 'default')] ??= { attacks: 0, detected: 0 });
    r.attacks++;
    v.attacks++;
    const lo = atk.start - o.leadMs;
    const hi = atk.end + o.graceMs;
    const hits: Alert[] = [];
    for (const id of identities(atk)) for (const a of byDevice.get(id) ?? []) if (a.firstSeen >= lo && a.firstSeen <= hi) hits.push(a);
    hits.forEach((a) => matched.add(a));
    if (hits.length === 0) {
      r.missed.push(`${atk.id} ${atk.deviceId}${atk.detail.variant ? ` (${atk.detail.variant})` : ''}`);
      continue;
    }
    r.detected++;
    v.detected++;
    if (hits.some((a) => atk.expectedKinds.includes(a.kind))) r.kindMatch++;
    if (deviceLines && atk.firstLine >= 0 && atk.type !== 'silence') {
      const first = hits.filter((a) => a.origin.line !== undefined).sort((a, b) => a.origin.line! - b.origin.line!)[0];
      if (first) {
        const lines = identities(atk)
          .map((id) => deviceLines.get(id) ?? [])
          .flat()
          .sort((a, b) => a - b);
        r.delays.push(messagesBetween(lines, atk.firstLine, first.origin.line!));
      }
    }
  }
  let attacks = 0;
  let detected = 0;
  for (const r of Object.values(perType)) {
    r.recall = r.attacks ? r.detected / r.attacks : 1;
    r.medianDelay = median(r.delays);
    attacks += r.attacks;
    detected += r.detected;
  }
  const falseAlerts = alerts.filter((a) => !matched.has(a));

  const benignDrew: EvalResult['benignDrew'] = {};
  const benignHigh: EvalResult['benignHigh'] = [];
  const attacked = new Set(labels.attacks.flatMap(identities));
  for (const b of labels.benign) {
    const d = (benignDrew[b.type] ??= { alerts: 0, high: 0, kinds: [] });
    if (attacked.has(b.deviceId)) continue;
    for (const a of byDevice.get(b.deviceId) ?? []) {
      if (a.firstSeen < b.at - 1000 || a.firstSeen > b.at + o.benignWindowMs) continue;
      d.alerts++;
      if (!d.kinds.includes(a.kind)) d.kinds.push(a.kind);
      if (a.severity === 'high') {
        d.high++;
        benignHigh.push({ benign: b, alert: a });
      }
    }
  }
  return { perType, attacks, detected, recall: attacks ? detected / attacks : 1, falseAlerts, benignDrew, benignHigh };
}

export interface ReplayedFleet {
  alerts: Alert[];
  deviceLines: DeviceLines;
  events: number;
  attackLines: number;
  labels: SimLabels;
}

/**
 * Score a simulated fleet through the detector as `replay` would (no arrival times: the
 * fleet clock), and collect what evaluate() needs. `policy` overrides the alert policy's
 * defaults (e.g. a metric_anomaly threshold picked on NAB).
 */
export function replayFleet(fleet: Fleet, engine: Engine = 'wasm', capacity = 65536, policy: Partial<PolicyOptions> = {}): ReplayedFleet {
  const alerts: Alert[] = [];
  const detector = new Detector({
    engine,
    params: { capacity },
    policy,
    onAlert: (e) => {
      if (e.type === 'closed') alerts.push(e.alert);
    },
    originOf: (line) => ({ line }),
  });
  const deviceLines: DeviceLines = new Map();
  let line = 0;
  let attackLines = 0;
  for (let ev = fleet.next(); ev; ev = fleet.next(), line++) {
    detector.add(Buffer.from(ev.line), -1, line);
    if (ev.attackId) attackLines++;
    const list = deviceLines.get(ev.deviceId);
    if (list) list.push(line);
    else deviceLines.set(ev.deviceId, [line]);
  }
  detector.finish();
  return { alerts, deviceLines, events: line, attackLines, labels: fleet.labels() };
}
