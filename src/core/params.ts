// Tuning of the detectors, shared by the WASM core and the TypeScript reference. The
// core reads them from an f64 array (index = position in PARAM_NAMES); assembly/params.ts
// mirrors the indices.

import { METRIC_QUIET_MAX } from './record';

export interface CoreParams {
  /** Device slots (rounded up to a multiple of 8); the least recently seen are evicted. */
  capacity: number;
  /** Messages larger than this are rejected as too_large. */
  maxMessageBytes: number;
  /** Events before rate, size and clock baselines are trusted. */
  warmupEvents: number;
  /** Samples before a metric's baseline is trusted. */
  metricWarmup: number;
  /** Device time going back by more than this (ms) is a replay, not clock jitter. */
  replayToleranceMs: number;
  /** A seq that restarts at or below this is a reboot candidate. */
  rebootSeqMax: number;
  /** A forward seq jump larger than this starts a second stream (possible clone). */
  seqGapMax: number;
  /** Two seq streams or two sources alive within this window (ms) mean a clone. */
  cloneWindowMs: number;
  /** A credential used by another device within this window (ms) is shared. */
  shareWindowMs: number;
  /** Deviation from the device's usual clock offset (ms) that is a skew. */
  skewToleranceMs: number;
  /** Offset (ms) that is a skew before the device has a baseline. */
  skewAbsoluteMs: number;
  /** Recent interval this many times shorter than the usual one is a rate spike. */
  rateSpikeFactor: number;
  /** Silence: no message for this many usual intervals… */
  silenceFactor: number;
  /** …and at least this long (ms). */
  silenceMinMs: number;
  /** The whole device table is swept for silence once per this much fleet time (ms). */
  sweepPeriodMs: number;
  /** Payload size z-score that is an anomaly… */
  sizeZ: number;
  /** …when the payload is also at least this many times the usual size. */
  sizeMinRatio: number;
  /**
   * A metric reading is flagged when its step from the last accepted reading exceeds this
   * many usual steps (stretched by the time since the device's last message); it is an
   * alert (score 0.5) from ~1.08× this.
   */
  metricZ: number;
  /** EWMA weight of the size baseline and of each metric's usual step once warm. */
  baselineAlpha: number;
  /**
   * Credential claims for other instances (scale-out): a device holding its credential in
   * the index marks an event CLAIM once per this much arrival time (ms); 0: never.
   */
  claimRefreshMs: number;
  /**
   * A metric flagged again before this many of its readings have gone by unflagged since
   * its last flag scores at most the alert line (0.5): still a finding, which keeps an open
   * alert alive, but no longer ranked as a new incident. 0: every flag scores in full; at
   * most METRIC_QUIET_MAX (the record keeps the count in 4 bits).
   */
  metricRepeatReadings: number;
}

export const DEFAULT_PARAMS: Readonly<CoreParams> = Object.freeze({
  capacity: 65536,
  maxMessageBytes: 65536,
  warmupEvents: 20,
  metricWarmup: 30,
  replayToleranceMs: 5_000,
  rebootSeqMax: 16,
  seqGapMax: 1000,
  cloneWindowMs: 600_000,
  shareWindowMs: 3_600_000,
  skewToleranceMs: 300_000,
  skewAbsoluteMs: 3_600_000,
  rateSpikeFactor: 4,
  silenceFactor: 20,
  silenceMinMs: 900_000,
  sweepPeriodMs: 60_000,
  sizeZ: 6,
  sizeMinRatio: 4,
  metricZ: 6,
  baselineAlpha: 0.02,
  claimRefreshMs: 0,
  metricRepeatReadings: 15,
});

/** Order of the params in the core's f64 array. Append only: snapshots depend on it. */
export const PARAM_NAMES = Object.keys(DEFAULT_PARAMS) as (keyof CoreParams)[];

export function resolveParams(overrides: Partial<CoreParams> = {}): CoreParams {
  const p: CoreParams = { ...DEFAULT_PARAMS, ...overrides };
  for (const name of PARAM_NAMES) {
    const v = p[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`core parameter ${name} must be a finite non-negative number, got ${String(v)}`);
    }
  }
  if (p.capacity < 8 || p.capacity > 1 << 23) throw new RangeError(`capacity must be between 8 and ${1 << 23}`);
  if (p.metricRepeatReadings > METRIC_QUIET_MAX || p.metricRepeatReadings !== Math.floor(p.metricRepeatReadings)) {
    throw new RangeError(`metricRepeatReadings must be a whole number between 0 and ${METRIC_QUIET_MAX}`);
  }
  if (p.maxMessageBytes < 64 || p.maxMessageBytes > 16 << 20) throw new RangeError('maxMessageBytes must be between 64 and 16 MiB');
  return p;
}

/**
 * Slots in the device table: capacity rounded up to whole buckets of 8. Buckets are
 * picked by multiply-shift (no power of two needed), so memory grows linearly with
 * capacity. A full table evicts per bucket: give it ~25 % headroom over the fleet.
 */
export function tableSlots(capacity: number): number {
  return Math.max(8, Math.ceil(capacity / 8) * 8);
}
