// `edge-sentinel nab`: runs the metric detector over every series of a NAB corpus (each
// file = one device, one metric, rows in order, no look-ahead), writes the scores in NAB's
// own results format and prints the normalised scores of NAB's three profiles, computed
// by the project's own implementation of NAB's rules (src/nab/scorer.ts).

import { existsSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { checkDetectorName, DataFile, readCorpus, readWindows, WindowsMap, writeDetectorResults } from '../nab/corpus';
import { COMPACT_LAYOUT, STANDARD_LAYOUT, StateLayout } from '../nab/detector';
import { createMetricDetector, METRIC_ENGINES, MetricEngine } from '../nab/engine';
import { PROFILE_NAMES, NAB_PROFILES } from '../nab/profiles';
import { prepareCorpus, scoreCorpus, SeriesInput } from '../nab/scorer';
import { choiceFlag, parseFlags, runCommand, UsageError } from './args';

export const NAB_HELP = `Usage: edge-sentinel nab --data <dir> --labels <combined_windows.json> --results <dir> [options]

Runs the metric detector over every series of a Numenta Anomaly Benchmark corpus (each
file is one metric of one device, scored row by row with no look-ahead, a fresh state
per file), writes the scores in NAB's results format,
  <results>/<detector>/<category>/<detector>_<name>.csv  (timestamp,value,anomaly_score,label)
which NAB's own scorer reads, and prints the normalised scores of NAB's three profiles
(standard, reward low FP, reward low FN), each at its best corpus-wide threshold, as
computed by this project's implementation of NAB's scoring rules.

Options:
  --data <dir>          NAB's data directory: <category>/<name>.csv files      (required)
  --labels <file>       NAB's labels/combined_windows.json                     (required)
  --results <dir>       where the results are written                          (required)
  --detector <name>     name of the results (a directory and a file prefix;
                        letters, digits, "-" and "." only)             (default: edge-sentinel)
  --layout <standard|compact>  detector state: 160 or 56 bytes per series (default: standard)
  --engine <wasm|ts>    run the detector in the WASM core or the TypeScript reference;
                        both give the same scores to the last bit        (default: wasm)
  --json                print one JSON object instead of the table
  -h, --help            this text

Exit 0 on success, 1 when the corpus cannot be read or written, 2 for bad flags.`;

export interface NabProfileResult {
  readonly profile: string;
  readonly score: number;
  readonly threshold: number;
  readonly rawScore: number;
  readonly windowsDetected: number;
  readonly windows: number;
  readonly falsePositives: number;
}

export interface NabRun {
  readonly detector: string;
  readonly layout: StateLayout;
  readonly engine: MetricEngine;
  readonly files: number;
  readonly points: number;
  /** Seconds spent in the detector alone (reading, writing and scoring excluded). */
  readonly detectorSeconds: number;
  readonly pointsPerSecond: number;
  readonly profiles: readonly NabProfileResult[];
  /** Scores of every file, keyed by NAB's "<category>/<name>.csv". */
  readonly scores: ReadonlyMap<string, Float64Array>;
}

/** Scores every file with a fresh detector state; returns the scores and the detector time. */
export function runDetectorOnCorpus(
  files: readonly DataFile[],
  layout: 'standard' | 'compact' = 'standard',
  engine: MetricEngine = 'wasm',
): { scores: Map<string, Float64Array>; seconds: number; points: number } {
  const detector = createMetricDetector(engine, { layout });
  const scores = new Map<string, Float64Array>();
  let seconds = 0;
  let points = 0;
  for (const f of files) {
    const n = f.values.length;
    const out = new Float64Array(n);
    const t0 = performance.now();
    detector.reset();
    detector.scoreValues(f.values, out);
    seconds += (performance.now() - t0) / 1000;
    points += n;
    scores.set(f.relativePath, out);
  }
  return { scores, seconds, points };
}

/** NAB's optimise + score + normalise steps over the given files (windows from `windows`). */
export function scoreNab(files: readonly DataFile[], windows: WindowsMap, scores: ReadonlyMap<string, Float64Array>): NabProfileResult[] {
  const inputs: SeriesInput[] = files.map((f) => {
    const w = windows[f.relativePath];
    if (w === undefined) throw new Error(`the labels have no entry for ${f.relativePath}`);
    const s = scores.get(f.relativePath);
    if (s === undefined) throw new Error(`no scores for ${f.relativePath}`);
    return { name: f.relativePath, timestamps: f.timestamps, scores: s, windows: w };
  });
  const result = scoreCorpus(prepareCorpus(inputs), NAB_PROFILES);
  return PROFILE_NAMES.map((name) => {
    const r = result[name];
    return {
      profile: name,
      score: r.normalizedScore,
      threshold: r.threshold,
      rawScore: r.rawScore,
      windowsDetected: r.windowsDetected,
      windows: r.windows,
      falsePositives: r.fp,
    };
  });
}

/** Reads a NAB corpus, runs the detector, writes the results (when `resultsDir` is given), scores. */
export function runNab(options: {
  dataDir: string;
  labelsFile: string;
  resultsDir?: string;
  detector?: string;
  layout?: 'standard' | 'compact';
  engine?: MetricEngine;
}): NabRun {
  const detector = options.detector ?? 'edge-sentinel';
  checkDetectorName(detector);
  const files = readCorpus(options.dataDir);
  if (files.length === 0) throw new Error(`no .csv files under ${options.dataDir}`);
  const windows = readWindows(options.labelsFile);
  for (const f of files) {
    if (windows[f.relativePath] === undefined) throw new Error(`${options.labelsFile} has no entry for ${f.relativePath}`);
  }
  const layoutName = options.layout ?? 'standard';
  const engine = options.engine ?? 'wasm';
  const { scores, seconds, points } = runDetectorOnCorpus(files, layoutName, engine);
  if (options.resultsDir !== undefined) {
    for (const f of files) writeDetectorResults(options.resultsDir, detector, f, scores.get(f.relativePath)!, windows[f.relativePath]);
  }
  return {
    detector,
    layout: layoutName === 'compact' ? COMPACT_LAYOUT : STANDARD_LAYOUT,
    engine,
    files: files.length,
    points,
    detectorSeconds: seconds,
    pointsPerSecond: seconds > 0 ? points / seconds : 0,
    profiles: scoreNab(files, windows, scores),
    scores,
  };
}

const PROFILE_LABEL: Record<string, string> = {
  standard: 'standard',
  reward_low_FP_rate: 'reward low FP',
  reward_low_FN_rate: 'reward low FN',
};

/** The table printed by the command. */
export function formatNabRun(run: NabRun, resultsDir?: string): string {
  const lines = [
    `NAB: ${run.files} files, ${run.points.toLocaleString('en')} points; detector "${run.detector}" ` +
      `(${run.layout.name} layout, ${run.layout.bytes} bytes per series)`,
    '  profile          score   threshold   windows detected   false positives',
  ];
  for (const p of run.profiles) {
    lines.push(
      `  ${(PROFILE_LABEL[p.profile] ?? p.profile).padEnd(15)}${p.score.toFixed(1).padStart(6)}   ${p.threshold.toFixed(4).padStart(9)}` +
        `   ${`${p.windowsDetected}/${p.windows}`.padStart(16)}   ${String(p.falsePositives).padStart(15)}`,
    );
  }
  const engine = run.engine === 'wasm' ? 'WASM core' : 'TypeScript reference';
  lines.push(`  detector speed: ${Math.round(run.pointsPerSecond).toLocaleString('en')} points/s (${engine}, detector time only, one cold pass; bench/nab.ts measures warm passes)`);
  if (resultsDir !== undefined) lines.push(`  results: ${resultsDir}/${run.detector}/<category>/${run.detector}_<name>.csv`);
  return lines.join('\n');
}

/** The JSON printed with --json. */
export function nabRunJson(run: NabRun, resultsDir?: string): Record<string, unknown> {
  return {
    detector: run.detector,
    layout: run.layout.name,
    engine: run.engine,
    stateBytes: run.layout.bytes,
    files: run.files,
    points: run.points,
    pointsPerSecond: Math.round(run.pointsPerSecond),
    scores: Object.fromEntries(run.profiles.map((p) => [p.profile, round(p.score, 2)])),
    thresholds: Object.fromEntries(run.profiles.map((p) => [p.profile, p.threshold])),
    profiles: run.profiles.map((p) => ({ ...p, score: round(p.score, 4), rawScore: round(p.rawScore, 4) })),
    ...(resultsDir !== undefined ? { results: resultsDir } : {}),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function requireDir(flag: string, dir: string): void {
  if (!existsSync(dir)) throw new Error(`${flag} ${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new Error(`${flag} ${dir}: not a directory`);
}

export async function nabCommand(argv: string[]): Promise<number> {
  return runCommand('nab', async () => {
    const { values } = parseFlags(argv, {
      data: { type: 'string' },
      labels: { type: 'string' },
      results: { type: 'string' },
      detector: { type: 'string' },
      layout: { type: 'string' },
      engine: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      process.stdout.write(NAB_HELP + '\n');
      return 0;
    }
    for (const flag of ['data', 'labels', 'results'] as const) {
      if (values[flag] === undefined || values[flag] === '') throw new UsageError(`--${flag} is required`);
    }
    const detector = values.detector ?? 'edge-sentinel';
    try {
      checkDetectorName(detector);
    } catch (err) {
      throw new UsageError(`--detector: ${(err as Error).message}`);
    }
    const layout = choiceFlag('layout', values.layout, ['standard', 'compact'] as const, 'standard');
    const engine = choiceFlag('engine', values.engine, METRIC_ENGINES, 'wasm');
    const dataDir = values.data as string;
    const labelsFile = values.labels as string;
    const resultsDir = values.results as string;
    requireDir('--data', dataDir);
    if (!existsSync(labelsFile)) throw new Error(`--labels ${labelsFile}: no such file`);
    const run = runNab({ dataDir, labelsFile, resultsDir, detector, layout, engine });
    if (values.json) process.stdout.write(JSON.stringify(nabRunJson(run, resultsDir)) + '\n');
    else process.stdout.write(formatNabRun(run, resultsDir) + '\n');
    return 0;
  });
}
