// NAB's scoring rules (numenta/NAB at ea702d7, the commit the corpus data comes from:
// nab/sweeper.py, the sweep in nab/optimizer.py, the score and normalize steps of
// nab/runner.py), as pure functions over windows, timestamps and anomaly scores.
//
// What NAB does, and what this file reproduces step for step:
//
// * Probation: the first min(floor(0.15 * rows), 0.15 * 5000) rows of each file are not
//   scored at all (neither as detections nor as misses). A window whose rows all lie in
//   probation is not counted as a miss either (NAB's window parts only come from scored
//   rows); NAB's labeler never produces such windows.
// * Each row gets a "sweep score", the value it would add if it were a detection:
//   - inside a window [L, R] (row indices, width W = R - L + 1), row i scores
//     tpWeight * scaledSigmoid(-(R - i + 1) / W) / scaledSigmoid(-1): exactly tpWeight at
//     the window's first row, decreasing to ≈ 0.025 * tpWeight at its last when W = 100;
//   - outside every window, with no window before it: -fpWeight;
//   - outside, after a window (the last one that ended before it, width Wp, last row Rp):
//     fpWeight * scaledSigmoid((i - Rp) / (Wp - 1)), i.e. ≈ 0 just after the window, down
//     to -fpWeight far from it.
//   with scaledSigmoid(x) = 2 / (1 + exp(5x)) - 1 (and -1 for x > 3).
// * A window's contribution is -fnWeight if none of its scored rows is a detection, else
//   the largest sweep score among its detections, which is the earliest one. Every
//   detection outside windows adds its (negative) sweep score.
// * A row is a detection when its anomaly score is >= the threshold. One threshold for the
//   whole corpus per profile: NAB sorts every scored row of every file by anomaly score
//   (descending) and records the corpus score before the first row (threshold 1.1: no
//   detection) and after each run of equal scores (threshold = that score); the best score
//   wins, ties going to the higher threshold. Here that is one (radix) sort of all rows,
//   shared by the profiles, and one incremental pass per profile.
// * Normalised score = 100 * (raw - null) / (perfect - null), where perfect = tpWeight ×
//   number of windows, and null is the optimised score of NAB's null detector (a constant
//   score on every row): the better of "no detection" (-fnWeight per window) and "every
//   row a detection". On the NAB corpus that is always "no detection".
// * The raw score at the chosen threshold is, as in NAB's score step, the sum of the
//   per-file scores at that threshold.
// Corner cases NAB itself does not survive are given a value instead: a 1-row window
// (NAB divides by zero for the rows after it; here they weigh -1), and a file in which
// every scored row scores above the chosen threshold (NAB's per-file lookup finds no
// matching row and fails; here they all count as detections).

import { CostMatrix, NAB_PROFILES } from './profiles';

/** NAB's probationary fraction. */
export const PROBATIONARY_PERCENT = 0.15;

/** NAB's first threshold: above every score, so nothing is detected. */
export const NO_DETECTION_THRESHOLD = 1.1;

/** Number of leading rows NAB does not score: min(floor(p * n), p * 5000). */
export function probationaryLength(numRows: number, probationaryPercent: number = PROBATIONARY_PERCENT): number {
  return Math.min(Math.floor(probationaryPercent * numRows), probationaryPercent * 5000);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * NAB's scaled sigmoid of a position relative to a window's end: -1 → 0.98661 (window
 * start), 0 → 0 (window end), 1 → -0.98661, and -1 beyond 3.
 */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3.0) return -1.0;
  return 2 * sigmoid(-5 * relativePosition) - 1.0;
}

/** scaledSigmoid(-1): the sweep score of a window's first row is divided by it. */
export const MAX_TP = scaledSigmoid(-1.0);

/** A window as NAB's label file gives it: first and last timestamps, both inclusive. */
export type WindowLimits = readonly [start: number, end: number];

/** One file of a detector's results. Timestamps and window limits use the same numbers
 *  (e.g. epoch milliseconds, see corpus.ts); window limits must be timestamps of rows. */
export interface SeriesInput {
  /** NAB's relative path, e.g. "realKnownCause/nyc_taxi.csv". */
  readonly name: string;
  readonly timestamps: ArrayLike<number>;
  /** Anomaly score of every row (NAB expects [0, 1]; any finite number is accepted). */
  readonly scores: ArrayLike<number>;
  /** Windows in time order. */
  readonly windows: readonly WindowLimits[];
}

/** A window as row indices (inclusive). */
export interface IndexWindow {
  readonly start: number;
  readonly end: number;
}

/** Row class in PreparedSeries.window: a row in probation (never scored). */
export const PROBATION = -2;
/** Row class in PreparedSeries.window: a scored row outside every window. */
export const OUTSIDE = -1;

/** A file with the profile-independent part of NAB's sweep worked out. */
export interface PreparedSeries {
  readonly name: string;
  readonly length: number;
  /** Rows [0, probation) are not scored (may be fractional, as in NAB: i >= probation). */
  readonly probation: number;
  /** All the file's windows, as row indices. */
  readonly windows: readonly IndexWindow[];
  /** Per row: index into `windows`, OUTSIDE, or PROBATION. */
  readonly window: Int32Array;
  /** Per row: the unweighted sweep score (the scaled sigmoid, -1 before any window). */
  readonly base: Float64Array;
  readonly scores: Float64Array;
  /** Per window: 1 when at least one of its rows is scored (only those count as misses). */
  readonly windowScored: Uint8Array;
}

/** Several files scored together (one threshold for all). */
export interface PreparedCorpus {
  readonly series: readonly PreparedSeries[];
  /** First global window id of each series (global id = windowBase[s] + local index). */
  readonly windowBase: Uint32Array;
  readonly numWindows: number;
  /** The scored rows of all files (probation excluded) in order of decreasing anomaly
   *  score, ties by file then row: their score, unweighted sweep score, and global window
   *  id (OUTSIDE for rows outside every window). */
  readonly sortedScore: Float64Array;
  readonly sortedBase: Float64Array;
  readonly sortedWindow: Int32Array;
}

/** NAB's ThresholdScore: the corpus score with detections = rows scoring >= threshold;
 *  tp/fn count scored rows inside windows, fp/tn scored rows outside. */
/** Scored rows by outcome (probation excluded). */
export interface RowCounts {
  readonly tp: number;
  readonly tn: number;
  readonly fp: number;
  readonly fn: number;
  readonly total: number;
}

export interface ThresholdScore extends RowCounts {
  readonly threshold: number;
  readonly score: number;
}

/** Windows with at least one scored row, and how many of them were detected. */
export interface WindowCounts {
  readonly windows: number;
  readonly windowsDetected: number;
}

/** One file at a given threshold. */
export interface SeriesScore extends RowCounts, WindowCounts {
  readonly name: string;
  readonly score: number;
}

/** A profile's result over a corpus. */
export interface ProfileScore extends RowCounts, WindowCounts {
  readonly profile: string;
  readonly costMatrix: CostMatrix;
  readonly threshold: number;
  /** Sum of the per-file scores at `threshold` (NAB's "Totals" row). */
  readonly rawScore: number;
  readonly nullScore: number;
  readonly perfectScore: number;
  /** 100 * (raw - null) / (perfect - null). */
  readonly normalizedScore: number;
  readonly perSeries: readonly SeriesScore[];
}

/**
 * Converts window limits to row indices the way NAB's sweeper does (first row carrying
 * each timestamp). Throws, like NAB's labeler, when a limit is not a row's timestamp.
 */
export function windowsToIndices(
  timestamps: ArrayLike<number>,
  windows: readonly WindowLimits[],
  name = 'series',
): IndexWindow[] {
  const first = firstIndexMap(timestamps);
  return windows.map(([start, end]) => {
    const s = first.get(start);
    const e = first.get(end);
    if (s === undefined || e === undefined) {
      throw new Error(
        `${name}: window [${start}, ${end}] has a limit that is not the timestamp of a row ` +
          '(NAB requires window limits to match data timestamps exactly)',
      );
    }
    if (e < s) throw new Error(`${name}: window [${start}, ${end}] ends before it starts`);
    return { start: s, end: e };
  });
}

function firstIndexMap(timestamps: ArrayLike<number>): Map<number, number> {
  const first = new Map<number, number>();
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i];
    if (!first.has(t)) first.set(t, i);
  }
  return first;
}

/** Works out NAB's per-row window membership and unweighted sweep scores for one file
 *  (sweeper.calcSweepScore, without the profile weights). */
export function prepareSeries(input: SeriesInput, probationaryPercent: number = PROBATIONARY_PERCENT): PreparedSeries {
  const { name, timestamps, windows: limits } = input;
  const n = input.scores.length;
  if (timestamps.length !== n) {
    throw new Error(`${name}: ${timestamps.length} timestamps but ${n} anomaly scores`);
  }
  const scores = Float64Array.from(input.scores);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`${name}: anomaly score of row ${i} is not a finite number`);
  }
  const windows = windowsToIndices(timestamps, limits, name);
  const probation = probationaryLength(n, probationaryPercent);
  const window = new Int32Array(n);
  const base = new Float64Array(n);
  const windowScored = new Uint8Array(windows.length);

  let next = 0; // next window to enter
  let cur = -1; // window we are in
  let curRight = 0;
  let curWidth = 0;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const t = timestamps[i];
    if (next < limits.length && t === limits[next][0]) {
      cur = next++;
      curRight = windows[cur].end;
      curWidth = windows[cur].end - windows[cur].start + 1;
    }
    if (cur >= 0) {
      base[i] = scaledSigmoid(-(curRight - i + 1) / curWidth);
      window[i] = cur;
    } else {
      // A 1-row window gives x / 0 = Infinity here, hence -1 (NAB would divide by zero).
      base[i] = prevRight < 0 ? -1.0 : scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
      window[i] = OUTSIDE;
    }
    if (i < probation) {
      window[i] = PROBATION;
    } else if (cur >= 0) {
      windowScored[cur] = 1;
    }
    if (cur >= 0 && t === limits[cur][1]) {
      prevRight = i;
      prevWidth = curWidth;
      cur = -1;
    }
  }
  return { name, length: n, probation, windows, window, base, scores, windowScored };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Indices of `keys` by decreasing value, equal values in index order (a stable sort): an
 * LSD radix sort on the IEEE-754 bits, four 16-bit passes, O(n).
 */
export function argsortDescending(keys: Float64Array): Uint32Array {
  const n = keys.length;
  let idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (!LITTLE_ENDIAN) return idx.sort((a, b) => keys[b] - keys[a] || a - b);
  const bits = new Uint32Array(Float64Array.from(keys).buffer);
  // Unsigned keys ordered like the numbers: x >= 0 → bits ^ 0x8000..., x < 0 → ~bits;
  // complemented to sort descending: x >= 0 → bits ^ 0x7fff...ffff, x < 0 → bits.
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const h = bits[2 * i + 1];
    const l = bits[2 * i];
    if (h & 0x80000000) {
      hi[i] = h;
      lo[i] = l;
    } else {
      hi[i] = (h ^ 0x7fffffff) >>> 0;
      lo[i] = ~l >>> 0;
    }
  }
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(65537);
  for (let pass = 0; pass < 4; pass++) {
    const word = pass < 2 ? lo : hi;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[((word[i] >>> shift) & 0xffff) + 1]++;
    if (count[((word[0] >>> shift) & 0xffff) + 1] === n) continue; // one digit value: nothing to do
    for (let d = 0; d < 65536; d++) count[d + 1] += count[d];
    for (let j = 0; j < n; j++) {
      const i = idx[j];
      tmp[count[(word[i] >>> shift) & 0xffff]++] = i;
    }
    const t = idx;
    idx = tmp;
    tmp = t;
  }
  return idx;
}

function isPreparedCorpus(x: readonly SeriesInput[] | PreparedCorpus): x is PreparedCorpus {
  return !Array.isArray(x) && (x as PreparedCorpus).sortedScore instanceof Float64Array;
}

/** Prepares files to be scored together; the one sort of the sweep is done here. */
export function prepareCorpus(
  inputs: readonly (SeriesInput | PreparedSeries)[],
  probationaryPercent: number = PROBATIONARY_PERCENT,
): PreparedCorpus {
  const series = inputs.map((x) =>
    x instanceof Object && 'base' in x && (x as PreparedSeries).base instanceof Float64Array
      ? (x as PreparedSeries)
      : prepareSeries(x as SeriesInput, probationaryPercent),
  );
  const windowBase = new Uint32Array(series.length);
  let numWindows = 0;
  let scored = 0;
  for (let s = 0; s < series.length; s++) {
    windowBase[s] = numWindows;
    numWindows += series[s].windows.length;
    for (let i = 0; i < series[s].length; i++) if (series[s].window[i] !== PROBATION) scored++;
  }
  // The scored rows, file after file.
  const score = new Float64Array(scored);
  const base = new Float64Array(scored);
  const window = new Int32Array(scored);
  let k = 0;
  for (let s = 0; s < series.length; s++) {
    const p = series[s];
    for (let i = 0; i < p.length; i++) {
      const w = p.window[i];
      if (w === PROBATION) continue;
      score[k] = p.scores[i];
      base[k] = p.base[i];
      window[k] = w >= 0 ? windowBase[s] + w : OUTSIDE;
      k++;
    }
  }
  // Sort by decreasing score, ties kept in file/row order (the order Python's stable sort
  // leaves NAB's concatenated list in).
  const order = argsortDescending(score);
  const sortedScore = new Float64Array(scored);
  const sortedBase = new Float64Array(scored);
  const sortedWindow = new Int32Array(scored);
  for (let j = 0; j < scored; j++) {
    const from = order[j];
    sortedScore[j] = score[from];
    sortedBase[j] = base[from];
    sortedWindow[j] = window[from];
  }
  return { series, windowBase, numWindows, sortedScore, sortedBase, sortedWindow };
}

function asCorpus(x: readonly SeriesInput[] | PreparedCorpus, probationaryPercent?: number): PreparedCorpus {
  return isPreparedCorpus(x) ? x : prepareCorpus(x, probationaryPercent);
}

/**
 * NAB's Sweeper.calcScoreByThreshold over a whole corpus: the score at threshold 1.1 (no
 * detection), then at every distinct anomaly score of a scored row, descending. With
 * `all` false only the best entry is kept (see optimizeThreshold).
 */
function sweep(corpus: PreparedCorpus, cost: CostMatrix, all: boolean): { best: ThresholdScore; list: ThresholdScore[] } {
  const { series, windowBase, numWindows, sortedScore, sortedBase, sortedWindow } = corpus;
  const parts = new Float64Array(numWindows);
  let windowSum = 0;
  for (let s = 0; s < series.length; s++) {
    const p = series[s];
    for (let w = 0; w < p.windows.length; w++) {
      if (p.windowScored[w]) {
        parts[windowBase[s] + w] = -cost.fnWeight;
        windowSum += -cost.fnWeight;
      }
    }
  }
  let tp = 0;
  let fn = 0;
  let fp = 0;
  let tn = 0;
  for (let k = 0; k < sortedWindow.length; k++) {
    if (sortedWindow[k] >= 0) fn++;
    else tn++;
  }
  let fpSum = 0;
  const list: ThresholdScore[] = [];
  let best: ThresholdScore | undefined;
  const record = (threshold: number): void => {
    const t: ThresholdScore = { threshold, score: fpSum + windowSum, tp, tn, fp, fn, total: tp + tn + fp + fn };
    if (all) list.push(t);
    if (best === undefined || t.score > best.score) best = t;
  };

  const { tpWeight, fpWeight } = cost;
  let curThreshold = NO_DETECTION_THRESHOLD;
  for (let k = 0; k < sortedScore.length; k++) {
    const score = sortedScore[k];
    if (score !== curThreshold) {
      record(curThreshold);
      curThreshold = score;
    }
    const g = sortedWindow[k];
    if (g >= 0) {
      tp++;
      fn--;
      const v = (sortedBase[k] * tpWeight) / MAX_TP;
      if (v > parts[g]) {
        windowSum += v - parts[g];
        parts[g] = v;
      }
    } else {
      fp++;
      tn--;
      fpSum += sortedBase[k] * fpWeight;
    }
  }
  record(curThreshold);
  return { best: best as ThresholdScore, list };
}

/** Every (threshold, score) pair NAB's sweep produces for the corpus, highest threshold first. */
export function calcScoreByThreshold(
  corpus: readonly SeriesInput[] | PreparedCorpus,
  cost: CostMatrix,
  probationaryPercent?: number,
): ThresholdScore[] {
  return sweep(asCorpus(corpus, probationaryPercent), cost, true).list;
}

/** The best threshold for the corpus (NAB's optimize step); ties go to the higher threshold. */
export function optimizeThreshold(
  corpus: readonly SeriesInput[] | PreparedCorpus,
  cost: CostMatrix,
  probationaryPercent?: number,
): ThresholdScore {
  return sweep(asCorpus(corpus, probationaryPercent), cost, false).best;
}

/** One file's NAB score with detections = rows scoring >= threshold (Sweeper.scoreDataSet). */
export function scoreSeriesAtThreshold(series: PreparedSeries, cost: CostMatrix, threshold: number): SeriesScore {
  const parts = new Float64Array(series.windows.length);
  let windows = 0;
  for (let w = 0; w < parts.length; w++) {
    if (series.windowScored[w]) {
      parts[w] = -cost.fnWeight;
      windows++;
    } else {
      parts[w] = 0;
    }
  }
  const detected = new Uint8Array(parts.length);
  let fpSum = 0;
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < series.length; i++) {
    const w = series.window[i];
    if (w === PROBATION) continue;
    const hit = series.scores[i] >= threshold;
    if (w >= 0) {
      if (!hit) {
        fn++;
        continue;
      }
      tp++;
      detected[w] = 1;
      const v = (series.base[i] * cost.tpWeight) / MAX_TP;
      if (v > parts[w]) parts[w] = v;
    } else if (hit) {
      fp++;
      fpSum += series.base[i] * cost.fpWeight;
    } else {
      tn++;
    }
  }
  let score = fpSum;
  let windowsDetected = 0;
  for (let w = 0; w < parts.length; w++) {
    score += parts[w];
    windowsDetected += detected[w];
  }
  return { name: series.name, score, tp, tn, fp, fn, total: tp + tn + fp + fn, windows, windowsDetected };
}

/**
 * NAB's baseline: the optimised score of its null detector, which gives every row the same
 * anomaly score, so the sweep has two thresholds: nothing detected, everything detected.
 */
export function nullScore(corpus: readonly SeriesInput[] | PreparedCorpus, cost: CostMatrix, probationaryPercent?: number): number {
  const c = asCorpus(corpus, probationaryPercent);
  let none = 0;
  let all = 0;
  for (const s of c.series) {
    const every = scoreSeriesAtThreshold(s, cost, -Infinity);
    all += every.score;
    none += -cost.fnWeight * every.windows;
  }
  return all > none ? all : none;
}

/** NAB's perfect score: tpWeight for every window (a detection at each window's start). */
export function perfectScore(corpus: readonly SeriesInput[] | PreparedCorpus, cost: CostMatrix, probationaryPercent?: number): number {
  const c = asCorpus(corpus, probationaryPercent);
  let windows = 0;
  for (const s of c.series) windows += s.windows.length;
  return windows * cost.tpWeight;
}

/** 100 * (raw - null) / (perfect - null). */
export function normalizeScore(raw: number, nullRaw: number, perfectRaw: number): number {
  return (100 * (raw - nullRaw)) / (perfectRaw - nullRaw);
}

function profileAt(c: PreparedCorpus, profile: string, cost: CostMatrix, threshold: number): ProfileScore {
  const perSeries = c.series.map((s) => scoreSeriesAtThreshold(s, cost, threshold));
  let rawScore = 0;
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  let windows = 0;
  let windowsDetected = 0;
  for (const r of perSeries) {
    rawScore += r.score;
    tp += r.tp;
    tn += r.tn;
    fp += r.fp;
    fn += r.fn;
    windows += r.windows;
    windowsDetected += r.windowsDetected;
  }
  const nul = nullScore(c, cost);
  const perfect = perfectScore(c, cost);
  return {
    profile,
    costMatrix: cost,
    threshold,
    rawScore,
    nullScore: nul,
    perfectScore: perfect,
    normalizedScore: normalizeScore(rawScore, nul, perfect),
    tp,
    tn,
    fp,
    fn,
    total: tp + tn + fp + fn,
    windows,
    windowsDetected,
    perSeries,
  };
}

/**
 * NAB's optimize + score + normalize steps: for each profile, the best corpus-wide
 * threshold and the raw and normalised scores there.
 */
export function scoreCorpus(
  corpus: readonly SeriesInput[] | PreparedCorpus,
  profiles: Readonly<Record<string, CostMatrix>> = NAB_PROFILES,
  probationaryPercent?: number,
): Record<string, ProfileScore> {
  const c = asCorpus(corpus, probationaryPercent);
  const out: Record<string, ProfileScore> = {};
  for (const [name, cost] of Object.entries(profiles)) {
    out[name] = profileAt(c, name, cost, optimizeThreshold(c, cost).threshold);
  }
  return out;
}

/**
 * Scores with thresholds fixed beforehand (e.g. chosen on one half of the corpus and
 * applied to the other): NAB's score + normalize steps without the optimisation.
 */
export function scoreCorpusAtThresholds(
  corpus: readonly SeriesInput[] | PreparedCorpus,
  thresholds: Readonly<Record<string, number>>,
  profiles: Readonly<Record<string, CostMatrix>> = NAB_PROFILES,
  probationaryPercent?: number,
): Record<string, ProfileScore> {
  const c = asCorpus(corpus, probationaryPercent);
  const out: Record<string, ProfileScore> = {};
  for (const [name, cost] of Object.entries(profiles)) {
    const t = thresholds[name];
    if (typeof t !== 'number' || Number.isNaN(t)) throw new Error(`no threshold for profile "${name}"`);
    out[name] = profileAt(c, name, cost, t);
  }
  return out;
}
