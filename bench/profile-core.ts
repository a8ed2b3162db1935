// Where the WASM core's time goes, per message: copying in (JS), parsing alone, and the
// whole batch (parse + detect + verdicts). One core per pass, the bench:core fleet of
// 100,000 devices, arrival times given. Each pass is printed; the last line adds up, for
// every batch, its fastest time over the passes (on a machine shared with other work, a
// floor that other work only ever raises).
//   node --import tsx bench/profile-core.ts [messages] [passes]

import { WasmCore } from '../src/core/wasm';
import { createFleet } from '../src/ingest/simulator';

const N = Number(process.argv[2] ?? 500_000);
const PASSES = Number(process.argv[3] ?? 5);
const fleet = createFleet({ devices: 100_000, hours: 48, seed: 'bench-core', profile: 'bench' });
const msgs: Buffer[] = [];
const arrivals: number[] = [];
for (let e = fleet.next(); e && msgs.length < N; e = fleet.next()) {
  msgs.push(Buffer.from(e.line));
  arrivals.push(e.arrivalTs);
}
const ns = (ms: number) => ((ms * 1e6) / msgs.length).toFixed(0);
const floor = { add: [] as number[], parse: [] as number[], score: [] as number[] };
const keep = (a: number[], b: number, ms: number) => (a[b] = Math.min(a[b] ?? Infinity, ms));
for (let rep = 0; rep < PASSES; rep++) {
  const core = new WasmCore({ capacity: 125_000, ...(process.env.SWEEP ? { sweepPeriodMs: Number(process.env.SWEEP) } : {}) });
  const x = (core as unknown as { x: { parseBatch(n: number): number } }).x;
  let addMs = 0;
  let parseMs = 0;
  let scoreMs = 0;
  for (let i = 0, b = 0; i < msgs.length; b++) {
    let t = performance.now();
    let k = 0;
    while (i < msgs.length && core.add(msgs[i], arrivals[i])) {
      i++;
      k++;
    }
    let d = performance.now() - t;
    addMs += d;
    keep(floor.add, b, d);
    t = performance.now();
    x.parseBatch(k);
    d = performance.now() - t;
    parseMs += d;
    keep(floor.parse, b, d);
    t = performance.now();
    core.score();
    d = performance.now() - t;
    scoreMs += d;
    keep(floor.score, b, d);
  }
  console.log(`copy in ${ns(addMs)} ns/msg · parse alone ${ns(parseMs)} ns · score (parse+detect+verdict) ${ns(scoreMs)} ns · detect ≈ ${ns(scoreMs - parseMs)} ns`);
}
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
const [add, parse, score] = [sum(floor.add), sum(floor.parse), sum(floor.score)];
console.log(`fastest of ${PASSES} per batch: copy in ${ns(add)} ns/msg · parse alone ${ns(parse)} ns · score ${ns(score)} ns · detect ≈ ${ns(score - parse)} ns · copy + score ${ns(add + score)} ns (${Math.round(msgs.length / ((add + score) / 1000)).toLocaleString('en')} events/s)`);
