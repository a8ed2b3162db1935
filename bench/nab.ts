// bench:nab — the metric detector on the Numenta Anomaly Benchmark: NAB's three
// normalised scores (the project's own implementation of NAB's rules) on the full corpus
// and on the two halves used to design it without tuning on everything (files alternate
// within each category, sorted by name: the 1st, 3rd, … go to the dev half, the others
// to the held-out half), plus the detector's throughput in points/s, the two engines side
// by side: the WASM core (assembly/metric.ts, values fed in batches) and the TypeScript
// reference (src/nab/detector.ts), on the same corpus, after warm-up passes, in rounds
// that alternate which engine goes first; mean ± standard deviation over the rounds.
// Both engines' scores are compared bit for bit before anything is timed.
//
//   node --import tsx bench/nab.ts                 human-readable
//   node --import tsx bench/nab.ts --json          one JSON object
//   node --import tsx bench/nab.ts --model step    the production metric step model through
//            the scoring core instead (src/nab/step.ts): the same four rows of scores, the
//            WASM core and the reference compared score for score, no throughput rounds;
//            --repeat-readings N runs it with metricRepeatReadings N (0 = no repeat rule)
//   node --import tsx bench/nab.ts --model gated [--metric-z Z]    an experiment, not a
//            model production runs: the NAB detector's score on the rows the step model
//            (through the WASM core, metricZ Z, default the production one) flags, 0 on the
//            others — the NAB features required to come with an unexpected step; the four
//            rows of scores (bench/nab-fleet.ts --gate-metric-z Z gives its fleet side)
//   options: --data <NAB root, with data/ and labels/> (default: ../shared/nab from the
//            repository root), --layout standard|compact|both (both), --reps N rounds (10),
//            --warmup N passes per engine (3), --batch N values per WASM call (4096)

import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DataFile, readCorpus, readWindows, WindowsMap } from '../src/nab/corpus';
import { COMPACT_LAYOUT, MetricDetector, STANDARD_LAYOUT, StateLayout } from '../src/nab/detector';
import { SeriesDetector } from '../src/nab/engine';
import { DEFAULT_METRIC_BATCH, WasmMetricDetector } from '../src/nab/wasm';
import { NAB_PROFILES, PROFILE_NAMES } from '../src/nab/profiles';
import { prepareCorpus, scoreCorpus, scoreCorpusAtThresholds, SeriesInput } from '../src/nab/scorer';
import { runDetectorOnCorpus, runStepModelOnCorpus } from '../src/cli/nab';
import { DEFAULT_PARAMS } from '../src/core/params';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    layout: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    batch: { type: 'string' },
    model: { type: 'string' },
    'metric-z': { type: 'string' },
    'repeat-readings': { type: 'string' },
    json: { type: 'boolean' },
  },
});
const ROOT = path.resolve(__dirname, '..');
const NAB = path.resolve(ROOT, values.data ?? path.join('..', 'shared', 'nab'));
const REPS = Math.max(1, Number(values.reps ?? 10) | 0);
const WARMUP = Math.max(0, Number(values.warmup ?? 3) | 0);
const BATCH = Math.max(1, Number(values.batch ?? DEFAULT_METRIC_BATCH) | 0);
const STEP = values.model === 'step';
const GATED = values.model === 'gated';
if (values.model !== undefined && values.model !== 'step' && values.model !== 'nab' && values.model !== 'gated') {
  process.stderr.write(`bench:nab: --model must be nab, step or gated, got ${values.model}\n`);
  process.exit(2);
}
const METRIC_Z = Number(values['metric-z'] ?? DEFAULT_PARAMS.metricZ);
const REPEAT = Number(values['repeat-readings'] ?? DEFAULT_PARAMS.metricRepeatReadings);
const LAYOUTS: StateLayout[] = STEP || GATED
  ? []
  : values.layout === 'standard' ? [STANDARD_LAYOUT] : values.layout === 'compact' ? [COMPACT_LAYOUT] : [STANDARD_LAYOUT, COMPACT_LAYOUT];
const log = (s: string) => {
  if (!values.json) process.stdout.write(s + '\n');
};

const dataDir = existsSync(path.join(NAB, 'data')) ? path.join(NAB, 'data') : NAB;
const labelsFile = path.join(NAB, 'labels', 'combined_windows.json');
if (!existsSync(dataDir) || !existsSync(labelsFile)) {
  process.stderr.write(`bench:nab: no NAB corpus at ${NAB} (expected data/ and labels/combined_windows.json); pass --data <dir>\n`);
  process.exit(1);
}
const files = readCorpus(dataDir);
const windows = readWindows(labelsFile);
const points = files.reduce((n, f) => n + f.values.length, 0);

/** Files alternate within each category (sorted by name): even positions → dev half. */
function halves(all: readonly DataFile[]): { dev: DataFile[]; heldOut: DataFile[] } {
  const seen = new Map<string, number>();
  const dev: DataFile[] = [];
  const heldOut: DataFile[] = [];
  for (const f of [...all].sort((a, b) => (a.relativePath < b.relativePath ? -1 : 1))) {
    const cat = f.relativePath.split('/')[0];
    const i = seen.get(cat) ?? 0;
    seen.set(cat, i + 1);
    (i % 2 === 0 ? dev : heldOut).push(f);
  }
  return { dev, heldOut };
}

function inputs(set: readonly DataFile[], scores: ReadonlyMap<string, Float64Array>, w: WindowsMap): SeriesInput[] {
  return set.map((f) => ({ name: f.relativePath, timestamps: f.timestamps, scores: scores.get(f.relativePath)!, windows: w[f.relativePath] ?? [] }));
}

interface Row {
  scores: Record<string, number>;
  thresholds: Record<string, number>;
  windowsDetected: number;
  windows: number;
}

function summarize(r: ReturnType<typeof scoreCorpus>): Row {
  return {
    scores: Object.fromEntries(PROFILE_NAMES.map((p) => [p, Math.round(r[p].normalizedScore * 100) / 100])),
    thresholds: Object.fromEntries(PROFILE_NAMES.map((p) => [p, r[p].threshold])),
    windowsDetected: r.standard.windowsDetected,
    windows: r.standard.windows,
  };
}

const { dev, heldOut } = halves(files);
const report: Record<string, unknown> = { nab: path.relative(ROOT, NAB) || '.', files: files.length, points, reps: REPS, warmup: WARMUP, batch: BATCH, layouts: {} };
log(`NAB corpus ${path.relative(ROOT, NAB)}: ${files.length} files, ${points.toLocaleString('en')} points; dev half ${dev.length} files, held-out half ${heldOut.length} files`);

/** The four rows of scores: full corpus, dev half, held-out half, held-out at the dev half's thresholds. */
function rows(scores: ReadonlyMap<string, Float64Array>) {
  const full = summarize(scoreCorpus(prepareCorpus(inputs(files, scores, windows)), NAB_PROFILES));
  const devRow = summarize(scoreCorpus(prepareCorpus(inputs(dev, scores, windows)), NAB_PROFILES));
  const heldRow = summarize(scoreCorpus(prepareCorpus(inputs(heldOut, scores, windows)), NAB_PROFILES));
  const heldAtDev = summarize(scoreCorpusAtThresholds(prepareCorpus(inputs(heldOut, scores, windows)), devRow.thresholds, NAB_PROFILES));
  return { full, dev: devRow, heldOut: heldRow, heldOutAtDevThresholds: heldAtDev };
}

function printRows(r: ReturnType<typeof rows>): void {
  log('  set                               standard   low FP   low FN   windows   thresholds (standard / low FP / low FN)');
  const line = (name: string, row: Row) =>
    log(
      `  ${name.padEnd(32)}${row.scores.standard.toFixed(1).padStart(9)}${row.scores.reward_low_FP_rate.toFixed(1).padStart(9)}${row.scores.reward_low_FN_rate.toFixed(1).padStart(9)}` +
        `${`${row.windowsDetected}/${row.windows}`.padStart(10)}   ${PROFILE_NAMES.map((p) => row.thresholds[p].toFixed(4)).join(' / ')}`,
    );
  line('full corpus', r.full);
  line(`dev half (${dev.length} files)`, r.dev);
  line(`held-out half (${heldOut.length} files)`, r.heldOut);
  line('held-out at the dev thresholds', r.heldOutAtDevThresholds);
}

if (STEP) {
  // the production step model: both cores, compared score for score, then the four rows
  const wasmRun = runStepModelOnCorpus(files, 'wasm', { metricRepeatReadings: REPEAT });
  const refRun = runStepModelOnCorpus(files, 'ts', { metricRepeatReadings: REPEAT });
  let differing = 0;
  for (const f of files) {
    const a = wasmRun.scores.get(f.relativePath)!;
    const b = refRun.scores.get(f.relativePath)!;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differing++;
  }
  if (differing > 0) {
    process.stderr.write(`bench:nab: the WASM core and the reference core differ on ${differing} points (step model)\n`);
    process.exit(1);
  }
  const r = rows(wasmRun.scores);
  report.step = { metricRepeatReadings: REPEAT, ...r, enginesAgree: true, rejected: wasmRun.rejected, unscoredFlags: wasmRun.unscoredFlags, pointsPerSecond: Math.round(wasmRun.points / wasmRun.seconds) };
  log(`\nproduction metric step model, each series through the scoring core as one device (src/nab/step.ts); metricRepeatReadings ${REPEAT}`);
  printRows(r);
  log(`  scores: WASM core = reference core on all ${points.toLocaleString('en')} points; ${wasmRun.rejected} rows rejected, ${wasmRun.unscoredFlags} flags behind stronger findings`);
  log(`  one cold pass, messages encoded and scored: ${Math.round(wasmRun.points / wasmRun.seconds).toLocaleString('en')} points/s (WASM core), ${Math.round(refRun.points / refRun.seconds).toLocaleString('en')} (reference)`);
}

if (GATED) {
  const nab = runDetectorOnCorpus(files, 'standard', 'wasm').scores;
  const step = runStepModelOnCorpus(files, 'wasm', { metricZ: METRIC_Z }).scores;
  const gated = new Map<string, Float64Array>();
  let kept = 0;
  for (const f of files) {
    const a = nab.get(f.relativePath)!;
    const b = step.get(f.relativePath)!;
    const g = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) {
      if (b[i] > 0) g[i] = a[i];
      if (g[i] > 0) kept++;
    }
    gated.set(f.relativePath, g);
  }
  const r = rows(gated);
  report.gated = { metricZ: METRIC_Z, rowsScored: kept, ...r };
  log(`\nNAB detector (standard layout) where the step model, metricZ ${METRIC_Z}, flags the row; 0 elsewhere (${kept.toLocaleString('en')} rows keep a score)`);
  printRows(r);
}

const out = new Float64Array(files.reduce((n, f) => Math.max(n, f.values.length), 0));

/** One pass over the corpus (fresh state per file), in points per second. */
function pass(detector: SeriesDetector): number {
  const t0 = performance.now();
  for (const f of files) {
    detector.reset();
    detector.scoreValues(f.values, out);
  }
  return points / ((performance.now() - t0) / 1000);
}

/** One pass calling the WASM core once per point (what batching saves). */
function passPerPoint(detector: WasmMetricDetector): number {
  const t0 = performance.now();
  for (const f of files) {
    detector.reset();
    const vs = f.values;
    for (let i = 0; i < vs.length; i++) out[i] = detector.score(0, vs[i]);
  }
  return points / ((performance.now() - t0) / 1000);
}

interface Speed {
  mean: number;
  sd: number;
  min: number;
  max: number;
}

function speed(xs: number[]): Speed {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean: Math.round(mean), sd: Math.round(sd), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)) };
}

const fmt = (x: Speed) => `${(x.mean / 1e6).toFixed(2)} M ± ${(x.sd / 1e6).toFixed(2)} M points/s (${(x.min / 1e6).toFixed(2)}–${(x.max / 1e6).toFixed(2)} M)`;

for (const layout of LAYOUTS) {
  // scores of both engines, compared bit for bit
  const { scores } = runDetectorOnCorpus(files, layout.name, 'wasm');
  const tsRun = runDetectorOnCorpus(files, layout.name, 'ts');
  let differing = 0;
  for (const f of files) {
    const a = scores.get(f.relativePath)!;
    const b = tsRun.scores.get(f.relativePath)!;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differing++;
  }
  if (differing > 0) {
    process.stderr.write(`bench:nab: the WASM and TS engines differ on ${differing} points (${layout.name} layout)\n`);
    process.exit(1);
  }

  // throughput: warm-up, then REPS rounds alternating which engine goes first
  const ts = new MetricDetector({ layout: layout.name });
  const wasm = new WasmMetricDetector({ layout: layout.name, batch: BATCH });
  for (let w = 0; w < WARMUP; w++) {
    pass(ts);
    pass(wasm);
    passPerPoint(wasm);
  }
  const tsSpeeds: number[] = [];
  const wasmSpeeds: number[] = [];
  const perPointSpeeds: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    if (rep % 2 === 0) {
      tsSpeeds.push(pass(ts));
      wasmSpeeds.push(pass(wasm));
    } else {
      wasmSpeeds.push(pass(wasm));
      tsSpeeds.push(pass(ts));
    }
    perPointSpeeds.push(passPerPoint(wasm));
  }
  const speeds = { wasm: speed(wasmSpeeds), ts: speed(tsSpeeds), wasmPerPoint: speed(perPointSpeeds) };
  const ratio = Math.round((speeds.wasm.mean / speeds.ts.mean) * 100) / 100;

  const r = rows(scores);
  (report.layouts as Record<string, unknown>)[layout.name] = {
    stateBytes: layout.bytes,
    pointsPerSecond: speeds.wasm.mean,
    enginesAgree: true,
    speed: { ...speeds, ratio },
    ...r,
  };

  log(`\nlayout ${layout.name} (${layout.bytes} bytes per series)`);
  printRows(r);
  log(`  scores: WASM core = TypeScript reference on all ${points.toLocaleString('en')} points, bit for bit`);
  log(`  speed (mean ± sd of ${REPS} passes over the corpus after ${WARMUP} warm-up passes; detector time only):`);
  log(`    WASM core, batches of ${BATCH}     ${fmt(speeds.wasm)}`);
  log(`    TypeScript reference        ${fmt(speeds.ts)}`);
  log(`    WASM core, one call a point ${fmt(speeds.wasmPerPoint)}`);
  log(`    WASM / TypeScript: ${ratio.toFixed(2)}×`);
}

if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
