// Where the WASM core's time goes, per message: copying in (JS), parsing alone, and the
// whole batch (parse + detect + verdicts). One core, bench fleet, arrival times given.
//   node --import tsx bench/profile-core.ts [messages]

import { WasmCore } from '../src/core/wasm';
import { createFleet } from '../src/ingest/simulator';

const N = Number(process.argv[2] ?? 500_000);
const fleet = createFleet({ devices: 100_000, hours: 48, seed: 'bench-core', profile: 'bench' });
const msgs: Buffer[] = [];
const arrivals: number[] = [];
for (let e = fleet.next(); e && msgs.length < N; e = fleet.next()) {
  msgs.push(Buffer.from(e.line));
  arrivals.push(e.arrivalTs);
}
for (let rep = 0; rep < 3; rep++) {
  const core = new WasmCore({ capacity: 125_000, ...(process.env.SWEEP ? { sweepPeriodMs: Number(process.env.SWEEP) } : {}) });
  const x = (core as unknown as { x: { parseBatch(n: number): number } }).x;
  let addMs = 0;
  let parseMs = 0;
  let scoreMs = 0;
  for (let i = 0; i < msgs.length; ) {
    let t = performance.now();
    let k = 0;
    while (i < msgs.length && core.add(msgs[i], arrivals[i])) {
      i++;
      k++;
    }
    addMs += performance.now() - t;
    t = performance.now();
    x.parseBatch(k);
    parseMs += performance.now() - t;
    t = performance.now();
    core.score();
    scoreMs += performance.now() - t;
  }
  const ns = (ms: number) => ((ms * 1e6) / msgs.length).toFixed(0);
  console.log(`copy in ${ns(addMs)} ns/msg · parse alone ${ns(parseMs)} ns · score (parse+detect+verdict) ${ns(scoreMs)} ns · detect ≈ ${ns(scoreMs - parseMs)} ns`);
}
