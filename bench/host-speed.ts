// host-speed — how fast the machine is right now, window by window: the WASM parser on one
// batch of 4,096 bench:core messages in cache, parsed over and over; for each window the
// best batch in ns per message. On a host shared with other machines the speed can sit at
// one of a few levels for seconds or minutes at a time; run this before or beside a
// benchmark to see which level the benchmark met (a figure only compares with another
// taken at the same level — or, better, in the same run: bench/race-core.ts).
//   node --import tsx bench/host-speed.ts [seconds (60)] [window ms (250)]

import { WasmCore } from '../src/core/wasm';
import { createFleet } from '../src/ingest/simulator';

const SECONDS = Number(process.argv[2] ?? 60);
const WINDOW_MS = Number(process.argv[3] ?? 250);
if (!(SECONDS > 0) || !(WINDOW_MS > 0)) throw new Error('usage: host-speed.ts [seconds] [window ms]');

const fleet = createFleet({ devices: 100_000, hours: 48, seed: 'bench-core', profile: 'bench' });
const core = new WasmCore({ capacity: 1024 });
let k = 0;
for (let e = fleet.next(); e && core.add(Buffer.from(e.line), e.arrivalTs); e = fleet.next()) k++;
const x = (core as unknown as { x: { parseBatch(n: number): number } }).x;

const windows: number[] = [];
const end = performance.now() + SECONDS * 1000;
while (performance.now() < end) {
  const close = performance.now() + WINDOW_MS;
  let best = Infinity;
  while (performance.now() < close) {
    const t = performance.now();
    x.parseBatch(k);
    best = Math.min(best, performance.now() - t);
  }
  windows.push((best * 1e6) / k);
}
console.log(windows.map((w) => w.toFixed(0)).join(' '));
const sorted = [...windows].sort((a, b) => a - b);
const fastest = sorted[0];
const near = windows.filter((w) => w <= fastest * 1.15).length;
console.log(
  `${windows.length} windows of ${WINDOW_MS} ms: fastest ${fastest.toFixed(0)} ns per message, median ${sorted[sorted.length >> 1].toFixed(0)}, slowest ${sorted[sorted.length - 1].toFixed(0)}; ` +
    `${near} windows (${((100 * near) / windows.length).toFixed(0)} %) within 15 % of the fastest`,
);
