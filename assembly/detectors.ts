// The detectors, step for step the same as src/core/reference/detectors.ts (read that
// file for the reasoning; the differential test requires byte-identical verdicts).
// f64 arithmetic only, no exp/log/pow (their last bits differ between V8 and WASM);
// f32 fields are rounded on store exactly as Float32Array does.

import { P, V, NO_REASON, Has, Reason } from "./layout";
import {
  R_LAST_ARRIVAL, R_LAST_TS, R_SEQ_MAIN, R_SEQ_ALT, R_MAIN_ARRIVAL, R_ALT_ARRIVAL, R_SOURCE, R_PREV_SOURCE,
  R_SOURCE_CHANGED_AT, R_CRED, R_PREV_CRED, R_CRED_CHANGED_AT, R_FIRMWARE, R_GAP_FAST, R_GAP_SLOW, R_SIZE_MEAN,
  R_SIZE_VAR, R_SKEW_MEAN, R_EVENTS, R_SOURCE_FLIPS, R_CRED_FLIPS, R_FLAGS, R_METRIC_COUNT, R_METRIC_N, R_INVENTORY,
  R_METRIC_HASH, R_METRIC_LAST, R_METRIC_STEP, R_METRIC_DEV, METRIC_STRIDE, METRIC_QUIET_MAX, METRIC_NAME_MASK, F_SILENCED, F_ALT_ADVANCED, F_SOURCE_MOVED_NET, F_CRED_OWNER,
  recordOf, keyOf, findDevice, credentialSlot, credOwners, credSeen,
} from "./state";
import {
  PRM_WARMUP_EVENTS, PRM_METRIC_WARMUP, PRM_REPLAY_TOLERANCE_MS, PRM_REBOOT_SEQ_MAX, PRM_SEQ_GAP_MAX,
  PRM_CLONE_WINDOW_MS, PRM_SHARE_WINDOW_MS, PRM_CLAIM_REFRESH_MS, PRM_SKEW_TOLERANCE_MS, PRM_SKEW_ABSOLUTE_MS, PRM_RATE_SPIKE_FACTOR,
  PRM_SILENCE_FACTOR, PRM_SILENCE_MIN_MS, PRM_SIZE_Z, PRM_SIZE_MIN_RATIO, PRM_METRIC_Z, PRM_BASELINE_ALPHA, PRM_METRIC_REPEAT_READINGS, param,
} from "./params";

// Reason bit indices (Reason = 1 << index).
const B_REPLAY: u32 = 0;
const B_CLONE: u32 = 1;
const B_CREDENTIAL_CHANGE: u32 = 2;
const B_CREDENTIAL_SHARED: u32 = 3;
const B_SOURCE_CHANGE: u32 = 4;
const B_FIRMWARE_DOWNGRADE: u32 = 5;
const B_CLOCK_SKEW: u32 = 6;
const B_RATE_SPIKE: u32 = 7;
const B_SILENCE: u32 = 8;
const B_SIZE_ANOMALY: u32 = 9;
const B_METRIC_ANOMALY: u32 = 10;

// Scores per finding (src/core/reference/detectors.ts `S`).
const S_REPLAY_TIME_BACK: f64 = 0.97;
const S_REPLAY_SAME_SEQ: f64 = 0.9;
const S_CLONE_CONFIRMED: f64 = 0.95;
const S_CLONE_SECOND_STREAM: f64 = 0.9;
const S_CLONE_SUSPECT: f64 = 0.55;
const S_CLONE_SOURCES_2: f64 = 0.75;
const S_CLONE_SOURCES_3: f64 = 0.9;
const S_SOURCE_SAME_NET: f64 = 0.15;
const S_SOURCE_OTHER_NET: f64 = 0.4;
const S_CRED_ROTATION: f64 = 0.35;
const S_CRED_FLAPPING: f64 = 0.8;
const S_CRED_WITH_SOURCE_MOVE: f64 = 0.92;
const S_CRED_SHARED: f64 = 0.9;
const S_FIRMWARE_DOWNGRADE: f64 = 0.85;
const S_SKEW_UNWARMED: f64 = 0.8;
const S_SILENCE: f64 = 0.7;

const CLONE_BY_SOURCES: f64 = 1; // `spread` of a clone finding shown by two sources (0: two seq streams)

const GAP_FAST_ALPHA: f64 = 0.3;
const GAP_SLOW_ALPHA: f64 = 0.02;

/**
 * The usual arrival interval after one more gap: the plain mean over the warm-up, then a
 * slow EWMA of the gap clipped to [usual/2, 2·usual], so that neither a long outage nor
 * the first messages of a flood drag the baseline towards themselves before the fast
 * average has crossed it (a lasting change of rate is still learnt, ~1 % per message).
 */
@inline function usualGap(slow: f64, gap: f64, n: u32, warm: bool): f64 {
  if (!warm) return slow + (gap - slow) / <f64>n;
  const g = gap < slow * 0.5 ? slow * 0.5 : gap > slow * 2 ? slow * 2 : gap;
  return slow + GAP_SLOW_ALPHA * (g - slow);
}
const SKEW_ALPHA: f64 = 0.05;

// ---- findings of the current event: reason bits and the two strongest --------------
let reasons: u32 = 0;
let r1: u32 = NO_REASON;
let s1: f64 = 0;
let e1: f64 = 0;
let o1: f64 = 0;
let p1: f64 = 0;
let a1: f64 = 0;
let r2: u32 = NO_REASON;
let s2: f64 = 0;
let e2: f64 = 0;
let o2: f64 = 0;
let p2: f64 = 0;
let a2: f64 = 0;

export function resetFindings(): void {
  reasons = 0;
  r1 = NO_REASON;
  r2 = NO_REASON;
  s1 = 0; e1 = 0; o1 = 0; p1 = 0; a1 = 0;
  s2 = 0; e2 = 0; o2 = 0; p2 = 0; a2 = 0;
}

@inline function info(bit: u32): void {
  reasons |= bit;
}

/** The reason bits of the event being scored, so far. */
export function findingReasons(): u32 {
  return reasons;
}

export function flag(bitIndex: u32, score: f64, expected: f64, observed: f64, spread: f64, aux: f64): void {
  reasons |= (<u32>1) << bitIndex;
  if (score > s1) {
    r2 = r1; s2 = s1; e2 = e1; o2 = o1; p2 = p1; a2 = a1;
    r1 = bitIndex; s1 = score; e1 = expected; o1 = observed; p1 = spread; a1 = aux;
  } else if (score > s2) {
    r2 = bitIndex; s2 = score; e2 = expected; o2 = observed; p2 = spread; a2 = aux;
  }
}

export function writeVerdict(out: usize, ts: f64, arrival: f64, slot: u32, message: u32): void {
  store<u32>(out + V.STATUS, 0);
  store<u32>(out + V.REASONS, reasons);
  store<f64>(out + V.SCORE, s1);
  store<f64>(out + V.TS, ts);
  store<f64>(out + V.ARRIVAL, arrival);
  store<u32>(out + V.SLOT, slot);
  store<u32>(out + V.MESSAGE, message);
  store<u32>(out + V.EV1_REASON, r1);
  store<u32>(out + V.EV2_REASON, r2);
  store<f64>(out + V.EV1_SCORE, s1);
  store<f64>(out + V.EV1_EXPECTED, e1);
  store<f64>(out + V.EV1_OBSERVED, o1);
  store<f64>(out + V.EV1_SPREAD, p1);
  store<f64>(out + V.EV1_AUX, a1);
  store<f64>(out + V.EV2_SCORE, s2);
  store<f64>(out + V.EV2_EXPECTED, e2);
  store<f64>(out + V.EV2_OBSERVED, o2);
  store<f64>(out + V.EV2_SPREAD, p2);
  store<f64>(out + V.EV2_AUX, a2);
}

@inline function graded(lo: f64, span: f64, x: f64, t: f64): f64 {
  return lo + (span * (x - t)) / (x + t);
}

@inline function hi32(k: u64): u32 {
  return <u32>(k >> 32);
}

/** IPv4-coded sources as an exact f64 (port·2^32 + address); hashed ones as −1. */
export function sourceNumber(k: u64): f64 {
  const hi = hi32(k);
  return hi >= 0x80000000 ? <f64>(hi & 0x1ffff) * 4294967296.0 + <f64>(<u32>k) : -1;
}

// ---- the event ---------------------------------------------------------------------

/**
 * The record's inventory verdict (assembly/inventory.ts) no longer holds: scoring changed
 * the credential, source or firmware the record holds (setSource, setCredential,
 * setFirmware: the only writes of those fields while scoring), or left them while the
 * event presented others (a replay). The one rule that lets a check trust the entry
 * without comparing the event with the record; the usual event changes none of them.
 */
@inline function forgetInventoryVerdict(rec: usize): void {
  store<u16>(rec + R_INVENTORY, 0);
}

@inline function setSource(rec: usize, v: u64): void {
  store<u64>(rec + R_SOURCE, v);
  forgetInventoryVerdict(rec);
}

@inline function setCredential(rec: usize, v: u64): void {
  store<u64>(rec + R_CRED, v);
  forgetInventoryVerdict(rec);
}

@inline function setFirmware(rec: usize, v: f64): void {
  store<f64>(rec + R_FIRMWARE, v);
  forgetInventoryVerdict(rec);
}

/** Score one valid parsed event (`pr`: P record) of device slot `s` arriving at `a`. */
export function scoreEvent(pr: usize, s: u32, isNew: bool, a: f64): void {
  const rec = recordOf(s);
  if (isNew) {
    initDevice(pr, rec, a);
    if (credentialShared(pr, s, a)) store<u8>(rec + R_FLAGS, <u8>(<u16>load<u8>(rec + R_FLAGS) | F_CRED_OWNER));
    return;
  }
  const W = param(PRM_CLONE_WINDOW_MS);
  const has = load<u32>(pr + P.FLAGS);
  const ts = load<f64>(pr + P.TS);
  const lastTs = load<f64>(rec + R_LAST_TS);
  const hasSeq = (has & Has.SEQ) != 0;
  const seq = load<f64>(pr + P.SEQ);

  const tol = param(PRM_REPLAY_TOLERANCE_MS);
  const main0 = load<f64>(rec + R_SEQ_MAIN);
  const fitsMain = hasSeq && main0 >= 0 && seq - main0 >= 1 && seq - main0 <= param(PRM_SEQ_GAP_MAX);
  if (ts < lastTs - tol && !fitsMain) {
    const main = load<f64>(rec + R_SEQ_MAIN);
    flag(B_REPLAY, S_REPLAY_TIME_BACK, lastTs, ts, main >= 0 ? main : -1, hasSeq ? seq : -1);
    forgetInventoryVerdict(rec);
    return;
  }

  let flags = <u16>load<u8>(rec + R_FLAGS);
  if (flags & F_SILENCED) {
    info(Reason.RESUMED);
    flags &= ~F_SILENCED;
  }

  let duplicate = false;
  if (hasSeq) {
    const main = load<f64>(rec + R_SEQ_MAIN);
    if (main < 0) {
      store<f64>(rec + R_SEQ_MAIN, seq);
      store<f64>(rec + R_MAIN_ARRIVAL, a);
    } else {
      const G = param(PRM_SEQ_GAP_MAX);
      const d = seq - main;
      if (d >= 1 && d <= G) {
        // the common case: the second stream (cold cache lines) is read only when it advanced
        if (d > 1) info(Reason.SEQ_GAP);
        if ((flags & F_ALT_ADVANCED) != 0) {
          const alt = load<f64>(rec + R_SEQ_ALT);
          if (alt >= 0 && a - load<f64>(rec + R_ALT_ARRIVAL) <= W) flag(B_CLONE, S_CLONE_CONFIRMED, main + 1, seq, 0, alt);
        }
        store<f64>(rec + R_SEQ_MAIN, seq);
        store<f64>(rec + R_MAIN_ARRIVAL, a);
      } else {
        const alt = load<f64>(rec + R_SEQ_ALT);
        const altD = alt >= 0 ? seq - alt : -1;
        const altLive = alt >= 0 && a - load<f64>(rec + R_ALT_ARRIVAL) <= W;
        const mainLive = a - load<f64>(rec + R_MAIN_ARRIVAL) <= W;
        if (altD >= 1 && altD <= G && altLive) {
          if (mainLive) {
            flag(B_CLONE, (flags & F_ALT_ADVANCED) != 0 ? S_CLONE_CONFIRMED : S_CLONE_SECOND_STREAM, main + 1, seq, 0, alt);
          }
          store<f64>(rec + R_SEQ_ALT, seq);
          store<f64>(rec + R_ALT_ARRIVAL, a);
          flags |= F_ALT_ADVANCED;
        } else if (d == 0) {
          if (ts == lastTs) {
            info(Reason.DUPLICATE);
            duplicate = true;
          } else {
            flag(B_REPLAY, S_REPLAY_SAME_SEQ, lastTs, ts, main, seq);
            store<u8>(rec + R_FLAGS, <u8>flags);
            forgetInventoryVerdict(rec);
            return;
          }
        } else if (d < 0 && seq <= param(PRM_REBOOT_SEQ_MAX)) {
          info(Reason.REBOOT);
          store<f64>(rec + R_SEQ_ALT, main);
          store<f64>(rec + R_ALT_ARRIVAL, load<f64>(rec + R_MAIN_ARRIVAL));
          flags &= ~F_ALT_ADVANCED;
          store<f64>(rec + R_SEQ_MAIN, seq);
          store<f64>(rec + R_MAIN_ARRIVAL, a);
        } else if (d < 0) {
          flag(B_CLONE, S_CLONE_SUSPECT, main + 1, seq, 0, -1);
          store<f64>(rec + R_SEQ_ALT, seq);
          store<f64>(rec + R_ALT_ARRIVAL, a);
          flags &= ~F_ALT_ADVANCED;
        } else {
          info(Reason.SEQ_GAP);
          store<f64>(rec + R_SEQ_ALT, main);
          store<f64>(rec + R_ALT_ARRIVAL, load<f64>(rec + R_MAIN_ARRIVAL));
          flags &= ~F_ALT_ADVANCED;
          store<f64>(rec + R_SEQ_MAIN, seq);
          store<f64>(rec + R_MAIN_ARRIVAL, a);
        }
      }
    }
  } else if (ts == lastTs) {
    info(Reason.DUPLICATE);
    duplicate = true;
  }

  // Source
  let sourceMovedNet = false;
  if (has & Has.SOURCE) {
    const src = load<u64>(pr + P.SOURCE_HASH);
    const cur = load<u64>(rec + R_SOURCE);
    if (cur == 0) {
      setSource(rec, src);
    } else if (cur != src) {
      let flips: u32 = 1;
      if (src == load<u64>(rec + R_PREV_SOURCE) && a - load<f64>(rec + R_SOURCE_CHANGED_AT) <= W) {
        flips = <u32>load<u16>(rec + R_SOURCE_FLIPS) + 1;
        if (flips > 65535) flips = 65535;
      }
      const sameNet = hi32(cur) >= 0x80000000 && hi32(src) >= 0x80000000 && (<u32>cur >>> 8) == (<u32>src >>> 8);
      const was = sourceNumber(cur);
      const now = sourceNumber(src);
      flag(B_SOURCE_CHANGE, sameNet ? S_SOURCE_SAME_NET : S_SOURCE_OTHER_NET, was, now, 0, <f64>flips);
      if (flips >= 2) flag(B_CLONE, flips >= 3 ? S_CLONE_SOURCES_3 : S_CLONE_SOURCES_2, was, now, CLONE_BY_SOURCES, <f64>flips);
      store<u16>(rec + R_SOURCE_FLIPS, <u16>flips);
      store<u64>(rec + R_PREV_SOURCE, cur);
      setSource(rec, src);
      store<f64>(rec + R_SOURCE_CHANGED_AT, a);
      if (sameNet) flags &= ~F_SOURCE_MOVED_NET;
      else flags |= F_SOURCE_MOVED_NET;
    }
    sourceMovedNet = (flags & F_SOURCE_MOVED_NET) != 0 && a - load<f64>(rec + R_SOURCE_CHANGED_AT) <= W;
  }

  // Credential
  if (has & Has.CREDENTIAL) {
    const c = load<u64>(pr + P.CRED_HASH);
    const cur = load<u64>(rec + R_CRED);
    if (cur == 0) {
      setCredential(rec, c);
      flags = credentialShared(pr, s, a) ? flags | F_CRED_OWNER : flags & ~F_CRED_OWNER;
    } else if (cur != c) {
      let flips: u32 = 1;
      if (c == load<u64>(rec + R_PREV_CRED) && a - load<f64>(rec + R_CRED_CHANGED_AT) <= W) {
        flips = <u32>load<u16>(rec + R_CRED_FLIPS) + 1;
        if (flips > 65535) flips = 65535;
      }
      const score = flips >= 2 ? S_CRED_FLAPPING : sourceMovedNet ? S_CRED_WITH_SOURCE_MOVE : S_CRED_ROTATION;
      flag(B_CREDENTIAL_CHANGE, score, -1, -1, 0, <f64>flips);
      store<u16>(rec + R_CRED_FLIPS, <u16>flips);
      store<u64>(rec + R_PREV_CRED, cur);
      setCredential(rec, c);
      store<f64>(rec + R_CRED_CHANGED_AT, a);
      flags = credentialShared(pr, s, a) ? flags | F_CRED_OWNER : flags & ~F_CRED_OWNER;
    }
  }

  // Firmware
  if (has & Has.FIRMWARE) {
    const fw = load<f64>(pr + P.FIRMWARE);
    const cur = load<f64>(rec + R_FIRMWARE);
    if (cur == 0) {
      setFirmware(rec, fw);
    } else if (fw < cur) {
      flag(B_FIRMWARE_DOWNGRADE, S_FIRMWARE_DOWNGRADE, cur, fw, 0, 0);
      setFirmware(rec, fw);
    } else if (fw > cur) {
      info(Reason.FIRMWARE_UPGRADE);
      setFirmware(rec, fw);
    }
  }

  const n = load<u32>(rec + R_EVENTS);
  const skewed = clockSkew(ts, a, rec, n);

  if (!duplicate) {
    const warm = <f64>n >= param(PRM_WARMUP_EVENTS);
    // Rate
    const last = load<f64>(rec + R_LAST_ARRIVAL);
    const gap = a > last ? a - last : 0;
    if (n == 1) {
      store<f32>(rec + R_GAP_FAST, <f32>gap);
      store<f32>(rec + R_GAP_SLOW, <f32>gap);
    } else {
      const slow = <f64>load<f32>(rec + R_GAP_SLOW);
      const oldFast = <f64>load<f32>(rec + R_GAP_FAST);
      const fast = oldFast + GAP_FAST_ALPHA * (gap - oldFast);
      const factor = param(PRM_RATE_SPIKE_FACTOR);
      let spiking = false;
      if (warm && slow > 0 && fast * factor < slow) {
        spiking = true;
        const ratio = slow / (fast > 1 ? fast : 1);
        flag(B_RATE_SPIKE, graded(0.6, 0.35, ratio, factor), slow, fast, factor, 0);
      }
      store<f32>(rec + R_GAP_FAST, <f32>fast);
      if (!spiking) store<f32>(rec + R_GAP_SLOW, <f32>usualGap(slow, gap, n, warm));
    }

    // Payload size
    const x = load<f64>(pr + P.BYTES);
    const mean = <f64>load<f32>(rec + R_SIZE_MEAN);
    const v = <f64>load<f32>(rec + R_SIZE_VAR);
    let sizeBad = false;
    if (warm) {
      const sd = Math.sqrt(v);
      let tolerance = sd;
      if (tolerance < 0.05 * mean) tolerance = 0.05 * mean;
      if (tolerance < 8) tolerance = 8;
      const z = (x - mean) / tolerance;
      const Z = param(PRM_SIZE_Z);
      if (z > Z && x > mean * param(PRM_SIZE_MIN_RATIO)) {
        sizeBad = true;
        flag(B_SIZE_ANOMALY, graded(0.6, 0.35, z, Z), mean, x, sd, 0);
      }
    }
    if (!sizeBad) {
      let alpha = 1 / <f64>(n + 1);
      const floor = param(PRM_BASELINE_ALPHA);
      if (alpha < floor) alpha = floor;
      const d = x - mean;
      store<f32>(rec + R_SIZE_MEAN, <f32>(mean + alpha * d));
      store<f32>(rec + R_SIZE_VAR, <f32>((1 - alpha) * (v + alpha * d * d)));
    }

    metrics(pr, rec, gap);
  }

  const lastArrival = load<f64>(rec + R_LAST_ARRIVAL);
  if ((flags & F_CRED_OWNER) != 0) claimRefresh(a, lastArrival);
  if (a > lastArrival) store<f64>(rec + R_LAST_ARRIVAL, a);
  if (!skewed && ts > lastTs) store<f64>(rec + R_LAST_TS, ts);
  if (n < 0xffffffff) store<u32>(rec + R_EVENTS, n + 1);
  store<u8>(rec + R_FLAGS, <u8>flags);
}

function initDevice(pr: usize, rec: usize, a: f64): void {
  info(Reason.NEW_DEVICE);
  const has = load<u32>(pr + P.FLAGS);
  const ts = load<f64>(pr + P.TS);
  store<f64>(rec + R_LAST_ARRIVAL, a);
  store<f64>(rec + R_LAST_TS, ts);
  store<f64>(rec + R_SEQ_MAIN, (has & Has.SEQ) != 0 ? load<f64>(pr + P.SEQ) : -1);
  store<f64>(rec + R_SEQ_ALT, -1);
  store<f64>(rec + R_MAIN_ARRIVAL, a);
  store<f64>(rec + R_ALT_ARRIVAL, 0);
  store<u64>(rec + R_SOURCE, (has & Has.SOURCE) != 0 ? load<u64>(pr + P.SOURCE_HASH) : 0);
  store<u64>(rec + R_PREV_SOURCE, 0);
  store<f64>(rec + R_SOURCE_CHANGED_AT, 0);
  store<u64>(rec + R_CRED, (has & Has.CREDENTIAL) != 0 ? load<u64>(pr + P.CRED_HASH) : 0);
  store<u64>(rec + R_PREV_CRED, 0);
  store<f64>(rec + R_CRED_CHANGED_AT, 0);
  store<f64>(rec + R_FIRMWARE, (has & Has.FIRMWARE) != 0 ? load<f64>(pr + P.FIRMWARE) : 0);
  store<f32>(rec + R_GAP_FAST, 0);
  store<f32>(rec + R_GAP_SLOW, 0);
  store<f32>(rec + R_SIZE_MEAN, <f32>load<f64>(pr + P.BYTES));
  store<f32>(rec + R_SIZE_VAR, 0);
  store<f32>(rec + R_SKEW_MEAN, 0);
  store<u16>(rec + R_SOURCE_FLIPS, 0);
  store<u16>(rec + R_CRED_FLIPS, 0);
  store<u8>(rec + R_FLAGS, 0);
  store<u8>(rec + R_METRIC_COUNT, 0);
  forgetInventoryVerdict(rec);
  memory.fill(rec + R_METRIC_N, 0, 8);
  memory.fill(rec + R_METRIC_HASH, 0, 8 * METRIC_STRIDE);
  if (clockSkew(ts, a, rec, 0)) store<f64>(rec + R_LAST_TS, 0);
  metrics(pr, rec, 0);
  store<u32>(rec + R_EVENTS, 1);
}

function clockSkew(ts: f64, a: f64, rec: usize, n: u32): bool {
  const off = ts - a;
  if (<f64>n < param(PRM_WARMUP_EVENTS)) {
    const abs = off < 0 ? -off : off;
    const limit = param(PRM_SKEW_ABSOLUTE_MS);
    if (abs > limit) {
      flag(B_CLOCK_SKEW, S_SKEW_UNWARMED, 0, off, limit, 0);
      return true;
    }
    const m = <f64>load<f32>(rec + R_SKEW_MEAN);
    store<f32>(rec + R_SKEW_MEAN, <f32>(m + (off - m) / <f64>(n + 1)));
    return false;
  }
  const m = <f64>load<f32>(rec + R_SKEW_MEAN);
  const dev = off > m ? off - m : m - off;
  const limit = param(PRM_SKEW_TOLERANCE_MS);
  if (dev > limit) {
    flag(B_CLOCK_SKEW, graded(0.6, 0.35, dev, limit), m, off, limit, 0);
    return true;
  }
  store<f32>(rec + R_SKEW_MEAN, <f32>(m + SKEW_ALPHA * (off - m)));
  return false;
}

// Metric step model (src/core/reference/detectors.ts `metrics` explains it).
const REVERT: f64 = 2;
const FLAG_WIDEN: f64 = 1.1;
const LONG_ALPHA: f64 = 1.0 / 4096.0;
const F32_MAX: f64 = 3.4028234663852886e38;
const Z_CAP: f64 = 1e9;
const METRIC_SCORE_LO: f64 = 0.48;
const METRIC_SCORE_SPAN: f64 = 0.5;
const METRIC_REPEAT_SCORE: f64 = 0.5;

/** f32 → bfloat16 bits, rounded to nearest even (as toBf16 in the reference). */
@inline function toBf16(x: f64): u16 {
  const b = reinterpret<u32>(<f32>x);
  return <u16>((b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
}

@inline function fromBf16(h: u16): f64 {
  return <f64>reinterpret<f32>(<u32>h << 16);
}

function metrics(pr: usize, rec: usize, gap: f64): void {
  const count = load<u32>(pr + P.METRIC_COUNT);
  const warmup = param(PRM_METRIC_WARMUP);
  const Z = param(PRM_METRIC_Z);
  const floorAlpha = param(PRM_BASELINE_ALPHA);
  const repeat = <u32>param(PRM_METRIC_REPEAT_READINGS);
  const usual = <f64>load<f32>(rec + R_GAP_SLOW);
  const g = usual > 0 ? gap / usual : 1;
  const stretch = g > 1 ? g : 1;
  let mc = <u32>load<u8>(rec + R_METRIC_COUNT);
  for (let i: u32 = 0; i < count; i++) {
    const h = load<u32>(pr + P.METRIC_HASH + (i << 2)) & METRIC_NAME_MASK;
    let j: u32 = 0;
    while (j < mc && (load<u32>(rec + R_METRIC_HASH + j * METRIC_STRIDE) & METRIC_NAME_MASK) != h) j++;
    if (j == mc) {
      if (mc == 8) continue;
      store<u32>(rec + R_METRIC_HASH + j * METRIC_STRIDE, h | METRIC_QUIET_MAX);
      store<u8>(rec + R_METRIC_N + j, 0);
      mc++;
    }
    const m = rec + j * METRIC_STRIDE;
    const n = <u32>load<u8>(rec + R_METRIC_N + j);
    const x = load<f64>(pr + P.METRIC_VALUE + (i << 3));
    const quiet = load<u32>(m + R_METRIC_HASH) & METRIC_QUIET_MAX;
    if (quiet < METRIC_QUIET_MAX) store<u32>(m + R_METRIC_HASH, h | (quiet + 1)); // at the cap, the word is already h | cap
    const storable = x < F32_MAX && x > -F32_MAX;
    if (n == 0) {
      if (!storable) continue;
      store<f32>(m + R_METRIC_LAST, <f32>x);
      store<u16>(m + R_METRIC_STEP, 0);
      store<u16>(m + R_METRIC_DEV, 0);
      store<u8>(rec + R_METRIC_N + j, 1);
      continue;
    }
    const last = <f64>load<f32>(m + R_METRIC_LAST);
    const sq = fromBf16(load<u16>(m + R_METRIC_STEP));
    const dev = fromBf16(load<u16>(m + R_METRIC_DEV));
    const step = x - last;
    const size = step < 0 ? -step : step;
    const off = dev < 0 ? -dev : dev;
    const towards = (step > 0 && dev < 0) || (step < 0 && dev > 0);
    const tol = Math.sqrt(sq) * stretch;
    const range = off - Z * tol;
    const allow = towards && range > 0 ? REVERT * range : 0;
    const alpha = <f64>n * floorAlpha < 1 ? 1 / <f64>n : floorAlpha;
    if (<f64>n >= warmup && sq > 0) {
      const excess = size - allow;
      if (excess > Z * tol) {
        const z = excess < tol * Z_CAP ? excess / tol : Z_CAP;
        let score = graded(METRIC_SCORE_LO, METRIC_SCORE_SPAN, z, Z);
        if (quiet < repeat && score > METRIC_REPEAT_SCORE) score = METRIC_REPEAT_SCORE;
        store<u32>(m + R_METRIC_HASH, h);
        flag(B_METRIC_ANOMALY, score, last, x, tol, <f64>i);
        store<u16>(m + R_METRIC_STEP, toBf16(sq * FLAG_WIDEN));
        store<u8>(rec + R_METRIC_N + j, <u8>(n < 255 ? n + 1 : 255));
        continue;
      }
    }
    if (!storable) continue;
    store<f32>(m + R_METRIC_LAST, <f32>x);
    const moved = <f64>load<f32>(m + R_METRIC_LAST) - last;
    const beyond = (moved < 0 ? -moved : moved) - allow;
    if (beyond > 0) {
      const u = stretch > 1 ? beyond / stretch : beyond;
      store<u16>(m + R_METRIC_STEP, toBf16(sq > 0 ? sq + alpha * (u * u - sq) : u * u));
      if (n < 255) store<u8>(rec + R_METRIC_N + j, <u8>(n + 1));
    }
    const beta = n < 255 ? 1 / <f64>(n + 1) : LONG_ALPHA;
    store<u16>(m + R_METRIC_DEV, toBf16((1 - beta) * (dev + moved)));
  }
  store<u8>(rec + R_METRIC_COUNT, <u8>mc);
}

/**
 * A credential in use by another device id that is still active: flagged, and the owner
 * keeps it. Returns true when the device holds the credential afterwards. The owner's
 * activity is its record's last arrival when this instance holds the owner, else the
 * last time the index heard of it (a claim from another instance, or its own take-over).
 */
function credentialShared(pr: usize, s: u32, a: f64): bool {
  if ((load<u32>(pr + P.FLAGS) & Has.CREDENTIAL) == 0) return false;
  const device = load<u64>(pr + P.DEVICE_HASH);
  const k = credentialSlot(load<u64>(pr + P.CRED_HASH));
  const ownerAt = credOwners + (<usize>k << 3);
  const seenAt = credSeen + (<usize>k << 3);
  const owner = load<u64>(ownerAt);
  if (owner != 0 && owner != device) {
    const o = findDevice(owner);
    const since = a - (o >= 0 ? load<f64>(recordOf(<u32>o) + R_LAST_ARRIVAL) : load<f64>(seenAt));
    const window = param(PRM_SHARE_WINDOW_MS);
    if (since <= window) {
      flag(B_CREDENTIAL_SHARED, S_CRED_SHARED, since, 0, window, <f64>o);
      return false;
    }
  }
  // unowned, already ours, or the owner is gone (evicted, or silent past the window:
  // a replaced device): the credential is this device's now
  store<u64>(ownerAt, device);
  store<f64>(seenAt, a);
  if (param(PRM_CLAIM_REFRESH_MS) > 0) info(Reason.CLAIM);
  return true;
}

/** A credential holder tells other instances it is still active once per refresh period. */
@inline function claimRefresh(a: f64, last: f64): void {
  const r = param(PRM_CLAIM_REFRESH_MS);
  if (r > 0 && Math.floor(a / r) != Math.floor(last / r)) info(Reason.CLAIM);
}

/**
 * Another instance says `owner` used credential `cred` at `seen` (src/scaleout/claims.ts).
 * The claim is taken when the credential has no holder here, is already the owner's, or
 * its holder has been quiet for longer than the sharing window by then; a holder still
 * active here keeps it. Returns true when the index now names `owner`.
 */
export function importClaim(cred: u64, owner: u64, seen: f64): bool {
  const k = credentialSlot(cred);
  const ownerAt = credOwners + (<usize>k << 3);
  const seenAt = credSeen + (<usize>k << 3);
  const holder = load<u64>(ownerAt);
  if (holder == owner) {
    if (seen > load<f64>(seenAt)) store<f64>(seenAt, seen);
    return true;
  }
  if (holder != 0) {
    const o = findDevice(holder);
    const last = o >= 0 ? load<f64>(recordOf(<u32>o) + R_LAST_ARRIVAL) : load<f64>(seenAt);
    if (seen - last <= param(PRM_SHARE_WINDOW_MS)) return false;
  }
  store<u64>(ownerAt, owner);
  store<f64>(seenAt, seen);
  return true;
}

/** Silence check of one slot at fleet time `now`; true when it fires. */
export function checkSilence(s: u32, now: f64): bool {
  if (keyOf(s) == 0) return false;
  const rec = recordOf(s);
  const flags = <u16>load<u8>(rec + R_FLAGS);
  if ((flags & F_SILENCED) != 0 || <f64>load<u32>(rec + R_EVENTS) < param(PRM_WARMUP_EVENTS)) return false;
  const usual = <f64>load<f32>(rec + R_GAP_SLOW);
  const last = load<f64>(rec + R_LAST_ARRIVAL);
  const quiet = now - last;
  let limit = param(PRM_SILENCE_FACTOR) * usual;
  const min = param(PRM_SILENCE_MIN_MS);
  if (limit < min) limit = min;
  if (!(quiet > limit)) return false;
  store<u8>(rec + R_FLAGS, <u8>(flags | F_SILENCED));
  flag(B_SILENCE, S_SILENCE, usual, quiet, limit, last);
  return true;
}
