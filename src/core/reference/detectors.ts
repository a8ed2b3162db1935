// The detectors of the TypeScript reference, step for step the same as
// assembly/detectors.ts (the differential test requires byte-identical verdicts).
// Every check is O(1) per event. Identity checks (seq, device time, source, credential,
// firmware, clock) work from the first messages; statistical ones (rate, size, metrics)
// wait for a warm-up. Arithmetic is f64 with no exp/log/pow, so that V8 and WASM agree
// to the last bit; f32 fields are rounded by their typed arrays on store.

import { Reason, NO_REASON, V } from '../layout';
import type { CoreParams } from '../params';
import { metricNameBits, METRIC_QUIET_MAX } from '../record';
import { CredentialIndex, DeviceState, Flag } from './state';

/** What the detectors need of one valid message. */
export interface EventInput {
  deviceHi: number;
  deviceLo: number;
  ts: number;
  hasSeq: boolean;
  seq: number;
  hasSource: boolean;
  sourceHi: number;
  sourceLo: number;
  hasCred: boolean;
  credHi: number;
  credLo: number;
  hasFirmware: boolean;
  firmware: number;
  bytes: number;
  metricCount: number;
  metricHash: ArrayLike<number>;
  metricValue: ArrayLike<number>;
}

// Scores per finding (see README "Scores"): ≥ 0.85 reads as high, ≥ 0.65 medium.
export const S = {
  REPLAY_TIME_BACK: 0.97,
  REPLAY_SAME_SEQ: 0.9,
  CLONE_CONFIRMED: 0.95,
  CLONE_SECOND_STREAM: 0.9,
  CLONE_SUSPECT: 0.55,
  CLONE_SOURCES_2: 0.75,
  CLONE_SOURCES_3: 0.9,
  SOURCE_SAME_NET: 0.15,
  SOURCE_OTHER_NET: 0.4,
  CRED_ROTATION: 0.35,
  CRED_FLAPPING: 0.8,
  CRED_WITH_SOURCE_MOVE: 0.92,
  CRED_SHARED: 0.9,
  FIRMWARE_DOWNGRADE: 0.85,
  SKEW_UNWARMED: 0.8,
  SILENCE: 0.7,
  // inventory checks (src/core/reference/inventory.ts)
  UNKNOWN_DEVICE: 0.9,
  REVOKED_CREDENTIAL: 0.99,
  CREDENTIAL_NOT_ENROLLED: 0.9,
  CREDENTIAL_EXPIRED: 0.75,
  SOURCE_OUT_OF_RANGE: 0.8,
  FIRMWARE_BELOW_MINIMUM: 0.7,
} as const;

/** `spread` of a clone finding: 0 when two seq streams showed it, 1 when two sources did. */
export const CLONE_BY_SOURCES = 1;

const GAP_FAST_ALPHA = 0.3;
const GAP_SLOW_ALPHA = 0.02;

/**
 * The usual arrival interval after one more gap: the plain mean over the warm-up, then a
 * slow EWMA of the gap clipped to [usual/2, 2·usual], so that neither a long outage nor
 * the first messages of a flood drag the baseline towards themselves before the fast
 * average has crossed it (a lasting change of rate is still learnt, ~1 % per message).
 */
function usualGap(slow: number, gap: number, n: number, warm: boolean): number {
  if (!warm) return slow + (gap - slow) / n;
  const g = gap < slow * 0.5 ? slow * 0.5 : gap > slow * 2 ? slow * 2 : gap;
  return slow + GAP_SLOW_ALPHA * (g - slow);
}
const SKEW_ALPHA = 0.05;

/** A graded score in [lo, lo+span) growing with how far x is past threshold t (x > t > 0). */
function graded(lo: number, span: number, x: number, t: number): number {
  return lo + (span * (x - t)) / (x + t);
}

// Metric step model (see `metrics`).
/** A step back towards the long-run mean may go up to this many times the reading's offset from it. */
const REVERT = 2;
/** A flagged reading widens the usual squared step by this factor (the step by ~5 %). */
const FLAG_WIDEN = 1.1;
/** Largest finite f32 (the last reading is kept as one). */
const F32_MAX = 3.4028234663852886e38;
/** A step z-score is capped here, so that an absurd reading still scores (∞/∞ would not). */
const Z_CAP = 1e9;
/** EWMA weight of the long-run mean once a metric has 255 readings (a plain mean before). */
const LONG_ALPHA = 1 / 4096;
/** Score of a metric finding: graded(LO, SPAN, z, metricZ); an alert (0.5) from z ≈ 1.08·metricZ, medium (0.65) from ≈ 2·metricZ, high (0.85) from ≈ 6.7·metricZ. */
const METRIC_SCORE_LO = 0.48;
const METRIC_SCORE_SPAN = 0.5;
/** The most a repeated metric flag scores (one within metricRepeatReadings of the metric's last): the alert line. */
const METRIC_REPEAT_SCORE = 0.5;

// bfloat16: the upper half of an f32, rounded to nearest even (8 significant bits). The
// usual step and the offset from the mean are spreads, kept in two bytes each so that a
// metric's state stays 12 bytes; V8 and WASM round the same way.
const bfF32 = new Float32Array(1);
const bfU32 = new Uint32Array(bfF32.buffer);
export function toBf16(x: number): number {
  bfF32[0] = x;
  const b = bfU32[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
export function fromBf16(h: number): number {
  bfU32[0] = h << 16;
  return bfF32[0];
}

/** IPv4-coded sources as an exact f64 (port·2^32 + address); hashed sources as −1. */
export function sourceNumber(hi: number, lo: number): number {
  return hi >= 0x80000000 ? (hi & 0x1ffff) * 4294967296 + lo : -1;
}

/** Accumulates reason bits and keeps the two strongest findings with their numbers. */
export class Findings {
  reasons = 0;
  r1 = NO_REASON;
  s1 = 0;
  e1 = 0;
  o1 = 0;
  p1 = 0;
  a1 = 0;
  r2 = NO_REASON;
  s2 = 0;
  e2 = 0;
  o2 = 0;
  p2 = 0;
  a2 = 0;

  reset(): void {
    this.reasons = 0;
    this.r1 = this.r2 = NO_REASON;
    this.s1 = this.e1 = this.o1 = this.p1 = this.a1 = 0;
    this.s2 = this.e2 = this.o2 = this.p2 = this.a2 = 0;
  }

  info(bit: number): void {
    this.reasons |= bit;
  }

  flag(bitIndex: number, score: number, expected: number, observed: number, spread: number, aux: number): void {
    this.reasons |= 1 << bitIndex;
    if (score > this.s1) {
      this.r2 = this.r1;
      this.s2 = this.s1;
      this.e2 = this.e1;
      this.o2 = this.o1;
      this.p2 = this.p1;
      this.a2 = this.a1;
      this.r1 = bitIndex;
      this.s1 = score;
      this.e1 = expected;
      this.o1 = observed;
      this.p1 = spread;
      this.a1 = aux;
    } else if (score > this.s2) {
      this.r2 = bitIndex;
      this.s2 = score;
      this.e2 = expected;
      this.o2 = observed;
      this.p2 = spread;
      this.a2 = aux;
    }
  }

  /** Write a verdict record (every byte, so that records compare byte for byte). */
  write(out: DataView, at: number, ts: number, arrival: number, slot: number, message: number): void {
    out.setUint32(at + V.STATUS, 0, true);
    out.setUint32(at + V.REASONS, this.reasons >>> 0, true);
    out.setFloat64(at + V.SCORE, this.s1, true);
    out.setFloat64(at + V.TS, ts, true);
    out.setFloat64(at + V.ARRIVAL, arrival, true);
    out.setUint32(at + V.SLOT, slot, true);
    out.setUint32(at + V.MESSAGE, message >>> 0, true);
    out.setUint32(at + V.EV1_REASON, this.r1, true);
    out.setUint32(at + V.EV2_REASON, this.r2, true);
    out.setFloat64(at + V.EV1_SCORE, this.s1, true);
    out.setFloat64(at + V.EV1_EXPECTED, this.e1, true);
    out.setFloat64(at + V.EV1_OBSERVED, this.o1, true);
    out.setFloat64(at + V.EV1_SPREAD, this.p1, true);
    out.setFloat64(at + V.EV1_AUX, this.a1, true);
    out.setFloat64(at + V.EV2_SCORE, this.s2, true);
    out.setFloat64(at + V.EV2_EXPECTED, this.e2, true);
    out.setFloat64(at + V.EV2_OBSERVED, this.o2, true);
    out.setFloat64(at + V.EV2_SPREAD, this.p2, true);
    out.setFloat64(at + V.EV2_AUX, this.a2, true);
  }
}

const bit = (r: number): number => 31 - Math.clz32(r); // Reason value → bit index

const B = {
  REPLAY: bit(Reason.REPLAY),
  CLONE: bit(Reason.CLONE),
  CREDENTIAL_CHANGE: bit(Reason.CREDENTIAL_CHANGE),
  CREDENTIAL_SHARED: bit(Reason.CREDENTIAL_SHARED),
  SOURCE_CHANGE: bit(Reason.SOURCE_CHANGE),
  FIRMWARE_DOWNGRADE: bit(Reason.FIRMWARE_DOWNGRADE),
  CLOCK_SKEW: bit(Reason.CLOCK_SKEW),
  RATE_SPIKE: bit(Reason.RATE_SPIKE),
  SILENCE: bit(Reason.SILENCE),
  SIZE_ANOMALY: bit(Reason.SIZE_ANOMALY),
  METRIC_ANOMALY: bit(Reason.METRIC_ANOMALY),
};
export { B as ReasonBit };

/*
 * Writes of the record's source, credential and firmware while scoring: each clears the
 * inventory verdict cache entry, which holds only for the values it was judged with
 * (src/core/reference/inventory.ts; assembly/detectors.ts forgetInventoryVerdict).
 */
function setSource(st: DeviceState, s: number, hi: number, lo: number): void {
  st.sourceHi[s] = hi;
  st.sourceLo[s] = lo;
  st.inventory[s] = 0;
}

function setCredential(st: DeviceState, s: number, hi: number, lo: number): void {
  st.credHi[s] = hi;
  st.credLo[s] = lo;
  st.inventory[s] = 0;
}

function setFirmware(st: DeviceState, s: number, fw: number): void {
  st.firmware[s] = fw;
  st.inventory[s] = 0;
}

export class Detectors {
  constructor(
    private readonly p: CoreParams,
    private readonly st: DeviceState,
    private readonly creds: CredentialIndex,
  ) {}

  /** Score one valid event of device slot `s` (new: just claimed) arriving at `a`. */
  score(e: EventInput, s: number, isNew: boolean, a: number, f: Findings): void {
    const st = this.st;
    const p = this.p;
    if (isNew) {
      this.initDevice(e, s, a, f);
      if (this.credentialShared(e, s, a, f)) st.flags[s] |= Flag.CRED_OWNER;
      return;
    }
    const W = p.cloneWindowMs;
    const ts = e.ts;
    const lastTs = st.lastTs[s];

    // Device time going back: an old message sent again, with or without seq. Nothing
    // of an attacker's replayed message moves the device's state. Evidence: last device
    // time, this one, the seq the device was at (spread) and this seq (aux).
    // A device whose own seq stream goes on is not replaying: its clock went back (skew).
    const fitsMain = e.hasSeq && st.seqMain[s] >= 0 && e.seq - st.seqMain[s] >= 1 && e.seq - st.seqMain[s] <= p.seqGapMax;
    if (ts < lastTs - p.replayToleranceMs && !fitsMain) {
      const main = st.seqMain[s];
      f.flag(B.REPLAY, S.REPLAY_TIME_BACK, lastTs, ts, main >= 0 ? main : -1, e.hasSeq ? e.seq : -1);
      st.inventory[s] = 0;
      return;
    }

    let flags = st.flags[s];
    if (flags & Flag.SILENCED) {
      f.info(Reason.RESUMED);
      flags &= ~Flag.SILENCED;
    }

    // Seq: one stream counts up by one; a second stream alive at the same time is a
    // clone; a restart near zero is a reboot, kept as the old stream in case it goes on.
    let duplicate = false;
    if (e.hasSeq) {
      const seq = e.seq;
      const main = st.seqMain[s];
      if (main < 0) {
        st.seqMain[s] = seq;
        st.mainArrival[s] = a;
      } else {
        const d = seq - main;
        const alt = st.seqAlt[s];
        const altD = alt >= 0 ? seq - alt : -1;
        const altLive = alt >= 0 && a - st.altArrival[s] <= W;
        const mainLive = a - st.mainArrival[s] <= W;
        if (d >= 1 && d <= p.seqGapMax) {
          if (d > 1) f.info(Reason.SEQ_GAP);
          if (altLive && flags & Flag.ALT_ADVANCED) f.flag(B.CLONE, S.CLONE_CONFIRMED, main + 1, seq, 0, alt);
          st.seqMain[s] = seq;
          st.mainArrival[s] = a;
        } else if (altD >= 1 && altD <= p.seqGapMax && altLive) {
          if (mainLive) {
            f.flag(B.CLONE, flags & Flag.ALT_ADVANCED ? S.CLONE_CONFIRMED : S.CLONE_SECOND_STREAM, main + 1, seq, 0, alt);
          }
          st.seqAlt[s] = seq;
          st.altArrival[s] = a;
          flags |= Flag.ALT_ADVANCED;
        } else if (d === 0) {
          if (ts === lastTs) {
            f.info(Reason.DUPLICATE);
            duplicate = true;
          } else {
            f.flag(B.REPLAY, S.REPLAY_SAME_SEQ, lastTs, ts, main, seq);
            st.flags[s] = flags;
            st.inventory[s] = 0;
            return;
          }
        } else if (d < 0 && seq <= p.rebootSeqMax) {
          f.info(Reason.REBOOT);
          st.seqAlt[s] = main;
          st.altArrival[s] = st.mainArrival[s];
          flags &= ~Flag.ALT_ADVANCED;
          st.seqMain[s] = seq;
          st.mainArrival[s] = a;
        } else if (d < 0) {
          // back to a mid-range seq with a current clock: a second sender appears
          f.flag(B.CLONE, S.CLONE_SUSPECT, main + 1, seq, 0, -1);
          st.seqAlt[s] = seq;
          st.altArrival[s] = a;
          flags &= ~Flag.ALT_ADVANCED;
        } else {
          // a jump far ahead: lost messages, or a second sender; keep the old stream
          f.info(Reason.SEQ_GAP);
          st.seqAlt[s] = main;
          st.altArrival[s] = st.mainArrival[s];
          flags &= ~Flag.ALT_ADVANCED;
          st.seqMain[s] = seq;
          st.mainArrival[s] = a;
        }
      }
    } else if (ts === lastTs) {
      f.info(Reason.DUPLICATE);
      duplicate = true;
    }

    // Source: a change is normal (DHCP, roaming); flipping back and forth between two
    // sources within the clone window is two senders.
    let sourceMovedNet = false;
    if (e.hasSource) {
      const curHi = st.sourceHi[s];
      const curLo = st.sourceLo[s];
      if (curHi === 0 && curLo === 0) {
        setSource(st, s, e.sourceHi, e.sourceLo);
      } else if (curHi !== e.sourceHi || curLo !== e.sourceLo) {
        let flips = 1;
        if (e.sourceHi === st.prevSourceHi[s] && e.sourceLo === st.prevSourceLo[s] && a - st.sourceChangedAt[s] <= W) {
          flips = st.sourceFlips[s] + 1;
          if (flips > 65535) flips = 65535;
        }
        const sameNet = curHi >= 0x80000000 && e.sourceHi >= 0x80000000 && curLo >>> 8 === e.sourceLo >>> 8;
        const was = sourceNumber(curHi, curLo);
        const now = sourceNumber(e.sourceHi, e.sourceLo);
        f.flag(B.SOURCE_CHANGE, sameNet ? S.SOURCE_SAME_NET : S.SOURCE_OTHER_NET, was, now, 0, flips);
        if (flips >= 2) f.flag(B.CLONE, flips >= 3 ? S.CLONE_SOURCES_3 : S.CLONE_SOURCES_2, was, now, CLONE_BY_SOURCES, flips);
        st.sourceFlips[s] = flips;
        st.prevSourceHi[s] = curHi;
        st.prevSourceLo[s] = curLo;
        setSource(st, s, e.sourceHi, e.sourceLo);
        st.sourceChangedAt[s] = a;
        if (sameNet) flags &= ~Flag.SOURCE_MOVED_NET;
        else flags |= Flag.SOURCE_MOVED_NET;
      }
      sourceMovedNet = (flags & Flag.SOURCE_MOVED_NET) !== 0 && a - st.sourceChangedAt[s] <= W;
    }

    // Credential: a one-off rotation is normal; a new credential together with a move to
    // another network is a hijacked identity; two credentials alternating is two senders.
    if (e.hasCred) {
      const curHi = st.credHi[s];
      const curLo = st.credLo[s];
      if (curHi === 0 && curLo === 0) {
        setCredential(st, s, e.credHi, e.credLo);
        flags = this.credentialShared(e, s, a, f) ? flags | Flag.CRED_OWNER : flags & ~Flag.CRED_OWNER;
      } else if (curHi !== e.credHi || curLo !== e.credLo) {
        let flips = 1;
        if (e.credHi === st.prevCredHi[s] && e.credLo === st.prevCredLo[s] && a - st.credChangedAt[s] <= W) {
          flips = st.credFlips[s] + 1;
          if (flips > 65535) flips = 65535;
        }
        const score = flips >= 2 ? S.CRED_FLAPPING : sourceMovedNet ? S.CRED_WITH_SOURCE_MOVE : S.CRED_ROTATION;
        f.flag(B.CREDENTIAL_CHANGE, score, -1, -1, 0, flips);
        st.credFlips[s] = flips;
        st.prevCredHi[s] = curHi;
        st.prevCredLo[s] = curLo;
        setCredential(st, s, e.credHi, e.credLo);
        st.credChangedAt[s] = a;
        flags = this.credentialShared(e, s, a, f) ? flags | Flag.CRED_OWNER : flags & ~Flag.CRED_OWNER;
      }
    }

    // Firmware: upgrades are normal, going back is not.
    if (e.hasFirmware) {
      const cur = st.firmware[s];
      if (cur === 0) {
        setFirmware(st, s, e.firmware);
      } else if (e.firmware < cur) {
        f.flag(B.FIRMWARE_DOWNGRADE, S.FIRMWARE_DOWNGRADE, cur, e.firmware, 0, 0);
        setFirmware(st, s, e.firmware);
      } else if (e.firmware > cur) {
        f.info(Reason.FIRMWARE_UPGRADE);
        setFirmware(st, s, e.firmware);
      }
    }

    const n = st.events[s];
    const skewed = this.clockSkew(ts, a, s, n, f);

    if (!duplicate) {
      // Rate: a fast EWMA of the arrival interval against a slow one.
      const gap = a > st.lastArrival[s] ? a - st.lastArrival[s] : 0;
      if (n === 1) {
        st.gapFast[s] = gap;
        st.gapSlow[s] = gap;
      } else {
        const slow = st.gapSlow[s];
        const fast = st.gapFast[s] + GAP_FAST_ALPHA * (gap - st.gapFast[s]);
        let spiking = false;
        if (n >= p.warmupEvents && slow > 0 && fast * p.rateSpikeFactor < slow) {
          spiking = true;
          const ratio = slow / (fast > 1 ? fast : 1);
          f.flag(B.RATE_SPIKE, graded(0.6, 0.35, ratio, p.rateSpikeFactor), slow, fast, p.rateSpikeFactor, 0);
        }
        st.gapFast[s] = fast;
        if (!spiking) st.gapSlow[s] = usualGap(slow, gap, n, n >= p.warmupEvents);
      }

      // Payload size: only larger than usual matters (exfiltration).
      const x = e.bytes;
      const mean = st.sizeMean[s];
      const v = st.sizeVar[s];
      let sizeBad = false;
      if (n >= p.warmupEvents) {
        const sd = Math.sqrt(v);
        let tol = sd;
        if (tol < 0.05 * mean) tol = 0.05 * mean;
        if (tol < 8) tol = 8;
        const z = (x - mean) / tol;
        if (z > p.sizeZ && x > mean * p.sizeMinRatio) {
          sizeBad = true;
          f.flag(B.SIZE_ANOMALY, graded(0.6, 0.35, z, p.sizeZ), mean, x, sd, 0);
        }
      }
      if (!sizeBad) {
        let alpha = 1 / (n + 1);
        if (alpha < p.baselineAlpha) alpha = p.baselineAlpha;
        const d = x - mean;
        st.sizeMean[s] = mean + alpha * d;
        st.sizeVar[s] = (1 - alpha) * (v + alpha * d * d);
      }

      this.metrics(e, s, f, gap);
    }

    const lastArrival = st.lastArrival[s];
    if (flags & Flag.CRED_OWNER) this.claimRefresh(a, lastArrival, f);
    if (a > lastArrival) st.lastArrival[s] = a;
    if (!skewed && ts > lastTs) st.lastTs[s] = ts;
    if (n < 0xffffffff) st.events[s] = n + 1;
    st.flags[s] = flags;
  }

  private initDevice(e: EventInput, s: number, a: number, f: Findings): void {
    const st = this.st;
    f.info(Reason.NEW_DEVICE);
    st.lastArrival[s] = a;
    st.lastTs[s] = e.ts;
    st.seqMain[s] = e.hasSeq ? e.seq : -1;
    st.seqAlt[s] = -1;
    st.mainArrival[s] = a;
    st.altArrival[s] = 0;
    st.sourceHi[s] = e.hasSource ? e.sourceHi : 0;
    st.sourceLo[s] = e.hasSource ? e.sourceLo : 0;
    st.prevSourceHi[s] = 0;
    st.prevSourceLo[s] = 0;
    st.sourceChangedAt[s] = 0;
    st.credHi[s] = e.hasCred ? e.credHi : 0;
    st.credLo[s] = e.hasCred ? e.credLo : 0;
    st.prevCredHi[s] = 0;
    st.prevCredLo[s] = 0;
    st.credChangedAt[s] = 0;
    st.firmware[s] = e.hasFirmware ? e.firmware : 0;
    st.gapFast[s] = 0;
    st.gapSlow[s] = 0;
    st.sizeMean[s] = e.bytes;
    st.sizeVar[s] = 0;
    st.skewMean[s] = 0;
    st.sourceFlips[s] = 0;
    st.credFlips[s] = 0;
    st.flags[s] = 0;
    st.metricCount[s] = 0;
    st.inventory[s] = 0;
    for (let j = 0; j < 8; j++) {
      st.metricN[s * 8 + j] = 0;
      st.metricHash[s * 8 + j] = 0;
      st.metricLast[s * 8 + j] = 0;
      st.metricStep[s * 8 + j] = 0;
      st.metricDev[s * 8 + j] = 0;
    }
    const skewed = this.clockSkew(e.ts, a, s, 0, f);
    if (skewed) st.lastTs[s] = 0;
    this.metrics(e, s, f, 0);
    st.events[s] = 1;
  }

  /** Device clock against arrival, relative to the device's usual offset. */
  private clockSkew(ts: number, a: number, s: number, n: number, f: Findings): boolean {
    const st = this.st;
    const p = this.p;
    const off = ts - a;
    if (n < p.warmupEvents) {
      const abs = off < 0 ? -off : off;
      if (abs > p.skewAbsoluteMs) {
        f.flag(B.CLOCK_SKEW, S.SKEW_UNWARMED, 0, off, p.skewAbsoluteMs, 0);
        return true;
      }
      const m = st.skewMean[s];
      st.skewMean[s] = m + (off - m) / (n + 1);
      return false;
    }
    const m = st.skewMean[s];
    const dev = off > m ? off - m : m - off;
    if (dev > p.skewToleranceMs) {
      f.flag(B.CLOCK_SKEW, graded(0.6, 0.35, dev, p.skewToleranceMs), m, off, p.skewToleranceMs, 0);
      return true;
    }
    st.skewMean[s] = m + SKEW_ALPHA * (off - m);
    return false;
  }

  /**
   * Per-device, per-metric step model (up to 8 metrics per device). A reading is judged by
   * its step from the last accepted reading against the metric's usual step, not by its
   * distance from a mean: a daily cycle, a meter's growth or a battery's drain widen the
   * spread of the level but not of the step, so a reading that leaves the device's own
   * pattern (a jump of hours of consumption, a position 5 km away) stands out.
   * - The usual step is an EWMA of the squared step per usual interval; a step made after a
   *   longer silence may be that many times larger (trends and daily cycles move linearly
   *   with time; a random walk only with its square root, so this is the lenient choice).
   *   Steps of zero are not averaged in, so a metric that sat still for hours keeps the
   *   step it had when it moved (a parked tracker that drives off again), and the warm-up
   *   counts the steps learnt, not the readings: a metric pinned at a bound (a CO2 sensor
   *   at its floor) has shown no usual step yet, however long it has reported.
   * - The offset of the last reading from the metric's long-run mean (a running mean over
   *   the first 255 readings, then an EWMA of ~4096) gives a reading its range: a step back
   *   towards the mean may go up to REVERT times that offset (a battery recharged after a
   *   long drain, the other side of a daily cycle) before the usual step counts.
   * - A flagged reading is not taken as the new level, so every reading of an injected
   *   burst is judged against the device's own last reading; it only widens the usual
   *   step a little, as a step at the threshold would, so a lasting change is followed.
   * - One incident, one ranked finding: a flag that comes before metricRepeatReadings of
   *   the metric's readings have gone by unflagged since its last flag scores at most the
   *   alert line (METRIC_REPEAT_SCORE). It is still flagged, and keeps an open alert
   *   alive, but the score of the incident is that of its first reading. The count lives
   *   in the low 4 bits of the metric's hash word (the name is matched on the other 28).
   */
  private metrics(e: EventInput, s: number, f: Findings, gap: number): void {
    const st = this.st;
    const p = this.p;
    const base = s * 8;
    const usual = st.gapSlow[s];
    const g = usual > 0 ? gap / usual : 1;
    const stretch = g > 1 ? g : 1;
    let mc = st.metricCount[s];
    for (let i = 0; i < e.metricCount; i++) {
      const h = metricNameBits(e.metricHash[i]);
      let j = 0;
      while (j < mc && metricNameBits(st.metricHash[base + j]) !== h) j++;
      if (j === mc) {
        if (mc === 8) continue;
        st.metricHash[base + j] = h | METRIC_QUIET_MAX;
        st.metricN[base + j] = 0;
        mc++;
      }
      const k = base + j;
      const n = st.metricN[k];
      const x = e.metricValue[i];
      // readings gone by unflagged since the last flag; counted here as if this one is not
      // flagged, set back to 0 below if it is
      const quiet = st.metricHash[k] & METRIC_QUIET_MAX;
      if (quiet < METRIC_QUIET_MAX) st.metricHash[k] = h | (quiet + 1); // at the cap, the word is already h | cap
      // beyond the range of the f32 it would be kept in: judged, never learnt
      const storable = x < F32_MAX && x > -F32_MAX;
      if (n === 0) {
        if (!storable) continue;
        st.metricLast[k] = x;
        st.metricStep[k] = 0;
        st.metricDev[k] = 0;
        st.metricN[k] = 1;
        continue;
      }
      const last = st.metricLast[k];
      const sq = fromBf16(st.metricStep[k]);
      const dev = fromBf16(st.metricDev[k]);
      const step = x - last;
      const size = step < 0 ? -step : step;
      const off = dev < 0 ? -dev : dev;
      const towards = (step > 0 && dev < 0) || (step < 0 && dev > 0);
      const tol = Math.sqrt(sq) * stretch;
      // a step back towards the long-run mean may go up to REVERT times the part of the
      // offset that the usual steps do not explain
      const range = off - p.metricZ * tol;
      const allow = towards && range > 0 ? REVERT * range : 0;
      const alpha = n * p.baselineAlpha < 1 ? 1 / n : p.baselineAlpha;
      if (n >= p.metricWarmup && sq > 0) {
        const excess = size - allow;
        if (excess > p.metricZ * tol) {
          const z = excess < tol * Z_CAP ? excess / tol : Z_CAP;
          let score = graded(METRIC_SCORE_LO, METRIC_SCORE_SPAN, z, p.metricZ);
          if (quiet < p.metricRepeatReadings && score > METRIC_REPEAT_SCORE) score = METRIC_REPEAT_SCORE;
          st.metricHash[k] = h;
          f.flag(B.METRIC_ANOMALY, score, last, x, tol, i);
          // not taken as the new level; the usual step widens a little, so that a lasting
          // change is followed after a while
          st.metricStep[k] = toBf16(sq * FLAG_WIDEN);
          st.metricN[k] = n < 255 ? n + 1 : 255;
          continue;
        }
      }
      if (!storable) continue;
      st.metricLast[k] = x;
      const moved = st.metricLast[k] - last;
      // the usual step is learnt from what the range does not allow
      const beyond = (moved < 0 ? -moved : moved) - allow;
      if (beyond > 0) {
        const u = stretch > 1 ? beyond / stretch : beyond;
        st.metricStep[k] = toBf16(sq > 0 ? sq + alpha * (u * u - sq) : u * u);
        if (n < 255) st.metricN[k] = n + 1;
      }
      const beta = n < 255 ? 1 / (n + 1) : LONG_ALPHA;
      st.metricDev[k] = toBf16((1 - beta) * (dev + moved));
    }
    st.metricCount[s] = mc;
  }

  /**
   * A credential in use by another device id that is still active: flagged, and the owner
   * keeps it. Checked only when a device presents a credential it did not use before (new
   * device, change), so the index stays off the hot path. Returns true when the device
   * holds the credential afterwards. The owner's activity is its record's last arrival
   * when this instance holds the owner, else the last time the index heard of it (a claim
   * from another instance, or its own take-over).
   */
  private credentialShared(e: EventInput, s: number, a: number, f: Findings): boolean {
    if (!e.hasCred) return false;
    const c = this.creds;
    const k = c.slotOf(e.credHi, e.credLo);
    const oHi = c.ownerHi[k];
    const oLo = c.ownerLo[k];
    if (!((oHi === 0 && oLo === 0) || (oHi === e.deviceHi && oLo === e.deviceLo))) {
      const owner = this.st.find(oHi, oLo);
      const since = a - (owner >= 0 ? this.st.lastArrival[owner] : c.seen[k]);
      if (since <= this.p.shareWindowMs) {
        f.flag(B.CREDENTIAL_SHARED, S.CRED_SHARED, since, 0, this.p.shareWindowMs, owner);
        return false;
      }
    }
    // unowned, already ours, or the owner is gone (evicted, or silent past the window:
    // a replaced device) — the credential is this device's now
    c.ownerHi[k] = e.deviceHi;
    c.ownerLo[k] = e.deviceLo;
    c.seen[k] = a;
    if (this.p.claimRefreshMs > 0) f.info(Reason.CLAIM);
    return true;
  }

  /** A credential holder tells other instances it is still active once per refresh period. */
  private claimRefresh(a: number, last: number, f: Findings): void {
    const r = this.p.claimRefreshMs;
    if (r > 0 && Math.floor(a / r) !== Math.floor(last / r)) f.info(Reason.CLAIM);
  }

  /**
   * Another instance says `owner` used credential `cred` at `seen` (src/scaleout/claims.ts).
   * The claim is taken when the credential has no holder here, is already the owner's, or
   * its holder has been quiet for longer than the sharing window by then; a holder still
   * active here keeps it. Returns true when the index now names `owner`.
   */
  importClaim(credHi: number, credLo: number, ownerHi: number, ownerLo: number, seen: number): boolean {
    const c = this.creds;
    const k = c.slotOf(credHi, credLo);
    const hHi = c.ownerHi[k];
    const hLo = c.ownerLo[k];
    if (hHi === ownerHi && hLo === ownerLo) {
      if (seen > c.seen[k]) c.seen[k] = seen;
      return true;
    }
    if (hHi !== 0 || hLo !== 0) {
      const o = this.st.find(hHi, hLo);
      const last = o >= 0 ? this.st.lastArrival[o] : c.seen[k];
      if (seen - last <= this.p.shareWindowMs) return false;
    }
    c.ownerHi[k] = ownerHi;
    c.ownerLo[k] = ownerLo;
    c.seen[k] = seen;
    return true;
  }

  /** Silence check of one table slot at fleet time `now`; true when it fires. */
  silence(s: number, now: number, f: Findings): boolean {
    const st = this.st;
    const p = this.p;
    if (st.keyLo[s] === 0 && st.keyHi[s] === 0) return false;
    if (st.flags[s] & Flag.SILENCED || st.events[s] < p.warmupEvents) return false;
    const usual = st.gapSlow[s];
    const quiet = now - st.lastArrival[s];
    let limit = p.silenceFactor * usual;
    if (limit < p.silenceMinMs) limit = p.silenceMinMs;
    if (!(quiet > limit)) return false;
    st.flags[s] |= Flag.SILENCED;
    f.flag(B.SILENCE, S.SILENCE, usual, quiet, limit, st.lastArrival[s]);
    return true;
  }
}
