// bench:nab — the metric detector on the Numenta Anomaly Benchmark: NAB's three
// normalised scores (the project's own implementation of NAB's rules) on the full corpus
// and on the two halves used to design it without tuning on everything (files alternate
// within each category, sorted by name: the 1st, 3rd, … go to the dev half, the others
// to the held-out half), plus the detector's throughput in points/s.
//
//   node --import tsx bench/nab.ts                 human-readable
//   node --import tsx bench/nab.ts --json          one JSON object
//   options: --data <NAB root, with data/ and labels/> (default: ../shared/nab from the
//            repository root), --layout standard|compact|both (both), --reps N (10)

import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DataFile, readCorpus, readWindows, WindowsMap } from '../src/nab/corpus';
import { COMPACT_LAYOUT, MetricDetector, STANDARD_LAYOUT, StateLayout } from '../src/nab/detector';
import { NAB_PROFILES, PROFILE_NAMES } from '../src/nab/profiles';
import { prepareCorpus, scoreCorpus, scoreCorpusAtThresholds, SeriesInput } from '../src/nab/scorer';
import { runDetectorOnCorpus } from '../src/cli/nab';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    layout: { type: 'string' },
    reps: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const ROOT = path.resolve(__dirname, '..');
const NAB = path.resolve(ROOT, values.data ?? path.join('..', 'shared', 'nab'));
const REPS = Math.max(1, Number(values.reps ?? 10) | 0);
const LAYOUTS: StateLayout[] =
  values.layout === 'standard' ? [STANDARD_LAYOUT] : values.layout === 'compact' ? [COMPACT_LAYOUT] : [STANDARD_LAYOUT, COMPACT_LAYOUT];
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
const report: Record<string, unknown> = { nab: path.relative(ROOT, NAB) || '.', files: files.length, points, reps: REPS, layouts: {} };
log(`NAB corpus ${path.relative(ROOT, NAB)}: ${files.length} files, ${points.toLocaleString('en')} points; dev half ${dev.length} files, held-out half ${heldOut.length} files`);

for (const layout of LAYOUTS) {
  // scores (one pass), then throughput: best of REPS further passes over the whole corpus
  const { scores } = runDetectorOnCorpus(files, layout.name);
  const detector = new MetricDetector({ layout: layout.name });
  let best = Infinity;
  let sink = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const t0 = performance.now();
    for (const f of files) {
      detector.reset();
      const ts = f.timestamps;
      const vs = f.values;
      for (let i = 0; i < vs.length; i++) sink += detector.score(ts[i], vs[i]);
    }
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  if (!(sink >= 0)) throw new Error('unreachable');
  const pointsPerSecond = Math.round(points / best);

  const full = summarize(scoreCorpus(prepareCorpus(inputs(files, scores, windows)), NAB_PROFILES));
  const devRow = summarize(scoreCorpus(prepareCorpus(inputs(dev, scores, windows)), NAB_PROFILES));
  const heldRow = summarize(scoreCorpus(prepareCorpus(inputs(heldOut, scores, windows)), NAB_PROFILES));
  const heldAtDev = summarize(scoreCorpusAtThresholds(prepareCorpus(inputs(heldOut, scores, windows)), devRow.thresholds, NAB_PROFILES));

  (report.layouts as Record<string, unknown>)[layout.name] = {
    stateBytes: layout.bytes,
    pointsPerSecond,
    full,
    dev: devRow,
    heldOut: heldRow,
    heldOutAtDevThresholds: heldAtDev,
  };

  log(`\nlayout ${layout.name} (${layout.bytes} bytes per series)`);
  log('  set                               standard   low FP   low FN   windows   thresholds (standard / low FP / low FN)');
  const line = (name: string, r: Row) =>
    log(
      `  ${name.padEnd(32)}${r.scores.standard.toFixed(1).padStart(9)}${r.scores.reward_low_FP_rate.toFixed(1).padStart(9)}${r.scores.reward_low_FN_rate.toFixed(1).padStart(9)}` +
        `${`${r.windowsDetected}/${r.windows}`.padStart(10)}   ${PROFILE_NAMES.map((p) => r.thresholds[p].toFixed(4)).join(' / ')}`,
    );
  line('full corpus', full);
  line(`dev half (${dev.length} files)`, devRow);
  line(`held-out half (${heldOut.length} files)`, heldRow);
  line('held-out at the dev thresholds', heldAtDev);
  log(`  speed: ${pointsPerSecond.toLocaleString('en')} points/s (TypeScript reference; best of ${REPS} passes over the corpus)`);
}

if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
