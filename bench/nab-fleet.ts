// Does a threshold picked on NAB give sensible alert rates in production? Runs the NAB
// metric detector (src/nab/detector.ts) over every device × metric series of a simulated
// fleet and counts points at or above the NAB-optimal threshold, separately for normal
// devices and for value-injection victims.
//   node --import tsx bench/nab-fleet.ts [--devices 300 --hours 24 --threshold 0.2737 --json]

import { parseArgs } from 'node:util';
import { MetricDetector } from '../src/nab/detector';
import { createFleet } from '../src/ingest/simulator';

const { values } = parseArgs({ options: { devices: { type: 'string' }, hours: { type: 'string' }, threshold: { type: 'string' }, json: { type: 'boolean' } } });
const devices = Number(values.devices ?? 300);
const hours = Number(values.hours ?? 24);
// the standard profile's corpus-wide threshold printed by bench:nab
const threshold = Number(values.threshold ?? 0.2737);

const fleet = createFleet({ devices, hours, seed: 'nab-fleet' });
const detectors = new Map<string, MetricDetector>();
const detectionsBy = new Map<string, number>();
let points = 0;
for (let ev = fleet.next(); ev; ev = fleet.next()) {
  if (ev.attackId) continue; // score what the devices themselves send
  const m = JSON.parse(ev.line) as { metrics?: Record<string, number> };
  for (const [name, x] of Object.entries(m.metrics ?? {})) {
    const key = `${ev.deviceId}\u0000${name}`;
    let d = detectors.get(key);
    if (!d) detectors.set(key, (d = new MetricDetector()));
    points++;
    if (d.score(ev.arrivalTs, x) >= threshold) detectionsBy.set(ev.deviceId, (detectionsBy.get(ev.deviceId) ?? 0) + 1);
  }
}
const injected = new Set(fleet.labels().attacks.filter((a) => a.type === 'value_injection').map((a) => a.deviceId));
let normal = 0;
let onVictims = 0;
for (const [id, n] of detectionsBy) (injected.has(id) ? (onVictims += n) : (normal += n));
const report = {
  devices,
  hours,
  threshold,
  series: detectors.size,
  points,
  detectionsOnNormalDevices: normal,
  per100kPoints: Number(((normal * 100_000) / points).toFixed(1)),
  devicesWithDetections: [...detectionsBy.keys()].filter((id) => !injected.has(id)).length,
  valueInjectionVictims: injected.size,
  victimsDetected: [...injected].filter((id) => detectionsBy.has(id)).length,
  detectionsOnVictims: onVictims,
};
process.stdout.write(values.json ? JSON.stringify(report) + '\n' : `${JSON.stringify(report, null, 2)}\n`);
