// Does a threshold picked on NAB give sensible alert rates in production? One simulated
// fleet, one pass, two metric models side by side on the same stream (every line, attacks
// included, as production sees it):
//
// - the NAB metric detector (src/nab/detector.ts), one state per device × metric, its
//   scores compared with the NAB-optimal threshold: point detections (metric readings at
//   or above it), and the alerts production would raise from them — each event's
//   strongest metric score at or above the threshold becomes a metric_anomaly finding
//   that goes through the real alert policy (src/alerts/policy.ts: one open alert per
//   device × kind, updated while findings keep coming, closed after its quiet period);
// - the production step model: the same lines through the real scoring core and alert
//   policy (src/detector.ts, as `replay` and `npm run eval` run them), its metric findings
//   from its alert threshold (the alert line, score 0.5, unless --step-threshold) counted
//   as point detections, and its alerts.
//
// Both models' alerts are judged by the same evaluator as `npm run eval`
// (src/eval/evaluate.ts): an alert near an attack on its device counts for that attack,
// any other is a false alert; rates are per 100,000 normal events (lines not sent by an
// attacker).
//
//   node --import tsx bench/nab-fleet.ts [--devices 300 --hours 24 --attacks N
//     --seed nab-fleet --threshold 0.2737 --step-threshold 0.5 --gate-metric-z Z --json]
//
// --threshold defaults to the standard profile's corpus-wide threshold of the NAB
// detector printed by `npm run bench:nab` / `edge-sentinel nab`. --step-threshold is the
// production model's metric_anomaly alert threshold (default: the alert line, 0.5); pass
// the threshold `edge-sentinel nab --model step` picked to see the fleet at NAB's choice.
// --gate-metric-z Z: the experiment of `bench/nab.ts --model gated --metric-z Z` — a
// reading's NAB detector score counts only when the step model (a second WASM core with
// metricZ Z, each line scored as it comes) flags that metric in that line; pass the
// threshold that command picked as --threshold.

import { parseArgs } from 'node:util';
import { MetricDetector } from '../src/nab/detector';
import { createFleet } from '../src/ingest/simulator';
import { Detector } from '../src/detector';
import { AlertPolicy, DEFAULT_ALERT_THRESHOLD } from '../src/alerts/policy';
import type { Alert } from '../src/alerts/alert';
import type { Core } from '../src/core/core';
import { ALERT_KINDS, EV, Reason, SWEEP_MESSAGE, V } from '../src/core/layout';
import { createCore } from '../src/core';
import { DeviceLines, evaluate } from '../src/eval/evaluate';
import { metricEvidenceAt, metricScoreOf } from '../src/nab/step';

const { values } = parseArgs({
  options: {
    devices: { type: 'string' },
    hours: { type: 'string' },
    attacks: { type: 'string' },
    seed: { type: 'string' },
    threshold: { type: 'string' },
    'step-threshold': { type: 'string' },
    'gate-metric-z': { type: 'string' },
    json: { type: 'boolean' },
  },
});
const devices = Number(values.devices ?? 300);
const hours = Number(values.hours ?? 24);
const seed = values.seed ?? 'nab-fleet';
const threshold = Number(values.threshold ?? 0.2737);
const stepThreshold = Number(values['step-threshold'] ?? DEFAULT_ALERT_THRESHOLD);
const METRIC = ALERT_KINDS.indexOf('metric_anomaly');
const gateZ = values['gate-metric-z'] === undefined ? undefined : Number(values['gate-metric-z']);
const gateCore = gateZ === undefined ? undefined : createCore('wasm', { capacity: Math.max(65536, devices * 2), metricZ: gateZ });

/** Bit i set when the gate core's step model flags the line's metric i (all bits when flagged behind two stronger findings). */
function stepFlags(bytes: Uint8Array): number {
  if (!gateCore) return 0xff;
  if (!gateCore.add(bytes, -1)) throw new Error('a line does not fit an empty batch');
  const n = gateCore.score();
  const v = gateCore.verdicts;
  let mask = 0;
  for (let k = 0; k < n; k++) {
    const at = k * V.SIZE;
    if (v.getUint32(at + V.MESSAGE, true) === SWEEP_MESSAGE) continue;
    if ((v.getUint32(at + V.REASONS, true) & Reason.METRIC_ANOMALY) === 0) continue;
    const ev = metricEvidenceAt(v, at);
    mask = ev === undefined ? 0xff : mask | (1 << v.getFloat64(ev + EV.AUX, true));
  }
  return mask;
}

const fleet = createFleet({ devices, hours, seed, ...(values.attacks !== undefined ? { attacks: Number(values.attacks) } : {}) });

// --- the production step model: core + alert policy, as replay / eval run them
const stepAlerts: Alert[] = [];
const attackLine: boolean[] = [];
let stepPoints = 0; // metric findings at or above its threshold on normal lines
const production = new Detector({
  engine: 'wasm',
  params: { capacity: Math.max(65536, devices * 2) },
  policy: { thresholds: { metric_anomaly: stepThreshold } },
  onAlert: (e) => {
    if (e.type === 'closed') stepAlerts.push(e.alert);
  },
  originOf: (line) => ({ line }),
  onBatch: (core, n, tags) => {
    const v = core.verdicts;
    for (let k = 0; k < n; k++) {
      const at = k * V.SIZE;
      const message = v.getUint32(at + V.MESSAGE, true);
      if (message >= tags.length || attackLine[tags[message]]) continue; // sweep verdicts, attackers' lines
      if ((v.getUint32(at + V.REASONS, true) & Reason.METRIC_ANOMALY) === 0) continue;
      const score = metricScoreOf(v, at) ?? 1; // flagged behind two stronger findings: counted
      if (score >= stepThreshold) stepPoints++;
    }
  },
});

// --- the NAB detector: its findings through the real alert policy, one verdict record each
const nabAlerts: Alert[] = [];
const nabPolicy = new AlertPolicy(
  (e) => {
    if (e.type === 'closed') nabAlerts.push(e.alert);
  },
  { thresholds: { metric_anomaly: threshold } },
);
const verdict = new DataView(new ArrayBuffer(V.SIZE));
let findingBytes: Uint8Array = new Uint8Array(0);
const findingCore = {
  verdicts: verdict,
  message: () => findingBytes,
  deviceId: () => '',
} as unknown as Core;
const detectors = new Map<string, MetricDetector>();
let nabPoints = 0; // metric readings at or above the threshold on normal lines
let nabEvents = 0; // normal lines with at least one
let metricPoints = 0; // metric readings on normal lines

const deviceLines: DeviceLines = new Map();
let line = 0;
let attackLines = 0;
// the second half of the run, when every model has seen each device for hours
const fleetStart = fleet.options.start;
const secondHalf = fleetStart + (hours * 3_600_000) / 2;
let normalInSecondHalf = 0;
for (let ev = fleet.next(); ev; ev = fleet.next(), line++) {
  const isAttack = ev.attackId !== undefined;
  attackLine[line] = isAttack;
  if (isAttack) attackLines++;
  else if (ev.arrivalTs >= secondHalf) normalInSecondHalf++;
  const bytes = Buffer.from(ev.line);
  production.add(bytes, -1, line);
  const gate = stepFlags(bytes); // every line, so that the gate core's devices see what production's see
  const list = deviceLines.get(ev.deviceId);
  if (list) list.push(line);
  else deviceLines.set(ev.deviceId, [line]);

  const m = JSON.parse(ev.line) as { deviceId?: unknown; ts?: unknown; metrics?: Record<string, unknown> };
  if (typeof m.deviceId !== 'string' || m.metrics === null || typeof m.metrics !== 'object') continue;
  let best = -1;
  let bestAt = 0;
  let bestValue = 0;
  let at = 0;
  let above = 0;
  for (const [name, x] of Object.entries(m.metrics)) {
    if (typeof x !== 'number') continue;
    const key = `${m.deviceId}\u0000${name}`;
    let d = detectors.get(key);
    if (!d) detectors.set(key, (d = new MetricDetector()));
    const s = (gate >> at) & 1 ? d.score(ev.arrivalTs, x) : (d.score(ev.arrivalTs, x), 0);
    if (!isAttack) metricPoints++;
    if (s >= threshold) above++;
    if (s > best) {
      best = s;
      bestAt = at;
      bestValue = x;
    }
    at++;
  }
  if (!isAttack && above > 0) {
    nabPoints += above;
    nabEvents++;
  }
  if (best >= threshold) {
    // one finding per event, its strongest metric, as the core's verdicts carry it
    verdict.setUint32(V.STATUS, 0, true);
    verdict.setUint32(V.REASONS, Reason.METRIC_ANOMALY, true);
    verdict.setFloat64(V.SCORE, best, true);
    verdict.setFloat64(V.TS, typeof m.ts === 'number' ? m.ts : ev.arrivalTs, true);
    verdict.setFloat64(V.ARRIVAL, ev.arrivalTs, true);
    verdict.setUint32(V.SLOT, 0, true);
    verdict.setUint32(V.MESSAGE, 0, true);
    verdict.setUint32(V.EV1_REASON, METRIC, true);
    verdict.setUint32(V.EV2_REASON, 0xff, true);
    verdict.setFloat64(V.EV1_SCORE, best, true);
    verdict.setFloat64(V.EV1_EXPECTED, bestValue, true);
    verdict.setFloat64(V.EV1_OBSERVED, bestValue, true);
    verdict.setFloat64(V.EV1_SPREAD, 0, true);
    verdict.setFloat64(V.EV1_AUX, bestAt, true);
    findingBytes = bytes;
    const l = line;
    nabPolicy.apply(findingCore, 1, () => ({ line: l }));
  }
}
production.finish();
nabPolicy.closeAll();

const labels = fleet.labels();
const normalEvents = line - attackLines;
const per100k = (n: number, of: number) => Number(((n * 100_000) / of).toFixed(2));
const attacked = new Set(labels.attacks.flatMap((a) => (a.attackerDeviceId ? [a.deviceId, a.attackerDeviceId] : [a.deviceId])));

function alertsReport(alerts: Alert[]) {
  const r = evaluate(alerts, labels, deviceLines);
  const metricAlerts = alerts.filter((a) => a.kind === 'metric_anomaly');
  const falseMetric = r.falseAlerts.filter((a) => a.kind === 'metric_anomaly');
  const vi = r.perType.value_injection;
  return {
    metricAlerts: metricAlerts.length,
    falseMetricAlerts: falseMetric.length,
    falseMetricAlertsPer100kNormalEvents: per100k(falseMetric.length, normalEvents),
    falseMetricAlertsHigh: falseMetric.filter((a) => a.severity === 'high').length,
    falseMetricAlertsInSecondHalf: falseMetric.filter((a) => a.firstSeen >= secondHalf).length,
    falseMetricAlertsPer100kNormalEventsInSecondHalf: per100k(falseMetric.filter((a) => a.firstSeen >= secondHalf).length, normalInSecondHalf),
    devicesWithFalseMetricAlerts: new Set(falseMetric.map((a) => a.deviceId)).size,
    metricAlertsOnUnattackedDevices: metricAlerts.filter((a) => !attacked.has(a.deviceId)).length,
    valueInjection: vi ? { attacks: vi.attacks, detected: vi.detected } : { attacks: 0, detected: 0 },
    allKinds: {
      alerts: alerts.length,
      falseAlerts: r.falseAlerts.length,
      falseAlertsPer100kNormalEvents: per100k(r.falseAlerts.length, normalEvents),
      attacksDetected: r.detected,
      attacks: r.attacks,
    },
  };
}

const report = {
  fleet: { devices, hours, seed, events: line, normalEvents, normalEventsInSecondHalf: normalInSecondHalf, attacks: labels.attacks.length, metricPointsOnNormalEvents: metricPoints },
  nabDetector: {
    threshold,
    ...(gateZ === undefined ? {} : { gatedByStepModelAtMetricZ: gateZ }),
    series: detectors.size,
    pointDetections: nabPoints,
    pointDetectionsPer100kMetricPoints: per100k(nabPoints, metricPoints),
    eventsWithDetections: nabEvents,
    eventsWithDetectionsPer100kNormalEvents: per100k(nabEvents, normalEvents),
    ...alertsReport(nabAlerts),
  },
  productionStepModel: {
    threshold: stepThreshold,
    eventsWithDetections: stepPoints,
    eventsWithDetectionsPer100kNormalEvents: per100k(stepPoints, normalEvents),
    ...alertsReport(stepAlerts),
  },
};

if (values.json) {
  process.stdout.write(JSON.stringify(report) + '\n');
} else {
  const n = report.nabDetector;
  const s = report.productionStepModel;
  const out = [
    `fleet: ${devices} devices × ${hours} h (seed ${seed}), ${line.toLocaleString('en')} events, ${normalEvents.toLocaleString('en')} normal, ` +
      `${labels.attacks.length} attacks; ${metricPoints.toLocaleString('en')} metric readings on normal events`,
    ...(gateZ === undefined ? [] : [`  NAB detector scores only where the step model at metricZ ${gateZ} flags the metric`]),
    `                                              NAB detector ≥ ${threshold}   production step model ≥ ${stepThreshold}`,
    `  normal events with a metric detection          ${String(n.eventsWithDetections).padStart(10)}   ${String(s.eventsWithDetections).padStart(10)}`,
    `    per 100k normal events                       ${String(n.eventsWithDetectionsPer100kNormalEvents).padStart(10)}   ${String(s.eventsWithDetectionsPer100kNormalEvents).padStart(10)}`,
    `  metric_anomaly alerts raised                   ${String(n.metricAlerts).padStart(10)}   ${String(s.metricAlerts).padStart(10)}`,
    `    false (no attack near them)                  ${String(n.falseMetricAlerts).padStart(10)}   ${String(s.falseMetricAlerts).padStart(10)}`,
    `    false per 100k normal events                 ${String(n.falseMetricAlertsPer100kNormalEvents).padStart(10)}   ${String(s.falseMetricAlertsPer100kNormalEvents).padStart(10)}`,
    `    false, in the run's second half, per 100k    ${String(n.falseMetricAlertsPer100kNormalEventsInSecondHalf).padStart(10)}   ${String(s.falseMetricAlertsPer100kNormalEventsInSecondHalf).padStart(10)}`,
    `    false, high severity                         ${String(n.falseMetricAlertsHigh).padStart(10)}   ${String(s.falseMetricAlertsHigh).padStart(10)}`,
    `    devices with a false one                     ${String(n.devicesWithFalseMetricAlerts).padStart(10)}   ${String(s.devicesWithFalseMetricAlerts).padStart(10)}`,
    `  value injections detected                      ${`${n.valueInjection.detected}/${n.valueInjection.attacks}`.padStart(10)}   ${`${s.valueInjection.detected}/${s.valueInjection.attacks}`.padStart(10)}`,
    `  NAB detector: ${n.pointDetections.toLocaleString('en')} metric readings at or above the threshold on normal events = ` +
      `${n.pointDetectionsPer100kMetricPoints} per 100k readings`,
    `  production, all kinds: ${s.allKinds.alerts} alerts, ${s.allKinds.falseAlerts} false (${s.allKinds.falseAlertsPer100kNormalEvents} per 100k normal events), ` +
      `${s.allKinds.attacksDetected}/${s.allKinds.attacks} attacks detected`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}
