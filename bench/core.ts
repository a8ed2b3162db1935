// bench:core — the same input bytes through (a) the WASM core, bytes → verdicts, and
// (b) the TypeScript reference, TextDecoder + JSON.parse → verdicts, side by side in one
// run with the `benchmark` package. One operation = one pass over the whole stream with
// a fresh core (device inserts included, as a live detector meets its fleet), so device
// time always moves forward and no pass re-scores stale messages as replays.
//
//   npm run bench:core                 human-readable
//   npm run bench:core -- --json       one JSON object
//   options: --devices N (100000) --messages N (1000000) --memory-devices N (1000000)

import Benchmark from 'benchmark';
import { parseArgs } from 'node:util';
import { ReferenceCore } from '../src/core/reference/core';
import { WasmCore } from '../src/core/wasm';
import type { Core } from '../src/core/core';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createFleet } from '../src/ingest/simulator';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    devices: { type: 'string' },
    messages: { type: 'string' },
    'memory-devices': { type: 'string' },
    'min-samples': { type: 'string' },
  },
});
const DEVICES = Number(values.devices ?? 100_000);
const MESSAGES = Number(values.messages ?? 1_000_000);
const MEMORY_DEVICES = Number(values['memory-devices'] ?? 1_000_000);
const MIN_SAMPLES = Number(values['min-samples'] ?? 5);
const log = (s: string) => {
  if (!values.json) process.stderr.write(s + '\n');
};

// ---- the input: one buffer of NDJSON bytes and the offsets of each message -----------
log(`generating ${MESSAGES.toLocaleString('en')} messages from a simulated fleet of ${DEVICES.toLocaleString('en')} devices…`);
const fleet = createFleet({ devices: DEVICES, hours: 48, seed: 'bench-core', profile: 'bench' });
const parts: Buffer[] = [];
const starts = new Uint32Array(MESSAGES + 1);
const arrivals = new Float64Array(MESSAGES);
let size = 0;
let count = 0;
for (let ev = fleet.next(); ev && count < MESSAGES; ev = fleet.next()) {
  const b = Buffer.from(ev.line);
  parts.push(b);
  starts[count] = size;
  arrivals[count] = ev.arrivalTs;
  size += b.length;
  count++;
}
starts[count] = size;
const input = Buffer.concat(parts, size);
parts.length = 0;
const messages: Uint8Array[] = new Array(count);
for (let i = 0; i < count; i++) messages[i] = input.subarray(starts[i], starts[i + 1]);
const distinct = new Set<string>();
for (let i = 0; i < Math.min(count, 200_000); i++) distinct.add(JSON.parse(messages[i].toString()).deviceId);
log(`  ${count.toLocaleString('en')} messages, ${(size / count).toFixed(0)} bytes on average, ${(size / 1e6).toFixed(0)} MB`);

/** One pass: every message through a fresh core, arrival times as Kafka would give them. */
function pass(make: () => Core): number {
  const core = make();
  let alerts = 0;
  for (let i = 0; i < count; i++) {
    if (!core.add(messages[i], arrivals[i])) {
      alerts += core.score();
      core.add(messages[i], arrivals[i]);
    }
  }
  alerts += core.score();
  core.destroy();
  return alerts;
}

const capacity = Math.max(DEVICES * 1.2, 1024);
const makeWasm = () => new WasmCore({ capacity });
const makeRef = () => new ReferenceCore({ capacity });

// sanity: both engines produce the same number of verdicts on this input
const vw = pass(makeWasm);
const vr = pass(makeRef);
if (vw !== vr) throw new Error(`engines disagree on the verdict count (${vw} vs ${vr})`);

const results: Record<string, { eventsPerSec: number; rme: number; samples: number }> = {};
const suite = new Benchmark.Suite('core');
suite
  .add('wasm', () => pass(makeWasm), { minSamples: MIN_SAMPLES })
  .add('reference', () => pass(makeRef), { minSamples: MIN_SAMPLES })
  .on('cycle', (e: Benchmark.Event) => {
    const b = e.target as unknown as Benchmark;
    const eventsPerSec = (b.hz ?? 0) * count;
    results[b.name as string] = { eventsPerSec, rme: b.stats.rme, samples: b.stats.sample.length };
    log(`  ${String(b.name).padEnd(10)} ${Math.round(eventsPerSec).toLocaleString('en').padStart(12)} events/s  ±${b.stats.rme.toFixed(1)}%  (${b.stats.sample.length} passes)`);
  })
  .run({ async: false });

// ---- memory: a table of MEMORY_DEVICES devices, in a process that holds nothing else --
log(`filling a WASM core with ${MEMORY_DEVICES.toLocaleString('en')} distinct devices (separate process)…`);
const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'memory.ts'), String(MEMORY_DEVICES), '--json'], { encoding: 'utf8' });
if (child.status !== 0) throw new Error(`bench/memory.ts failed: ${child.stderr}`);
const mem = JSON.parse(child.stdout) as { devices: number; capacity: number; tableSlots: number; bytesPerSlot: number; devicesHeld: number; evicted: number; rssMB: number };

const wasm = results.wasm.eventsPerSec;
const ref = results.reference.eventsPerSec;
const report = {
  benchmark: 'core',
  node: process.version,
  input: { messages: count, devices: DEVICES, distinctDevicesInFirst200k: distinct.size, avgMessageBytes: Math.round(size / count), metricsPerMessage: 2 },
  wasm: { eventsPerSec: Math.round(wasm), rmePercent: Number(results.wasm.rme.toFixed(2)), passes: results.wasm.samples },
  reference: { eventsPerSec: Math.round(ref), rmePercent: Number(results.reference.rme.toFixed(2)), passes: results.reference.samples },
  ratio: Number((wasm / ref).toFixed(2)),
  memory: { ...mem, tableMB: Number(((mem.tableSlots * mem.bytesPerSlot) / 1048576).toFixed(1)) },
  targets: { wasmEventsPerSec: 2_000_000, ratio: 2, bytesPerDevice: 256, rssMBFor1M: 512 },
};
if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
else {
  log('');
  log(`WASM core:      ${Math.round(wasm).toLocaleString('en')} events/s`);
  log(`TS reference:   ${Math.round(ref).toLocaleString('en')} events/s`);
  log(`ratio:          ${report.ratio}×`);
  log(`device record:  256 bytes (+ 32 bytes of index per slot)`);
  log(`${MEMORY_DEVICES.toLocaleString('en')} devices (table of ${mem.tableSlots.toLocaleString('en')} slots): ${mem.devicesHeld.toLocaleString('en')} held, ${mem.evicted} evicted, process RSS ${mem.rssMB} MB`);
}
