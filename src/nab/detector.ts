// The metric detector: an online anomaly scorer for one metric series (one device, one
// metric). O(1) time and a fixed, small state per series, no look-ahead, one parameter set
// for every series. Written to be ported as is into the WASM core: the state is a fixed
// set of numeric fields (layouts below), the hot path has no closures, no allocation and
// no arrays, the arithmetic is f64 with +, -, *, /, floor and comparisons only, plus one
// or two natural logarithms per point from detLn below (the project's own, made of those
// operations, so that V8 and WASM agree to the last bit; Math.log may not).
//
// Per point x (timestamps are not used), three streams of evidence:
//
// 1. New extreme ("NE"). lo/hi are the smallest and largest values seen so far. When x
//    leaves [lo, hi] by more than NE_MARGIN of the range, the excess e = distance / (hi - lo)
//    gives the surprise sNe = NE_BASE + NE_SLOPE * e (nats), less NE_REPEAT_PENALTY when
//    the previous new extreme is under NE_REFRACTORY points old (records that follow each
//    other are one excursion or a trend, not a new event).
//
// 2. Transition novelty ("T"), a first-order transition memory in the spirit of HTM.
//    After GRID_AFTER points the values are put on a fixed grid: step
//    q = (hi - lo) / GRID_DIV of the range seen by then (delayed while the range is 0),
//    key(x) = floor(x / q). A transition is the pair (previous key p, key k), dk = k - p.
//    The memory is a table of rows indexed by p mod ROWS; a row has one bit per kind of
//    step:
//      standard layout, 64 rows of 8 bits: bit dk + 3 for dk in [-3, 3], bit 7 any larger;
//      compact layout, 32 rows of 4 bits:  dk = 0, |dk| = 1, dk <= -2, dk >= 2.
//    The transition is novel when none of the steps dk - 1, dk, dk + 1 is recorded in its
//    row; then it is recorded. The novelty bits of the last WINDOW (6) transitions are
//    kept; their count K in 0..6 is calibrated against this series' own history:
//    COUNTS_T[j] counts how often K was j (halved when their sum reaches HALVE_AT), and
//    sT = ln((sum COUNTS_T + 1) / (sum_{j >= K} COUNTS_T[j] + 0.5)), the surprise in
//    nats of seeing K novel transitions out of 6 here. Reported once the grid is more
//    than WARMUP_T points old.
//
// 3. Level shift ("S", standard layout only). fast and slow are EWMAs of x (SHIFT_FAST,
//    SHIFT_SLOW), dev the slow EWMA of |x - slow|; r = |fast - slow| / dev. r is put in one
//    of 8 bins (edges 0.5 * 1.5^j, j = 0..6) and calibrated like K: COUNTS_S[b] counts the
//    bins seen, sS = ln((sum COUNTS_S + 1) / (sum_{j >= b} COUNTS_S[j] + 0.5)). Counted
//    from point SHIFT_COUNT_AFTER, reported from point SHIFT_REPORT_AFTER.
//
// Calibrating every stream against the series' own history is what lets one threshold
// serve quiet, noisy and heavy-tailed series alike.
//
// 4. Gating. s = max(sT, sS) is reported only when it beats a decaying running maximum g
//    (g decays by GATE_DECAY nats per point; a reported s sets g = GATE_MULT * s), so an
//    episode gives one report, not one per point (NAB rewards the first detection in a
//    window and counts each later one outside it as a false positive).
//
// 5. Score = s / (s + SCORE_HALF) for a reported s, else 0; a new extreme scores the larger
//    of that and sNe / (sNe + SCORE_HALF). Scores lie in [0, 1]: 0.27 ≈ 3.8 nats,
//    0.5 = 10 nats, 1 only in the limit.
//
// State (bytes per metric series). STANDARD_LAYOUT, 160 bytes, floating-point fields f64:
//
//   @0 lo  @8 hi  @16 q  @24 gate  @32 fast  @40 slow  @48 dev        f64 × 7
//   @56 pk          i32   previous grid key (keys are clamped to the i32 range)
//   @60 c0..c6      u16   COUNTS_T[0..6]
//   @74 sinceNe     u16   points since the last new extreme (saturates at 65535)
//   @76 s0..s7      u16   COUNTS_S[0..7]
//   @92 n           u8    points seen (saturates at 255)
//   @93 age         u8    points since the grid was set (saturates at 255)
//   @94 recent      u8    novelty bits of the last 6 transitions (bit 0 newest)
//   @95 (pad)
//   @96 table       u8 × 64   rows (held here as 32-bit words w0..w15, row r in byte r & 3
//                             of word r >> 2)
//
// COMPACT_LAYOUT, 56 bytes: no level-shift stream; lo, hi, q, gate stored as f32 (rounded
// on every store); the table has 32 rows of 4 bits:
//
//   @0 lo  @4 hi  @8 q  @12 gate   f32 × 4
//   @16 pk i32   @20 c0..c6 u16   @34 sinceNe u16   @36 n u8   @37 age u8   @38 recent u8
//   @39 (pad)    @40 table 4 bits × 32 (row r in bits 4 * (r & 7) of word r >> 3, w0..w3)
//
// Non-finite values are ignored (score 0, state unchanged).

/** Points before the grid is set. */
export const GRID_AFTER = 50;
/** Grid steps across the range seen by then. */
export const GRID_DIV = 16;
/** COUNTS are halved when their sum reaches this (a slow forgetting, ~10^4 points). */
export const HALVE_AT = 16384;
/** Points after the grid is set before transition surprises are reported. */
export const WARMUP_T = 10;
/** Level shift: EWMA weights, and from which point the ratio is counted / reported. */
export const SHIFT_FAST = 0.05;
export const SHIFT_SLOW = 0.003;
export const SHIFT_COUNT_AFTER = 20;
export const SHIFT_REPORT_AFTER = 60;
/** New extremes: minimal excess (fraction of the range), base surprise, slope, refractory. */
export const NE_MARGIN = 0.005;
export const NE_BASE = 6;
export const NE_SLOPE = 30;
export const NE_REFRACTORY = 30;
export const NE_REPEAT_PENALTY = 3;
/** Gate: decay per point (nats) and the factor applied to a reported surprise. */
export const GATE_DECAY = 0.02;
export const GATE_MULT = 1.2;
/** score = s / (s + SCORE_HALF), s in nats. */
export const SCORE_HALF = 10;

const KEY_MAX = 2147483647;
const KEY_MIN = -2147483648;
// Level-shift bin edges 0.5 * 1.5^j (exact binary fractions).
const E0 = 0.5;
const E1 = 0.75;
const E2 = 1.125;
const E3 = 1.6875;
const E4 = 2.53125;
const E5 = 3.796875;
const E6 = 5.6953125;

export interface StateLayout {
  readonly name: 'standard' | 'compact';
  /** Bytes of state per metric series. */
  readonly bytes: number;
  /** Transition table rows (a power of two). */
  readonly rows: number;
  /** Bits per row: 8 (steps -3..3 and larger) or 4 (0, ±1, <= -2, >= 2). */
  readonly rowBits: 8 | 4;
  /** Floating-point fields stored as f32 (rounded on every store). */
  readonly f32: boolean;
  /** The level-shift stream is kept. */
  readonly shift: boolean;
}

export const STANDARD_LAYOUT: StateLayout = Object.freeze({ name: 'standard', bytes: 160, rows: 64, rowBits: 8, f32: false, shift: true });
export const COMPACT_LAYOUT: StateLayout = Object.freeze({ name: 'compact', bytes: 56, rows: 32, rowBits: 4, f32: true, shift: false });

export interface DetectorOptions {
  /** "standard" (160 bytes, the default) or "compact" (56 bytes). */
  readonly layout?: 'standard' | 'compact';
}

// ln 2 split so that e * LN2_HI is exact for |e| < 2^11.
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
const TWO32 = 4294967296;
const INV_TWO32 = 2.3283064365386963e-10;
const SQRT2 = 1.4142135623730951;

/**
 * Natural logarithm from +, -, *, / and comparisons only, so that every IEEE-754
 * implementation (V8, WASM) returns the same bits. Within 2 ulp of Math.log.
 */
export function detLn(x: number): number {
  if (x !== x || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let m = x;
  let e = 0;
  while (m >= TWO32) {
    m *= INV_TWO32;
    e += 32;
  }
  while (m < 1) {
    m *= TWO32;
    e -= 32;
  }
  // now 1 <= m < 2^32: halve the exponent range step by step (all scalings are exact)
  if (m >= 65536) {
    m *= 1 / 65536;
    e += 16;
  }
  if (m >= 256) {
    m *= 1 / 256;
    e += 8;
  }
  if (m >= 16) {
    m *= 1 / 16;
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
  // ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: odd series to s^21.
  const s = (m - 1) / (m + 1);
  const z = s * s;
  let p = 1 / 21;
  p = p * z + 1 / 19;
  p = p * z + 1 / 17;
  p = p * z + 1 / 15;
  p = p * z + 1 / 13;
  p = p * z + 1 / 11;
  p = p * z + 1 / 9;
  p = p * z + 1 / 7;
  p = p * z + 1 / 5;
  p = p * z + 1 / 3;
  p = p * z + 1;
  return e * LN2_HI + (e * LN2_LO + 2 * s * p);
}

/** The metric detector for one series. */
export class MetricDetector {
  readonly layout: StateLayout;
  private readonly f32: boolean;
  private readonly wide: boolean;
  private readonly rowMask: number;
  private readonly shift: boolean;

  // ---- state: the fields of the layouts above ----
  lo = 0;
  hi = 0;
  q = 0;
  gate = 0;
  fast = 0;
  slow = 0;
  dev = 0;
  pk = 0;
  c0 = 0;
  c1 = 0;
  c2 = 0;
  c3 = 0;
  c4 = 0;
  c5 = 0;
  c6 = 0;
  sinceNe = 65535;
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  s4 = 0;
  s5 = 0;
  s6 = 0;
  s7 = 0;
  n = 0;
  age = 0;
  recent = 0;
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;
  w4 = 0;
  w5 = 0;
  w6 = 0;
  w7 = 0;
  w8 = 0;
  w9 = 0;
  w10 = 0;
  w11 = 0;
  w12 = 0;
  w13 = 0;
  w14 = 0;
  w15 = 0;

  constructor(options: DetectorOptions = {}) {
    this.layout = options.layout === 'compact' ? COMPACT_LAYOUT : STANDARD_LAYOUT;
    this.f32 = this.layout.f32;
    this.wide = this.layout.rowBits === 8;
    this.rowMask = this.layout.rows - 1;
    this.shift = this.layout.shift;
  }

  /** Back to the state of a series never seen. */
  reset(): void {
    this.lo = this.hi = this.q = this.gate = this.fast = this.slow = this.dev = 0;
    this.pk = 0;
    this.c0 = this.c1 = this.c2 = this.c3 = this.c4 = this.c5 = this.c6 = 0;
    this.sinceNe = 65535;
    this.s0 = this.s1 = this.s2 = this.s3 = this.s4 = this.s5 = this.s6 = this.s7 = 0;
    this.n = this.age = this.recent = 0;
    this.w0 = this.w1 = this.w2 = this.w3 = this.w4 = this.w5 = this.w6 = this.w7 = 0;
    this.w8 = this.w9 = this.w10 = this.w11 = this.w12 = this.w13 = this.w14 = this.w15 = 0;
  }

  /** A floating-point field value as the layout stores it (f32 rounds). */
  private fp(v: number): number {
    return this.f32 ? Math.fround(v) : v;
  }

  /**
   * Scores the next point of the series (no look-ahead): an anomaly score in [0, 1] (1 only
   * for a new extreme astronomically far outside the range).
   * `timestampMs` is part of the interface and not used.
   */
  score(timestampMs: number, x: number): number {
    void timestampMs;
    if (!(x - x === 0)) return 0; // NaN or ±Infinity: ignored
    const n0 = this.n;
    if (n0 < 255) this.n = n0 + 1;
    if (this.sinceNe < 65535) this.sinceNe++;

    // 1. new extreme
    let sNe = 0;
    if (n0 === 0) {
      this.lo = this.fp(x);
      this.hi = this.fp(x);
    } else {
      const lo = this.lo;
      const hi = this.hi;
      const range = hi - lo;
      if (n0 >= 2 && range > 0) {
        const excess = x > hi ? (x - hi) / range : x < lo ? (lo - x) / range : 0;
        if (excess > NE_MARGIN) {
          sNe = NE_BASE + NE_SLOPE * excess - (this.sinceNe < NE_REFRACTORY ? NE_REPEAT_PENALTY : 0);
          this.sinceNe = 0;
        }
      }
      if (x > hi) this.hi = this.fp(x);
      if (x < lo) this.lo = this.fp(x);
    }

    // 2. transition novelty (surprises are carried as odds 1 / P until the one logarithm)
    let odds = 0;
    if (this.q === 0) {
      if (this.n >= GRID_AFTER && this.hi > this.lo) {
        this.q = this.fp((this.hi - this.lo) / GRID_DIV);
        this.pk = this.key(x);
        this.age = 0;
      }
    } else {
      const k = this.key(x);
      const p = this.pk;
      const r = p & this.rowMask;
      const row = this.row(r);
      const dk = k - p;
      const bit = this.stepBit(dk);
      const seen = (row & (this.stepBit(dk - 1) | bit | this.stepBit(dk + 1))) !== 0;
      if ((row & bit) === 0) this.setRow(r, row | bit);
      this.pk = k;
      const recent = ((this.recent << 1) | (seen ? 0 : 1)) & 63;
      this.recent = recent;
      const novel = (recent & 1) + ((recent >> 1) & 1) + ((recent >> 2) & 1) + ((recent >> 3) & 1) + ((recent >> 4) & 1) + ((recent >> 5) & 1);
      const oddsT = this.noveltyOdds(novel);
      if (this.age < 255) this.age++;
      if (this.age > WARMUP_T) odds = oddsT;
    }

    // 3. level shift
    if (this.shift) {
      if (n0 === 0) {
        this.fast = x;
        this.slow = x;
        this.dev = 0;
      } else {
        const fast = this.fast + SHIFT_FAST * (x - this.fast);
        const e = x - this.slow;
        const ae = e < 0 ? -e : e;
        const dev = this.dev + SHIFT_SLOW * (ae - this.dev);
        const slow = this.slow + SHIFT_SLOW * e;
        if (!(fast - fast === 0 && slow - slow === 0 && dev - dev === 0)) {
          // overflow on values near ±1.8e308: start the averages again from x
          this.fast = x;
          this.slow = x;
          this.dev = 0;
        } else {
          this.fast = fast;
          this.dev = dev;
          this.slow = slow;
        }
        if (this.n > SHIFT_COUNT_AFTER) {
          const d = this.fast > this.slow ? this.fast - this.slow : this.slow - this.fast;
          const ratio = this.dev > 0 ? d / this.dev : d > 0 ? Infinity : 0;
          const oddsS = this.shiftOdds(ratio);
          if (this.n > SHIFT_REPORT_AFTER && oddsS > odds) odds = oddsS;
        }
      }
    }

    // 4. gate
    const s = odds > 0 ? detLn(odds) : 0;
    let g = this.gate - GATE_DECAY;
    if (g < 0) g = 0;
    let reported = 0;
    if (s > g) {
      reported = s;
      g = GATE_MULT * s;
    }
    this.gate = this.fp(g);

    // 5. score
    let out = reported / (reported + SCORE_HALF);
    if (sNe > 0) {
      const ne = sNe / (sNe + SCORE_HALF);
      if (ne > out) out = ne;
    }
    return out;
  }

  /**
   * Scores values[0..n) into out[0..n) in order, continuing the current state (the batch
   * form of score(), shared with the WASM engine's interface; timestamps are not used).
   */
  scoreValues(values: ArrayLike<number>, out: Float64Array): void {
    const n = values.length;
    if (out.length < n) throw new RangeError(`scoreValues: ${n} values, room for ${out.length} scores`);
    for (let i = 0; i < n; i++) out[i] = this.score(0, values[i]);
  }

  /** Grid key of x, clamped to the i32 range. */
  private key(x: number): number {
    const k = Math.floor(x / this.q);
    return k > KEY_MAX ? KEY_MAX : k < KEY_MIN ? KEY_MIN : k;
  }

  /** The bit of a step dk in a row. */
  private stepBit(dk: number): number {
    if (this.wide) return dk >= -3 && dk <= 3 ? 1 << (dk + 3) : 128;
    return dk === 0 ? 1 : dk === 1 || dk === -1 ? 2 : dk < 0 ? 4 : 8;
  }

  /** 1 / P(K >= novel) from this series' counts; then counts the observation. */
  private noveltyOdds(novel: number): number {
    const c0 = this.c0;
    const c1 = this.c1;
    const c2 = this.c2;
    const c3 = this.c3;
    const c4 = this.c4;
    const c5 = this.c5;
    const c6 = this.c6;
    const total = c0 + c1 + c2 + c3 + c4 + c5 + c6;
    let above = c6;
    if (novel <= 5) above += c5;
    if (novel <= 4) above += c4;
    if (novel <= 3) above += c3;
    if (novel <= 2) above += c2;
    if (novel <= 1) above += c1;
    if (novel <= 0) above += c0;
    const odds = (total + 1) / (above + 0.5);
    switch (novel) {
      case 0: this.c0 = c0 + 1; break;
      case 1: this.c1 = c1 + 1; break;
      case 2: this.c2 = c2 + 1; break;
      case 3: this.c3 = c3 + 1; break;
      case 4: this.c4 = c4 + 1; break;
      case 5: this.c5 = c5 + 1; break;
      default: this.c6 = c6 + 1; break;
    }
    if (total + 1 >= HALVE_AT) {
      this.c0 = Math.floor(this.c0 / 2);
      this.c1 = Math.floor(this.c1 / 2);
      this.c2 = Math.floor(this.c2 / 2);
      this.c3 = Math.floor(this.c3 / 2);
      this.c4 = Math.floor(this.c4 / 2);
      this.c5 = Math.floor(this.c5 / 2);
      this.c6 = Math.floor(this.c6 / 2);
    }
    return odds;
  }

  /** 1 / P(bin >= bin(ratio)) from this series' counts; then counts the observation. */
  private shiftOdds(ratio: number): number {
    const b = (ratio > E0 ? 1 : 0) + (ratio > E1 ? 1 : 0) + (ratio > E2 ? 1 : 0) + (ratio > E3 ? 1 : 0) + (ratio > E4 ? 1 : 0) + (ratio > E5 ? 1 : 0) + (ratio > E6 ? 1 : 0);
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const s4 = this.s4;
    const s5 = this.s5;
    const s6 = this.s6;
    const s7 = this.s7;
    const total = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
    let above = s7;
    if (b <= 6) above += s6;
    if (b <= 5) above += s5;
    if (b <= 4) above += s4;
    if (b <= 3) above += s3;
    if (b <= 2) above += s2;
    if (b <= 1) above += s1;
    if (b <= 0) above += s0;
    const odds = (total + 1) / (above + 0.5);
    switch (b) {
      case 0: this.s0 = s0 + 1; break;
      case 1: this.s1 = s1 + 1; break;
      case 2: this.s2 = s2 + 1; break;
      case 3: this.s3 = s3 + 1; break;
      case 4: this.s4 = s4 + 1; break;
      case 5: this.s5 = s5 + 1; break;
      case 6: this.s6 = s6 + 1; break;
      default: this.s7 = s7 + 1; break;
    }
    if (total + 1 >= HALVE_AT) {
      this.s0 = Math.floor(this.s0 / 2);
      this.s1 = Math.floor(this.s1 / 2);
      this.s2 = Math.floor(this.s2 / 2);
      this.s3 = Math.floor(this.s3 / 2);
      this.s4 = Math.floor(this.s4 / 2);
      this.s5 = Math.floor(this.s5 / 2);
      this.s6 = Math.floor(this.s6 / 2);
      this.s7 = Math.floor(this.s7 / 2);
    }
    return odds;
  }

  /** Row r of the transition table. */
  private row(r: number): number {
    if (this.wide) return (this.word(r >> 2) >>> ((r & 3) << 3)) & 255;
    return (this.word(r >> 3) >>> ((r & 7) << 2)) & 15;
  }

  private setRow(r: number, v: number): void {
    if (this.wide) {
      const w = r >> 2;
      const shift = (r & 3) << 3;
      this.setWord(w, ((this.word(w) & ~(255 << shift)) | (v << shift)) >>> 0);
    } else {
      const w = r >> 3;
      const shift = (r & 7) << 2;
      this.setWord(w, ((this.word(w) & ~(15 << shift)) | (v << shift)) >>> 0);
    }
  }

  private word(w: number): number {
    switch (w) {
      case 0: return this.w0;
      case 1: return this.w1;
      case 2: return this.w2;
      case 3: return this.w3;
      case 4: return this.w4;
      case 5: return this.w5;
      case 6: return this.w6;
      case 7: return this.w7;
      case 8: return this.w8;
      case 9: return this.w9;
      case 10: return this.w10;
      case 11: return this.w11;
      case 12: return this.w12;
      case 13: return this.w13;
      case 14: return this.w14;
      default: return this.w15;
    }
  }

  private setWord(w: number, v: number): void {
    switch (w) {
      case 0: this.w0 = v; break;
      case 1: this.w1 = v; break;
      case 2: this.w2 = v; break;
      case 3: this.w3 = v; break;
      case 4: this.w4 = v; break;
      case 5: this.w5 = v; break;
      case 6: this.w6 = v; break;
      case 7: this.w7 = v; break;
      case 8: this.w8 = v; break;
      case 9: this.w9 = v; break;
      case 10: this.w10 = v; break;
      case 11: this.w11 = v; break;
      case 12: this.w12 = v; break;
      case 13: this.w13 = v; break;
      case 14: this.w14 = v; break;
      default: this.w15 = v; break;
    }
  }
}

/** Scores a whole series with a fresh detector state (one call per NAB file). */
export function scoreSeries(detector: MetricDetector, timestamps: ArrayLike<number>, values: ArrayLike<number>): Float64Array {
  detector.reset();
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = detector.score(timestamps[i], values[i]);
  return out;
}
