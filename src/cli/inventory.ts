// `edge-sentinel inventory learn|report`: a draft inventory from observed traffic, and
// the credential-hygiene report of an inventory (against telemetry when given).

import { createReadStream, existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { DEFAULT_ROTATION_AGE_DAYS } from '../config';
import { learnInventory } from '../inventory/learn';
import { InventoryError, InventoryFormat, parseTime, readInventoryFile, readRevokedFile } from '../inventory/load';
import type { InventoryDevice } from '../inventory/model';
import { MAX_SOURCES_PER_DEVICE, Observations } from '../inventory/observe';
import { inventoryReport, telemetrySightings } from '../inventory/report';
import { formatReport } from '../inventory/report-text';
import { inventoryLines } from '../inventory/write';
import { choiceFlag, intFlag, parseFlags, runCommand, UsageError } from './args';

export const INVENTORY_HELP = `Usage: edge-sentinel inventory <learn|report> [options]

  learn    write a draft inventory from observed telemetry, to review and adopt
  report   credential hygiene: rotation age, expiry, shared and revoked credentials,
           devices seen but not enrolled and enrolled but never seen

Run "edge-sentinel inventory <learn|report> --help" for their options. The file formats
are in the README ("Device inventory").`;

export const LEARN_HELP = `Usage: edge-sentinel inventory learn --input <telemetry.ndjson|-> --out <file.csv|file.ndjson|-> [options]

Writes a draft inventory of what the fleet really does, so that nothing in the observed
traffic would raise an inventory alert with it. Review it before adopting it:
  credentials   every credential each device used; issuedAt is the first time it was
                seen (the real issue date is earlier, so ages in "inventory report" are
                lower bounds); no expiry
  sources       IPv4 addresses that share a /24 for one device become that /24 (DHCP moves
                devices within their subnet); a lone address stays exact; other sources
                (gateway names) stay as they are; a device with more than ${MAX_SOURCES_PER_DEVICE}
                sources gets no source rule (any source)
  minFirmware   the lowest version seen (nothing observed is flagged): raise it to your
                policy, and look twice at devices that ran several versions
  class, owner, site   left empty for you to fill in
Traffic of an attack in progress becomes part of the draft too: the summary counts what
deserves a second look (credentials used by several device ids, devices with several
credentials); "inventory report --inventory <draft> --input <telemetry>" lists them.
Malformed lines are skipped and counted.

Options:
  --input <file|->        telemetry, one JSON message per line ("-" for stdin)   (required)
  --out <file|->          the draft; the format follows the extension (.csv, .ndjson,
                          .jsonl); "-" writes to stdout                          (required)
  --format <csv|ndjson>   the format, whatever the extension   (default: from --out, csv for -)
  --min-messages <n>      leave out devices seen fewer times (a forged id often appears
                          only briefly)                                          (default: 1)
  --force                 overwrite --out if it exists
  --quiet                 no progress lines on stderr
  -h, --help              this text`;

export const REPORT_HELP = `Usage: edge-sentinel inventory report --inventory <file> [options]

Credential hygiene of an inventory: credentials past their rotation age, expired,
enrolled for several devices, revoked but still enrolled. With --input (telemetry),
also what the fleet really does: credentials seen shared, revoked or expired
credentials in use, credentials a device used that are not enrolled for it, devices
seen but not enrolled, enrolled devices never seen.

Options:
  --inventory <file>          the inventory, CSV or NDJSON   (required unless --revoked)
  --revoked <file>            the revocation list (one credential id per line)
  --input <file|->            telemetry NDJSON to compare with ("-" for stdin)
  --rotation-age-days <n>     rotation age                                (default: ${DEFAULT_ROTATION_AGE_DAYS})
  --now <ISO-8601|ms>         judge age and expiry at this instant
                              (default: the latest ts in --input, else the current time)
  --limit <n>                 rows per section in the table               (default: 50)
  --json                      the whole report as JSON (every row)
  --quiet                     no progress lines on stderr
  -h, --help                  this text

A plain table by default; exit 0 when the report was made, 2 when a file is invalid
(every problem listed).`;

export async function inventoryCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'learn') return learnCommand(rest);
  if (sub === 'report') return reportCommand(rest);
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(INVENTORY_HELP + '\n');
    return 0;
  }
  process.stderr.write(sub === undefined ? INVENTORY_HELP + '\n' : `edge-sentinel inventory: unknown subcommand "${sub}" (learn, report; see --help)\n`);
  return 2;
}

async function learnCommand(argv: string[]): Promise<number> {
  return runCommand('inventory learn', async () => {
    const { values } = parseFlags(argv, {
      input: { type: 'string', short: 'i' },
      out: { type: 'string', short: 'o' },
      format: { type: 'string' },
      'min-messages': { type: 'string' },
      force: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    });
    if (values.help) {
      process.stdout.write(LEARN_HELP + '\n');
      return 0;
    }
    if (!values.input) throw new UsageError('--input is required (a telemetry file, or - for stdin)');
    if (!values.out) throw new UsageError('--out is required (a .csv or .ndjson file, or - for stdout)');
    const out = values.out;
    const format = choiceFlag('format', values.format, ['csv', 'ndjson'] as const, formatOf(out));
    const minMessages = intFlag('min-messages', values['min-messages'], 1, 1);
    if (out !== '-' && existsSync(out) && !values.force) throw new UsageError(`${out} exists: give --force to overwrite it (a detector watching it would reload the draft)`);

    const started = performance.now();
    const obs = await Observations.read(await openInput(values.input), values.quiet ? undefined : (o) => progress('learn', o));
    const { devices, notes } = learnInventory(obs, { minMessages });
    await writeLines(out, inventoryLines(devices.values(), format));

    const log = (s: string) => process.stderr.write(`learn: ${s}\n`);
    log(
      `${obs.lines.toLocaleString('en')} lines (${obs.malformed.toLocaleString('en')} malformed, skipped), ${obs.devices.size.toLocaleString('en')} devices seen → ` +
        `${notes.devices.toLocaleString('en')} devices, ${notes.credentials.toLocaleString('en')} credentials written to ${out === '-' ? 'stdout' : out} (${format}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const review: string[] = [];
    const count = (n: number, one: string, many: string) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
    if (notes.skipped) review.push(`${count(notes.skipped, 'device', 'devices')} seen fewer than ${minMessages} times left out`);
    if (notes.sharedCredentials) review.push(`${count(notes.sharedCredentials, 'credential is', 'credentials are')} used by several device ids (enrolled for each of them)`);
    if (notes.multiCredential) review.push(`${count(notes.multiCredential, 'device', 'devices')} used several credentials (a rotation, or a stolen credential in use)`);
    if (notes.anySource) review.push(`${count(notes.anySource, 'device has', 'devices have')} no source rule (too many sources, or one no rule can express)`);
    if (notes.firmwareVaried) review.push(`${count(notes.firmwareVaried, 'device', 'devices')} ran several firmware versions (minFirmware is the lowest)`);
    for (const r of review) log(`review: ${r}`);
    return 0;
  });
}

async function reportCommand(argv: string[]): Promise<number> {
  return runCommand('inventory report', async () => {
    const { values } = parseFlags(argv, {
      inventory: { type: 'string' },
      revoked: { type: 'string' },
      input: { type: 'string', short: 'i' },
      'rotation-age-days': { type: 'string' },
      now: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    });
    if (values.help) {
      process.stdout.write(REPORT_HELP + '\n');
      return 0;
    }
    if (!values.inventory && !values.revoked) throw new UsageError('--inventory is required (or at least --revoked)');
    const rotationAgeDays = intFlag('rotation-age-days', values['rotation-age-days'], DEFAULT_ROTATION_AGE_DAYS, 1, 36_500);
    const limit = intFlag('limit', values.limit, 50, 1);
    let now: number | undefined;
    if (values.now !== undefined) {
      const t = parseTime(values.now);
      if (typeof t === 'string') throw new UsageError(`--now "${values.now}" ${t}`);
      now = t;
    }

    const problems: string[] = [];
    const load = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await f();
      } catch (e) {
        if (e instanceof InventoryError) problems.push(...e.problems);
        else throw e;
        return undefined;
      }
    };
    const devices = values.inventory ? await load(() => readInventoryFile(values.inventory!)) : undefined;
    const revoked = values.revoked ? await load(() => readRevokedFile(values.revoked!)) : undefined;
    if (problems.length) {
      for (const p of problems) process.stderr.write(`edge-sentinel inventory report: ${p}\n`);
      return 2;
    }

    let obs: Observations | undefined;
    if (values.input) {
      obs = await Observations.read(await openInput(values.input), values.quiet ? undefined : (o) => progress('report', o));
      if (obs.malformed && !values.quiet) process.stderr.write(`report: ${obs.malformed.toLocaleString('en')} of ${obs.lines.toLocaleString('en')} lines in ${values.input} are not valid telemetry (skipped)\n`);
    }
    now ??= obs && obs.latestTs > -Infinity ? obs.latestTs : Date.now();
    const report = inventoryReport({ devices: devices as Map<string, InventoryDevice> | undefined, revoked: revoked ?? new Set() }, obs && telemetrySightings(obs), {
      now,
      rotationAgeDays,
      limit: values.json ? undefined : limit,
    });
    const source = values.input === undefined ? undefined : values.input === '-' ? 'stdin' : basename(values.input);
    process.stdout.write(values.json ? JSON.stringify(report) + '\n' : formatReport(report, source));
    return 0;
  });
}

function formatOf(out: string): InventoryFormat {
  const ext = extname(out).toLowerCase();
  return ext === '.ndjson' || ext === '.jsonl' ? 'ndjson' : 'csv';
}

async function openInput(input: string): Promise<Readable> {
  if (input === '-') return process.stdin;
  const stream = createReadStream(input, { highWaterMark: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    stream.once('error', (e: Error) => reject(new Error(`cannot read ${input}: ${e.message}`)));
    stream.once('readable', () => resolve());
  });
  return stream;
}

function progress(what: string, o: Observations): void {
  process.stderr.write(`${what}: ${o.lines.toLocaleString('en')} lines, ${o.devices.size.toLocaleString('en')} devices so far\n`);
}

/** To a temporary file renamed into place: a detector watching `out` never reads half of it. */
async function writeLines(out: string, lines: Iterable<string>): Promise<void> {
  if (out === '-') {
    for (const l of lines) if (!process.stdout.write(l + '\n')) await new Promise((r) => process.stdout.once('drain', r));
    return;
  }
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  let fh;
  try {
    fh = await open(tmp, 'w');
  } catch (e) {
    throw new Error(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    let buf: string[] = [];
    for (const l of lines) {
      buf.push(l);
      if (buf.length >= 4096) {
        await fh.write(buf.join('\n') + '\n');
        buf = [];
      }
    }
    if (buf.length) await fh.write(buf.join('\n') + '\n');
    await fh.close();
    await rename(tmp, out);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
