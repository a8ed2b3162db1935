// `edge-sentinel replay`: score an NDJSON telemetry file (or stdin) offline and write
// the alerts, one line per incident, in their final form (count, lastSeen) when the
// incident closes or the input ends.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ENGINES } from '../core';
import { ALERT_KINDS, BAD_REASONS, Reason, SWEEP_MESSAGE, V } from '../core/layout';
import { DEFAULT_PARAMS } from '../core/params';
import { Detector, formatCounts, sumCounts } from '../detector';
import { LineSplitter, splitStream } from '../ingest/lines';
import { choiceFlag, intFlag, parseFlags, runCommand, UsageError } from './args';
import { LineWriter, openChecked } from './output';
import { stderrLog } from '../log';
import { attachInventory } from '../inventory/attach';
import { InventoryError } from '../inventory/load';
import type { InventoryWatcher } from '../inventory/watch';

export const REPLAY_HELP = `Usage: edge-sentinel replay --input <file|-> [options]

Scores NDJSON telemetry (one JSON message per line, in arrival order) and writes the
alerts as NDJSON, one line per incident. Bad lines are skipped and counted. A line may
carry "arrivalTs" (ms); otherwise arrival time comes from a fleet clock derived from the
stream itself.

Options:
  --input <file|->       telemetry to score ("-" for stdin)                  (required)
  --alerts <file|->      where alerts go ("-" for stdout)                    (default: -)
  --scores <file|->      also write one line per event: {"deviceId","ts","score","reasons"}
  --dead-letter <file>   write rejected lines here, prefixed by their reason and a tab
  --engine <wasm|reference>  scoring core                                   (default: wasm)
  --capacity <n>         devices tracked at once                              (default: ${DEFAULT_PARAMS.capacity})
  --inventory <file>     enrolled devices, CSV or NDJSON: raises the inventory alerts
                         (unknown_device, revoked_credential, …); reloaded when the file
                         changes, so lines read after a change are judged by the new one
  --revoked <file>       revoked credential ids, one per line
  --quiet                no progress lines on stderr
  -h, --help             this text

Ends with a one-line summary on stderr. Exit 0 unless the input cannot be read (1) or an
inventory file is invalid (2, every problem listed).`;

const REASON_NAMES = [...ALERT_KINDS, ...Object.keys(Reason).filter((k) => Reason[k as keyof typeof Reason] >= 1 << 24).map((k) => k.toLowerCase())];
const REASON_BITS = [...ALERT_KINDS.map((_, i) => 1 << i), ...Object.values(Reason).filter((v) => v >= 1 << 24)];

function reasonList(bits: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < REASON_BITS.length; i++) if (bits & REASON_BITS[i]) out.push(REASON_NAMES[i]);
  return out;
}

export async function replayCommand(argv: string[]): Promise<number> {
  return runCommand('replay', async () => {
    const { values } = parseFlags(argv, {
      input: { type: 'string', short: 'i' },
      alerts: { type: 'string', short: 'a' },
      scores: { type: 'string' },
      'dead-letter': { type: 'string' },
      engine: { type: 'string' },
      capacity: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      inventory: { type: 'string' },
      revoked: { type: 'string' },
    });
    if (values.help) {
      process.stdout.write(REPLAY_HELP + '\n');
      return 0;
    }
    if (!values.input) throw new UsageError('--input is required (a file, or - for stdin)');
    const engine = choiceFlag('engine', values.engine, ENGINES, 'wasm');
    const capacity = intFlag('capacity', values.capacity, DEFAULT_PARAMS.capacity, 8, 1 << 23);

    let input: Readable;
    if (values.input === '-') input = process.stdin;
    else {
      input = createReadStream(values.input, { highWaterMark: 1 << 20 });
      await new Promise<void>((resolve, reject) => {
        input.once('error', (e: Error) => reject(new Error(`cannot read ${values.input}: ${e.message}`)));
        input.once('readable', () => resolve());
      });
    }
    const alerts = await openChecked(values.alerts ?? '-', 'alerts');
    const scores = values.scores ? await openChecked(values.scores, 'scores') : undefined;
    const dlq = values['dead-letter'] ? await openChecked(values['dead-letter'], 'dead letters') : undefined;
    const file = values.input === '-' ? 'stdin' : values.input;

    const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // dead letters as they came, a leading U+FEFF too
    const started = performance.now();
    const detector = new Detector({
      engine,
      params: { capacity },
      policy: {},
      onAlert: (e) => {
        if (e.type === 'closed') alerts.write(JSON.stringify(e.alert));
      },
      originOf: (line) => ({ file, line }),
      onBatch: (core, n, tags) => {
        const v = core.verdicts;
        for (let k = 0; k < n; k++) {
          const at = k * V.SIZE;
          const status = v.getUint32(at + V.STATUS, true);
          const message = v.getUint32(at + V.MESSAGE, true);
          if (status !== 0) {
            dlq?.write(`${BAD_REASONS[status]}\t${decoder.decode(core.message(message)).replace(/[\r\n]+$/, '')}`);
            continue;
          }
          if (!scores || message === SWEEP_MESSAGE) continue;
          const reasons = v.getUint32(at + V.REASONS, true);
          const slot = v.getUint32(at + V.SLOT, true);
          const score = v.getFloat64(at + V.SCORE, true);
          const line = {
            deviceId: core.deviceId(slot),
            ts: v.getFloat64(at + V.TS, true),
            score: Math.round(score * 1e4) / 1e4,
            reasons: reasonList(reasons),
            line: tags[message],
          };
          scores.write(JSON.stringify(line));
        }
      },
    });

    let linesRead = 0; // 1-based number of the last line handed to the detector
    let inventory: InventoryWatcher | undefined;
    try {
      inventory = await attachInventory(
        { inventory: values.inventory, revoked: values.revoked },
        {
          target: detector,
          log: stderrLog(values.quiet),
          onApplied: () => {
            if (inventory && !values.quiet) process.stderr.write(`replay: inventory reloaded after input line ${linesRead}: later lines are judged by it\n`);
          },
        },
      );
    } catch (e) {
      if (!(e instanceof InventoryError)) throw e;
      for (const p of e.problems) process.stderr.write(`edge-sentinel replay: ${p}\n`);
      await alerts.close();
      await scores?.close();
      await dlq?.close();
      return 2;
    }

    let lastProgress = started;
    const splitter = new LineSplitter((line, lineNo) => {
      detector.add(line, -1, lineNo);
      linesRead = lineNo + 1;
    }, detector.core.params.maxMessageBytes);
    await splitStream(input, splitter, async () => {
      await alerts.drain();
      if (scores) await scores.drain();
      if (dlq) await dlq.drain();
      const now = performance.now();
      if (!values.quiet && now - lastProgress > 5000) {
        lastProgress = now;
        const t = detector.totals();
        process.stderr.write(`replay: ${t.messages.toLocaleString('en')} lines, ${t.devices} devices, ${sumCounts(t.alerts)} alerts so far\n`);
      }
    });
    inventory?.close();
    detector.finish();
    await alerts.close();
    await scores?.close();
    await dlq?.close();

    const seconds = (performance.now() - started) / 1000;
    const t = detector.totals();
    const badTotal = sumCounts(t.bad);
    const rate = Math.round(t.messages / Math.max(seconds, 1e-6));
    process.stderr.write(
      `replay: ${t.events} events, ${badTotal} bad lines (${formatCounts(t.bad)}), ${t.devices} devices, ` +
        `${sumCounts(t.alerts)} alerts (${formatCounts(t.alerts)}), ${rate.toLocaleString('en')} events/s [${engine}]\n`,
    );
    return 0;
  });
}
