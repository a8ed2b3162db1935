// race-core — A/B of the WASM core: this tree against other builds of the project, on the
// input of bench:core (1,000,000 messages from a simulated fleet of 100,000 devices, fresh
// core per pass), passes alternated between the trees in one process so that both see the
// same machine at the same time. For machines shared with other work, where whole-pass
// rates drift by 2× within minutes, it also reports a "floor": the sum over the pass's
// batches of each batch's fastest time across rounds (other work only ever adds time, and
// every pass does the same work batch for batch). Compare trees within one run only.
//
//   node --import tsx bench/race-core.ts DIR... [--rounds N] [--messages N]
//   node --import tsx bench/race-core.ts DIR... --parse    the parser alone: one batch of
//       4096 messages (in cache) parsed --rounds times (1500) per tree, alternated; the
//       best in ns per message, and each tree's speed against the first's, round by round
//
//   node --import tsx bench/race-core.ts DIR... --inventory    each tree also with the
//       inventory of bench:core (every device of the stream enrolled, padded to 100,000),
//       built by that tree's own src/inventory/image.ts; reports each tree's with/without.
//       Run node with --expose-gc: each pass then starts after a full collection (see
//       bench/core.ts for why)
//
//   node --import tsx bench/race-core.ts DIR... --steady    the steady state of bench:core:
//       one core per tree scores --warm messages (3,000,000) untimed, then the next
//       --messages in chunks of 100,000, tree after tree (the order alternating chunk by
//       chunk); reports each tree's rate and the median and quartiles of its per-chunk
//       ratios to the first tree's, by wall clock and by CPU time (with --inventory, the
//       first tree's core without and with the inventory are two of them)
//
// Each DIR is a built checkout of the project (src/ and build/core.wasm), e.g. the
// baseline: git archive <rev> | tar -x -C DIR && (cd DIR && npm ci && npm run build:wasm).
// `.` is this tree; `DIR@1024` scores that tree with batches of 1024 messages.

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { createFleet } from '../src/ingest/simulator';
import type { Core } from '../src/core/core';
import type { Inventory } from '../src/inventory/model';
import { benchInventory } from './inventory';
import { batchLaps } from './floors';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string' }, messages: { type: 'string' }, devices: { type: 'string' }, parse: { type: 'boolean' }, inventory: { type: 'boolean' },
    steady: { type: 'boolean' }, warm: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds ?? 9);
const MESSAGES = Number(values.messages ?? 1_000_000);
const DEVICES = Number(values.devices ?? 100_000);
const WARM = values.steady ? Number(values.warm ?? 3_000_000) : 0;
if (positionals.length === 0) throw new Error('usage: race-core.ts DIR... [--rounds N] [--messages N]');

type CoreClass = new (params: { capacity: number }, maxBatch?: number) => Core;
type BuildImage = (inv: Inventory) => Uint8Array;
const trees = positionals.flatMap((spec) => {
  const [dir, batch] = spec.split('@');
  const WasmCore = require(resolve(dir, 'src/core/wasm')).WasmCore as CoreClass;
  const tree = { name: spec, dir, WasmCore, batch: batch ? Number(batch) : undefined, image: undefined as Uint8Array | undefined, passes: [] as number[], cpu: [] as number[], floor: [] as number[] };
  return values.inventory ? [tree, { ...tree, name: `${spec}+inventory`, passes: [], cpu: [], floor: [] }] : [tree];
});

// the input of bench:core
const fleet = createFleet({ devices: DEVICES, hours: 48, seed: 'bench-core', profile: 'bench' });
const parts: Buffer[] = [];
const arrivals = new Float64Array(WARM + MESSAGES);
for (let ev = fleet.next(); ev && parts.length < WARM + MESSAGES; ev = fleet.next()) {
  arrivals[parts.length] = ev.arrivalTs;
  parts.push(Buffer.from(ev.line));
}
const input = Buffer.concat(parts);
const messages: Uint8Array[] = [];
for (let i = 0, at = 0; i < parts.length; at += parts[i].length, i++) messages.push(input.subarray(at, at + parts[i].length));
const count = messages.length;
const capacity = Math.max(DEVICES * 1.2, 1024);

// the inventory of bench:core, in each tree's own image format
if (values.inventory) {
  const inventory = benchInventory(messages);
  for (const tree of trees) {
    if (!tree.name.endsWith('+inventory')) continue;
    const build = require(resolve(tree.dir, 'src/inventory/image')).buildInventoryImage as BuildImage;
    tree.image = build(inventory);
  }
}

/** A full collection (with node --expose-gc): passes then do not pay for cores discarded before. */
const gc = (globalThis as { gc?: () => void }).gc;

/** The time the last pass took (ms), and the CPU time the process spent in it (ms). */
let elapsed = 0;
let cpu = 0;

/** One pass as in bench:core; with `floor`, each batch's fastest time so far. */
function pass(tree: (typeof trees)[number], floor?: number[]): number {
  // with --inventory, the clock starts once the core is made and the inventory loaded: a
  // detector loads it once, not once per million events (bench:core reports the load)
  let t = performance.now();
  const core = new tree.WasmCore({ capacity }, tree.batch);
  if (tree.image) core.setInventory(tree.image);
  if (values.inventory) {
    gc?.();
    t = performance.now();
  }
  const start = t;
  const cpuStart = process.cpuUsage();
  let verdicts = 0;
  const lap = batchLaps(floor, t);
  for (let i = 0; i < count; i++) {
    if (!core.add(messages[i], arrivals[i])) {
      verdicts += core.score();
      lap();
      core.add(messages[i], arrivals[i]);
    }
  }
  verdicts += core.score();
  core.destroy();
  lap();
  elapsed = performance.now() - start;
  const used = process.cpuUsage(cpuStart);
  cpu = (used.user + used.system) / 1000;
  return verdicts;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const quartiles = (a: number[]) => [0.25, 0.75].map((q) => [...a].sort((x, y) => x - y)[Math.floor(q * (a.length - 1))]);

if (values.parse) {
  const batches = trees.map((tree) => {
    const core = new tree.WasmCore({ capacity: 1024 });
    let k = 0;
    while (k < count && core.add(messages[k], arrivals[k])) k++;
    return { core: core as unknown as { x: { parseBatch(n: number): number } }, k, best: Infinity, ratios: [] as number[] };
  });
  // rounds of one parse per tree, the order turning every round; each tree's time in a
  // round against the first tree's in the same round (a pair meets the same host), past
  // the first 50 rounds (the compiler's tiers)
  const REPS = Number(values.rounds ?? 1500);
  const times = new Array<number>(batches.length);
  for (let r = 0; r < REPS; r++) {
    for (let j = 0; j < batches.length; j++) {
      const i = (j + r) % batches.length;
      const b = batches[i];
      const t = performance.now();
      b.core.x.parseBatch(b.k);
      times[i] = performance.now() - t;
      b.best = Math.min(b.best, times[i]);
    }
    if (r >= 50) batches.forEach((b, i) => b.ratios.push(times[0] / times[i]));
  }
  trees.forEach((tree, i) => {
    const [q1, q3] = quartiles(batches[i].ratios);
    const paired = i === 0 ? '' : ` · ${median(batches[i].ratios).toFixed(3)}× the first tree's speed (paired rounds, quartiles ${q1.toFixed(3)}–${q3.toFixed(3)})`;
    console.log(`${tree.name.padEnd(24)} parse ${((batches[i].best * 1e6) / batches[i].k).toFixed(1)} ns per message (best)${paired}`);
  });
  process.exit(0);
}

if (values.steady) {
  const CHUNK = 100_000;
  const feed = (core: Core, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      if (!core.add(messages[i], arrivals[i])) {
        core.score();
        core.add(messages[i], arrivals[i]);
      }
    }
    core.score();
  };
  const cores = trees.map((tree) => {
    const core = new tree.WasmCore({ capacity }, tree.batch);
    if (tree.image) core.setInventory(tree.image);
    feed(core, 0, WARM);
    return core;
  });
  const wall = trees.map(() => [] as number[]);
  const cpuMs = trees.map(() => [] as number[]);
  for (let at = WARM, r = 0; at < count; at += CHUNK, r++) {
    const end = Math.min(at + CHUNK, count);
    const order = r % 2 ? [...trees.keys()].reverse() : [...trees.keys()];
    for (const k of order) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      feed(cores[k], at, end);
      wall[k].push(performance.now() - t);
      const used = process.cpuUsage(c0);
      cpuMs[k].push((used.user + used.system) / 1000);
    }
  }
  const timed = count - WARM;
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  console.log(`steady state: ${timed.toLocaleString('en')} messages timed in ${wall[0].length} chunks after ${WARM.toLocaleString('en')} untimed; events/s`);
  trees.forEach((tree, k) => {
    const line = `${tree.name.padEnd(24)} ${Math.round(timed / (sum(wall[k]) / 1000)).toLocaleString('en').padStart(10)}  by CPU time ${Math.round(timed / (sum(cpuMs[k]) / 1000)).toLocaleString('en').padStart(10)}`;
    if (k === 0) return console.log(line);
    const r = wall[k].map((x, i) => wall[0][i] / x);
    const rc = cpuMs[k].map((x, i) => cpuMs[0][i] / x);
    const [q1, q3] = quartiles(r);
    const [c1, c3] = quartiles(rc);
    console.log(`${line}  / first: median chunk ${median(r).toFixed(3)} (quartiles ${q1.toFixed(3)}–${q3.toFixed(3)}), by CPU ${median(rc).toFixed(3)} (${c1.toFixed(3)}–${c3.toFixed(3)})`);
  });
  process.exit(0);
}

const counts = trees.map((tree) => pass(tree));
if (new Set(counts).size !== 1) console.log(`the trees disagree on the verdict count: ${counts.join(', ')}`);
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...trees].reverse() : trees;
  for (const tree of order) {
    pass(tree, tree.floor);
    tree.passes.push(count / (elapsed / 1000));
    tree.cpu.push(count / (cpu / 1000));
  }
}

const floorRate = (tree: (typeof trees)[number]) => count / (tree.floor.reduce((a, b) => a + b, 0) / 1000);
const fmt = (x: number) => Math.round(x).toLocaleString('en').padStart(10);
console.log(`${count.toLocaleString('en')} messages, ${ROUNDS} rounds; events/s`);
for (const tree of trees) {
  console.log(`${tree.name.padEnd(24)} median ${fmt(median(tree.passes))}  floor ${fmt(floorRate(tree))}  passes ${tree.passes.map((x) => Math.round(x / 1000) + 'k').join(' ')}`);
}
if (values.inventory) {
  for (let t = 0; t < trees.length; t += 2) {
    const [a, tree] = [trees[t], trees[t + 1]];
    const ratios = tree.passes.map((x, i) => x / a.passes[i]);
    const cpuRatios = tree.cpu.map((x, i) => x / a.cpu[i]);
    console.log(`${tree.name} / ${a.name}: median of rounds ${median(ratios).toFixed(3)}, floor ${(floorRate(tree) / floorRate(a)).toFixed(3)}, per round ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`  by CPU time: median of rounds ${median(cpuRatios).toFixed(3)}, per round ${cpuRatios.map((x) => x.toFixed(2)).join(' ')}`);
    // the first half of a pass meets most devices for the first time; the second half is
    // the steady state of a detector that knows its fleet
    const half = (f: number[], second: boolean) => f.slice(second ? f.length >> 1 : 0, second ? f.length : f.length >> 1).reduce((x, y) => x + y, 0);
    console.log(`  floor ratio, first half of the pass ${(half(a.floor, false) / half(tree.floor, false)).toFixed(3)}, second half ${(half(a.floor, true) / half(tree.floor, true)).toFixed(3)}`);
  }
} else for (const tree of trees.slice(1)) {
  const a = trees[0];
  console.log(`${tree.name} / ${a.name}: median ${(median(tree.passes) / median(a.passes)).toFixed(3)}, floor ${(floorRate(tree) / floorRate(a)).toFixed(3)}, per round ${tree.passes.map((x, i) => (x / a.passes[i]).toFixed(2)).join(' ')}`);
}
