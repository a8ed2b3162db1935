import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { simulateCommand } from '../../src/cli/simulate';
import {
  ATTACK_TYPES,
  ATTACK_VARIANTS,
  type AttackType,
  BENIGN_TYPES,
  DEVICE_CLASSES,
  DEVICE_CLASS_NAMES,
  EXPECTED_KINDS,
  type AttackLabel,
  type FleetOptions,
  type SimEvent,
  type SimLabels,
  createFleet,
  firmwareRank,
  simulateToDir,
  warmupMs,
} from '../../src/ingest/simulator';
import { formatInt, formatScaled } from '../../src/ingest/simulator/device';
import { Prng } from '../../src/ingest/simulator/prng';

interface Msg {
  deviceId: string;
  ts: number;
  seq?: number;
  source: string;
  credential?: string;
  firmware: string;
  bytes: number;
  metrics: Record<string, number>;
  arrivalTs?: number;
  pad?: string;
}

interface Run {
  events: SimEvent[];
  msgs: Msg[];
  labels: SimLabels;
  /** line indices per deviceId */
  byDevice: Map<string, number[]>;
}

function generate(opts: FleetOptions): Run {
  const fleet = createFleet(opts);
  const events: SimEvent[] = [];
  for (let e = fleet.next(); e !== null; e = fleet.next()) events.push(e);
  const msgs = events.map((e) => JSON.parse(e.line) as Msg);
  const byDevice = new Map<string, number[]>();
  msgs.forEach((m, i) => {
    const l = byDevice.get(m.deviceId);
    if (l) l.push(i);
    else byDevice.set(m.deviceId, [i]);
  });
  return { events, msgs, labels: fleet.labels(), byDevice };
}

/** Hash of the telemetry lines, and of the labels. */
function digest(opts: FleetOptions): string {
  const h = createHash('sha256');
  const fleet = createFleet(opts);
  for (let e = fleet.next(); e !== null; e = fleet.next()) h.update(e.line + '\n');
  const l = createHash('sha256').update(JSON.stringify(fleet.labels())).digest('hex');
  return `${h.digest('hex')} ${l}`;
}

const net24 = (s: string): string => s.slice(0, s.lastIndexOf('.'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// One run shared by the content tests: 200 devices, 6 h, every attack type in each of its
// ways (three rounds of the ten types) and every benign type.
const MAIN: FleetOptions = { devices: 200, hours: 6, seed: 11, arrivalField: true, attacks: 30 };
let mainRun: Run | undefined;
const main = (): Run => (mainRun ??= generate(MAIN));

function attack(type: string): AttackLabel {
  const a = main().labels.attacks.find((x) => x.type === type);
  assert.ok(a, `attack ${type} present`);
  return a;
}
/** Every attack of a type in the main run; each of the type's ways must be among them. */
function attacksOf(type: AttackType): AttackLabel[] {
  const list = main().labels.attacks.filter((x) => x.type === type);
  assert.deepEqual([...new Set(list.map((a) => a.detail.variant))].sort(), [...ATTACK_VARIANTS[type]].sort(), `${type}: every way`);
  return list;
}
/** The victim's own (non-attack) lines and the attack's lines. */
function split(a: AttackLabel): { own: number[]; atk: number[] } {
  const r = main();
  const own: number[] = [];
  const atk: number[] = [];
  for (let i = 0; i < r.events.length; i++) {
    const e = r.events[i];
    if (e.attackId === a.id) atk.push(i);
    else if (e.deviceId === a.deviceId) own.push(i);
  }
  return { own, atk };
}
const strip = (m: Msg): Omit<Msg, 'source' | 'arrivalTs' | 'pad'> => {
  const { source: _s, arrivalTs: _a, pad: _p, ...rest } = m;
  return rest;
};

describe('simulator: number formatting', () => {
  test('formatInt and formatScaled print the same text as String()', () => {
    const p = new Prng(1, 99);
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(p.float() * 2e12);
      assert.equal(formatInt(n), String(n));
      const d = p.int(0, 3);
      const k = Math.round((p.float() - 0.3) * 10 ** p.int(0, 8));
      assert.equal(formatScaled(k, d, 10 ** d), String(k / 10 ** d), `${k} / 10^${d}`);
    }
    assert.equal(formatInt(1732492800000), '1732492800000');
    assert.equal(formatInt(1732492000012), '1732492000012');
    assert.equal(formatScaled(-5, 1, 10), '-0.5');
    assert.equal(formatScaled(2100, 2, 100), '21');
  });
});

describe('simulator: determinism', () => {
  test('same seed gives byte-identical output, another seed a different one', () => {
    const o: FleetOptions = { devices: 60, hours: 3, seed: 7 };
    const a = digest(o);
    assert.equal(digest(o), a);
    assert.equal(digest({ ...o, seed: '7' }).split(' ')[0], a.split(' ')[0], 'numeric and string seed are the same seed');
    assert.notEqual(digest({ ...o, seed: 8 }), a);
  });
});

describe('simulator: stream contract', () => {
  test('arrival order is non-decreasing and matches arrivalTs in the line', () => {
    const r = main();
    assert.ok(r.events.length > r.labels.devices * r.labels.hours * 50);
    for (let i = 1; i < r.events.length; i++) assert.ok(r.events[i].arrivalTs >= r.events[i - 1].arrivalTs, `line ${i}`);
    r.events.forEach((e, i) => assert.equal(r.msgs[i].arrivalTs, e.arrivalTs));
    assert.ok(r.events[0].arrivalTs >= r.labels.start);
    assert.ok(r.events[r.events.length - 1].arrivalTs < r.labels.end);
    assert.equal(r.labels.events, r.events.length);
  });

  test('every line is one JSON object of the DESIGN.md §3 contract', () => {
    const r = main();
    const fields = new Set(['deviceId', 'ts', 'seq', 'source', 'credential', 'firmware', 'bytes', 'metrics', 'arrivalTs']);
    r.events.forEach((e, i) => {
      assert.ok(!e.line.includes('\n'));
      const m = r.msgs[i];
      assert.equal(e.deviceId, m.deviceId);
      for (const k of Object.keys(m)) assert.ok(fields.has(k), `unexpected field ${k}`);
      assert.match(m.deviceId, /^[a-z]+-\d{5,}$/);
      assert.ok(Number.isInteger(m.ts) && m.ts > 0);
      if (m.seq !== undefined) assert.ok(Number.isInteger(m.seq) && m.seq >= 0);
      assert.match(m.source, /^\d+\.\d+\.\d+\.\d+$/);
      if (m.credential !== undefined) assert.match(m.credential, /^sha256:[0-9a-f]{16}$/);
      assert.match(m.firmware, /^\d+\.\d+\.\d+$/);
      assert.ok(Number.isInteger(m.bytes) && m.bytes > 0);
      const names = Object.keys(m.metrics);
      assert.ok(names.length >= 1 && names.length <= 8);
      for (const v of Object.values(m.metrics)) {
        assert.ok(Number.isFinite(v));
        assert.ok(Math.abs(v * 1000 - Math.round(v * 1000)) < 1e-6, `≤ 3 decimals: ${v}`);
      }
    });
  });

  test('device clocks: ts = arrival − delay (≤ 2 s) + offset (≤ 2 s) outside attacks', () => {
    const r = main();
    r.events.forEach((e, i) => {
      if (e.attackId !== undefined) return;
      const d = r.msgs[i].ts - e.arrivalTs;
      assert.ok(d >= -4000 && d <= 2000, `line ${i}: ts − arrival = ${d}`);
    });
  });

  test('seq +1 per message for a quiet device, credentials unique per device', () => {
    const r = main();
    const touched = new Set<string>([...r.labels.benign.map((b) => b.deviceId), ...r.labels.attacks.map((a) => a.deviceId)]);
    let checked = 0;
    const credOwner = new Map<string, string>();
    for (const [id, idx] of r.byDevice) {
      const attacked = idx.some((i) => r.events[i].attackId !== undefined);
      if (touched.has(id) || attacked) continue;
      const first = r.msgs[idx[0]];
      if (first.credential !== undefined) {
        assert.equal(credOwner.get(first.credential), undefined, 'credential unique');
        credOwner.set(first.credential, id);
      }
      if (first.seq === undefined) continue;
      for (let k = 1; k < idx.length; k++) assert.equal(r.msgs[idx[k]].seq, (r.msgs[idx[k - 1]].seq ?? 0) + 1, id);
      checked++;
    }
    assert.ok(checked > r.labels.devices / 4);
  });

  test('at least 5 classes, with and without seq / credential, realistic rates', () => {
    const r = main();
    assert.ok(DEVICE_CLASS_NAMES.length >= 5);
    assert.deepEqual(Object.keys(r.labels.classes), [...DEVICE_CLASS_NAMES]);
    const noSeq = r.msgs.find((m) => m.deviceId.startsWith(DEVICE_CLASSES.gateway.prefix + '-'));
    assert.ok(noSeq && noSeq.seq === undefined && noSeq.credential !== undefined, 'gateways: no seq');
    const noCred = r.msgs.find((m) => m.deviceId.startsWith(DEVICE_CLASSES.asset_tracker.prefix + '-'));
    assert.ok(noCred && noCred.credential === undefined && noCred.seq !== undefined, 'trackers: no credential');
    const cam = r.msgs.filter((m) => m.deviceId.startsWith('cam-')).map((m) => m.bytes);
    assert.ok(median(cam) > 1000 && median(cam) < 3000, 'camera payloads 1–3 kB');
    const temps = r.msgs.filter((m, i) => m.metrics.temp !== undefined && r.events[i].attackId === undefined).map((m) => m.metrics.temp);
    assert.ok(median(temps) > 15 && median(temps) < 28);
    // an undisturbed thermostat: about 120 messages per hour
    const touched = new Set([...r.labels.benign, ...r.labels.attacks].map((x) => x.deviceId));
    const [id, idx] = [...r.byDevice].find(([d]) => d.startsWith('thermo-') && !touched.has(d))!;
    const h = r.labels.hours;
    assert.ok(idx.length > h * 110 && idx.length < h * 130, `${id}: ${idx.length}`);
  });

  test('several devices share a NAT source', () => {
    const r = main();
    assert.ok(r.labels.sharedSources.length > 0);
    const s = r.labels.sharedSources[0];
    const ids = new Set(r.msgs.filter((m) => m.source === s.source).map((m) => m.deviceId));
    assert.ok(ids.size >= 2, `${s.source}: ${ids.size} devices`);
  });
});

describe('simulator: attacks', () => {
  test('one of each type, in the middle part of the run, with correct labels', () => {
    const r = main();
    const types = new Set(r.labels.attacks.map((a) => a.type));
    assert.deepEqual([...types].sort(), [...ATTACK_TYPES].sort());
    const victims = new Set(r.labels.attacks.map((a) => a.deviceId));
    assert.equal(victims.size, r.labels.attacks.length, 'distinct victims');
    const warm = r.labels.start + warmupMs(r.labels.end - r.labels.start);
    assert.ok(warm >= r.labels.start + 2 * 3_600_000 || r.labels.hours < 4);
    for (const a of r.labels.attacks) {
      assert.deepEqual(a.expectedKinds, EXPECTED_KINDS[a.type]);
      const planned = a.type === 'silence' ? Number(a.detail.plannedStart) : a.start;
      assert.ok(planned >= warm, `${a.type} starts after the warm-up`);
      assert.ok(a.end <= r.labels.end && a.end >= a.start);
      assert.ok(a.firstLine >= 0);
      if (a.type === 'silence') {
        assert.equal(a.lineCount, 0);
        continue;
      }
      const atk = r.events.flatMap((e, i) => (e.attackId === a.id ? [i] : []));
      assert.equal(atk.length, a.lineCount, a.type);
      assert.equal(atk[0], a.firstLine, a.type);
      assert.equal(r.events[atk[0]].arrivalTs, a.start);
      assert.equal(r.events[atk[atk.length - 1]].arrivalTs, a.end);
    }
  });

  test('replay: 5–50 earlier lines of the victim, verbatim, from another or its own source, spaced or in a burst, while the device keeps sending', () => {
    const r = main();
    for (const a of attacksOf('replay')) {
      const { own, atk } = split(a);
      assert.ok(atk.length >= 5 && atk.length <= 50);
      const earlier = new Map(own.filter((i) => i < a.firstLine).map((i) => [JSON.stringify(strip(r.msgs[i])), i]));
      const origin = atk.map((i) => earlier.get(JSON.stringify(strip(r.msgs[i]))));
      origin.forEach((o, k) => assert.ok(o !== undefined && o < a.firstLine, `replayed line ${k} is an earlier victim line`));
      for (let k = 1; k < origin.length; k++) assert.equal(own.indexOf(origin[k]!), own.indexOf(origin[k - 1]!) + 1, 'a captured run');
      const victimSource = r.msgs[own[0]].source;
      for (const i of atk) {
        if (a.detail.variant === 'own source') assert.equal(r.msgs[i].source, victimSource);
        else assert.notEqual(net24(r.msgs[i].source), net24(victimSource));
      }
      const span = r.events[atk[atk.length - 1]].arrivalTs - r.events[atk[0]].arrivalTs;
      const captured = r.events[origin[origin.length - 1]!].arrivalTs - r.events[origin[0]!].arrivalTs;
      if (a.detail.variant === 'burst') assert.ok(span <= atk.length * 300, `a burst: ${span} ms for ${atk.length} lines`);
      else assert.ok(Math.abs(span - captured) < 1000, `original spacing: ${span} vs ${captured} ms`);
      if (a.detail.variant !== 'burst') assert.ok(own.some((i) => i > a.firstLine && i < atk[atk.length - 1]), 'the real device keeps sending');
      // the line is identical apart from the source (and arrivalTs)
      const i0 = atk[0];
      const orig = r.events[origin[0]!].line.replace(`"source":"${victimSource}"`, `"source":"${r.msgs[i0].source}"`);
      assert.equal(orig.replace(/,"arrivalTs":\d+/, ''), r.events[i0].line.replace(/,"arrivalTs":\d+/, ''));
    }
  });

  test('clone: same id and credential, from another network or another host of its site, own seq range, interleaved for 10–60 min', () => {
    const r = main();
    for (const a of attacksOf('clone')) {
      const { own, atk } = split(a);
      const real = r.msgs[own[0]];
      const during = own.filter((i) => i > atk[0] && i < atk[atk.length - 1]);
      assert.ok(during.length >= 2, 'interleaved with the real device');
      for (const i of atk) {
        const m = r.msgs[i];
        assert.equal(m.deviceId, a.deviceId);
        assert.equal(m.credential, real.credential);
        assert.notEqual(m.source, real.source);
        if (a.detail.variant === 'same site') assert.equal(net24(m.source), net24(real.source));
        else assert.notEqual(net24(m.source), net24(real.source));
        assert.ok(Math.abs(m.ts - r.events[i].arrivalTs) < 5000, 'correct clock');
      }
      const cloneSeq = atk.map((i) => r.msgs[i].seq!);
      const realSeq = during.map((i) => r.msgs[i].seq!);
      assert.ok(Math.min(...cloneSeq) > Math.max(...realSeq) + 1000 || Math.max(...cloneSeq) + 1000 < Math.min(...realSeq));
      for (let k = 1; k < cloneSeq.length; k++) assert.equal(cloneSeq[k], cloneSeq[k - 1] + 1);
      const minutes = (a.end - a.start) / 60_000;
      assert.ok(minutes >= 8 && minutes <= 61, `${minutes} min`);
    }
  });

  test('credential_theft: a device id outside the fleet uses the victim credential while the victim is active', () => {
    const r = main();
    const fleetIds = new Set(createFleet(MAIN).inventory().map((d) => d.deviceId));
    for (const a of attacksOf('credential_theft')) {
      const { own, atk } = split(a);
      assert.ok(a.attackerDeviceId && a.attackerDeviceId !== a.deviceId);
      assert.ok(!fleetIds.has(a.attackerDeviceId));
      const cred = r.msgs[own[0]].credential;
      const site = net24(r.msgs[own[0]].source);
      for (const i of atk) {
        assert.equal(r.msgs[i].deviceId, a.attackerDeviceId);
        assert.equal(r.msgs[i].credential, cred);
        assert.equal(net24(r.msgs[i].source) === site, a.detail.variant === 'same site', String(a.detail.variant));
      }
      assert.ok(own.some((i) => i > atk[0] && i < atk[atk.length - 1]), 'victim stays active');
    }
  });

  test('hijack: the real device stops, its id continues from another network with a new credential, its seq continuing or restarting', () => {
    const r = main();
    for (const a of attacksOf('hijack')) {
      const { own, atk } = split(a);
      assert.ok(own.every((i) => i < a.firstLine), 'the real device stops');
      const before = r.msgs[own[own.length - 1]];
      assert.equal(atk.length, r.byDevice.get(a.deviceId)!.filter((i) => i >= a.firstLine).length);
      for (const i of atk) {
        assert.notEqual(r.msgs[i].credential, before.credential);
        assert.notEqual(net24(r.msgs[i].source), net24(before.source));
      }
      const first = r.msgs[atk[0]].seq;
      if (first === undefined) continue; // a class without seq: only source and credential change
      if (a.detail.variant === 'seq restarts') assert.ok(first < 5, `seq ${first}`);
      else assert.ok(first > before.seq!, `seq ${first} after ${before.seq}`);
    }
  });

  test('firmware_downgrade: a legacy release or one step back, from then on', () => {
    const r = main();
    for (const a of attacksOf('firmware_downgrade')) {
      const { own, atk } = split(a);
      const last = r.msgs[own[own.length - 1]].firmware;
      assert.ok(own.every((i) => i < a.firstLine));
      for (const i of atk) assert.ok(firmwareRank(r.msgs[i].firmware) < firmwareRank(last));
      const [ma, mi] = last.split('.');
      const to = r.msgs[atk[0]].firmware;
      if (a.detail.variant === 'one step back') assert.ok(to.startsWith(`${ma}.`) && (to.startsWith(`${ma}.${mi}.`) || to.endsWith('.9')), `${last} → ${to}`);
    }
  });

  test('exfiltration: bytes 20–200× (large) or 5–20× (moderate) the usual for 5–30 min', () => {
    const r = main();
    for (const a of attacksOf('exfiltration')) {
      const { own, atk } = split(a);
      const usual = median(own.map((i) => r.msgs[i].bytes));
      const [lo, hi] = a.detail.variant === 'large' ? [20, 200] : [5, 20];
      const factor = Number(a.detail.factor);
      assert.ok(factor >= lo && factor <= hi, `×${factor}`);
      for (const i of atk) assert.ok(r.msgs[i].bytes >= 0.7 * lo * usual, `${r.msgs[i].bytes} vs ${usual}`);
      const m = median(atk.map((i) => r.msgs[i].bytes)) / usual;
      assert.ok(m >= 0.9 * factor && m <= 1.1 * factor, `×${m.toFixed(1)} for a factor of ${factor}`);
      const minutes = (a.end - a.start) / 60_000;
      assert.ok(minutes <= 30.5, `${minutes} min`);
    }
  });

  test('flood: 20–100× (large) or 5–20× (moderate) the usual rate for 2–10 min', () => {
    const r = main();
    for (const a of attacksOf('flood')) {
      const { own, atk } = split(a);
      const gaps = (ix: number[]): number[] => ix.slice(1).map((i, k) => r.events[i].arrivalTs - r.events[ix[k]].arrivalTs);
      const usual = median(gaps(own.filter((i) => i < a.firstLine)));
      const flood = (a.end - a.start) / (atk.length - 1);
      const lo = a.detail.variant === 'large' ? 20 : 5;
      assert.ok(usual / flood >= 0.9 * lo, `rate ×${(usual / flood).toFixed(1)}`);
      const minutes = (a.end - a.start) / 60_000;
      assert.ok(minutes >= 1.5 && minutes <= 10.5, `${minutes} min`);
    }
  });

  test('silence: nothing from the victim for 2–4 h or 45–110 min (or until the end), firstLine right after its last message', () => {
    const r = main();
    for (const a of attacksOf('silence')) {
      const idx = r.byDevice.get(a.deviceId)!;
      const last = idx.filter((i) => i < a.firstLine).pop()!;
      assert.equal(a.firstLine, last + 1);
      assert.equal(r.events[last].arrivalTs, a.start);
      assert.ok(!idx.some((i) => i > last && r.events[i].arrivalTs < a.end));
      const least = a.detail.variant === 'hours' ? 2 * 3_600_000 : 44 * 60_000;
      assert.ok(a.end - a.start >= least || a.end === r.labels.end, `${(a.end - a.start) / 60_000} min`);
    }
  });

  test('value_injection: one metric far outside its range (implausible), or outside the device’s own pattern but physically possible, for several messages', () => {
    const r = main();
    for (const a of attacksOf('value_injection')) {
      const { own, atk } = split(a);
      const metric = String(a.detail.metric);
      const normal = own.map((i) => r.msgs[i].metrics[metric]);
      const lo = Math.min(...normal);
      const hi = Math.max(...normal);
      assert.ok(atk.length >= 5);
      for (const i of atk) {
        const v = r.msgs[i].metrics[metric];
        if (a.detail.variant === 'implausible') assert.ok(v > hi + 10 * (hi - lo + 1) || v < lo - 10 * (hi - lo + 1), `${metric}=${v} vs [${lo}, ${hi}]`);
        else {
          // outside what the device itself reported before, yet not the class's impossible value
          const before = own.filter((j) => j < a.firstLine).map((j) => r.msgs[j].metrics[metric]);
          const outside = v > Math.max(...before) || v < Math.min(...before);
          assert.ok(outside, `${metric}=${v} leaves [${Math.min(...before)}, ${Math.max(...before)}]`);
          assert.notEqual(v, a.detail.value);
        }
      }
    }
  });

  test('clock_skew: ts off by 1–24 h (hours) or 10–60 min (minutes) while arrival stays normal', () => {
    const r = main();
    for (const a of attacksOf('clock_skew')) {
      const { atk } = split(a);
      const [lo, hi] = a.detail.variant === 'hours' ? [3_600_000, 24 * 3_600_000] : [600_000, 3_600_000];
      for (const i of atk) {
        const off = Math.abs(r.msgs[i].ts - r.events[i].arrivalTs);
        assert.ok(off >= lo - 5000 && off <= hi + 5000, `${off}`);
      }
    }
  });
});

describe('simulator: benign changes', () => {
  test('each type present, labelled at the line that shows it', () => {
    const r = main();
    const seen = new Set(r.labels.benign.map((b) => b.type));
    assert.deepEqual([...seen].sort(), [...BENIGN_TYPES].sort());
    const victims = new Set(r.labels.attacks.map((a) => a.deviceId));
    for (const b of r.labels.benign) {
      assert.ok(!victims.has(b.deviceId), 'never on an attack victim');
      const m = r.msgs[b.line];
      assert.equal(m.deviceId, b.deviceId);
      assert.equal(r.events[b.line].arrivalTs, b.at);
      assert.equal(r.events[b.line].attackId, undefined);
      const idx = r.byDevice.get(b.deviceId)!;
      const prev = r.msgs[idx[idx.indexOf(b.line) - 1]];
      const prevAt = r.events[idx[idx.indexOf(b.line) - 1]].arrivalTs;
      switch (b.type) {
        case 'reboot':
          if (m.seq !== undefined) assert.ok(m.seq <= 1);
          assert.ok(b.at - prevAt >= 30_000, 'silent ≥ 30 s');
          assert.ok(Math.abs(m.ts - b.at) < 5000, 'device time continues');
          break;
        case 'dhcp_change':
          assert.notEqual(m.source, prev.source);
          assert.equal(net24(m.source), net24(prev.source));
          break;
        case 'credential_rotation':
          assert.notEqual(m.credential, prev.credential);
          assert.equal(m.source, prev.source);
          break;
        case 'firmware_upgrade':
          assert.ok(firmwareRank(m.firmware) > firmwareRank(prev.firmware));
          break;
        case 'network_gap':
          // 1–5 min lost, plus up to an interval on each side
          assert.ok(b.at - prevAt >= 60_000 && b.at - prevAt <= 300_000 + 2 * 140_000, `${b.at - prevAt}`);
          if (m.seq !== undefined) assert.ok(m.seq > (prev.seq ?? 0) + 1);
          break;
        case 'duplicate':
          assert.equal(r.events[b.line].line, r.events[b.line - 1].line, 'delivered twice in a row');
          break;
        case 'lost_messages':
          assert.ok(m.seq! - prev.seq! >= 2 && m.seq! - prev.seq! <= 3);
          break;
      }
    }
  });
});

describe('simulator: options', () => {
  test('bench profile: ~200-byte lines, exactly 2 metrics, no attacks', () => {
    const f = createFleet({ devices: 50, hours: 0.5, seed: 1, profile: 'bench' });
    let n = 0;
    for (let e = f.next(); e !== null; e = f.next(), n++) {
      const m = JSON.parse(e.line) as Msg;
      assert.equal(Object.keys(m.metrics).length, 2);
      assert.ok(e.line.length >= 190 && e.line.length <= 230, `${e.line.length}`);
      assert.equal(e.attackId, undefined);
    }
    assert.ok(n > 1000);
    assert.equal(f.labels().attacks.length, 0);
  });

  test('default attack counts, small fleets, iterator, bad options', () => {
    assert.equal(createFleet({ devices: 400, hours: 1, seed: 1 }).labels().attacks.length, 10);
    assert.equal(createFleet({ devices: 4000, hours: 1, seed: 1 }).labels().attacks.length, 100);
    const small = createFleet({ devices: 8, hours: 4, seed: 2 });
    assert.equal(small.labels().attacks.length, 4);
    let n = 0;
    for (const e of small) n += e.line.length > 0 ? 1 : 0;
    assert.equal(n, small.lines);
    assert.throws(() => createFleet({ devices: 0, hours: 1, seed: 1 }), /devices/);
    assert.throws(() => createFleet({ devices: 5, hours: -1, seed: 1 }), /hours/);
    assert.throws(() => createFleet({ devices: 5, hours: 1, seed: 1, attacks: 6 }), /attacks/);
    assert.throws(() => createFleet({ devices: 5, hours: 1, seed: 1, classes: { toaster: 1 } as never }), /class/);
  });
});

describe('simulator: streaming', () => {
  test('memory does not grow with the simulated duration (2,000 devices × 24 h)', (t) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const opts: FleetOptions = {
      devices: 2000,
      hours: 24,
      seed: 3,
      // the slower-reporting classes keep this test short; the heap holds one record per device either way
      classes: { power_meter: 1, asset_tracker: 1, air_quality: 1 },
    };
    gc();
    const base = process.memoryUsage().heapUsed;
    const fleet = createFleet(opts);
    let peak = 0;
    let n = 0;
    const t0 = performance.now();
    for (let e = fleet.next(); e !== null; e = fleet.next()) {
      if (++n % 250_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
    }
    const s = (performance.now() - t0) / 1000;
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    assert.ok(n > 2_000_000, `${n} lines`);
    assert.ok(peak < 48 * 1024 * 1024, `heap grew by ${(peak / 1048576).toFixed(1)} MiB`);
    t.diagnostic(`${n} lines in ${s.toFixed(1)} s: ${Math.round(n / s)} lines/s, heap +${(peak / 1048576).toFixed(1)} MiB`);
  });
});

describe('simulator: files and CLI', () => {
  const capture = (): { io: { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } }; out: string[]; err: string[] } => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      io: { stdout: { write: (s: string) => out.push(s) > 0 }, stderr: { write: (s: string) => err.push(s) > 0 } },
      out,
      err,
    };
  };

  test('simulateToDir and `simulate` write the same, deterministic files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-'));
    try {
      const s = await simulateToDir({ devices: 60, hours: 3, seed: 9, arrivalField: true }, join(dir, 'a'));
      const c = capture();
      const code = await simulateCommand(['--devices', '60', '--hours', '3', '--seed', '9', '--with-arrival', '--out', join(dir, 'b')], c.io);
      assert.equal(code, 0, c.err.join(''));
      assert.equal(c.out.length, 1);
      assert.match(c.out[0], /^simulate: wrote [\d,]+ lines .*\n$/);
      const [ta, tb, la, lb] = await Promise.all([
        readFile(join(dir, 'a', 'telemetry.ndjson')),
        readFile(join(dir, 'b', 'telemetry.ndjson')),
        readFile(join(dir, 'a', 'labels.json'), 'utf8'),
        readFile(join(dir, 'b', 'labels.json'), 'utf8'),
      ]);
      assert.ok(ta.equals(tb));
      assert.equal(la, lb);
      const labels = JSON.parse(la) as SimLabels;
      const lines = ta.toString('utf8').split('\n');
      assert.equal(lines.pop(), '');
      assert.equal(lines.length, labels.events);
      assert.equal(lines.length, s.lines);
      assert.equal(ta.length, s.bytes);
      assert.equal(labels.version, 1);
      assert.equal(labels.seed, 9);
      for (const a of labels.attacks.filter((x) => x.lineCount > 0)) {
        const m = JSON.parse(lines[a.firstLine]) as Msg;
        assert.equal(m.deviceId, a.attackerDeviceId ?? a.deviceId);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('--help, and one-line errors with exit code 2', async () => {
    const h = capture();
    assert.equal(await simulateCommand(['--help'], h.io), 0);
    assert.match(h.out.join(''), /Usage: edge-sentinel simulate --devices N --hours H --seed S --out DIR/);
    for (const argv of [
      ['--devices', '10', '--hours', '1', '--seed', '1', '--out', 'x', '--bogus'],
      ['--devices', 'ten', '--hours', '1', '--seed', '1', '--out', 'x'],
      ['--devices', '10', '--hours', '0', '--seed', '1', '--out', 'x'],
      ['--devices', '10', '--hours', '1', '--seed', '1'],
      ['--devices', '10', '--hours', '1', '--seed', '1', '--out', 'x', '--start', 'yesterday'],
      ['--devices', '3', '--hours', '1', '--seed', '1', '--out', 'x', '--attacks', '9'],
    ]) {
      const c = capture();
      assert.equal(await simulateCommand(argv, c.io), 2, argv.join(' '));
      assert.equal(c.out.length, 0);
      assert.equal(c.err.length, 1);
      assert.match(c.err[0], /^edge-sentinel simulate: [^\n]+\n$/);
    }
  });
});
