// Reading NAB's data directory (data/<category>/<name>.csv with columns timestamp,value)
// and label file (labels/combined_windows.json), and writing / reading NAB's results
// format: <results>/<detector>/<category>/<detector>_<name>.csv with the columns
// timestamp,value,anomaly_score,label (label = 1 inside a window), which NAB's own
// scorer (`run.py --optimize --score --normalize`) reads, so a claimed score can be checked.

import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SeriesInput, WindowLimits } from './scorer';

/** One NAB data file. */
export interface DataFile {
  /** NAB's key, with "/" separators: "<category>/<name>.csv". */
  readonly relativePath: string;
  /** Timestamps as written in the file, and as milliseconds (see parseNabTimestamp). */
  readonly timestampText: readonly string[];
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/** One results file of a detector. */
export interface ResultsFile {
  readonly relativePath: string;
  readonly timestampText: readonly string[];
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly anomalyScores: Float64Array;
  readonly labels: Uint8Array;
}

/** Windows of each data file, keyed by "<category>/<name>.csv", limits in milliseconds. */
export type WindowsMap = Record<string, WindowLimits[]>;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/;

/**
 * Parses NAB's timestamps ("2014-04-10 07:15:00" in data files, "2014-04-10
 * 07:15:00.000000" in label files) to milliseconds, reading them as UTC (NAB's are naive).
 */
export function parseNabTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text.trim());
  if (m === null) throw new Error(`not a NAB timestamp: ${JSON.stringify(text)}`);
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0);
  return m[7] ? ms + Number(`0.${m[7]}`) * 1000 : ms;
}

/** Milliseconds back to NAB's "YYYY-MM-DD HH:MM:SS" (with ".ffffff" when not whole seconds). */
export function formatNabTimestamp(ms: number): string {
  const whole = Math.floor(ms / 1000) * 1000;
  const iso = new Date(whole).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const micros = Math.round((ms - whole) * 1000);
  return micros === 0 ? base : `${base}.${String(micros).padStart(6, '0')}`;
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines;
}

function parseNumber(text: string, what: string): number {
  const v = text.trim() === '' ? NaN : Number(text);
  if (Number.isNaN(v) && !/^\s*nan\s*$/i.test(text)) throw new Error(`${what}: not a number: ${JSON.stringify(text)}`);
  return v;
}

interface Table {
  header: string[];
  rows: string[][];
}

function parseCsv(text: string, what: string): Table {
  const lines = splitLines(text);
  if (lines.length === 0) throw new Error(`${what}: empty file`);
  const header = lines[0].split(',').map((h) => h.trim());
  const rows: string[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    if (cells.length < header.length) throw new Error(`${what}: line ${i + 1} has ${cells.length} columns`);
    rows.push(cells);
  }
  return { header, rows };
}

function column(t: Table, name: string, what: string): number {
  const c = t.header.indexOf(name);
  if (c < 0) throw new Error(`${what}: no "${name}" column (header: ${t.header.join(',')})`);
  return c;
}

/** Parses a NAB data CSV (timestamp,value). */
export function parseDataCsv(text: string, relativePath: string): DataFile {
  const t = parseCsv(text, relativePath);
  const ct = column(t, 'timestamp', relativePath);
  const cv = column(t, 'value', relativePath);
  const n = t.rows.length;
  const timestampText: string[] = new Array(n);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = t.rows[i];
    timestampText[i] = r[ct].trim();
    timestamps[i] = parseNabTimestamp(r[ct]);
    values[i] = parseNumber(r[cv], `${relativePath} line ${i + 2}`);
  }
  return { relativePath, timestampText, timestamps, values };
}

function listCsv(root: string, rel = ''): string[] {
  const out: string[] = [];
  const dir = rel === '' ? root : path.join(root, ...rel.split('/'));
  for (const entry of readdirSync(dir).sort()) {
    const relPath = rel === '' ? entry : `${rel}/${entry}`;
    const st = statSync(path.join(dir, entry));
    if (st.isDirectory()) out.push(...listCsv(root, relPath));
    else if (entry.endsWith('.csv')) out.push(relPath);
  }
  return out;
}

/** The data files' keys ("<category>/<name>.csv") under NAB's data directory, sorted. */
export function listDataFiles(dataDir: string): string[] {
  return listCsv(dataDir);
}

/** Reads one data file, given NAB's data directory and its key. */
export function readDataFile(dataDir: string, relativePath: string): DataFile {
  return parseDataCsv(readFileSync(path.join(dataDir, ...relativePath.split('/')), 'utf8'), relativePath);
}

/** Reads every data file under NAB's data directory (sorted by key). */
export function readCorpus(dataDir: string): DataFile[] {
  return listDataFiles(dataDir).map((rel) => readDataFile(dataDir, rel));
}

/** Parses combined_windows.json: { "<category>/<name>.csv": [[start, end], ...] }. */
export function parseWindows(json: unknown): WindowsMap {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('NAB windows: expected an object keyed by data file');
  }
  const out: WindowsMap = {};
  for (const [key, list] of Object.entries(json as Record<string, unknown>)) {
    if (!Array.isArray(list)) throw new Error(`NAB windows for ${key}: expected a list`);
    out[key] = list.map((w): WindowLimits => {
      if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== 'string' || typeof w[1] !== 'string') {
        throw new Error(`NAB windows for ${key}: each window must be [start, end] timestamps`);
      }
      return [parseNabTimestamp(w[0]), parseNabTimestamp(w[1])];
    });
  }
  return out;
}

/** Reads NAB's labels/combined_windows.json. */
export function readWindows(windowsPath: string): WindowsMap {
  return parseWindows(JSON.parse(readFileSync(windowsPath, 'utf8')));
}

/** NAB's labels: 1 for rows whose timestamp lies in a window (limits included), else 0. */
export function labelRows(timestamps: ArrayLike<number>, windows: readonly WindowLimits[]): Uint8Array {
  const labels = new Uint8Array(timestamps.length);
  for (const [t1, t2] of windows) {
    for (let i = 0; i < timestamps.length; i++) {
      if (timestamps[i] >= t1 && timestamps[i] <= t2) labels[i] = 1;
    }
  }
  return labels;
}

/**
 * Checks a detector name for NAB's results layout: it becomes a directory and a file-name
 * prefix, and NAB's normalize step takes the detector name as the text before the first "_".
 */
export function checkDetectorName(detector: string): void {
  if (!/^[A-Za-z0-9.-]+$/.test(detector) || detector === '.' || detector === '..') {
    throw new Error(
      `detector name ${JSON.stringify(detector)}: use letters, digits, "-" or "." only ` +
        '(no "_": NAB splits result file names on it)',
    );
  }
}

/** <results>/<detector>/<category>/<detector>_<name>.csv for the data file "<category>/<name>.csv". */
export function resultsFilePath(resultsDir: string, detector: string, relativePath: string): string {
  checkDetectorName(detector);
  const parts = relativePath.split('/');
  const file = parts.pop() as string;
  return path.join(resultsDir, detector, ...parts, `${detector}_${file}`);
}

/** The rows of a results file. */
export interface ResultsRows {
  readonly timestampText: readonly string[];
  readonly values: ArrayLike<number>;
  readonly anomalyScores: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
}

/** Formats a number so that it reads back identically (shortest round-trip form). */
function num(v: number): string {
  return Number.isNaN(v) ? 'nan' : String(v);
}

/** Writes one results file (directories created as needed). */
export function writeResultsFile(filePath: string, rows: ResultsRows): void {
  const n = rows.timestampText.length;
  if (rows.values.length !== n || rows.anomalyScores.length !== n || rows.labels.length !== n) {
    throw new Error(`${filePath}: columns of different lengths`);
  }
  const out: string[] = new Array(n + 1);
  out[0] = 'timestamp,value,anomaly_score,label';
  for (let i = 0; i < n; i++) {
    out[i + 1] = `${rows.timestampText[i]},${num(rows.values[i])},${num(rows.anomalyScores[i])},${rows.labels[i] ? 1 : 0}`;
  }
  mkdirSync(path.dirname(filePath), { recursive: true });
  writeFileSync(filePath, out.join('\n') + '\n');
}

/**
 * Writes a detector's scores for one data file in NAB's results layout, labels from the
 * file's windows; returns the path written.
 */
export function writeDetectorResults(
  resultsDir: string,
  detector: string,
  data: DataFile,
  anomalyScores: ArrayLike<number>,
  windows: readonly WindowLimits[],
): string {
  if (anomalyScores.length !== data.timestamps.length) {
    throw new Error(`${data.relativePath}: ${anomalyScores.length} scores for ${data.timestamps.length} rows`);
  }
  const filePath = resultsFilePath(resultsDir, detector, data.relativePath);
  writeResultsFile(filePath, {
    timestampText: data.timestampText,
    values: data.values,
    anomalyScores,
    labels: labelRows(data.timestamps, windows),
  });
  return filePath;
}

/** Parses a results CSV (NAB's columns; extra columns, e.g. NAB's S(t)_<profile>, ignored). */
export function parseResultsCsv(text: string, relativePath: string): ResultsFile {
  const t = parseCsv(text, relativePath);
  const ct = column(t, 'timestamp', relativePath);
  const cv = column(t, 'value', relativePath);
  const cs = column(t, 'anomaly_score', relativePath);
  const cl = t.header.indexOf('label');
  const n = t.rows.length;
  const timestampText: string[] = new Array(n);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  const anomalyScores = new Float64Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = t.rows[i];
    const where = `${relativePath} line ${i + 2}`;
    timestampText[i] = r[ct].trim();
    timestamps[i] = parseNabTimestamp(r[ct]);
    values[i] = parseNumber(r[cv], where);
    anomalyScores[i] = parseNumber(r[cs], where);
    labels[i] = cl >= 0 && parseNumber(r[cl], where) !== 0 ? 1 : 0;
  }
  return { relativePath, timestampText, timestamps, values, anomalyScores, labels };
}

/** Reads one results file; `relativePath` is the data file's key it belongs to. */
export function readResultsFile(filePath: string, relativePath: string): ResultsFile {
  return parseResultsCsv(readFileSync(filePath, 'utf8'), relativePath);
}

/**
 * Reads all of a detector's results files under <results>/<detector>/, keyed by their data
 * file ("<category>/<name>.csv"). Like NAB, files whose name contains "_scores.csv" (NAB's
 * own summaries) are skipped, as are files outside a category directory.
 */
export function readDetectorResults(resultsDir: string, detector: string): ResultsFile[] {
  checkDetectorName(detector);
  const root = path.join(resultsDir, detector);
  const prefix = `${detector}_`;
  const out: ResultsFile[] = [];
  for (const rel of listCsv(root)) {
    const parts = rel.split('/');
    const file = parts.pop() as string;
    if (parts.length === 0 || file.includes('_scores.csv') || !file.startsWith(prefix)) continue;
    const key = [...parts, file.slice(prefix.length)].join('/');
    out.push(readResultsFile(path.join(root, ...rel.split('/')), key));
  }
  return out;
}

/** Pairs results files with their windows, ready for the scorer. Throws for a file the
 *  windows do not know (as NAB does). */
export function resultsToSeries(results: readonly ResultsFile[], windows: WindowsMap): SeriesInput[] {
  return results.map((r) => {
    const w = windows[r.relativePath];
    if (w === undefined) throw new Error(`no windows for ${r.relativePath}`);
    return { name: r.relativePath, timestamps: r.timestamps, scores: r.anomalyScores, windows: w };
  });
}
