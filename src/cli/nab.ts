// `edge-sentinel nab`: runs a metric model over every series of a NAB corpus (each file =
// one device, one metric, rows in order, no look-ahead), writes the scores in NAB's own
// results format and prints the normalised scores of NAB's three profiles, computed by the
// project's own implementation of NAB's rules (src/nab/scorer.ts). Two models: the NAB
// detector (src/nab/detector.ts, the default) and the production metric step model, fed
// through the real scoring core (`--model step`, src/nab/step.ts).

import { existsSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { checkDetectorName, DataFile, readCorpus, readWindows, WindowsMap, writeDetectorResults } from '../nab/corpus';
import { COMPACT_LAYOUT, STANDARD_LAYOUT, StateLayout } from '../nab/detector';
import { createMetricDetector, METRIC_ENGINES, MetricEngine } from '../nab/engine';
import { PROFILE_NAMES, NAB_PROFILES } from '../nab/profiles';
import { prepareCorpus, scoreCorpus, scoreCorpusAtThresholds, SeriesInput } from '../nab/scorer';
import { scoreSeriesWithCore } from '../nab/step';
import { DEFAULT_ALERT_THRESHOLD } from '../alerts/policy';
import type { CoreParams } from '../core/params';
import { choiceFlag, parseFlags, runCommand, UsageError } from './args';

export const NAB_HELP = `Usage: edge-sentinel nab --data <dir> --labels <combined_windows.json> --results <dir> [options]

Runs a metric model over every series of a Numenta Anomaly Benchmark corpus (each file
is one metric of one device, scored row by row with no look-ahead, a fresh state per
file), writes the scores in NAB's results format,
  <results>/<detector>/<category>/<detector>_<name>.csv  (timestamp,value,anomaly_score,label)
which NAB's own scorer reads, and prints the normalised scores of NAB's three profiles
(standard, reward low FP, reward low FN), each at its best corpus-wide threshold, as
computed by this project's implementation of NAB's scoring rules.

Options:
  --data <dir>          NAB's data directory: <category>/<name>.csv files      (required)
  --labels <file>       NAB's labels/combined_windows.json                     (required)
  --results <dir>       where the results are written                          (required)
  --model <nab|step>    nab: the NAB metric detector (src/nab/detector.ts);
                        step: the production metric model (the core's per-device step
                        model), each row sent through the scoring core as a message
                        {"deviceId","ts","metrics":{"value":x}} arriving at the row's
                        time, scored by its verdict's metric_anomaly score (0 when not
                        flagged); production parameters (of which only the
                        repeat window was chosen with NAB in view)
                                                                         (default: nab)
  --detector <name>     name of the results (a directory and a file prefix;
                        letters, digits, "-" and "." only)
                        (default: edge-sentinel, or edge-sentinel-step with --model step)
  --layout <standard|compact>  NAB detector state: 160 or 56 bytes per series (default: standard)
  --engine <wasm|ts>    run the model in the WASM core or the TypeScript reference;
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

export const NAB_MODELS = ['nab', 'step'] as const;
export type NabModel = (typeof NAB_MODELS)[number];

/** The results' name when --detector is not given. */
const defaultDetector = (model: NabModel) => (model === 'step' ? 'edge-sentinel-step' : 'edge-sentinel');

export interface NabRun {
  readonly model: NabModel;
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
  /** Step model: rows the core rejected, and flagged rows whose metric score the verdict did not keep (both scored 0). */
  readonly rejected: number;
  readonly unscoredFlags: number;
  /** Step model: the three profiles at the production alert line (score 0.5) instead of each one's best threshold. */
  readonly atAlertLine?: readonly NabProfileResult[];
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

/**
 * The production step model over every file: each file through a fresh scoring core as
 * one device with one metric (src/nab/step.ts); "ts" runs the TypeScript reference core.
 */
export function runStepModelOnCorpus(
  files: readonly DataFile[],
  engine: MetricEngine = 'wasm',
  params: Partial<CoreParams> = {},
): { scores: Map<string, Float64Array>; seconds: number; points: number; rejected: number; unscoredFlags: number } {
  const scores = new Map<string, Float64Array>();
  let seconds = 0;
  let points = 0;
  let rejected = 0;
  let unscoredFlags = 0;
  for (const f of files) {
    const t0 = performance.now();
    const r = scoreSeriesWithCore(f.timestamps, f.values, engine === 'ts' ? 'reference' : 'wasm', params);
    seconds += (performance.now() - t0) / 1000;
    points += f.values.length;
    rejected += r.rejected;
    unscoredFlags += r.unscoredFlags;
    scores.set(f.relativePath, r.scores);
  }
  return { scores, seconds, points, rejected, unscoredFlags };
}

/**
 * NAB's optimise + score + normalise steps over the given files (windows from `windows`);
 * with `threshold`, every profile is scored at that threshold instead of its best one.
 */
export function scoreNab(files: readonly DataFile[], windows: WindowsMap, scores: ReadonlyMap<string, Float64Array>, threshold?: number): NabProfileResult[] {
  const inputs: SeriesInput[] = files.map((f) => {
    const w = windows[f.relativePath];
    if (w === undefined) throw new Error(`the labels have no entry for ${f.relativePath}`);
    const s = scores.get(f.relativePath);
    if (s === undefined) throw new Error(`no scores for ${f.relativePath}`);
    return { name: f.relativePath, timestamps: f.timestamps, scores: s, windows: w };
  });
  const result =
    threshold === undefined
      ? scoreCorpus(prepareCorpus(inputs), NAB_PROFILES)
      : scoreCorpusAtThresholds(prepareCorpus(inputs), Object.fromEntries(PROFILE_NAMES.map((p) => [p, threshold])), NAB_PROFILES);
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
  model?: NabModel;
}): NabRun {
  const model = options.model ?? 'nab';
  const detector = options.detector ?? defaultDetector(model);
  checkDetectorName(detector);
  const files = readCorpus(options.dataDir);
  if (files.length === 0) throw new Error(`no .csv files under ${options.dataDir}`);
  const windows = readWindows(options.labelsFile);
  for (const f of files) {
    if (windows[f.relativePath] === undefined) throw new Error(`${options.labelsFile} has no entry for ${f.relativePath}`);
  }
  const layoutName = options.layout ?? 'standard';
  const engine = options.engine ?? 'wasm';
  const { scores, seconds, points, rejected, unscoredFlags } =
    model === 'step' ? runStepModelOnCorpus(files, engine) : { ...runDetectorOnCorpus(files, layoutName, engine), rejected: 0, unscoredFlags: 0 };
  if (options.resultsDir !== undefined) {
    for (const f of files) writeDetectorResults(options.resultsDir, detector, f, scores.get(f.relativePath)!, windows[f.relativePath]);
  }
  return {
    model,
    detector,
    layout: layoutName === 'compact' ? COMPACT_LAYOUT : STANDARD_LAYOUT,
    engine,
    files: files.length,
    points,
    detectorSeconds: seconds,
    pointsPerSecond: seconds > 0 ? points / seconds : 0,
    profiles: scoreNab(files, windows, scores),
    scores,
    rejected,
    unscoredFlags,
    ...(model === 'step' ? { atAlertLine: scoreNab(files, windows, scores, DEFAULT_ALERT_THRESHOLD) } : {}),
  };
}

const PROFILE_LABEL: Record<string, string> = {
  standard: 'standard',
  reward_low_FP_rate: 'reward low FP',
  reward_low_FN_rate: 'reward low FN',
};

/** The table printed by the command. */
export function formatNabRun(run: NabRun, resultsDir?: string): string {
  const what =
    run.model === 'step'
      ? 'the production metric step model through the scoring core, one device per series'
      : `${run.layout.name} layout, ${run.layout.bytes} bytes per series`;
  const lines = [
    `NAB: ${run.files} files, ${run.points.toLocaleString('en')} points; detector "${run.detector}" (${what})`,
    '  profile          score   threshold   windows detected   false positives',
  ];
  const row = (p: NabProfileResult) =>
    lines.push(
      `  ${(PROFILE_LABEL[p.profile] ?? p.profile).padEnd(15)}${p.score.toFixed(1).padStart(6)}   ${p.threshold.toFixed(4).padStart(9)}` +
        `   ${`${p.windowsDetected}/${p.windows}`.padStart(16)}   ${String(p.falsePositives).padStart(15)}`,
    );
  run.profiles.forEach(row);
  if (run.atAlertLine) {
    lines.push(`  at the production alert line (score ${DEFAULT_ALERT_THRESHOLD}) instead of each profile's best threshold:`);
    run.atAlertLine.forEach(row);
  }
  if (run.rejected > 0) lines.push(`  rows the core rejected (scored 0): ${run.rejected}`);
  if (run.unscoredFlags > 0) lines.push(`  flagged rows whose metric score the verdict did not keep (scored 0): ${run.unscoredFlags}`);
  const engine = run.engine === 'wasm' ? 'WASM core' : 'TypeScript reference';
  const timed = run.model === 'step' ? 'messages encoded and scored by the core, one cold pass' : 'detector time only, one cold pass; bench/nab.ts measures warm passes';
  lines.push(`  detector speed: ${Math.round(run.pointsPerSecond).toLocaleString('en')} points/s (${engine}, ${timed})`);
  if (resultsDir !== undefined) lines.push(`  results: ${resultsDir}/${run.detector}/<category>/${run.detector}_<name>.csv`);
  return lines.join('\n');
}

const profileJson = (p: NabProfileResult) => ({ ...p, score: round(p.score, 4), rawScore: round(p.rawScore, 4) });

/** The JSON printed with --json. */
export function nabRunJson(run: NabRun, resultsDir?: string): Record<string, unknown> {
  return {
    model: run.model,
    detector: run.detector,
    ...(run.model === 'step' ? { rejected: run.rejected, unscoredFlags: run.unscoredFlags } : {}),
    ...(run.model === 'nab' ? { layout: run.layout.name } : {}),
    engine: run.engine,
    ...(run.model === 'nab' ? { stateBytes: run.layout.bytes } : {}),
    files: run.files,
    points: run.points,
    pointsPerSecond: Math.round(run.pointsPerSecond),
    scores: Object.fromEntries(run.profiles.map((p) => [p.profile, round(p.score, 2)])),
    thresholds: Object.fromEntries(run.profiles.map((p) => [p.profile, p.threshold])),
    profiles: run.profiles.map(profileJson),
    ...(run.atAlertLine ? { atAlertLine: run.atAlertLine.map(profileJson) } : {}),
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
      model: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      process.stdout.write(NAB_HELP + '\n');
      return 0;
    }
    for (const flag of ['data', 'labels', 'results'] as const) {
      if (values[flag] === undefined || values[flag] === '') throw new UsageError(`--${flag} is required`);
    }
    const model = choiceFlag('model', values.model, NAB_MODELS, 'nab');
    const detector = values.detector ?? defaultDetector(model);
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
    const run = runNab({ dataDir, labelsFile, resultsDir, detector, layout, engine, model });
    if (values.json) process.stdout.write(JSON.stringify(nabRunJson(run, resultsDir)) + '\n');
    else process.stdout.write(formatNabRun(run, resultsDir) + '\n');
    return 0;
  });
}
