// NAB's scoring rules on small hand-made series, with the expected scores worked out by
// hand in the comments, plus the results writer / reader round trip. No NAB data needed.
//
// Notation: ss(x) = scaledSigmoid(x) = 2 / (1 + e^(5x)) - 1, MAX_TP = ss(-1) = 0.9866143.
// Timestamps are one row every 5 minutes (T(i)), so windows are given by row numbers.
// Unless said otherwise the series have 20 rows: probation = min(floor(0.15 * 20), 750)
// = 3, so rows 0..2 are not scored; the window is rows 10..14 (width W = 5).
//
// Sweep scores in that window, tpWeight * ss(-(14 - i + 1) / 5) / MAX_TP:
//   row 10: ss(-1)/MAX_TP = 1 exactly
//   row 12: ss(-0.6) = 2/(1 + e^-3) - 1 = 2/1.0497871 - 1 = 0.9051483 → / 0.9866143 = 0.9174287
//   row 14: ss(-0.2) = 2/(1 + e^-1) - 1 = 2/1.3678794 - 1 = 0.4621172 → / 0.9866143 = 0.4683868
// Rows k = 1..5 after the window (15..19), ss(k / (W - 1)) = ss(k/4):
//   k=1: 2/(1 + e^1.25) - 1 = -0.5545997     k=2: 2/(1 + e^2.5) - 1 = -0.8482836
//   k=3: 2/(1 + e^3.75) - 1 = -0.9540453     k=4: ss(1) = -0.9866143
//   k=5: 2/(1 + e^6.25) - 1 = -0.9961465     sum = -4.3396895

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  argsortDescending,
  calcScoreByThreshold,
  MAX_TP,
  normalizeScore,
  nullScore,
  optimizeThreshold,
  OUTSIDE,
  perfectScore,
  prepareCorpus,
  prepareSeries,
  PROBATION,
  probationaryLength,
  scaledSigmoid,
  scoreCorpus,
  scoreCorpusAtThresholds,
  scoreSeriesAtThreshold,
  SeriesInput,
  ThresholdScore,
  WindowLimits,
} from '../../src/nab/scorer';
import { CostMatrix, NAB_PROFILES, parseProfiles, PROFILE_NAMES } from '../../src/nab/profiles';
import {
  checkDetectorName,
  formatNabTimestamp,
  labelRows,
  listDataFiles,
  parseDataCsv,
  parseNabTimestamp,
  parseWindows,
  readCorpus,
  readDetectorResults,
  readWindows,
  resultsFilePath,
  resultsToSeries,
  writeDetectorResults,
} from '../../src/nab/corpus';

const STD = NAB_PROFILES.standard; // tp 1, fn 1, fp 0.11
const LOW_FP = NAB_PROFILES.reward_low_FP_rate; // tp 1, fn 1, fp 0.22
const LOW_FN = NAB_PROFILES.reward_low_FN_rate; // tp 1, fn 2, fp 0.11

const T0 = Date.UTC(2015, 0, 1);
const T = (i: number): number => T0 + i * 300_000;
const win = (a: number, b: number): WindowLimits => [T(a), T(b)];

/** n rows, the given rows scoring 1 (or the given score), every other row 0. */
function series(n: number, windows: WindowLimits[], hits: number[] | Record<number, number>, rest = 0, name = 's'): SeriesInput {
  const scores = new Array<number>(n).fill(rest);
  if (Array.isArray(hits)) for (const i of hits) scores[i] = 1;
  else for (const [i, v] of Object.entries(hits)) scores[Number(i)] = v;
  return { name, timestamps: Array.from({ length: n }, (_, i) => T(i)), scores, windows };
}

/** Score of one series with detections = rows scoring >= threshold. */
function scoreOf(s: SeriesInput, cost: CostMatrix, threshold = 1): number {
  return scoreSeriesAtThreshold(prepareSeries(s), cost, threshold).score;
}

const close = (actual: number, expected: number, what = ''): void =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what} expected ${expected}, got ${actual}`);

describe('NAB scoring rules', () => {
  test('scaled sigmoid and probation length', () => {
    close(MAX_TP, 0.9866143); // 2/(1 + e^-5) - 1
    assert.equal(scaledSigmoid(0), 0); // window end
    close(scaledSigmoid(1), -0.9866143);
    close(scaledSigmoid(3), -0.9999994); // 2/(1 + e^15) - 1, still the sigmoid at 3
    assert.equal(scaledSigmoid(3.0001), -1); // beyond 3: -1
    assert.equal(probationaryLength(20), 3); // floor(3.0000000000000004)
    assert.equal(probationaryLength(100), 15);
    assert.equal(probationaryLength(4003), 600); // floor(600.45)
    assert.equal(probationaryLength(5000), 750);
    assert.equal(probationaryLength(22695), 750); // capped at 0.15 * 5000
  });

  test('a window detected at its first row earns exactly tpWeight', () => {
    close(scoreOf(series(20, [win(10, 14)], [10]), STD), 1);
    const doubleTp: CostMatrix = { tpWeight: 2, fnWeight: 1, fpWeight: 0.11, tnWeight: 1 };
    close(scoreOf(series(20, [win(10, 14)], [10]), doubleTp), 2);
  });

  test('a detection in the middle of the window earns the scaled sigmoid of its position', () => {
    close(scoreOf(series(20, [win(10, 14)], [12]), STD), 0.9174287); // see header
    close(scoreOf(series(20, [win(10, 14)], [14]), STD), 0.4683868); // last row: still > 0
  });

  test('only the earliest detection in a window counts', () => {
    close(scoreOf(series(20, [win(10, 14)], [12, 13, 14]), STD), 0.9174287); // row 12's
    close(scoreOf(series(20, [win(10, 14)], [10, 12]), STD), 1); // row 10's
  });

  test('a missed window costs fnWeight', () => {
    close(scoreOf(series(20, [win(10, 14)], []), STD), -1);
    close(scoreOf(series(20, [win(10, 14)], []), LOW_FN), -2);
  });

  test('a false positive before any window costs the full fpWeight', () => {
    // rows 5 and 8, window missed: -1 - 2 * 0.11 = -1.22 (reward low FP: -1 - 2 * 0.22 = -1.44)
    close(scoreOf(series(20, [win(10, 14)], [5, 8]), STD), -1.22);
    close(scoreOf(series(20, [win(10, 14)], [5, 8]), LOW_FP), -1.44);
    // a file without windows: row 3 is the first scored row: -0.11
    close(scoreOf(series(20, [], [3]), STD), -0.11);
  });

  test('a false positive after a window costs less the closer it is to that window', () => {
    // caught at 10 (+1), FP at 15 (1 row after): 1 + 0.11 * ss(1/4) = 1 - 0.11 * 0.5545997 = 0.9389940
    close(scoreOf(series(20, [win(10, 14)], [10, 15]), STD), 0.938994);
    // FP at 19 (5 rows after): 1 + 0.11 * ss(5/4) = 1 - 0.11 * 0.9961465 = 0.8904239
    close(scoreOf(series(20, [win(10, 14)], [10, 19]), STD), 0.8904239);
    // more than 3 widths after (row 27, (27 - 14)/4 = 3.25 > 3): -fpWeight; window missed: -1.11
    close(scoreOf(series(40, [win(10, 14)], [27]), STD), -1.11);
  });

  test('a false positive is weighed by the last window that ended before it', () => {
    // 40 rows (probation 6), windows rows 10..14 (W 5) and 20..29 (W 10), both missed (-2).
    // FP at 16: after the first window, ss(2/4) = -0.8482836.
    // FP at 31: after the second one, ss(2/9) = 2/(1 + e^1.1111) - 1 = 2/4.0376 - 1 = -0.5046724.
    // -2 + 0.11 * (-0.8482836 - 0.5046724) = -2.1488252
    close(scoreOf(series(40, [win(10, 14), win(20, 29)], [16, 31]), STD), -2.1488252);
  });

  test('probation: the first rows are not scored', () => {
    // detections in rows 0..2 are ignored: only the missed window counts
    const s = scoreSeriesAtThreshold(prepareSeries(series(20, [win(10, 14)], [0, 1, 2])), STD, 1);
    close(s.score, -1);
    assert.equal(s.fp, 0);
    assert.equal(s.total, 17);
    // a window starting in probation (rows 1..5): its position still counts from its first
    // row, so a detection at row 3 (the first scored) earns ss(-(5 - 3 + 1)/5)/MAX_TP = 0.9174287
    close(scoreOf(series(20, [win(1, 5)], [3]), STD), 0.9174287);
    close(scoreOf(series(20, [win(1, 5)], [1]), STD), -1); // detected only in probation: missed
    // a window entirely in probation is neither a miss nor (NAB) dropped from the perfect score
    const early = series(20, [win(0, 2)], []);
    close(scoreOf(early, STD), 0);
    assert.equal(perfectScore([early], STD), 1);
    // long files: probation stops at 750 rows
    const long = prepareSeries(series(6000, [], []));
    assert.equal(long.window[749], PROBATION);
    assert.equal(long.window[750], OUTSIDE);
  });

  test('the sweep scores every distinct anomaly score and keeps the best threshold', () => {
    // Window rows 10..14. Scores: row 5 0.9 (FP, no window before: -0.11), row 12 0.8 (TP
    // 0.9174287), row 16 0.5 (FP 2 rows after: 0.11 * ss(0.5) = -0.0933112), row 10 0.3 (TP
    // at the start: 1), every other row 0.1 (probation rows too, but they are not scored).
    // Standard profile, detections = scores >= threshold:
    //   1.1: nothing                               -1
    //   0.9: row 5                                 -1 - 0.11                         = -1.11
    //   0.8: + row 12                              -0.11 + 0.9174287                 =  0.8074287
    //   0.5: + row 16                              0.8074287 - 0.0933112             =  0.7141175
    //   0.3: + row 10 (earlier: window → 1)        -0.11 + 1 - 0.0933112             =  0.7966888
    //   0.1: every scored row: window 1, FPs rows 3..9 (7 × -0.11 = -0.77), rows 15..19
    //        0.11 × -4.3396895 = -0.4773658      1 - 0.77 - 0.4773658              = -0.2473658
    const s = series(20, [win(10, 14)], { 5: 0.9, 12: 0.8, 16: 0.5, 10: 0.3 }, 0.1);
    const list = calcScoreByThreshold([s], STD);
    assert.deepEqual(
      list.map((r) => r.threshold),
      [1.1, 0.9, 0.8, 0.5, 0.3, 0.1],
    );
    const expected = [-1, -1.11, 0.8074287, 0.7141175, 0.7966888, -0.2473658];
    list.forEach((r, i) => close(r.score, expected[i], `threshold ${r.threshold}`));
    // row counts at 0.8: 17 scored rows, 5 in the window: tp 1, fn 4, fp 1, tn 11
    assert.deepEqual(
      { tp: list[2].tp, fn: list[2].fn, fp: list[2].fp, tn: list[2].tn, total: list[2].total },
      { tp: 1, fn: 4, fp: 1, tn: 11, total: 17 },
    );
    const best = optimizeThreshold([s], STD);
    assert.equal(best.threshold, 0.8);
    close(best.score, 0.8074287);
  });

  test('ties between thresholds go to the higher one', () => {
    // row 10 0.9 (window caught at its start: 1), row 12 0.5 (same window, later: no change)
    // 1.1: -1, 0.9: 1, 0.5: 1, 0: all rows: 1 - 0.77 - 0.4773658 = -0.2473658 → 0.9 wins
    const list = calcScoreByThreshold([series(20, [win(10, 14)], { 10: 0.9, 12: 0.5 })], STD);
    assert.deepEqual(
      list.map((r) => [r.threshold, Math.round(r.score * 1e6) / 1e6]),
      [
        [1.1, -1],
        [0.9, 1],
        [0.5, 1],
        [0, -0.247366],
      ],
    );
    assert.equal(optimizeThreshold([series(20, [win(10, 14)], { 10: 0.9, 12: 0.5 })], STD).threshold, 0.9);
  });

  // Two files scored together (one threshold for both):
  //   A: the 20-row series of the sweep test above.
  //   B: 40 rows (probation 6), window rows 30..34, rows 6..19 score 0.7 (14 FPs before any
  //      window: -0.11 each, -0.22 each in reward low FP), row 34 (the window's last row)
  //      scores 0.7 (0.4683868), every other row 0.
  // Per threshold (A + B):
  //   standard  0.8: A 0.8074287 + B -1 = -0.1925713 (best); 0.7: 0.8074287 + 0.4683868 - 1.54 = -0.2641845
  //   low FP    0.8: A (-0.22 + 0.9174287) + B -1 = -0.3025713 (best); 0.7: 0.6974287 + 0.4683868 - 3.08 = -1.9141845
  //   low FN    0.8: A 0.8074287 + B -2 = -1.1925713;  0.7: 0.8074287 + 0.4683868 - 1.54 = -0.2641845 (best)
  // so the profile rewarding low FN lowers the threshold to catch B's window.
  const fileA = series(20, [win(10, 14)], { 5: 0.9, 12: 0.8, 16: 0.5, 10: 0.3 }, 0.1, 'cat/a.csv');
  const bScores: Record<number, number> = { 34: 0.7 };
  for (let i = 6; i <= 19; i++) bScores[i] = 0.7;
  const fileB = series(40, [win(30, 34)], bScores, 0, 'cat/b.csv');

  test('one threshold per profile for the whole corpus', () => {
    const res = scoreCorpus([fileA, fileB]);
    assert.deepEqual(
      PROFILE_NAMES.map((p) => res[p].threshold),
      [0.8, 0.8, 0.7],
    );
    close(res.standard.rawScore, -0.1925713);
    close(res.reward_low_FP_rate.rawScore, -0.3025713);
    close(res.reward_low_FN_rate.rawScore, -0.2641845);
    // per file at the low-FN threshold 0.7: A 0.8074287, B 0.4683868 - 1.54 = -1.0716132
    const perFile = res.reward_low_FN_rate.perSeries;
    assert.deepEqual(
      perFile.map((f) => [f.name, f.windowsDetected, f.windows]),
      [
        ['cat/a.csv', 1, 1],
        ['cat/b.csv', 1, 1],
      ],
    );
    close(perFile[0].score, 0.8074287);
    close(perFile[1].score, -1.0716132);
  });

  test('normalisation against the null and perfect baselines', () => {
    assert.equal(normalizeScore(-2, -2, 2), 0);
    assert.equal(normalizeScore(2, -2, 2), 100);
    assert.equal(normalizeScore(0, -2, 2), 50);
    // perfect = tpWeight × 2 windows = 2. null = NAB's null detector (the same score on
    // every row) at its best threshold: nothing detected (-2 fnWeight) or every scored row
    // detected: A -0.2473658 (sweep test, threshold 0.1) + B (window at its start 1, 24 FPs
    // before it -2.64, 5 after it -0.4773658: -2.1173658) = -2.3647317.
    //   standard: null = max(-2, -2.3647317) = -2 → 100 × (-0.1925713 + 2) / 4 = 45.185717
    //   low FP:   FPs double: max(-2, -1.4947317 - 5.2347317) = -2 → 100 × 1.6974287 / 4 = 42.435717
    //   low FN:   max(-4, -2.3647317) = -2.3647317 (detecting everything beats missing both
    //             windows at fnWeight 2) → 100 × (-0.2641845 + 2.3647317) / 4.3647317 = 48.125460
    const res = scoreCorpus([fileA, fileB]);
    close(res.standard.nullScore, -2);
    close(res.reward_low_FN_rate.nullScore, -2.3647317);
    assert.equal(res.standard.perfectScore, 2);
    close(res.standard.normalizedScore, 45.185717);
    close(res.reward_low_FP_rate.normalizedScore, 42.435717);
    close(res.reward_low_FN_rate.normalizedScore, 48.12546);
    // a detector that catches both windows at their first row and nothing else scores 100
    const perfect = [series(20, [win(10, 14)], [10], 0, 'cat/a.csv'), series(40, [win(30, 34)], [30], 0, 'cat/b.csv')];
    for (const p of PROFILE_NAMES) close(scoreCorpus(perfect)[p].normalizedScore, 100, p);
    // one that never fires scores 0
    const none = [series(20, [win(10, 14)], []), series(40, [win(30, 34)], [])];
    for (const p of PROFILE_NAMES) assert.equal(scoreCorpus(none)[p].normalizedScore, 0, p);
    assert.equal(nullScore(none, STD), -2);
  });

  test('fixed thresholds (e.g. chosen on another half of the corpus)', () => {
    const res = scoreCorpusAtThresholds([fileA, fileB], { standard: 0.7, reward_low_FP_rate: 0.7, reward_low_FN_rate: 0.7 });
    close(res.standard.rawScore, -0.2641845); // see the corpus comment above
    close(res.reward_low_FP_rate.rawScore, -1.9141845);
    assert.equal(res.standard.threshold, 0.7);
  });

  test('the incremental sweep equals scoring every threshold from scratch', () => {
    // A direct, slow reading of NAB's rules, checked at every threshold of the sweep on
    // random files with several windows and many tied scores.
    let seed = 12345;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const files: SeriesInput[] = [];
    const idxWindows: [number, number][][] = [];
    for (let f = 0; f < 4; f++) {
      const n = 150 + Math.floor(rand() * 100);
      const ws: [number, number][] = [];
      let at = 30 + Math.floor(rand() * 20);
      while (at + 25 < n) {
        const width = 2 + Math.floor(rand() * 15);
        ws.push([at, at + width - 1]);
        at += width + 5 + Math.floor(rand() * 40);
      }
      idxWindows.push(ws);
      const scores = Array.from({ length: n }, () => Math.round(rand() ** 3 * 40) / 40);
      files.push({
        name: `f${f}`,
        timestamps: Array.from({ length: n }, (_, i) => T(i)),
        scores,
        windows: ws.map(([a, b]) => win(a, b)),
      });
    }
    const direct = (cost: CostMatrix, threshold: number): number => {
      let total = 0;
      files.forEach((s, f) => {
        const ws = idxWindows[f];
        const prob = Math.min(Math.floor(0.15 * s.scores.length), 750);
        const hit = (i: number): boolean => i >= prob && s.scores[i] >= threshold;
        for (const [a, b] of ws) {
          if (b < prob) continue;
          let first = -1;
          for (let i = a; i <= b; i++) if (hit(i)) { first = i; break; }
          total += first < 0 ? -cost.fnWeight : (cost.tpWeight * scaledSigmoid(-(b - first + 1) / (b - a + 1))) / MAX_TP;
        }
        for (let i = 0; i < s.scores.length; i++) {
          if (!hit(i) || ws.some(([a, b]) => i >= a && i <= b)) continue;
          const before = ws.filter(([, b]) => b < i).pop();
          total += cost.fpWeight * (before === undefined ? -1 : scaledSigmoid((i - before[1]) / (before[1] - before[0])));
        }
      });
      return total;
    };
    const corpus = prepareCorpus(files);
    for (const p of PROFILE_NAMES) {
      const list = calcScoreByThreshold(corpus, NAB_PROFILES[p]);
      assert.ok(list.length > 30);
      let best: ThresholdScore = list[0];
      for (const r of list) {
        close(r.score, direct(NAB_PROFILES[p], r.threshold), `${p} @ ${r.threshold}`);
        if (r.score > best.score) best = r;
      }
      assert.equal(optimizeThreshold(corpus, NAB_PROFILES[p]).threshold, best.threshold);
      // and the per-file scores at the best threshold add up to it
      close(scoreCorpus(corpus)[p].rawScore, best.score);
    }
  });

  test('the sweep order: decreasing scores, ties in row order', () => {
    const keys = Float64Array.from([0.5, -1, 2, 0.5, -Infinity, 1e-300, 0.5, -1e-300, 2]);
    assert.deepEqual(Array.from(argsortDescending(keys)), [2, 8, 0, 3, 6, 5, 7, 1, 4]);
  });

  test('bad input is refused', () => {
    assert.throws(() => prepareSeries({ name: 'x', timestamps: [T(0), T(1)], scores: [0], windows: [] }), /2 timestamps but 1/);
    assert.throws(() => prepareSeries(series(20, [[T(10) + 1, T(14)]], [])), /not the timestamp of a row/);
    assert.throws(() => prepareSeries(series(20, [], { 4: NaN })), /row 4 is not a finite number/);
  });
});

describe('NAB corpus files', () => {
  test('timestamps of data files and label files agree', () => {
    const t = parseNabTimestamp('2014-04-10 07:15:00');
    assert.equal(t, Date.UTC(2014, 3, 10, 7, 15));
    assert.equal(parseNabTimestamp('2014-04-10 07:15:00.000000'), t);
    assert.equal(formatNabTimestamp(t), '2014-04-10 07:15:00');
    assert.equal(parseNabTimestamp('2014-04-10 07:15:00.250000'), t + 250);
    assert.throws(() => parseNabTimestamp('10/04/2014'), /not a NAB timestamp/);
  });

  test('profiles: the embedded values are NAB config/profiles.json', () => {
    const nabJson = {
      standard: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 } },
      reward_low_FP_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 } },
      reward_low_FN_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 } },
    };
    assert.deepEqual(parseProfiles(nabJson), { ...NAB_PROFILES });
    assert.throws(() => parseProfiles({ p: { CostMatrix: { tpWeight: 1 } } }), /fnWeight/);
  });

  test('detector names fit NAB results file names', () => {
    checkDetectorName('edgeSentinel');
    checkDetectorName('edge-sentinel.v2');
    assert.throws(() => checkDetectorName('edge_sentinel'), /no "_"/);
    assert.throws(() => checkDetectorName('../x'));
    assert.throws(() => checkDetectorName(''));
  });

  test('data dir and windows are read; results are written in NAB layout and read back', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nab-test-'));
    try {
      // A miniature NAB: data/<category>/<name>.csv and labels/combined_windows.json.
      const dataDir = path.join(dir, 'data');
      mkdirSync(path.join(dataDir, 'realTest'), { recursive: true });
      mkdirSync(path.join(dataDir, 'artificialTest'), { recursive: true });
      const rows = Array.from({ length: 20 }, (_, i) => `${formatNabTimestamp(T(i))},${(i * 1.5).toFixed(1)}`);
      writeFileSync(path.join(dataDir, 'realTest', 'tiny.csv'), ['timestamp,value', ...rows].join('\n')); // no final newline
      writeFileSync(path.join(dataDir, 'artificialTest', 'flat.csv'), ['timestamp,value', ...rows.slice(0, 10)].join('\r\n') + '\r\n');
      const labelsPath = path.join(dir, 'combined_windows.json');
      writeFileSync(
        labelsPath,
        JSON.stringify({
          'realTest/tiny.csv': [[`${formatNabTimestamp(T(10))}.000000`, `${formatNabTimestamp(T(14))}.000000`]],
          'artificialTest/flat.csv': [],
        }),
      );

      assert.deepEqual(listDataFiles(dataDir), ['artificialTest/flat.csv', 'realTest/tiny.csv']);
      const corpus = readCorpus(dataDir);
      assert.deepEqual(corpus.map((f) => f.timestamps.length), [10, 20]);
      const tiny = corpus[1];
      assert.equal(tiny.timestampText[3], '2015-01-01 00:15:00');
      assert.equal(tiny.values[3], 4.5);
      const windows = readWindows(labelsPath);
      assert.deepEqual(windows['realTest/tiny.csv'], [win(10, 14)]);
      assert.deepEqual(Array.from(labelRows(tiny.timestamps, windows['realTest/tiny.csv'])), [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
      ]);

      // Scores that must survive the text round trip exactly.
      const scoresFor = (n: number): number[] =>
        Array.from({ length: n }, (_, i) => (i === 12 ? 1 : i === 5 ? 0.1 + 0.2 : i === 7 ? 1e-7 : i / 3 / 100));
      const resultsDir = path.join(dir, 'results');
      const written = corpus.map((f) => writeDetectorResults(resultsDir, 'tester', f, scoresFor(f.timestamps.length), windows[f.relativePath]));
      assert.equal(written[1], path.join(resultsDir, 'tester', 'realTest', 'tester_tiny.csv'));
      assert.equal(resultsFilePath(resultsDir, 'tester', 'realTest/tiny.csv'), written[1]);
      const lines = readFileSync(written[1], 'utf8').split('\n');
      assert.equal(lines[0], 'timestamp,value,anomaly_score,label');
      assert.equal(lines[11], '2015-01-01 00:50:00,15,0.03333333333333333,1'); // row 10
      assert.equal(lines[13], '2015-01-01 01:00:00,18,1,1'); // row 12
      // NAB's own summary files beside the results are not results
      writeFileSync(path.join(resultsDir, 'tester', 'tester_standard_scores.csv'), 'Detector,Profile\n');

      const back = readDetectorResults(resultsDir, 'tester');
      assert.deepEqual(back.map((r) => r.relativePath), ['artificialTest/flat.csv', 'realTest/tiny.csv']);
      assert.deepEqual(Array.from(back[1].anomalyScores), scoresFor(20));
      assert.deepEqual(Array.from(back[1].values), Array.from(tiny.values));
      assert.deepEqual(back[1].timestampText, tiny.timestampText);
      assert.deepEqual(Array.from(back[1].labels), Array.from(labelRows(tiny.timestamps, windows['realTest/tiny.csv'])));

      // Scoring what was read back = scoring the scores directly. Here: tiny.csv's window
      // caught at row 12 (first row >= 1): 0.9174287 at threshold 1; flat.csv has no window
      // and no row >= 1. null = -1, perfect = 1: 100 × 1.9174287 / 2 = 95.871434.
      const fromFiles = scoreCorpus(resultsToSeries(back, windows));
      const direct = scoreCorpus(
        corpus.map((f) => ({ name: f.relativePath, timestamps: f.timestamps, scores: scoresFor(f.timestamps.length), windows: windows[f.relativePath] })),
      );
      assert.deepEqual(fromFiles, direct);
      assert.equal(fromFiles.standard.threshold, 1);
      close(fromFiles.standard.normalizedScore, 95.871434);
      assert.throws(() => resultsToSeries(back, parseWindows({ 'realTest/tiny.csv': [] })), /no windows for artificialTest\/flat.csv/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
