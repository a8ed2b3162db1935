// Attacks: the ten kinds, the alert kinds each one should raise, and their planning
// (victim, window, parameters). The behaviour itself lives with the senders: the victim's
// own messages change in device.ts, separate attacker streams are devices too (clone,
// credential thief) or a ReplaySim (replay).
//
// Every attack hits a distinct victim and starts after a warm-up (so baselines exist), in
// the middle part of the run. Victims get no benign change, so labels are unambiguous.

import type { AlertKind } from '../../core/layout';
import { DEVICE_CLASSES } from './classes';
import { type CredentialPool, type DevicePlan, type FleetPlan, deviceId, foreignSource, net24 } from './plan';
import type { ResolvedFleetOptions } from './options';
import type { Prng } from './prng';

export const ATTACK_TYPES = [
  'replay',
  'clone',
  'credential_theft',
  'hijack',
  'firmware_downgrade',
  'exfiltration',
  'flood',
  'silence',
  'value_injection',
  'clock_skew',
] as const;
export type AttackType = (typeof ATTACK_TYPES)[number];

export const EXPECTED_KINDS: Readonly<Record<AttackType, readonly AlertKind[]>> = {
  replay: ['replay'],
  clone: ['clone'],
  credential_theft: ['credential_shared'],
  hijack: ['credential_change', 'source_change'],
  firmware_downgrade: ['firmware_downgrade'],
  exfiltration: ['size_anomaly'],
  flood: ['rate_spike'],
  silence: ['silence'],
  value_injection: ['metric_anomaly'],
  clock_skew: ['clock_skew'],
};

/**
 * How each attack may be carried out. Real attackers do not all shout: every type has a
 * loud and a quieter way, drawn per attack, so the evaluation measures both (and says
 * which one was missed).
 */
export const ATTACK_VARIANTS: Readonly<Record<AttackType, readonly string[]>> = {
  replay: ['foreign source', 'own source', 'burst'],
  clone: ['foreign network', 'same site'],
  credential_theft: ['foreign network', 'same site'],
  hijack: ['seq continues', 'seq restarts'],
  firmware_downgrade: ['legacy release', 'one step back'],
  exfiltration: ['large', 'moderate'],
  flood: ['large', 'moderate'],
  silence: ['hours', 'under two hours'],
  value_injection: ['implausible', 'out of pattern'],
  clock_skew: ['hours', 'minutes'],
};

export interface AttackPlan {
  id: string;
  type: AttackType;
  /** One of ATTACK_VARIANTS[type]. */
  variant: string;
  /** Device index of the victim. */
  victim: number;
  /** Planned window, ms epoch (the victim's send times that are affected). */
  start: number;
  end: number;
  /** replay, clone, credential_theft, hijack: where the attacker sends from. */
  source?: string;
  /** hijack: the attacker's credential. */
  credential?: string;
  /** credential_theft: the attacker's device id (not in the fleet). */
  attackerId?: string;
  /** hijack: the seq of the attacker's stream. */
  seqMode?: 'continue' | 'restart';
  /** hijack: silence between the real device's last message and the attacker's first, ms. */
  gapMs?: number;
  /** exfiltration (bytes), flood (rate): multiplier. */
  factor?: number;
  /** replay: messages captured and re-sent; value_injection: messages with the bad value. */
  count?: number;
  /** replay: the capture starts at the victim's first message at or after this time. */
  captureFrom?: number;
  /** replay: re-send everything within seconds instead of with the original spacing. */
  burst?: boolean;
  /** clone: seq of the clone's stream = victim's initial seq + this. */
  seqOffset?: number;
  /** clone, credential_theft: the attacker's device clock offset, ms. */
  clockOffset?: number;
  /** value_injection: position of the metric in the victim's metrics. */
  metric?: number;
  /** value_injection: the implausible value. */
  value?: number;
  /** value_injection (out of pattern): above (1) or below (−1) the usual readings. */
  sign?: number;
  /** clock_skew: offset added to the victim's ts, ms. */
  skewMs?: number;
  /** firmware_downgrade: the older version reported. */
  firmware?: string;
}

const MIN = 60_000;
const HOUR = 3_600_000;

/** Another host on the same /24 as `source` (an attacker inside the site's network). */
function siteSource(prng: Prng, source: string): string {
  for (;;) {
    const s = `${net24(source)}.${prng.int(2, 254)}`;
    if (s !== source) return s;
  }
}

/** Log-uniform in [lo, hi]: as many small factors as large ones, per decade. */
function logUniform(prng: Prng, lo: number, hi: number): number {
  return lo * Math.pow(hi / lo, prng.float());
}

/** A firmware one step below `current` on its own line (patch, else minor, else major). */
export function stepBack(current: string): string {
  const [ma, mi, pa] = current.split('.').map(Number);
  if (pa > 0) return `${ma}.${mi}.${pa - 1}`;
  if (mi > 0) return `${ma}.${mi - 1}.9`;
  return `${Math.max(0, ma - 1)}.9.9`;
}

/** Warm-up before any attack: 30 % of the run, or 2 h when that fits in half the run. */
export function warmupMs(runMs: number): number {
  return Math.max(0.3 * runMs, Math.min(2 * HOUR, 0.5 * runMs));
}

function eligible(type: AttackType, d: DevicePlan, metrics: number): boolean {
  switch (type) {
    case 'replay':
    case 'clone':
      return d.cls.hasSeq;
    case 'credential_theft':
    case 'hijack':
      return d.cls.hasCredential;
    case 'value_injection':
      return metrics > 0;
    default:
      return true;
  }
}

export function metricCount(o: ResolvedFleetOptions, d: DevicePlan): number {
  return o.metricsPerDevice ?? d.cls.metrics.length;
}

/** Pick an unused eligible victim: random probes first, then a scan from a random point. */
function pickVictim(
  type: AttackType,
  o: ResolvedFleetOptions,
  plan: FleetPlan,
  taken: Uint8Array,
  prng: Prng,
): number {
  const n = plan.devices.length;
  const ok = (i: number): boolean => taken[i] === 0 && eligible(type, plan.devices[i], metricCount(o, plan.devices[i]));
  for (let probe = 0; probe < 64; probe++) {
    const i = prng.int(0, n - 1);
    if (ok(i)) return i;
  }
  const from = prng.int(0, n - 1);
  for (let k = 0; k < n; k++) {
    const i = (from + k) % n;
    if (ok(i)) return i;
  }
  return -1;
}

export function planAttacks(
  o: ResolvedFleetOptions,
  plan: FleetPlan,
  prng: Prng,
  credentials: CredentialPool,
): AttackPlan[] {
  const runMs = o.end - o.start;
  const earliest = o.start + Math.round(warmupMs(runMs));
  /** A start for a window of `dur` ms that ends by 90 % of the run when it can. */
  const windowStart = (dur: number): number => {
    const latest = Math.max(earliest, Math.round(o.start + 0.9 * runMs - dur));
    return prng.int(earliest, latest);
  };
  /** A start for an attack that lasts until the end of the run. */
  const openStart = (): number => prng.int(earliest, Math.round(earliest + 0.5 * (o.end - earliest)));

  const taken = new Uint8Array(plan.devices.length);
  const out: AttackPlan[] = [];
  let thieves = 0;
  for (let k = 0; k < o.attacks; k++) {
    const type = o.attackTypes[k % o.attackTypes.length];
    const victim = pickVictim(type, o, plan, taken, prng);
    if (victim < 0) continue;
    taken[victim] = 1;
    const d = plan.devices[victim];
    const iv = d.cls.intervalMs;
    // each type's ways are taken in turn, so that every way is tried once a fleet has a
    // few attacks of a type (the first of each type is the loud one)
    const ways = ATTACK_VARIANTS[type];
    const variant = ways[Math.floor(k / o.attackTypes.length) % ways.length];
    const a: AttackPlan = { id: `atk-${String(out.length + 1).padStart(3, '0')}`, type, variant, victim, start: 0, end: 0 };
    const quiet = variant === ATTACK_VARIANTS[type][1];
    const set = (p: Partial<AttackPlan>): void => void Object.assign(a, p);
    switch (type) {
      case 'replay': {
        const count = prng.int(5, 50);
        const span = count * iv;
        let start = windowStart(span);
        const captureFrom = Math.max(o.start + iv, start - span - prng.int(5, 30) * MIN);
        start = Math.max(start, captureFrom + Math.round(span * 1.2) + 2 * iv);
        const burst = variant === 'burst';
        // own source: replayed through the device's own gateway (or from inside its network)
        const source = variant === 'own source' ? d.source : foreignSource(prng, d.source);
        set({ start, end: start + (burst ? count * 250 : span), count, captureFrom, source, burst });
        break;
      }
      case 'clone': {
        const dur = prng.int(10, 60) * MIN;
        const start = windowStart(dur);
        set({
          start,
          end: start + dur,
          source: quiet ? siteSource(prng, d.source) : foreignSource(prng, d.source),
          seqOffset: prng.int(50_000, 500_000),
          clockOffset: prng.int(-500, 500),
        });
        break;
      }
      case 'credential_theft': {
        const dur = prng.int(10, 60) * MIN;
        const start = windowStart(dur);
        const attackerId = deviceId(DEVICE_CLASSES[d.cls.name], o.devices + thieves++, plan.idDigits);
        const source = quiet ? siteSource(prng, d.source) : foreignSource(prng, d.source);
        set({ start, end: start + dur, attackerId, source, clockOffset: prng.int(-1500, 1500) });
        break;
      }
      case 'hijack':
        set({
          start: openStart(),
          end: o.end,
          source: foreignSource(prng, d.source),
          credential: credentials.next(),
          seqMode: quiet ? 'restart' : 'continue',
          gapMs: prng.int(5, 60) * 1000,
        });
        break;
      case 'firmware_downgrade':
        set({ start: openStart(), end: o.end, firmware: quiet ? stepBack(d.firmware) : prng.pick(d.cls.legacyFirmware) });
        break;
      case 'exfiltration': {
        const dur = prng.int(5, 30) * MIN;
        const start = windowStart(dur);
        set({ start, end: start + dur, factor: Math.round(quiet ? logUniform(prng, 5, 20) : logUniform(prng, 20, 200)) });
        break;
      }
      case 'flood': {
        const dur = prng.int(2, 10) * MIN;
        const start = windowStart(dur);
        set({ start, end: start + dur, factor: Math.round(quiet ? logUniform(prng, 5, 20) : logUniform(prng, 20, 100)) });
        break;
      }
      case 'silence': {
        const dur = (quiet ? prng.int(45, 110) : prng.int(120, 240)) * MIN;
        const start = windowStart(dur);
        set({ start, end: Math.min(o.end, start + dur) });
        break;
      }
      case 'value_injection': {
        const count = prng.int(5, 20);
        const start = windowStart(count * iv);
        const metric = prng.int(0, metricCount(o, d) - 1);
        set({ start, end: start + count * iv, count, metric, sign: prng.chance(0.5) ? 1 : -1 });
        break;
      }
      case 'clock_skew': {
        const dur = prng.int(10, 60) * MIN;
        const start = windowStart(dur);
        const sign = prng.chance(0.5) ? 1 : -1;
        const skew = quiet ? prng.int(10 * MIN, HOUR) : Math.round(logUniform(prng, HOUR, 24 * HOUR));
        set({ start, end: start + dur, skewMs: sign * skew });
        break;
      }
    }
    a.end = Math.min(a.end, o.end);
    out.push(a);
  }
  return out;
}
