// bench:core — the same input bytes through (a) the WASM core, bytes → verdicts, and
// (b) the TypeScript reference, TextDecoder + JSON.parse → verdicts, side by side in one
// run with the `benchmark` package, and (c) the WASM core checking every event against an
// inventory of 100,000 enrolled devices (credential, allowed network, minimum firmware).
// One operation = one pass over the whole stream with
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
import { buildInventoryImage } from '../src/inventory/image';
import { InventoryDevice, parseSourceRule } from '../src/inventory/model';

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

// The inventory: every device of the stream enrolled with the credential and /24 network
// of its first message and a minimum firmware, so each check runs its whole path; padded
// with devices that never send to INVENTORY_DEVICES.
const INVENTORY_DEVICES = 100_000;
const enrolled = new Map<string, InventoryDevice>();
for (let i = 0; i < count; i++) {
  const m = JSON.parse(messages[i].toString()) as { deviceId: string; credential?: string; source?: string };
  if (enrolled.has(m.deviceId)) continue;
  const net = m.source && /^\d+\.\d+\.\d+\.\d+$/.test(m.source) ? m.source.replace(/\.\d+$/, '.0/24') : undefined;
  enrolled.set(m.deviceId, {
    deviceId: m.deviceId,
    credentials: m.credential ? [{ id: m.credential, issuedAt: 0 }] : [],
    sources: net ? [parseSourceRule(net)] : [],
    minFirmware: '1.0.0',
  });
}
for (let i = 0; enrolled.size < INVENTORY_DEVICES; i++) {
  enrolled.set(`spare-${i}`, { deviceId: `spare-${i}`, credentials: [{ id: `tok-spare-${i}` }], sources: [parseSourceRule('10.0.0.0/8')] });
}
const inventoryImage = buildInventoryImage({ devices: enrolled, revoked: new Set(['tok-revoked-1', 'tok-revoked-2']) });
log(`  inventory: ${enrolled.size.toLocaleString('en')} devices, ${(inventoryImage.byteLength / 1e6).toFixed(1)} MB image`);

const capacity = Math.max(DEVICES * 1.2, 1024);
const makeWasm = () => new WasmCore({ capacity });
const makeWasmInventory = () => {
  const core = new WasmCore({ capacity });
  core.setInventory(inventoryImage);
  return core;
};
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
  .add('wasm+inventory', () => pass(makeWasmInventory), { minSamples: MIN_SAMPLES })
  .on('cycle', (e: Benchmark.Event) => {
    const b = e.target as unknown as Benchmark;
    const eventsPerSec = (b.hz ?? 0) * count;
    results[b.name as string] = { eventsPerSec, rme: b.stats.rme, samples: b.stats.sample.length };
    log(`  ${String(b.name).padEnd(15)} ${Math.round(eventsPerSec).toLocaleString('en').padStart(12)} events/s  ±${b.stats.rme.toFixed(1)}%  (${b.stats.sample.length} passes)`);
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
  wasmWithInventory: {
    inventoryDevices: enrolled.size,
    eventsPerSec: Math.round(results['wasm+inventory'].eventsPerSec),
    rmePercent: Number(results['wasm+inventory'].rme.toFixed(2)),
    relativeToWasm: Number((results['wasm+inventory'].eventsPerSec / wasm).toFixed(3)),
  },
  memory: { ...mem, tableMB: Number(((mem.tableSlots * mem.bytesPerSlot) / 1048576).toFixed(1)) },
  targets: { wasmEventsPerSec: 2_000_000, ratio: 2, bytesPerDevice: 256, rssMBFor1M: 512 },
};
if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
else {
  log('');
  log(`WASM core:      ${Math.round(wasm).toLocaleString('en')} events/s`);
  log(`TS reference:   ${Math.round(ref).toLocaleString('en')} events/s`);
  log(`ratio:          ${report.ratio}×`);
  log(`WASM + inventory of ${enrolled.size.toLocaleString('en')}: ${report.wasmWithInventory.eventsPerSec.toLocaleString('en')} events/s (${report.wasmWithInventory.relativeToWasm}× without)`);
  log(`device record:  256 bytes (+ 32 bytes of index per slot)`);
  log(`${MEMORY_DEVICES.toLocaleString('en')} devices (table of ${mem.tableSlots.toLocaleString('en')} slots): ${mem.devicesHeld.toLocaleString('en')} held, ${mem.evicted} evicted, process RSS ${mem.rssMB} MB`);
}
