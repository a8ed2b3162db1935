// The metric detector in the WASM core (assembly/metric.ts via src/nab/wasm.ts) against
// the TypeScript reference (src/nab/detector.ts): the same scores to the last bit
// (Object.is on every point, both layouts), the same state bytes afterwards, on varied
// synthetic series — constant, steps, spikes, trends, seeded noise, heavy tails, values at
// the edges of f64 and f32, non-finite values, long series that saturate the counters —
// fed whole, in odd batches and point by point; the same logarithm; the core's own
// regions and the detector's side by side in one instance; `nab --engine`. When a NAB
// corpus is at ../shared/nab (never in the repository), a few of its files as well.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { detLn, MetricDetector } from '../../src/nab/detector';
import { metricInstance, WasmMetricDetector } from '../../src/nab/wasm';
import { createMetricDetector } from '../../src/nab/engine';
import { readDataFile } from '../../src/nab/corpus';
import { runDetectorOnCorpus } from '../../src/cli/nab';
import { prng, runNab } from '../support/nab';

const LAYOUTS = ['standard', 'compact'] as const;
type Layout = (typeof LAYOUTS)[number];


function gauss(r: () => number): number {
  let u = 0;
  for (let k = 0; k < 12; k++) u += r();
  return u - 6;
}

function series(n: number, f: (i: number, r: () => number) => number, seed = 1): Float64Array {
  const r = prng(seed);
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = f(i, r);
  return xs;
}

/** Series meant to reach every branch of the detector in both layouts. */
const SERIES: Record<string, Float64Array> = {
  empty: new Float64Array(0),
  'one point': Float64Array.of(3),
  'constant 0': series(3000, () => 0),
  'constant -7.25': series(3000, () => -7.25),
  'constant then one step': series(3000, (i) => (i < 1500 ? 1 : 2)),
  'steps every 400': series(6000, (i, r) => Math.floor(i / 400) % 5 + 0.01 * r()),
  'spikes on noise': series(8000, (i, r) => gauss(r) + (i % 997 === 0 ? 15 * (r() - 0.3) : 0), 2),
  'linear trend': series(5000, (i) => 0.37 * i),
  'falling trend with noise': series(5000, (i, r) => -0.1 * i + gauss(r), 3),
  'sine + noise + level shift': series(12000, (i, r) => 10 * Math.sin(i / 60) + r() * 3 + (i > 7000 ? 6 : 0), 4),
  'uniform noise': series(10000, (_, r) => r(), 5),
  'integer counts': series(10000, (_, r) => Math.floor(-Math.log(1 - r()) * 3), 6),
  'heavy tail (Cauchy)': series(20000, (_, r) => Math.tan(Math.PI * (r() - 0.5)), 7),
  'heavy tail (Pareto 0.7)': series(20000, (_, r) => (1 - r()) ** (-1 / 0.7), 8),
  'wild magnitudes': series(8000, (_, r) => (r() < 0.01 ? 1e300 * (r() - 0.5) : (r() - 0.5) * 10 ** Math.floor(r() * 12)), 9),
  'edges of f64': series(3000, (i) => [0, 1, -1, 1.7e308, -1.7e308, 5e-324, 1e-300, -0, 2.2e-308, Number.MAX_VALUE][i % 10] * ((i % 3) - 1)),
  'beyond f32 (compact rounds to Infinity)': series(3000, (i, r) => (i % 50 === 0 ? 1e39 : 1e38) * (r() - 0.5), 10),
  'denormal range (the grid step underflows)': series(3000, (i, r) => 5e-324 * Math.floor(r() * 4) * (i > 100 ? 1 : 0), 11),
  'narrow range then far away (keys clamp)': series(3000, (i, r) => (i < 200 ? 1e-9 * r() : i % 2 ? 1e12 : -1e12), 12),
  'non-finite values sprinkled': series(6000, (i, r) => (i % 37 === 0 ? NaN : i % 101 === 0 ? Infinity : i % 103 === 0 ? -Infinity : 5 + gauss(r)), 13),
  // > 65,535 points without a new extreme (sinceNe, n, age saturate; the counts halve)
  'long, bounded, with a shift inside the range': series(80000, (i, r) => (i === 1 ? -20 : i === 2 ? 20 : 3 * gauss(r) + (i > 60000 ? 4 : 0)), 14),
  'long random walk': (() => {
    let v = 0;
    return series(75000, (_, r) => (v += gauss(r)), 15);
  })(),
};

function tsScores(xs: Float64Array, layout: Layout): { scores: Float64Array; detector: MetricDetector } {
  const detector = new MetricDetector({ layout });
  const scores = new Float64Array(xs.length);
  detector.scoreValues(xs, scores);
  return { scores, detector };
}

function wasmScores(xs: Float64Array, layout: Layout, batch?: number): { scores: Float64Array; detector: WasmMetricDetector } {
  const detector = new WasmMetricDetector({ layout, batch });
  const scores = new Float64Array(xs.length);
  detector.scoreValues(xs, scores);
  return { scores, detector };
}

/** Bit-for-bit equality of two score arrays, reporting the first difference. */
function assertSameBits(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: lengths`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: point ${i}: WASM ${actual[i]} vs TS ${expected[i]}`);
  }
}

/** The TS detector's fields as the state block of its layout holds them. */
function assertSameState(state: DataView, d: MetricDetector, what: string): void {
  const wide = d.layout.name === 'standard';
  const f = wide ? (o: number) => state.getFloat64(o, true) : (o: number) => state.getFloat32(o, true);
  const fw = wide ? 8 : 4;
  const u16 = (o: number) => state.getUint16(o, true);
  const fields: [string, number, number][] = [
    ['lo', f(0), d.lo],
    ['hi', f(fw), d.hi],
    ['q', f(2 * fw), d.q],
    ['gate', f(3 * fw), d.gate],
  ];
  const base = wide ? 56 : 16;
  if (d.q !== 0) fields.push(['pk', state.getInt32(base, true), d.pk]); // a key of a q rounded to 0 is never read
  const cs = [d.c0, d.c1, d.c2, d.c3, d.c4, d.c5, d.c6];
  cs.forEach((c, j) => fields.push([`c${j}`, u16(base + 4 + 2 * j), c]));
  fields.push(['sinceNe', u16(base + 18), d.sinceNe]);
  let at = base + 20;
  if (wide) {
    fields.push(['fast', state.getFloat64(32, true), d.fast], ['slow', state.getFloat64(40, true), d.slow], ['dev', state.getFloat64(48, true), d.dev]);
    [d.s0, d.s1, d.s2, d.s3, d.s4, d.s5, d.s6, d.s7].forEach((s, j) => fields.push([`s${j}`, u16(at + 2 * j), s]));
    at += 16;
  }
  fields.push(['n', state.getUint8(at), d.n], ['age', state.getUint8(at + 1), d.age], ['recent', state.getUint8(at + 2), d.recent]);
  const words = [d.w0, d.w1, d.w2, d.w3, d.w4, d.w5, d.w6, d.w7, d.w8, d.w9, d.w10, d.w11, d.w12, d.w13, d.w14, d.w15];
  const table = at + 4;
  for (let w = 0; w < (wide ? 16 : 4); w++) fields.push([`w${w}`, state.getUint32(table + 4 * w, true), words[w]]);
  for (const [name, wasm, ts] of fields) {
    const same = name === 'pk' ? wasm === ts : Object.is(wasm, ts);
    assert.ok(same, `${what}: state field ${name}: WASM ${wasm} vs TS ${ts}`);
  }
}

describe('metric detector: WASM core = TypeScript reference, bit for bit', () => {
  for (const layout of LAYOUTS) {
    test(`${layout}: the same scores and the same state on every synthetic series`, () => {
      const wasm = new WasmMetricDetector({ layout });
      for (const [name, xs] of Object.entries(SERIES)) {
        const ts = tsScores(xs, layout);
        const out = new Float64Array(xs.length);
        wasm.reset();
        wasm.scoreValues(xs, out);
        assertSameBits(out, ts.scores, `${layout} / ${name}`);
        assertSameState(wasm.state(), ts.detector, `${layout} / ${name}`);
      }
    });

    test(`${layout}: batch boundaries do not matter (batches of 1, 7 and 4096; score() per point)`, () => {
      for (const name of ['spikes on noise', 'sine + noise + level shift', 'non-finite values sprinkled', 'heavy tail (Cauchy)']) {
        const xs = SERIES[name];
        const expected = tsScores(xs, layout).scores;
        for (const batch of [1, 7, 4096]) assertSameBits(wasmScores(xs, layout, batch).scores, expected, `${layout} / ${name} / batch ${batch}`);
        const d = new WasmMetricDetector({ layout });
        const one = Float64Array.from(xs, (x, i) => d.score(i * 1000, x));
        assertSameBits(one, expected, `${layout} / ${name} / score()`);
      }
    });

    test(`${layout}: the long series saturate n, age and sinceNe and halve the counts`, () => {
      const xs = SERIES['long, bounded, with a shift inside the range'];
      const { detector: d } = tsScores(xs, layout);
      assert.equal(d.n, 255);
      assert.equal(d.age, 255);
      assert.equal(d.sinceNe, 65535);
      const counts = d.c0 + d.c1 + d.c2 + d.c3 + d.c4 + d.c5 + d.c6;
      assert.ok(counts < 16384 && xs.length - 50 > 16384, `the novelty counts were halved (sum ${counts})`);
    });

    test(`${layout}: 200 random series (seeded), values from several distributions`, () => {
      const wasm = new WasmMetricDetector({ layout, batch: 333 });
      const r = prng(99);
      for (let k = 0; k < 200; k++) {
        const n = 1 + Math.floor(r() * 3000);
        const scale = 10 ** Math.floor(r() * 20 - 10);
        const kind = k % 4;
        const xs = series(n, (i, g) => {
          const u = kind === 0 ? gauss(g) : kind === 1 ? Math.tan(Math.PI * (g() - 0.5)) : kind === 2 ? Math.round(g() * 5) : Math.sin(i / 30) + 0.1 * gauss(g);
          return scale * u + (i > n / 2 ? scale * 3 : 0);
        }, 1000 + k);
        const expected = tsScores(xs, layout).scores;
        const out = new Float64Array(n);
        wasm.reset();
        wasm.scoreValues(xs, out);
        assertSameBits(out, expected, `${layout} / random series ${k} (kind ${kind}, n ${n}, scale ${scale})`);
      }
    });
  }

  test('detLn: the same bits in WASM as in TypeScript', () => {
    const x = metricInstance();
    const r = prng(3);
    const xs = [0, -0, -1, NaN, Infinity, Number.MIN_VALUE, 2.2250738585072014e-308, Number.MAX_VALUE, 0.5, 1, 1.5, Math.SQRT2, Math.E, 10];
    for (let i = 0; i < 20000; i++) xs.push(Math.exp((r() - 0.5) * 1400), 1 + r() * 1e-6, (i + 1) / (r() + 0.5));
    for (const v of xs) {
      const a = x.metricLn(v);
      const b = detLn(v);
      if (!Object.is(a, b)) assert.fail(`ln ${v}: WASM ${a} vs TS ${b}`);
    }
  });

  test("one instance: the core's regions (init) and the detector's (metricInit) do not overlap", () => {
    const x = metricInstance() as ReturnType<typeof metricInstance> & {
      init(slots: number, maxBatch: number, inputBytes: number): void;
      inputPtr(): number;
      indexPtr(): number;
      outputPtr(): number;
      statsPtr(): number;
    };
    x.metricInit(3, 0, 1000);
    x.init(64, 16, 8192);
    const metric = [
      [x.metricStatePtr(0), x.metricStatePtr(0) + 3 * 160],
      [x.metricInputPtr(), x.metricInputPtr() + 8000],
      [x.metricOutputPtr(), x.metricOutputPtr() + 8000],
    ];
    const core = [x.inputPtr(), x.indexPtr(), x.outputPtr(), x.statsPtr()];
    for (const [from, to] of metric) for (const p of core) assert.ok(p < from || p >= to, `core region at ${p} inside [${from}, ${to})`);
    // and the detector still scores as the reference does
    const xs = SERIES['spikes on noise'].subarray(0, 1000);
    new Float64Array(x.memory.buffer, x.metricInputPtr(), 1000).set(xs);
    assert.equal(x.metricScore(1, 1000), 1000);
    assertSameBits(new Float64Array(x.memory.buffer, x.metricOutputPtr(), 1000).slice(), tsScores(xs, 'standard').scores, 'series 1 next to the core');
    assert.equal(x.metricScore(3, 10), 0, 'an unknown series scores nothing');
  });

  test('engines behind one interface; nab --engine picks one and the results agree', async () => {
    assert.ok(createMetricDetector() instanceof WasmMetricDetector);
    assert.ok(createMetricDetector('ts', { layout: 'compact' }) instanceof MetricDetector);
    const files = ['spikes on noise', 'steps every 400', 'heavy tail (Cauchy)'].map((name, k) => {
      const values = SERIES[name];
      const timestamps = Float64Array.from(values, (_, i) => i * 300000);
      return { relativePath: `cat${k}/f${k}.csv`, timestampText: [], timestamps, values };
    });
    for (const layout of LAYOUTS) {
      const a = runDetectorOnCorpus(files, layout, 'wasm');
      const b = runDetectorOnCorpus(files, layout, 'ts');
      assert.equal(a.points, b.points);
      for (const f of files) assertSameBits(a.scores.get(f.relativePath)!, b.scores.get(f.relativePath)!, `${layout} ${f.relativePath}`);
    }
    const { code, stderr } = await runNab(['--data', 'd', '--labels', 'l', '--results', 'r', '--engine', 'gpu']);
    assert.equal(code, 2);
    assert.match(stderr, /--engine must be one of wasm, ts/);
  });
});

// Real NAB series, when a corpus is at hand (it is never part of the repository).
const NAB_DATA = path.resolve(__dirname, '..', '..', '..', 'shared', 'nab', 'data');
const NAB_FILES = [
  'realKnownCause/machine_temperature_system_failure.csv',
  'realKnownCause/nyc_taxi.csv',
  'realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv',
  'realTweets/Twitter_volume_AAPL.csv',
  'artificialWithAnomaly/art_daily_jumpsup.csv',
];

describe('metric detector: WASM = TypeScript on real NAB series', { skip: existsSync(NAB_DATA) ? false : 'no NAB corpus at ../shared/nab' }, () => {
  for (const layout of LAYOUTS) {
    test(`${layout}: a few NAB files, bit for bit`, () => {
      const present = NAB_FILES.filter((f) => existsSync(path.join(NAB_DATA, f)));
      if (present.length === 0) {
        // another NAB release: take the first file of each category
        for (const cat of readdirSync(NAB_DATA)) {
          const csv = readdirSync(path.join(NAB_DATA, cat)).filter((f) => f.endsWith('.csv')).sort()[0];
          if (csv) present.push(`${cat}/${csv}`);
        }
      }
      assert.ok(present.length > 0);
      for (const rel of present) {
        const file = readDataFile(NAB_DATA, rel);
        assertSameBits(wasmScores(file.values, layout).scores, tsScores(file.values, layout).scores, `${layout} / ${rel}`);
      }
    });
  }
});
