// The metric detector of src/nab/detector.ts in the WASM core: a straight port, point for
// point and operation for operation, so that both give the same scores to the last bit
// (test/nab/wasm.test.ts compares them with exact equality). The maths, the constants and
// the state layouts are documented there; this file only says what differs in form.
//
// Boundary (numbers only): metricInit carves, once, one state block per series (160 or
// 56 bytes, the layouts of detector.ts, byte for byte) and an input and an output region
// of `batchMax` f64 each. JS writes values to metricInputPtr(), calls
// metricScore(series, n), and reads n scores from metricOutputPtr(). Nothing in
// metricScore allocates. The regions come from the stub runtime's bump allocator, like
// the core's own (index.ts `init`): both may be set up in one instance, in any order,
// without overlapping; JS views made before the second one may be detached by the growth.
//
// Form: metricScore loads a series' state into locals, scores the n points, and stores
// the state back once (the transition table stays in memory). The floating-point fields
// of the compact layout are f32 in memory and rounded to f32 on every assignment here,
// as detector.ts rounds them on every store. The layout is a compile-time type
// parameter: T = f64 for the standard layout, f32 for the compact one.

// ---- tuning: the values of src/nab/detector.ts ----
const GRID_AFTER: i32 = 50;
const GRID_DIV: f64 = 16;
const HALVE_AT: i32 = 16384;
const WARMUP_T: i32 = 10;
const SHIFT_FAST: f64 = 0.05;
const SHIFT_SLOW: f64 = 0.003;
const SHIFT_COUNT_AFTER: i32 = 20;
const SHIFT_REPORT_AFTER: i32 = 60;
const NE_MARGIN: f64 = 0.005;
const NE_BASE: f64 = 6;
const NE_SLOPE: f64 = 30;
const NE_REFRACTORY: i32 = 30;
const NE_REPEAT_PENALTY: f64 = 3;
const GATE_DECAY: f64 = 0.02;
const GATE_MULT: f64 = 1.2;
const SCORE_HALF: f64 = 10;

const KEY_MAX: f64 = 2147483647;
const KEY_MIN: f64 = -2147483648;
const E0: f64 = 0.5;
const E1: f64 = 0.75;
const E2: f64 = 1.125;
const E3: f64 = 1.6875;
const E4: f64 = 2.53125;
const E5: f64 = 3.796875;
const E6: f64 = 5.6953125;

// ---- state layouts (byte offsets; detector.ts documents the fields) ----
const LAYOUT_STANDARD: u32 = 0; // metricInit layouts (src/nab/wasm.ts: LAYOUT_IDS)
const LAYOUT_COMPACT: u32 = 1;
const STANDARD_BYTES: u32 = 160;
const COMPACT_BYTES: u32 = 56;
// standard: f64 lo hi q gate fast slow dev @0..48, pk @56, c0..c6 @60, sinceNe @74,
// s0..s7 @76, n @92, age @93, recent @94, table @96 (64 rows of 8 bits, row r at byte r)
// compact: f32 lo hi q gate @0..12, pk @16, c0..c6 @20, sinceNe @34, n @36, age @37,
// recent @38, table @40 (32 rows of 4 bits, row r in the low nibble of byte r >> 1 for
// even r, the high nibble for odd r)
@inline function offPk<T>(): usize { return sizeof<T>() == 8 ? 56 : 16; }
@inline function offC<T>(): usize { return sizeof<T>() == 8 ? 60 : 20; }
@inline function offSinceNe<T>(): usize { return sizeof<T>() == 8 ? 74 : 34; }
@inline function offN<T>(): usize { return sizeof<T>() == 8 ? 92 : 36; }
@inline function offTable<T>(): usize { return sizeof<T>() == 8 ? 96 : 40; }
const OFF_FAST: usize = 32;
const OFF_SLOW: usize = 40;
const OFF_DEV: usize = 48;
const OFF_S: usize = 76;

let layoutId: u32 = LAYOUT_STANDARD;
let stateBytes: u32 = STANDARD_BYTES;
let seriesCount: u32 = 0;
let batchCap: u32 = 0;
let stateBase: usize = 0;
let inputBase: usize = 0;
let outputBase: usize = 0;

/**
 * Carve the state of `series` series in `layout` (LAYOUT_STANDARD or LAYOUT_COMPACT), all
 * reset, and input / output regions of `batchMax` f64 values. Once per instance.
 */
export function metricInit(series: u32, layout: u32, batchMax: u32): void {
  layoutId = layout == LAYOUT_COMPACT ? LAYOUT_COMPACT : LAYOUT_STANDARD;
  stateBytes = layoutId == LAYOUT_COMPACT ? COMPACT_BYTES : STANDARD_BYTES;
  seriesCount = series;
  batchCap = batchMax;
  stateBase = heap.alloc(<usize>series * stateBytes);
  inputBase = heap.alloc(<usize>batchMax << 3);
  outputBase = heap.alloc(<usize>batchMax << 3);
  for (let s: u32 = 0; s < series; s++) metricReset(s);
}

export function metricInputPtr(): usize { return inputBase; }
export function metricOutputPtr(): usize { return outputBase; }
export function metricBatchMax(): u32 { return batchCap; }
export function metricStateBytes(): u32 { return stateBytes; }
export function metricStatePtr(series: u32): usize { return stateBase + <usize>series * stateBytes; }

/** Back to the state of a series never seen (every field 0, sinceNe 65535). */
export function metricReset(series: u32): void {
  if (series >= seriesCount) return;
  const s = metricStatePtr(series);
  memory.fill(s, 0, stateBytes);
  store<u16>(s + (layoutId == LAYOUT_COMPACT ? offSinceNe<f32>() : offSinceNe<f64>()), 65535);
}

/**
 * Score the next n values of `series` from the input region into the output region
 * (n is capped at batchMax). Returns the number scored; 0 for an unknown series.
 */
export function metricScore(series: u32, n: u32): u32 {
  if (series >= seriesCount) return 0;
  const m = n < batchCap ? n : batchCap;
  if (layoutId == LAYOUT_COMPACT) scoreRun<f32>(metricStatePtr(series), m);
  else scoreRun<f64>(metricStatePtr(series), m);
  return m;
}

/** detLn, exported so that tests can compare it with the TypeScript one. */
export function metricLn(x: f64): f64 { return detLn(x); }

/** A floating-point field value as the layout stores it (f32 rounds). */
@inline function fp<T>(v: f64): f64 {
  if (sizeof<T>() == 4) return <f64><f32>v;
  return v;
}

/**
 * Grid key of x, clamped to the i32 range. A NaN key (x / q with q rounded to 0) becomes
 * KEY_MIN where detector.ts keeps NaN: that key is never read (the grid is set again on
 * the next point while q is 0).
 */
@inline function gridKey(x: f64, q: f64): i32 {
  const k = floor<f64>(x / q);
  if (k > KEY_MAX) return <i32>KEY_MAX;
  if (k >= KEY_MIN) return <i32>k;
  return <i32>KEY_MIN;
}

/** The bit of a step dk in a row (keys are i32, so dk is exact in i64). */
@inline function stepBit<T>(dk: i64): i32 {
  if (sizeof<T>() == 8) return dk >= -3 && dk <= 3 ? 1 << <i32>(dk + 3) : 128;
  return dk == 0 ? 1 : dk == 1 || dk == -1 ? 2 : dk < 0 ? 4 : 8;
}

@inline function rowOf<T>(table: usize, r: i32): i32 {
  if (sizeof<T>() == 8) return <i32>load<u8>(table + <usize>r);
  return (<i32>load<u8>(table + (<usize>r >> 1)) >> ((r & 1) << 2)) & 15;
}

@inline function setRow<T>(table: usize, r: i32, v: i32): void {
  if (sizeof<T>() == 8) {
    store<u8>(table + <usize>r, <u8>v);
  } else {
    const p = table + (<usize>r >> 1);
    const shift = (r & 1) << 2;
    store<u8>(p, <u8>((<i32>load<u8>(p) & ~(15 << shift)) | (v << shift)));
  }
}

function scoreRun<T>(st: usize, count: u32): void {
  const WIDE = sizeof<T>() == 8;
  const rowMask: i32 = WIDE ? 63 : 31;
  const table = st + offTable<T>();
  // ---- the state, in locals for the batch ----
  let lo = <f64>load<T>(st);
  let hi = <f64>load<T>(st, sizeof<T>());
  let q = <f64>load<T>(st, 2 * sizeof<T>());
  let gate = <f64>load<T>(st, 3 * sizeof<T>());
  let fast: f64 = 0;
  let slow: f64 = 0;
  let dev: f64 = 0;
  if (WIDE) {
    fast = load<f64>(st + OFF_FAST);
    slow = load<f64>(st + OFF_SLOW);
    dev = load<f64>(st + OFF_DEV);
  }
  let pk = load<i32>(st + offPk<T>());
  const cp = st + offC<T>();
  let c0 = <i32>load<u16>(cp);
  let c1 = <i32>load<u16>(cp, 2);
  let c2 = <i32>load<u16>(cp, 4);
  let c3 = <i32>load<u16>(cp, 6);
  let c4 = <i32>load<u16>(cp, 8);
  let c5 = <i32>load<u16>(cp, 10);
  let c6 = <i32>load<u16>(cp, 12);
  let sinceNe = <i32>load<u16>(st + offSinceNe<T>());
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  if (WIDE) {
    const sp = st + OFF_S;
    s0 = <i32>load<u16>(sp);
    s1 = <i32>load<u16>(sp, 2);
    s2 = <i32>load<u16>(sp, 4);
    s3 = <i32>load<u16>(sp, 6);
    s4 = <i32>load<u16>(sp, 8);
    s5 = <i32>load<u16>(sp, 10);
    s6 = <i32>load<u16>(sp, 12);
    s7 = <i32>load<u16>(sp, 14);
  }
  const np = st + offN<T>();
  let n = <i32>load<u8>(np);
  let age = <i32>load<u8>(np, 1);
  let recent = <i32>load<u8>(np, 2);

  for (let i: u32 = 0; i < count; i++) {
    const x = load<f64>(inputBase + (<usize>i << 3));
    if (!(x - x == 0)) {
      // NaN or ±Infinity: ignored
      store<f64>(outputBase + (<usize>i << 3), 0);
      continue;
    }
    const n0 = n;
    if (n0 < 255) n = n0 + 1;
    if (sinceNe < 65535) sinceNe++;

    // 1. new extreme
    let sNe: f64 = 0;
    if (n0 == 0) {
      lo = fp<T>(x);
      hi = fp<T>(x);
    } else {
      const l = lo;
      const h = hi;
      const range = h - l;
      if (n0 >= 2 && range > 0) {
        const excess = x > h ? (x - h) / range : x < l ? (l - x) / range : 0.0;
        if (excess > NE_MARGIN) {
          sNe = NE_BASE + NE_SLOPE * excess - (sinceNe < NE_REFRACTORY ? NE_REPEAT_PENALTY : 0.0);
          sinceNe = 0;
        }
      }
      if (x > h) hi = fp<T>(x);
      if (x < l) lo = fp<T>(x);
    }

    // 2. transition novelty
    let odds: f64 = 0;
    if (q == 0) {
      if (n >= GRID_AFTER && hi > lo) {
        q = fp<T>((hi - lo) / GRID_DIV);
        pk = gridKey(x, q);
        age = 0;
      }
    } else {
      const k = gridKey(x, q);
      const p = pk;
      const r = p & rowMask;
      const row = rowOf<T>(table, r);
      const dk = <i64>k - <i64>p;
      const bit = stepBit<T>(dk);
      const seen = (row & (stepBit<T>(dk - 1) | bit | stepBit<T>(dk + 1))) != 0;
      if ((row & bit) == 0) setRow<T>(table, r, row | bit);
      pk = k;
      recent = ((recent << 1) | (seen ? 0 : 1)) & 63;
      const novel = popcnt<i32>(recent);
      // 1 / P(K >= novel) from the counts; then count the observation
      const total = c0 + c1 + c2 + c3 + c4 + c5 + c6;
      let above = c6;
      if (novel <= 5) above += c5;
      if (novel <= 4) above += c4;
      if (novel <= 3) above += c3;
      if (novel <= 2) above += c2;
      if (novel <= 1) above += c1;
      if (novel <= 0) above += c0;
      const oddsT = <f64>(total + 1) / (<f64>above + 0.5);
      switch (novel) {
        case 0: c0++; break;
        case 1: c1++; break;
        case 2: c2++; break;
        case 3: c3++; break;
        case 4: c4++; break;
        case 5: c5++; break;
        default: c6++; break;
      }
      if (total + 1 >= HALVE_AT) {
        c0 >>= 1;
        c1 >>= 1;
        c2 >>= 1;
        c3 >>= 1;
        c4 >>= 1;
        c5 >>= 1;
        c6 >>= 1;
      }
      if (age < 255) age++;
      if (age > WARMUP_T) odds = oddsT;
    }

    // 3. level shift (standard layout)
    if (WIDE) {
      if (n0 == 0) {
        fast = x;
        slow = x;
        dev = 0;
      } else {
        const f = fast + SHIFT_FAST * (x - fast);
        const e = x - slow;
        const ae = e < 0 ? -e : e;
        const d2 = dev + SHIFT_SLOW * (ae - dev);
        const sl = slow + SHIFT_SLOW * e;
        if (!(f - f == 0 && sl - sl == 0 && d2 - d2 == 0)) {
          // overflow on values near ±1.8e308: start the averages again from x
          fast = x;
          slow = x;
          dev = 0;
        } else {
          fast = f;
          dev = d2;
          slow = sl;
        }
        if (n > SHIFT_COUNT_AFTER) {
          const d = fast > slow ? fast - slow : slow - fast;
          const ratio = dev > 0 ? d / dev : d > 0 ? Infinity : 0.0;
          const b = <i32>(ratio > E0) + <i32>(ratio > E1) + <i32>(ratio > E2) + <i32>(ratio > E3) + <i32>(ratio > E4) + <i32>(ratio > E5) + <i32>(ratio > E6);
          const total = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
          let above = s7;
          if (b <= 6) above += s6;
          if (b <= 5) above += s5;
          if (b <= 4) above += s4;
          if (b <= 3) above += s3;
          if (b <= 2) above += s2;
          if (b <= 1) above += s1;
          if (b <= 0) above += s0;
          const oddsS = <f64>(total + 1) / (<f64>above + 0.5);
          switch (b) {
            case 0: s0++; break;
            case 1: s1++; break;
            case 2: s2++; break;
            case 3: s3++; break;
            case 4: s4++; break;
            case 5: s5++; break;
            case 6: s6++; break;
            default: s7++; break;
          }
          if (total + 1 >= HALVE_AT) {
            s0 >>= 1;
            s1 >>= 1;
            s2 >>= 1;
            s3 >>= 1;
            s4 >>= 1;
            s5 >>= 1;
            s6 >>= 1;
            s7 >>= 1;
          }
          if (n > SHIFT_REPORT_AFTER && oddsS > odds) odds = oddsS;
        }
      }
    }

    // 4. gate
    const s = odds > 0 ? detLn(odds) : 0.0;
    let g = gate - GATE_DECAY;
    if (g < 0) g = 0;
    let reported: f64 = 0;
    if (s > g) {
      reported = s;
      g = GATE_MULT * s;
    }
    gate = fp<T>(g);

    // 5. score
    let out = reported / (reported + SCORE_HALF);
    if (sNe > 0) {
      const ne = sNe / (sNe + SCORE_HALF);
      if (ne > out) out = ne;
    }
    store<f64>(outputBase + (<usize>i << 3), out);
  }

  // ---- the state back to memory ----
  store<T>(st, <T>lo);
  store<T>(st, <T>hi, sizeof<T>());
  store<T>(st, <T>q, 2 * sizeof<T>());
  store<T>(st, <T>gate, 3 * sizeof<T>());
  if (WIDE) {
    store<f64>(st + OFF_FAST, fast);
    store<f64>(st + OFF_SLOW, slow);
    store<f64>(st + OFF_DEV, dev);
    const sp = st + OFF_S;
    store<u16>(sp, <u16>s0);
    store<u16>(sp, <u16>s1, 2);
    store<u16>(sp, <u16>s2, 4);
    store<u16>(sp, <u16>s3, 6);
    store<u16>(sp, <u16>s4, 8);
    store<u16>(sp, <u16>s5, 10);
    store<u16>(sp, <u16>s6, 12);
    store<u16>(sp, <u16>s7, 14);
  }
  store<i32>(st + offPk<T>(), pk);
  store<u16>(cp, <u16>c0);
  store<u16>(cp, <u16>c1, 2);
  store<u16>(cp, <u16>c2, 4);
  store<u16>(cp, <u16>c3, 6);
  store<u16>(cp, <u16>c4, 8);
  store<u16>(cp, <u16>c5, 10);
  store<u16>(cp, <u16>c6, 12);
  store<u16>(st + offSinceNe<T>(), <u16>sinceNe);
  store<u8>(np, <u8>n);
  store<u8>(np, <u8>age, 1);
  store<u8>(np, <u8>recent, 2);
}

// ---- detLn: the natural logarithm of detector.ts, from +, -, *, / and comparisons ----
const LN2_HI: f64 = 0.6931471803691238;
const LN2_LO: f64 = 1.9082149292705877e-10;
const TWO32: f64 = 4294967296;
const INV_TWO32: f64 = 2.3283064365386963e-10;
const SQRT2: f64 = 1.4142135623730951;

function detLn(x: f64): f64 {
  if (x != x || x < 0) return NaN;
  if (x == 0) return -Infinity;
  if (x == Infinity) return Infinity;
  let m = x;
  let e: f64 = 0;
  while (m >= TWO32) {
    m *= INV_TWO32;
    e += 32;
  }
  while (m < 1) {
    m *= TWO32;
    e -= 32;
  }
  if (m >= 65536) {
    m *= 1.0 / 65536.0;
    e += 16;
  }
  if (m >= 256) {
    m *= 1.0 / 256.0;
    e += 8;
  }
  if (m >= 16) {
    m *= 1.0 / 16.0;
    e += 4;
  }
  if (m >= 4) {
    m *= 0.25;
    e += 2;
  }
  if (m >= 2) {
    m *= 0.5;
    e += 1;
  }
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  // ln m = 2 atanh(s), s = (m - 1) / (m + 1): odd series to s^21 (the literals are the
  // correctly rounded quotients, as V8 computes 1 / 21 … 1 / 3)
  const s = (m - 1) / (m + 1);
  const z = s * s;
  let p: f64 = 1.0 / 21.0;
  p = p * z + 1.0 / 19.0;
  p = p * z + 1.0 / 17.0;
  p = p * z + 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  p = p * z + 1;
  return e * LN2_HI + (e * LN2_LO + 2 * s * p);
}
