// The metric detector on small synthetic series (no NAB data needed): a level shift, a
// spike, a new extreme, noise that must stay quiet; determinism (a pinned digest of the
// scores, for the WASM port to reproduce), score range, bounded state; its deterministic
// logarithm; and the `nab` command end to end on a tiny hand-made NAB-format corpus.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { COMPACT_LAYOUT, detLn, MetricDetector, NE_BASE, NE_MARGIN, SCORE_HALF, scoreSeries, STANDARD_LAYOUT } from '../../src/nab/detector';
import { formatNabTimestamp, readDetectorResults, readWindows, resultsToSeries } from '../../src/nab/corpus';
import { scoreCorpus } from '../../src/nab/scorer';
import { prng, runNab } from '../support/nab';

const LAYOUTS = ['standard', 'compact'] as const;
const T0 = Date.UTC(2024, 0, 1);
const STEP = 5 * 60 * 1000;


/** Roughly standard normal noise (sum of 12 uniforms). */
function noise(seed: number, n: number): number[] {
  const r = prng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let u = 0;
    for (let k = 0; k < 12; k++) u += r();
    out.push(u - 6);
  }
  return out;
}

function run(values: readonly number[], layout: 'standard' | 'compact'): Float64Array {
  const ts = values.map((_, i) => T0 + i * STEP);
  return scoreSeries(new MetricDetector({ layout }), ts, values);
}

function argmax(s: ArrayLike<number>, from: number, to: number): { max: number; at: number } {
  let max = -Infinity;
  let at = -1;
  for (let i = from; i < to; i++) {
    if (s[i] > max) {
      max = s[i];
      at = i;
    }
  }
  return { max, at };
}

/** FNV-1a over the IEEE-754 bytes of the scores: the exact output, bit for bit. */
function digest(scores: Float64Array): string {
  const bytes = new Uint8Array(scores.buffer, scores.byteOffset, scores.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** A series exercising every branch: noise, a shift, spikes, a flat stretch, a new low. */
function mixedSeries(): number[] {
  const xs = noise(7, 3000).map((v, i) => 50 + 4 * v + (i >= 1800 ? 10 : 0));
  xs[900] = 95;
  for (let i = 2200; i < 2300; i++) xs[i] = 61;
  xs[2600] = -5;
  return xs;
}

describe('metric detector: behaviour on synthetic series', () => {
  for (const layout of LAYOUTS) {
    test(`${layout}: a level shift inside the known range is reported within a few points`, () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        const xs = noise(seed, 4000);
        xs[20] = 8; // make the range seen early wide, so that the shift is no new extreme
        xs[30] = -8;
        for (let i = 3000; i < xs.length; i++) xs[i] += 3;
        const s = run(xs, layout);
        const before = argmax(s, 600, 3000);
        const after = argmax(s, 3000, 3100);
        assert.ok(after.max > before.max, `seed ${seed}: after ${after.max} > before ${before.max}`);
        assert.ok(after.at - 3000 < 20, `seed ${seed}: reported at +${after.at - 3000}`);
        assert.ok(after.max > 0.3);
      }
    });

    test(`${layout}: a spike scores near the top, far above anything before it`, () => {
      for (const seed of [1, 2, 3]) {
        const xs = noise(seed, 3000);
        xs[2500] += 20;
        const s = run(xs, layout);
        assert.ok(s[2500] > 0.85, `seed ${seed}: ${s[2500]}`);
        assert.ok(argmax(s, 600, 2500).max < 0.5);
        assert.equal(argmax(s, 600, 3000).at, 2500);
      }
    });

    test(`${layout}: a new extreme scores by its excess; one inside the margin does not count`, () => {
      const base = noise(11, 2000).map((v) => Math.max(-3, Math.min(3, v)));
      base[5] = -3;
      base[6] = 3; // range [-3, 3] from the start
      const big = [...base, 3 + 0.6]; // 10 % of the range above the maximum
      const s = run(big, layout);
      const expected = NE_BASE + 30 * 0.1;
      assert.ok(Math.abs(s[big.length - 1] - expected / (expected + SCORE_HALF)) < 1e-9, String(s[big.length - 1]));
      const tiny = [...base, 3 + 6 * NE_MARGIN * 0.5]; // half the margin above the maximum
      const t = run(tiny, layout);
      assert.ok(t[tiny.length - 1] < NE_BASE / (NE_BASE + SCORE_HALF), String(t[tiny.length - 1]));
      const low = [...base, -3 - 0.6];
      assert.ok(Math.abs(run(low, layout)[low.length - 1] - expected / (expected + SCORE_HALF)) < 1e-9);
    });

    test(`${layout}: stationary noise stays quiet`, () => {
      for (const seed of [1, 2, 3]) {
        const s = run(noise(seed, 20000), layout);
        let above3 = 0;
        for (let i = 1000; i < s.length; i++) {
          assert.ok(s[i] < 0.5, `seed ${seed}: ${s[i]} at ${i}`);
          if (s[i] >= 0.3) above3++;
        }
        assert.ok(above3 <= 10, `seed ${seed}: ${above3} scores >= 0.3 in 19,000 points`);
      }
    });

    test(`${layout}: deterministic, reset() starts afresh, scores in [0, 1]`, () => {
      const xs = mixedSeries();
      const a = run(xs, layout);
      const d = new MetricDetector({ layout });
      const b1 = scoreSeries(d, xs.map((_, i) => T0 + i * STEP), xs);
      const b2 = scoreSeries(d, xs.map((_, i) => T0 + i * STEP), xs);
      assert.deepEqual(b1, a);
      assert.deepEqual(b2, a);
      for (const v of a) assert.ok(v >= 0 && v < 1);
      const r = prng(5);
      const wild = Array.from({ length: 5000 }, () => (r() < 0.01 ? 1e300 * (r() - 0.5) : (r() - 0.5) * 10 ** Math.floor(r() * 12)));
      for (const v of run(wild, layout)) assert.ok(v >= 0 && v <= 1, String(v));
      const extremes = [0, 1, -1, 1.7e308, -1.7e308, 5e-324, 1e-300, 1.7e308, 0, -1.7e308];
      for (let i = 0; i < 300; i++) extremes.push(extremes[i % 10] * (i % 3));
      for (const v of run(extremes, layout)) assert.ok(v >= 0 && v <= 1, String(v));
    });

    test(`${layout}: non-finite values are ignored and leave the state as it was`, () => {
      const d = new MetricDetector({ layout });
      const xs = noise(3, 500);
      for (let i = 0; i < xs.length; i++) d.score(T0 + i * STEP, xs[i]);
      const before = { ...d };
      for (const bad of [NaN, Infinity, -Infinity]) assert.equal(d.score(T0, bad), 0);
      assert.deepEqual({ ...d }, before);
    });

    test(`${layout}: O(1) state — the same numeric fields after 100,000 points`, () => {
      const d = new MetricDetector({ layout });
      const fields = (): [string, string][] => Object.entries(d).map(([k, v]) => [k, typeof v]);
      const initial = fields();
      const r = prng(9);
      for (let i = 0; i < 100000; i++) d.score(T0 + i * STEP, Math.sin(i / 50) * 10 + (r() - 0.5) * 3 + (i % 7919 === 0 ? 40 : 0));
      assert.deepEqual(fields(), initial);
      for (const [k, v] of Object.entries(d)) {
        if (k === 'layout') continue;
        assert.ok(typeof v === 'number' || typeof v === 'boolean', `${k} is ${typeof v}`);
      }
      // every counter fits its declared width
      for (const k of ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 's0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 'sinceNe']) {
        const v = (d as unknown as Record<string, number>)[k];
        assert.ok(Number.isInteger(v) && v >= 0 && v <= 65535, `${k} = ${v}`);
      }
      for (const k of ['n', 'age', 'recent']) {
        const v = (d as unknown as Record<string, number>)[k];
        assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `${k} = ${v}`);
      }
      assert.ok(Number.isInteger(d.pk) && d.pk >= -2147483648 && d.pk <= 2147483647);
    });
  }

  test('pinned output digests (the WASM port must reproduce these bits)', () => {
    const xs = mixedSeries();
    assert.equal(digest(run(xs, 'standard')), 'b3bab4f2');
    assert.equal(digest(run(xs, 'compact')), '493b6a20');
  });

  test('layouts: 160 and 56 bytes per series', () => {
    assert.equal(STANDARD_LAYOUT.bytes, 160);
    assert.equal(COMPACT_LAYOUT.bytes, 56);
    assert.equal(new MetricDetector().layout, STANDARD_LAYOUT);
    assert.equal(new MetricDetector({ layout: 'compact' }).layout, COMPACT_LAYOUT);
  });
});

describe('detLn', () => {
  test('agrees with Math.log within 2 ulp over the doubles', () => {
    const r = prng(1);
    const xs: number[] = [Number.MIN_VALUE, 2.2250738585072014e-308, Number.MAX_VALUE, 0.5, 1.5, Math.SQRT2, Math.E, 10];
    for (let i = 0; i < 20000; i++) xs.push(Math.exp((r() - 0.5) * 1400));
    for (let i = 1; i < 20000; i++) xs.push(i, i + 0.5, 1 / i);
    for (const x of xs) {
      const a = detLn(x);
      const b = Math.log(x);
      const ulp = Math.max(Math.abs(b) * Number.EPSILON, Number.MIN_VALUE);
      assert.ok(Math.abs(a - b) <= 2 * ulp, `ln ${x}: ${a} vs ${b}`);
    }
  });

  test('special values', () => {
    assert.equal(detLn(1), 0);
    assert.equal(detLn(2), Math.LN2);
    assert.equal(detLn(0), -Infinity);
    assert.equal(detLn(Infinity), Infinity);
    assert.ok(Number.isNaN(detLn(-1)));
    assert.ok(Number.isNaN(detLn(NaN)));
  });
});

const nab = runNab;

describe('edge-sentinel nab', () => {
  /** A tiny NAB-format corpus: two categories, three files, windows around two spikes. */
  function corpus(dir: string): { data: string; labels: string } {
    const data = path.join(dir, 'data');
    const files: Record<string, number[]> = {};
    const a = noise(21, 600).map((v) => 20 + v);
    a[400] = 45;
    files['catA/spiky.csv'] = a;
    const b = noise(22, 600).map((v, i) => 100 + 2 * v + (i >= 450 ? 12 : 0));
    files['catA/shift.csv'] = b;
    files['catB/quiet.csv'] = noise(23, 600).map((v) => 5 + 0.5 * v);
    const labels: Record<string, [string, string][]> = { 'catA/spiky.csv': [], 'catA/shift.csv': [], 'catB/quiet.csv': [] };
    const stamp = (i: number) => formatNabTimestamp(T0 + i * STEP);
    labels['catA/spiky.csv'].push([`${stamp(385)}.000000`, `${stamp(414)}.000000`]);
    labels['catA/shift.csv'].push([`${stamp(435)}.000000`, `${stamp(464)}.000000`]);
    for (const [rel, xs] of Object.entries(files)) {
      const p = path.join(data, ...rel.split('/'));
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, ['timestamp,value', ...xs.map((v, i) => `${stamp(i)},${v}`)].join('\n') + '\n');
    }
    const labelsFile = path.join(dir, 'combined_windows.json');
    writeFileSync(labelsFile, JSON.stringify(labels));
    return { data, labels: labelsFile };
  }

  test('scores a corpus, writes NAB results, prints scores, thresholds and points/s', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'es-nab-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { data, labels } = corpus(dir);
    const results = path.join(dir, 'results');

    const r = await nab(['--data', data, '--labels', labels, '--results', results, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.files, 3);
    assert.equal(j.points, 1800);
    assert.equal(j.stateBytes, 160);
    assert.ok(j.pointsPerSecond > 0);
    for (const p of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']) {
      assert.equal(typeof j.scores[p], 'number');
      assert.equal(typeof j.thresholds[p], 'number');
    }
    // both windows are caught near their middle, nothing else is flagged
    assert.ok(j.scores.standard > 80, JSON.stringify(j.scores));
    assert.equal(j.profiles[0].windowsDetected, 2);

    const file = path.join(results, 'edge-sentinel', 'catA', 'edge-sentinel_spiky.csv');
    assert.ok(existsSync(file));
    assert.ok(existsSync(path.join(results, 'edge-sentinel', 'catB', 'edge-sentinel_quiet.csv')));
    const rows = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'timestamp,value,anomaly_score,label');
    assert.equal(rows.length, 601);
    const cells = rows.slice(1).map((l) => l.split(','));
    assert.equal(cells[400][1], '45');
    assert.deepEqual([cells[384][3], cells[385][3], cells[414][3], cells[415][3]], ['0', '1', '1', '0']);
    const spikeScore = Number(cells[400][2]);
    assert.ok(spikeScore >= j.thresholds.standard && spikeScore < 1);
    // what NAB's scorer would read back scores the same
    const back = scoreCorpus(resultsToSeries(readDetectorResults(results, 'edge-sentinel'), readWindows(labels)));
    for (const p of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const) {
      assert.equal(back[p].threshold, j.thresholds[p]);
      assert.ok(Math.abs(back[p].normalizedScore - j.scores[p]) < 0.006);
    }

    const text = await nab(['--data', data, '--labels', labels, '--results', results, '--detector', 'es.v1', '--layout', 'compact']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^NAB: 3 files, 1,800 points; detector "es\.v1" \(compact layout, 56 bytes per series\)/);
    assert.match(text.stdout, /standard +\d+\.\d +0\.\d{4} +\d+\/2/);
    assert.match(text.stdout, /detector speed: [\d,]+ points\/s/);
    assert.ok(existsSync(path.join(results, 'es.v1', 'catA', 'es.v1_shift.csv')));
  });

  test('flags: --help, missing and bad flags (exit 2), unreadable input (exit 1), one line each', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'es-nab-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { data, labels } = corpus(dir);
    const help = await nab(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: edge-sentinel nab --data <dir> --labels <combined_windows\.json> --results <dir>/);

    const cases: [string[], number, RegExp][] = [
      [['--labels', labels, '--results', dir], 2, /--data is required/],
      [['--data', data, '--results', dir], 2, /--labels is required/],
      [['--data', data, '--labels', labels], 2, /--results is required/],
      [['--data', data, '--labels', labels, '--results', dir, '--layout', 'huge'], 2, /--layout must be one of standard, compact/],
      [['--data', data, '--labels', labels, '--results', dir, '--detector', 'my_detector'], 2, /--detector: detector name "my_detector"/],
      [['--frobnicate'], 2, /Unknown option '--frobnicate'/],
      [['--data', path.join(dir, 'nope'), '--labels', labels, '--results', dir], 1, /--data .*nope: no such directory/],
      [['--data', data, '--labels', path.join(dir, 'nope.json'), '--results', dir], 1, /--labels .*nope\.json: no such file/],
    ];
    for (const [args, code, message] of cases) {
      const r = await nab(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^edge-sentinel nab: /);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }

    // a data file the labels do not know
    const extra = path.join(data, 'catB', 'unlabelled.csv');
    writeFileSync(extra, 'timestamp,value\n2024-01-01 00:00:00,1\n');
    const unknown = await nab(['--data', data, '--labels', labels, '--results', path.join(dir, 'r')]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /has no entry for catB\/unlabelled\.csv/);
  });
});
