// Memory of the device table, measured in a process that holds nothing else: a WASM core
// sized for N devices is filled with N distinct devices; prints RSS and how many are held.
//   node --import tsx bench/memory.ts [devices] [--json]      (part of npm run bench:core)

import { WasmCore } from '../src/core/wasm';
import { tableSlots } from '../src/core/params';

const devices = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const json = process.argv.includes('--json');
const rss = () => process.memoryUsage().rss / 1048576;
const before = rss();
// 25 % headroom over the fleet, as the README advises
const capacity = Math.ceil(devices * 1.25);
const core = new WasmCore({ capacity }, 4096, 1 << 20);
const t0 = Date.UTC(2026, 0, 1);
for (let i = 0; i < devices; i++) {
  const line = Buffer.from(
    `{"deviceId":"dev-${i}","ts":${t0 + i},"seq":1,"source":"10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}","credential":"sha256:${((i * 2654435761) >>> 0).toString(16)}","firmware":"1.2.3","bytes":200,"metrics":{"a":1.5,"b":${i % 100}}}`,
  );
  if (!core.add(line, t0 + i)) {
    core.score();
    core.add(line, t0 + i);
  }
}
core.score();
const s = core.stats();
const out = {
  devices,
  capacity,
  tableSlots: tableSlots(capacity),
  bytesPerSlot: 256 + 8 + 24,
  devicesHeld: s.devices,
  evicted: s.evictions,
  rssMB: Math.round(rss()),
  rssBeforeMB: Math.round(before),
};
if (json) process.stdout.write(JSON.stringify(out) + '\n');
else process.stdout.write(`${devices.toLocaleString('en')} devices in a table of ${out.tableSlots.toLocaleString('en')} slots: ${s.devices.toLocaleString('en')} held, ${s.evictions} evicted, RSS ${out.rssMB} MB\n`);
