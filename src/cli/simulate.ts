// `edge-sentinel simulate`: write a deterministic simulated fleet (telemetry.ndjson) and
// its ground truth (labels.json) to a directory.

import { parseArgs } from 'node:util';
import { DEFAULT_START, type FleetOptions, type FleetProfile, simulateToDir } from '../ingest/simulator';

export const SIMULATE_USAGE = `Usage: edge-sentinel simulate --devices N --hours H --seed S --out DIR [options]

Write a deterministic simulated IoT fleet with labelled attacks and benign changes:
  DIR/telemetry.ndjson   one telemetry message per line, in arrival order
  DIR/labels.json        ground truth: attacks (line index, window, expected alert kinds),
                         benign changes, shared (NAT) sources
The same options and seed always give byte-identical files.

Required:
  --devices N          fleet size (1 … 1000000)
  --hours H            simulated duration in hours (> 0, fractions allowed)
  --seed S             random seed (integer or text)
  --out DIR            output directory (created if missing; files are overwritten)

Options:
  --attacks N          number of attacks, each on its own device
                       (default: devices/40, at least one of each of the 10 types)
  --with-arrival       add "arrivalTs" (ms) to every line
  --start ISO          simulated start time (default ${new Date(DEFAULT_START).toISOString()})
  --benign-rate R      benign changes per device per day (default 0.25; 0 = none)
  --profile NAME       default | bench (bench: ~200-byte lines, 2 metrics, no attacks)
  -h, --help           show this help

Example:
  edge-sentinel simulate --devices 1000 --hours 24 --seed 42 --out ./sim
`;

export interface CommandIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

class UsageError extends Error {}

function intArg(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`--${name} must be an integer, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function numArg(name: string, v: string | undefined, min: number, max: number, minExclusive = false): number | undefined {
  if (v === undefined) return undefined;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || (minExclusive ? n <= min : n < min) || n > max) {
    throw new UsageError(`--${name} must be a number ${minExclusive ? 'above' : 'from'} ${min} ${minExclusive ? 'and at most' : 'to'} ${max}, got '${v}'`);
  }
  return n;
}

function parse(argv: string[]): { help: true } | { help: false; opts: FleetOptions; out: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        devices: { type: 'string' },
        hours: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        attacks: { type: 'string' },
        'with-arrival': { type: 'boolean' },
        start: { type: 'string' },
        'benign-rate': { type: 'string' },
        profile: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const m = /'([^']+)'/.exec(err.message ?? '');
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${m ? m[1] : ''}`.trim());
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument ${m ? m[1] : ''}`.trim());
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError((err.message ?? 'invalid option value').split('\n')[0]);
    throw new UsageError((err.message ?? String(e)).split('\n')[0]);
  }
  if (values.help) return { help: true };
  for (const req of ['devices', 'hours', 'seed', 'out'] as const) {
    if (values[req] === undefined || values[req] === '') throw new UsageError(`--${req} is required`);
  }
  const seedText = values.seed ?? '';
  const seed: number | string = /^-?\d{1,15}$/.test(seedText) ? Number(seedText) : seedText;
  let start: number | undefined;
  if (values.start !== undefined) {
    start = Date.parse(values.start);
    if (!Number.isFinite(start) || start < 0) throw new UsageError(`--start must be an ISO-8601 date-time, got '${values.start}'`);
  }
  const profile = values.profile;
  if (profile !== undefined && profile !== 'default' && profile !== 'bench') {
    throw new UsageError(`--profile must be default or bench, got '${profile}'`);
  }
  const opts: FleetOptions = {
    devices: intArg('devices', values.devices, 1, 1_000_000) ?? 0,
    hours: numArg('hours', values.hours, 0, 8760, true) ?? 0,
    seed,
    start,
    attacks: intArg('attacks', values.attacks, 0, 1_000_000),
    arrivalField: values['with-arrival'] === true,
    benignRate: numArg('benign-rate', values['benign-rate'], 0, 100),
    profile: profile as FleetProfile | undefined,
  };
  return { help: false, opts, out: values.out ?? '' };
}

const PROGRESS_EVERY_MS = 3000;

/** Run `edge-sentinel simulate`; returns the exit code (0 ok, 2 usage error, 1 failure). */
export async function simulateCommand(argv: string[], io: CommandIO = process): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`edge-sentinel simulate: ${e.message} (see --help)\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    io.stdout.write(SIMULATE_USAGE);
    return 0;
  }
  const { opts, out } = parsed;
  const t0 = Date.now();
  let lastReport = t0;
  try {
    const s = await simulateToDir(opts, out, {
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastReport < PROGRESS_EVERY_MS) return;
        lastReport = now;
        io.stderr.write(
          `simulate: ${p.lines.toLocaleString('en-US')} lines, simulated hour ${p.hour.toFixed(1)}/${p.hours}, ${Math.round((now - t0) / 1000)} s\n`,
        );
      },
    });
    io.stdout.write(
      `simulate: wrote ${s.lines.toLocaleString('en-US')} lines (${(s.bytes / 1e6).toFixed(1)} MB) for ${s.devices} devices × ${s.hours} h, ` +
        `${s.attacks} attacks, ${s.benign} benign changes, to ${s.telemetryPath} and ${s.labelsPath} ` +
        `in ${(s.elapsedMs / 1000).toFixed(1)} s (${s.linesPerSecond.toLocaleString('en-US')} lines/s)\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof RangeError) {
      io.stderr.write(`edge-sentinel simulate: ${e.message} (see --help)\n`);
      return 2;
    }
    io.stderr.write(`edge-sentinel simulate: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  simulateCommand(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`edge-sentinel simulate: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
