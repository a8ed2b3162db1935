// bench:core — the same input bytes through (a) the WASM core, bytes → verdicts, and
// (b) the TypeScript reference, TextDecoder + JSON.parse → verdicts, side by side in one
// run with the `benchmark` package, and (c) the WASM core with and without an inventory
// of 100,000 enrolled devices (credential, allowed network, minimum firmware), passes
// alternated in one process (without, with; then with, without; …) so that both see the
// same machine, reported as the ratio of each round and their median and range.
// One operation = one pass over the whole stream with
// a fresh core (device inserts included, as a live detector meets its fleet), so device
// time always moves forward and no pass re-scores stale messages as replays.
// (d) The steady state: the engines again (WASM, WASM with the inventory, reference),
// alternated, each timed on the next MESSAGES messages of the same fleet after it has
// scored the WARM before them untimed — a detector that has run for a while knows its devices, and their statistical detectors
// are past their warm-up; a fresh core spends its first events inserting devices. The
// inventory's cost there is reported as for (c): by wall clock, CPU time and floors.
//
//   npm run bench:core                 human-readable
//   npm run bench:core -- --json       one JSON object
//   options: --devices N (100000) --messages N (1000000) --memory-devices N (1000000)
//            --rounds N (9: rounds of the inventory comparison)
//            --inventory-only (skip the reference and the memory measurement)
//            --warm N (3000000: messages scored before the steady-state timing; with
//              100,000 devices, 30 per device, past every warm-up)
//            --steady-rounds N (3: rounds of the steady-state comparison; 0 skips it)

import Benchmark from 'benchmark';
import { parseArgs } from 'node:util';
import { ReferenceCore } from '../src/core/reference/core';
import { WasmCore } from '../src/core/wasm';
import type { Core } from '../src/core/core';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createFleet } from '../src/ingest/simulator';
import { buildInventoryImage } from '../src/inventory/image';
import { benchInventory } from './inventory';
import { batchLaps } from './floors';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    devices: { type: 'string' },
    messages: { type: 'string' },
    'memory-devices': { type: 'string' },
    'min-samples': { type: 'string' },
    rounds: { type: 'string' },
    'inventory-only': { type: 'boolean' },
    warm: { type: 'string' },
    'steady-rounds': { type: 'string' },
  },
});
const DEVICES = Number(values.devices ?? 100_000);
const MESSAGES = Number(values.messages ?? 1_000_000);
const MEMORY_DEVICES = Number(values['memory-devices'] ?? 1_000_000);
const MIN_SAMPLES = Number(values['min-samples'] ?? 5);
const ROUNDS = Number(values.rounds ?? 9);
const INVENTORY_ONLY = values['inventory-only'] ?? false;
const STEADY_ROUNDS = INVENTORY_ONLY ? 0 : Number(values['steady-rounds'] ?? 3);
const STEADY_CHUNK = 100_000;
const WARM = STEADY_ROUNDS > 0 ? Number(values.warm ?? 3_000_000) : 0;
const log = (s: string) => {
  if (!values.json) process.stderr.write(s + '\n');
};

// ---- the input: one buffer of NDJSON bytes and the offsets of each message -----------
// The first MESSAGES are the cold passes' stream; the steady state scores WARM messages
// untimed, then times the MESSAGES after them.
const TOTAL = Math.max(MESSAGES, WARM + MESSAGES * Math.sign(STEADY_ROUNDS));
log(`generating ${TOTAL.toLocaleString('en')} messages from a simulated fleet of ${DEVICES.toLocaleString('en')} devices…`);
const fleet = createFleet({ devices: DEVICES, hours: 48, seed: 'bench-core', profile: 'bench' });
const parts: Buffer[] = [];
const starts = new Uint32Array(TOTAL + 1);
const arrivals = new Float64Array(TOTAL);
let size = 0;
let total = 0;
for (let ev = fleet.next(); ev && total < TOTAL; ev = fleet.next()) {
  const b = Buffer.from(ev.line);
  parts.push(b);
  starts[total] = size;
  arrivals[total] = ev.arrivalTs;
  size += b.length;
  total++;
}
starts[total] = size;
const input = Buffer.concat(parts, size);
parts.length = 0;
const count = Math.min(MESSAGES, total);
if (STEADY_ROUNDS > 0 && total < WARM + count) throw new Error(`the fleet gave ${total} messages, fewer than --warm + --messages`);
// Views of the timed messages are made once: the cold passes' and the steady state's.
// The warm-up's are made as they are fed — millions of long-lived views would make every
// collection during a timed pass slower.
const view = (i: number) => input.subarray(starts[i], starts[i + 1]);
const messages: Uint8Array[] = Array.from({ length: count }, (_, i) => view(i));
const steadyMessages: Uint8Array[] = STEADY_ROUNDS > 0 ? Array.from({ length: count }, (_, i) => view(WARM + i)) : [];
size = starts[count];
const distinct = new Set<string>();
for (let i = 0; i < Math.min(count, 200_000); i++) distinct.add(JSON.parse(messages[i].toString()).deviceId);
log(`  ${count.toLocaleString('en')} messages, ${(size / count).toFixed(0)} bytes on average, ${(size / 1e6).toFixed(0)} MB`);

/**
 * One pass: every message through a fresh core, arrival times as Kafka would give them.
 * With `floor`, each batch's fastest time so far is kept in it. `made`: the core is
 * already made (the clock starts at the first message), else `make` counts with the
 * first batch.
 */
function pass(make: () => Core, floor?: number[], made?: Core): number {
  const lap = batchLaps(floor);
  const core = made ?? make();
  const alerts = feed(core, messages, 0, lap);
  core.destroy();
  lap();
  return alerts;
}

/** `list` (messages from stream position `at` on) through `core`, batch by batch; returns the verdict count. */
function feed(core: Core, list: Uint8Array[], at: number, lap?: () => void): number {
  let verdicts = 0;
  for (let i = 0; i < list.length; i++) {
    if (!core.add(list[i], arrivals[at + i])) {
      verdicts += core.score();
      lap?.();
      core.add(list[i], arrivals[at + i]);
    }
  }
  return verdicts + core.score();
}

/** Stream positions [from, to) through `core`, untimed (views made on the way). */
function warmUp(core: Core, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const bytes = view(i);
    if (!core.add(bytes, arrivals[i])) {
      core.score();
      core.add(bytes, arrivals[i]);
    }
  }
  core.score();
}

// The inventory (bench/inventory.ts): every device of the stream enrolled, padded to 100,000.
const inventory = benchInventory(messages);
const enrolled = inventory.devices;
const inventoryImage = buildInventoryImage(inventory);
log(`  inventory: ${enrolled.size.toLocaleString('en')} devices, ${(inventoryImage.byteLength / 1e6).toFixed(1)} MB image`);

const capacity = Math.max(DEVICES * 1.2, 1024);
const makeWasm = () => new WasmCore({ capacity });
const loads: number[] = []; // ms per inventory load (copying the image into the core)
const makeWasmInventory = () => {
  const core = new WasmCore({ capacity });
  const t = performance.now();
  core.setInventory(inventoryImage);
  loads.push(performance.now() - t);
  return core;
};
const makeRef = () => new ReferenceCore({ capacity });

// sanity: both engines produce the same number of verdicts on this input
const vw = pass(makeWasm);
if (!INVENTORY_ONLY) {
  const vr = pass(makeRef);
  if (vw !== vr) throw new Error(`engines disagree on the verdict count (${vw} vs ${vr})`);
}

const fmtRate = (x: number) => Math.round(x).toLocaleString('en').padStart(12);
const results: Record<string, { eventsPerSec: number; rme: number; samples: number }> = {};
if (!INVENTORY_ONLY) {
  const suite = new Benchmark.Suite('core');
  suite
    .add('wasm', () => pass(makeWasm), { minSamples: MIN_SAMPLES })
    .add('reference', () => pass(makeRef), { minSamples: MIN_SAMPLES })
    .on('cycle', (e: Benchmark.Event) => {
      const b = e.target as unknown as Benchmark;
      const eventsPerSec = (b.hz ?? 0) * count;
      results[b.name as string] = { eventsPerSec, rme: b.stats.rme, samples: b.stats.sample.length };
      log(`  ${String(b.name).padEnd(15)} ${fmtRate(eventsPerSec)} events/s  ±${b.stats.rme.toFixed(1)}%  (${b.stats.sample.length} passes)`);
    })
    .run({ async: false });
}

// ---- the inventory's cost: passes without and with it, alternated -------------------
// A machine shared with other work drifts by more than the difference sought within a
// minute, so the two are never timed apart: each round runs one pass of each (the order
// flipped every round, as a pass also pays for collecting the one before it), and the
// ratio of the two is taken per round, by wall time and by the process's CPU time (which
// other work disturbs less). The "floor" sums each batch's fastest time over the rounds
// (other work only ever adds time). The clock starts once the core is made and the
// inventory loaded, after a full collection (node --expose-gc, as `npm run bench:core`
// runs it): a detector loads an inventory at start and on a change, not once per million
// events, and keeps one core — without the collection, the cores discarded by earlier
// passes (the larger by the image region) are collected during whichever pass comes
// next, and that, not the checks, made most of the difference. The load is reported on
// its own.
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) log('  (no --expose-gc: passes also pay for collecting the cores of earlier ones)');
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sides = [
  { name: 'without', make: makeWasm, rates: [] as number[], cpuRates: [] as number[], floor: [] as number[] },
  { name: 'with', make: makeWasmInventory, rates: [] as number[], cpuRates: [] as number[], floor: [] as number[] },
];
if (pass(makeWasmInventory) !== vw) throw new Error('the inventory changed the number of verdicts');
log(`  inventory cost: ${ROUNDS} rounds of one pass without and one with, alternated`);
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const side of r % 2 ? [...sides].reverse() : sides) {
    const core = side.make();
    gc?.();
    const t = performance.now();
    const cpu = process.cpuUsage();
    pass(side.make, side.floor, core);
    const used = process.cpuUsage(cpu);
    side.rates.push(count / ((performance.now() - t) / 1000));
    side.cpuRates.push(count / ((used.user + used.system) / 1e6));
  }
  ratios.push(sides[1].rates[r] / sides[0].rates[r]);
  cpuRatios.push(sides[1].cpuRates[r] / sides[0].cpuRates[r]);
  log(`    round ${String(r + 1).padStart(2)}: without ${fmtRate(sides[0].rates[r])}  with ${fmtRate(sides[1].rates[r])}  ratio ${ratios[r].toFixed(3)}  by CPU time ${cpuRatios[r].toFixed(3)}`);
}
const floorRate = (side: (typeof sides)[number]) => count / (side.floor.reduce((a, b) => a + b, 0) / 1000);
const inventoryCost = {
  rounds: ROUNDS,
  withoutEventsPerSec: Math.round(median(sides[0].rates)),
  withEventsPerSec: Math.round(median(sides[1].rates)),
  ratioMedian: Number(median(ratios).toFixed(3)),
  ratioMin: Number(Math.min(...ratios).toFixed(3)),
  ratioMax: Number(Math.max(...ratios).toFixed(3)),
  ratioQuartiles: [Number(quantile(ratios, 0.25).toFixed(3)), Number(quantile(ratios, 0.75).toFixed(3))],
  floorWithoutEventsPerSec: Math.round(floorRate(sides[0])),
  floorWithEventsPerSec: Math.round(floorRate(sides[1])),
  floorRatio: Number((floorRate(sides[1]) / floorRate(sides[0])).toFixed(3)),
  cpuRatioMedian: Number(median(cpuRatios).toFixed(3)),
  cpuRatioQuartiles: [Number(quantile(cpuRatios, 0.25).toFixed(3)), Number(quantile(cpuRatios, 0.75).toFixed(3))],
  loadMsMedian: Number(median(loads).toFixed(1)),
};

function quantile(a: number[], q: number): number {
  const s = [...a].sort((x, y) => x - y);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}

// ---- the steady state: a core that knows its fleet ---------------------------------
// Each round makes one core per engine and scores the WARM messages untimed. The two WASM
// cores (without and with the inventory) are then timed on the next MESSAGES side by
// side, in chunks of STEADY_CHUNK taken in turn (the one to go first alternating), so that
// both meet the same stretch of the machine's weather; the reference comes last, alone.
// The median round is reported. Warming the reference is slow (it runs at a tenth of the
// WASM core's rate), so these rounds take most of the benchmark's time.
const steady = { wasm: [] as number[], inventory: [] as number[], reference: [] as number[], devices: 0 };
// for the inventory's cost in the steady state, as for fresh cores: the process's CPU time
// per pass, and each batch's fastest time over the rounds (every round scores the same
// batches from the same state)
const steadyCpu = { wasm: [] as number[], inventory: [] as number[] };
const steadyFloor = { wasm: [] as number[], inventory: [] as number[] };
if (STEADY_ROUNDS > 0) {
  log(`  steady state: ${STEADY_ROUNDS} rounds, each engine timed on ${count.toLocaleString('en')} messages after ${WARM.toLocaleString('en')} untimed (the two WASM engines in alternated chunks of ${STEADY_CHUNK.toLocaleString('en')})`);
  const wasmEngines = [
    { name: 'wasm' as const, make: makeWasm },
    { name: 'inventory' as const, make: makeWasmInventory },
  ];
  for (let r = 0; r < STEADY_ROUNDS; r++) {
    const pair = wasmEngines.map((e) => {
      const core = e.make();
      warmUp(core, 0, WARM);
      return { e, core, ms: 0, cpuMs: 0, batches: 0 };
    });
    steady.devices = pair[0].core.stats().devices;
    gc?.();
    for (let at = 0, c = 0; at < count; at += STEADY_CHUNK, c++) {
      const chunk = steadyMessages.slice(at, at + STEADY_CHUNK);
      for (const p of (r + c) % 2 ? [pair[1], pair[0]] : pair) {
        const start = performance.now();
        const cpu = process.cpuUsage();
        let batches = 0;
        const lap = batchLaps(steadyFloor[p.e.name], start, p.batches);
        feed(p.core, chunk, WARM + at, () => {
          lap();
          batches++;
        });
        lap();
        p.batches += batches + 1;
        const used = process.cpuUsage(cpu);
        p.ms += performance.now() - start;
        p.cpuMs += (used.user + used.system) / 1000;
      }
    }
    for (const p of pair) {
      steady[p.e.name].push(count / (p.ms / 1000));
      steadyCpu[p.e.name].push(count / (p.cpuMs / 1000));
      p.core.destroy();
    }
    // the reference (whose passes leave the most behind) alone, after both
    const ref = makeRef();
    warmUp(ref, 0, WARM);
    gc?.();
    const start = performance.now();
    feed(ref, steadyMessages, WARM);
    steady.reference.push(count / ((performance.now() - start) / 1000));
    ref.destroy();
    log(`    round ${String(r + 1).padStart(2)}: wasm ${fmtRate(steady.wasm[r])}  with the inventory ${fmtRate(steady.inventory[r])} (${(steady.inventory[r] / steady.wasm[r]).toFixed(3)})  reference ${fmtRate(steady.reference[r])}  ratio ${(steady.wasm[r] / steady.reference[r]).toFixed(2)}`);
  }
}
const steadyState =
  STEADY_ROUNDS > 0
    ? {
        rounds: STEADY_ROUNDS,
        warmMessages: WARM,
        devicesKnown: steady.devices,
        wasmEventsPerSec: Math.round(median(steady.wasm)),
        wasmRange: [Math.round(Math.min(...steady.wasm)), Math.round(Math.max(...steady.wasm))],
        // the same rounds by the process's CPU time, and by each batch's fastest time over
        // the rounds: the rate of the core when nothing else takes the machine from it
        wasmCpuEventsPerSec: Math.round(median(steadyCpu.wasm)),
        wasmFloorEventsPerSec: Math.round(count / (steadyFloor.wasm.reduce((a, b) => a + b, 0) / 1000)),
        referenceEventsPerSec: Math.round(median(steady.reference)),
        referenceRange: [Math.round(Math.min(...steady.reference)), Math.round(Math.max(...steady.reference))],
        ratioMedian: Number(median(steady.wasm.map((w, i) => w / steady.reference[i])).toFixed(2)),
        withInventoryEventsPerSec: Math.round(median(steady.inventory)),
        inventoryRatioMedian: Number(median(steady.inventory.map((x, i) => x / steady.wasm[i])).toFixed(3)),
        inventoryRatioRange: [Number(Math.min(...steady.inventory.map((x, i) => x / steady.wasm[i])).toFixed(3)), Number(Math.max(...steady.inventory.map((x, i) => x / steady.wasm[i])).toFixed(3))],
        inventoryCpuRatioMedian: Number(median(steadyCpu.inventory.map((x, i) => x / steadyCpu.wasm[i])).toFixed(3)),
        inventoryFloorRatio: Number((steadyFloor.wasm.reduce((a, b) => a + b, 0) / steadyFloor.inventory.reduce((a, b) => a + b, 0)).toFixed(3)),
      }
    : undefined;

// ---- memory: a table of MEMORY_DEVICES devices, in a process that holds nothing else --
type Memory = { devices: number; capacity: number; tableSlots: number; bytesPerSlot: number; devicesHeld: number; evicted: number; rssMB: number };
let mem: Memory | undefined;
if (!INVENTORY_ONLY) {
  log(`filling a WASM core with ${MEMORY_DEVICES.toLocaleString('en')} distinct devices (separate process)…`);
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'memory.ts'), String(MEMORY_DEVICES), '--json'], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`bench/memory.ts failed: ${child.stderr}`);
  mem = JSON.parse(child.stdout) as Memory;
}

const wasm = results.wasm?.eventsPerSec;
const ref = results.reference?.eventsPerSec;
const report = {
  benchmark: 'core',
  node: process.version,
  input: { messages: count, devices: DEVICES, distinctDevicesInFirst200k: distinct.size, avgMessageBytes: Math.round(size / count), metricsPerMessage: 2 },
  wasm: wasm === undefined ? undefined : { eventsPerSec: Math.round(wasm), rmePercent: Number(results.wasm.rme.toFixed(2)), passes: results.wasm.samples },
  reference: ref === undefined ? undefined : { eventsPerSec: Math.round(ref), rmePercent: Number(results.reference.rme.toFixed(2)), passes: results.reference.samples },
  ratio: wasm === undefined ? undefined : Number((wasm / ref).toFixed(2)),
  steadyState,
  wasmWithInventory: { inventoryDevices: enrolled.size, inventoryImageBytes: inventoryImage.byteLength, ...inventoryCost },
  memory: mem && { ...mem, tableMB: Number(((mem.tableSlots * mem.bytesPerSlot) / 1048576).toFixed(1)) },
  targets: { wasmEventsPerSec: 2_000_000, ratio: 2, bytesPerDevice: 256, rssMBFor1M: 512, inventoryRatio: 0.95 },
};
if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
else {
  log('');
  if (wasm !== undefined) {
    log(`fresh core per pass (every device new to it):`);
    log(`  WASM core ${Math.round(wasm).toLocaleString('en')} events/s, reference ${Math.round(ref).toLocaleString('en')}, ratio ${report.ratio}×`);
  }
  if (steadyState) {
    const st = steadyState;
    log(`steady state (${st.devicesKnown.toLocaleString('en')} devices known, ${st.warmMessages.toLocaleString('en')} messages scored before; median of ${st.rounds} rounds):`);
    log(`  WASM core ${st.wasmEventsPerSec.toLocaleString('en')} events/s (${st.wasmRange.map((x) => x.toLocaleString('en')).join('–')}), reference ${st.referenceEventsPerSec.toLocaleString('en')} (${st.referenceRange.map((x) => x.toLocaleString('en')).join('–')}), ratio ${st.ratioMedian}×`);
    log(`  WASM core by CPU time ${st.wasmCpuEventsPerSec.toLocaleString('en')} events/s; floor (each batch's fastest over the ${st.rounds} rounds) ${st.wasmFloorEventsPerSec.toLocaleString('en')} events/s`);
    log(`  WASM core with the inventory ${st.withInventoryEventsPerSec.toLocaleString('en')} events/s, ${st.inventoryRatioMedian}× without (rounds ${st.inventoryRatioRange.join('–')}); by CPU time ${st.inventoryCpuRatioMedian}×, floors ${st.inventoryFloorRatio}×`);
  }
  const c = inventoryCost;
  log(`WASM + inventory of ${enrolled.size.toLocaleString('en')}: ${c.ratioMedian}× without (median of ${c.rounds} alternated rounds; range ${c.ratioMin}–${c.ratioMax}, quartiles ${c.ratioQuartiles.join('–')}); medians ${c.withEventsPerSec.toLocaleString('en')} vs ${c.withoutEventsPerSec.toLocaleString('en')} events/s`);
  log(`  by CPU time ${c.cpuRatioMedian}× (quartiles ${c.cpuRatioQuartiles.join('–')}); floors ${c.floorWithEventsPerSec.toLocaleString('en')} vs ${c.floorWithoutEventsPerSec.toLocaleString('en')} (${c.floorRatio}×); loading the ${(inventoryImage.byteLength / 1e6).toFixed(1)} MB image: ${c.loadMsMedian} ms (median, not timed in the passes)`);
  if (mem) {
    log(`device record:  256 bytes (+ 32 bytes of index per slot)`);
    log(`${MEMORY_DEVICES.toLocaleString('en')} devices (table of ${mem.tableSlots.toLocaleString('en')} slots): ${mem.devicesHeld.toLocaleString('en')} held, ${mem.evicted} evicted, process RSS ${mem.rssMB} MB`);
  }
}
