// Each detector on a focused, hand-made stream, on both engines, with the benign
// look-alikes that must stay quiet (or below the alert threshold of 0.5).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, ENGINES } from '../../src/core';
import { Reason, SWEEP_MESSAGE } from '../../src/core/layout';
import { byMessage, encode, merge, Msg, readVerdicts, scoreAll, series, T0, VerdictRow } from '../support/telemetry';

const ALERT = 0.5;

function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** Standard normal draws from a fixed seed (mulberry32 + Box–Muller): the same stream on every run. */
function normal(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function alerting(rows: VerdictRow[]): VerdictRow[] {
  return rows.filter((r) => r.score >= ALERT);
}

for (const engine of ENGINES) {
  describe(`detectors [${engine}]`, () => {
    test('a steady device raises nothing', () => {
      const rows = scoreAll(engine, series(300, { deviceId: 'steady-1' }));
      assert.equal(rows.length, 300);
      assert.deepEqual(alerting(rows), []);
      assert.ok(rows[0].reasons & Reason.NEW_DEVICE);
      assert.equal(rows[1].reasons & Reason.NEW_DEVICE, 0);
    });

    test('replay: an old message sent again (seq and device time go back)', () => {
      const msgs = series(100, { deviceId: 'r-1' });
      const old = { ...msgs[40], source: '10.9.9.9', arrivalTs: msgs[99].arrivalTs! + 1000 };
      const rows = byMessage(scoreAll(engine, [...msgs, old]));
      const v = rows[100];
      assert.equal(v.top, 'replay');
      assert.ok(v.score >= 0.95);
      assert.equal(v.ev1.aux, 40); // the replayed seq
      assert.equal(v.ev1.spread, 99); // where the device was
      assert.deepEqual(alerting(rows.slice(0, 100)), []);
    });

    test('replay on a device without seq: device time goes back', () => {
      const msgs = series(60, { deviceId: 'r-2' }).map(({ seq: _s, ...m }) => m as Msg);
      const old = { ...msgs[10], arrivalTs: msgs[59].arrivalTs! + 500 };
      const rows = byMessage(scoreAll(engine, [...msgs, old]));
      assert.equal(rows[60].top, 'replay');
    });

    test('replay: same seq with a different device time', () => {
      const msgs = series(50, { deviceId: 'r-3' });
      const dup = { ...msgs[49], ts: (msgs[49].ts as number) + 1, arrivalTs: msgs[49].arrivalTs! + 10 };
      const rows = byMessage(scoreAll(engine, [...msgs, dup]));
      assert.equal(rows[50].top, 'replay');
    });

    test('benign: an identical message delivered twice is a duplicate, not a replay', () => {
      const msgs = series(50, { deviceId: 'd-1' });
      const rows = byMessage(scoreAll(engine, [...msgs, msgs[49]]));
      assert.ok(rows[50].reasons & Reason.DUPLICATE);
      assert.deepEqual(alerting(rows), []);
    });

    test('benign: a reboot (gap, seq restarts at 0, clock continues) is not an alert', () => {
      const before = series(100, { deviceId: 'b-1' });
      const after = series(100, { deviceId: 'b-1' }, 30_000, T0 + 100 * 30_000 + 90_000, 0);
      const rows = byMessage(scoreAll(engine, [...before, ...after]));
      assert.ok(rows[100].reasons & Reason.REBOOT);
      assert.deepEqual(alerting(rows), []);
    });

    test('clone: a second seq stream from another network, interleaved', () => {
      const real = series(200, { deviceId: 'c-1' }, 30_000, T0, 5000);
      const clone = series(40, { deviceId: 'c-1', source: '172.16.4.2' }, 30_000, T0 + 150 * 30_000 + 15_000, 120);
      const rows = byMessage(scoreAll(engine, merge(real, clone)));
      const firstClone = 150 + 1; // real messages 0..150 arrive before the first clone message
      const hits = alerting(rows).filter((r) => r.top === 'clone');
      assert.ok(hits.length > 0, 'clone detected');
      const firstHit = rows.findIndex((r) => r.top === 'clone' && r.score >= 0.85);
      assert.ok(firstHit >= firstClone && firstHit <= firstClone + 3, `high clone alert within 3 messages (at ${firstHit})`);
      assert.deepEqual(alerting(rows.slice(0, firstClone)), []);
    });

    test('clone without seq: two sources alternating', () => {
      const strip = (m: Msg): Msg => {
        const { seq: _s, ...rest } = m;
        return rest as Msg;
      };
      const real = series(120, { deviceId: 'c-2' }).map(strip);
      const clone = series(20, { deviceId: 'c-2', source: '192.168.77.5' }, 30_000, T0 + 100 * 30_000 + 10_000).map(strip);
      const rows = byMessage(scoreAll(engine, merge(real, clone)));
      assert.ok(rows.some((r) => r.top === 'clone' && r.score >= ALERT));
    });

    test('benign: one credential rotation stays below the alert threshold; with a move to another network it is a hijack', () => {
      const msgs = series(100, { deviceId: 'k-1' });
      const rotated = series(20, { deviceId: 'k-1', credential: 'sha256:new' }, 30_000, T0 + 100 * 30_000, 100);
      const rows = byMessage(scoreAll(engine, [...msgs, ...rotated]));
      assert.ok(rows[100].reasons & Reason.CREDENTIAL_CHANGE);
      assert.deepEqual(alerting(rows), []);

      const hijacked = series(20, { deviceId: 'k-1', credential: 'sha256:evil', source: '203.0.113.9' }, 30_000, T0 + 100 * 30_000, 0);
      const rows2 = byMessage(scoreAll(engine, [...msgs, ...hijacked]));
      assert.equal(rows2[100].top, 'credential_change');
      assert.ok(rows2[100].score >= 0.85);
    });

    test('credential shared by another device id while the owner is active; not once the owner is long gone', () => {
      const owner = series(100, { deviceId: 'owner-1', credential: 'sha256:shared' });
      const thief = series(10, { deviceId: 'thief-1', credential: 'sha256:shared', source: '10.50.0.1' }, 30_000, T0 + 50 * 30_000 + 5000);
      const rows = byMessage(scoreAll(engine, merge(owner, thief)));
      const t = rows.find((r) => r.deviceId === 'thief-1');
      assert.ok(t);
      assert.equal(t.top, 'credential_shared');
      assert.equal(rows.find((r) => r.top === 'credential_shared' && r.ev1.aux >= 0)?.deviceId, 'thief-1');

      // the owner stopped 2 hours before: the credential moved (a replaced device)
      const later = series(10, { deviceId: 'replacement-1', credential: 'sha256:shared' }, 30_000, T0 + 100 * 30_000 + 7_200_000);
      const rows2 = byMessage(scoreAll(engine, [...owner, ...later]));
      assert.deepEqual(alerting(rows2), []);
    });

    test('benign: DHCP change in the same /24 and NAT-shared sources', () => {
      const a = series(100, { deviceId: 'n-1', source: '10.7.0.1' });
      const b = series(100, { deviceId: 'n-2', source: '10.7.0.1' }, 30_000, T0 + 3000);
      const moved = series(50, { deviceId: 'n-1', source: '10.7.0.99' }, 30_000, T0 + 100 * 30_000, 100);
      const rows = byMessage(scoreAll(engine, merge(a, b, moved)));
      assert.deepEqual(alerting(rows), []);
      assert.ok(rows.some((r) => r.reasons & Reason.SOURCE_CHANGE));
    });

    test('firmware downgrade is flagged, an upgrade is not', () => {
      const msgs = series(60, { deviceId: 'f-1' });
      const up = series(10, { deviceId: 'f-1', firmware: '2.5.0' }, 30_000, T0 + 60 * 30_000, 60);
      const down = series(10, { deviceId: 'f-1', firmware: '1.9.9' }, 30_000, T0 + 70 * 30_000, 70);
      const rows = byMessage(scoreAll(engine, [...msgs, ...up, ...down]));
      assert.ok(rows[60].reasons & Reason.FIRMWARE_UPGRADE);
      assert.deepEqual(alerting(rows.slice(0, 70)), []);
      assert.equal(rows[70].top, 'firmware_downgrade');
      assert.ok(rows[70].score >= 0.85);
    });

    test('clock skew: hours off arrival, from the first message and after warm-up', () => {
      const skewedFromStart = series(5, { deviceId: 's-1' }).map((m) => ({ ...m, ts: (m.ts as number) + 5 * 3_600_000 }));
      const rows = byMessage(scoreAll(engine, skewedFromStart));
      assert.equal(rows[0].top, 'clock_skew');

      const msgs = series(60, { deviceId: 's-2' });
      const later = series(5, { deviceId: 's-2' }, 30_000, T0 + 60 * 30_000, 60).map((m) => ({ ...m, ts: (m.ts as number) - 2 * 3_600_000 }));
      const rows2 = byMessage(scoreAll(engine, [...msgs, ...later]));
      assert.deepEqual(alerting(rows2.slice(0, 60)), []);
      assert.ok(rows2.slice(60).some((r) => r.top === 'clock_skew'));
    });

    test('rate spike: 30× the usual rate', () => {
      const msgs = series(100, { deviceId: 'q-1' });
      const flood = series(200, { deviceId: 'q-1' }, 1000, T0 + 100 * 30_000, 100);
      const rows = byMessage(scoreAll(engine, [...msgs, ...flood]));
      assert.deepEqual(alerting(rows.slice(0, 100)), []);
      const first = rows.findIndex((r) => r.top === 'rate_spike');
      assert.ok(first >= 100 && first < 110, `flood seen within 10 messages (at ${first})`);
    });

    test('rate spike: a moderate flood, 5× the usual rate, is seen within 15 messages', () => {
      const msgs = series(100, { deviceId: 'q-2' });
      const flood = series(60, { deviceId: 'q-2' }, 6_000, T0 + 100 * 30_000, 100);
      const rows = byMessage(scoreAll(engine, [...msgs, ...flood]));
      assert.deepEqual(alerting(rows.slice(0, 100)), []);
      const first = rows.findIndex((r) => r.top === 'rate_spike' && r.score >= ALERT);
      assert.ok(first >= 100 && first < 115, `flood seen within 15 messages (at ${first})`);
    });

    test('benign: after a 6 h outage the usual rate is still the usual rate (no spike, no silence storm)', () => {
      const before = series(100, { deviceId: 'q-3' });
      const after = series(100, { deviceId: 'q-3' }, 30_000, T0 + 100 * 30_000 + 6 * 3_600_000, 100);
      const rows = byMessage(scoreAll(engine, [...before, ...after]));
      assert.deepEqual(alerting(rows.slice(100)).filter((r) => r.top === 'rate_spike'), []);
      // the baseline stayed near 30 s: a 5× flood right after the return is still seen
      const flood = series(60, { deviceId: 'q-3' }, 6_000, T0 + 200 * 30_000 + 6 * 3_600_000, 200);
      const rows2 = byMessage(scoreAll(engine, [...before, ...after, ...flood]));
      assert.ok(rows2.slice(200).some((r) => r.top === 'rate_spike' && r.score >= ALERT));
    });

    test('silence: found by the sweep as the fleet clock advances, once, and the return is noted', () => {
      const quiet = series(60, { deviceId: 'quiet-1' });
      const others = [1, 2, 3].map((k) => series(200, { deviceId: `busy-${k}` }, 30_000, T0 + k * 1000));
      const back = series(5, { deviceId: 'quiet-1' }, 30_000, T0 + 195 * 30_000, 60);
      const rows = scoreAll(engine, merge(quiet, ...others, back));
      const silence = rows.filter((r) => r.top === 'silence');
      assert.equal(silence.length, 1);
      assert.equal(silence[0].message, SWEEP_MESSAGE);
      assert.equal(silence[0].deviceId, 'quiet-1');
      const quietFor = silence[0].ev1.observed;
      assert.ok(quietFor > 900_000 && quietFor < 900_000 + 5 * 60_000, `found soon after the limit (${quietFor} ms)`);
      assert.ok(rows.some((r) => r.deviceId === 'quiet-1' && r.reasons & Reason.RESUMED));
    });

    test('silence on a partition drained after another: found as that partition’s own time passes', () => {
      // a consumer hands over one partition's whole backlog, then the next one's: partition
      // 0 is scored to its end (6 h) before partition 1 starts
      const core = createCore(engine, { capacity: 1024 });
      const run = (partition: number, msgs: Msg[]) => {
        core.setPartition(partition);
        const rows: VerdictRow[] = [];
        for (let i = 0; i < msgs.length; i += 256) {
          for (const m of msgs.slice(i, i + 256)) assert.ok(core.add(encode(m)));
          rows.push(...readVerdicts(core.verdicts, core.score(), 0, (s) => core.deviceId(s)));
        }
        return rows;
      };
      run(0, merge(...[1, 2, 3].map((k) => series(720, { deviceId: `p0-${k}` }, 30_000, T0 + k * 1000))));
      const quiet = series(60, { deviceId: 'p1-quiet' });
      const busy = [1, 2, 3].map((k) => series(400, { deviceId: `p1-${k}` }, 30_000, T0 + k * 1000));
      const silence = run(1, merge(quiet, ...busy)).filter((r) => r.top === 'silence');
      assert.deepEqual(silence.map((r) => r.deviceId), ['p1-quiet']);
    });

    test('size anomaly: payload 50× the usual', () => {
      const msgs = series(100, { deviceId: 'z-1' });
      const big = series(3, { deviceId: 'z-1', bytes: 10_000 }, 30_000, T0 + 100 * 30_000, 100);
      const rows = byMessage(scoreAll(engine, [...msgs, ...big]));
      assert.deepEqual(alerting(rows.slice(0, 100)), []);
      assert.equal(rows[100].top, 'size_anomaly');
      assert.equal(rows[100].ev1.observed, 10_000);
    });

    test('metric anomaly: an implausible value, not the usual noise', () => {
      const msgs = series(200, { deviceId: 'm-1' });
      const bad = { ...series(1, { deviceId: 'm-1' }, 30_000, T0 + 200 * 30_000, 200)[0], metrics: { temp: 500, rh: 40 } };
      const rows = byMessage(scoreAll(engine, [...msgs, bad]));
      assert.deepEqual(alerting(rows.slice(0, 200)), []);
      assert.equal(rows[200].top, 'metric_anomaly');
      assert.equal(rows[200].ev1.observed, 500);
      assert.equal(rows[200].ev1.aux, 0); // the first metric of the message
    });

    // Out of pattern: readings a sensor could give but this device would not. The level
    // of each of these metrics spreads widely (a daily cycle, a meter's growth, a slow
    // drain, a position far from zero) while its step from one reading to the next stays
    // small, so only the step shows the injection.
    const HOUR = 3_600_000;
    const pattern = {
      // a thermostat: 21 °C ± 2 over the day, noise 0.08, 2 decimals, every 30 s
      thermostat: (t: number, r: () => number) => round(21 + 2 * Math.cos((2 * Math.PI * t) / (24 * HOUR)) + 0.08 * r(), 2),
      // a meter at 20,000 kWh using 1.2 kWh an hour, every 60 s
      meter: (t: number) => round(20_000 + (1.2 * t) / HOUR, 3),
      // a battery draining 0.5 points an hour, 1 decimal, every 120 s
      battery: (t: number, r: () => number) => round(90 - (0.5 * t) / HOUR + 0.05 * r(), 1),
      // a tracker's latitude: a walk of ~0.0005° per 120 s, 3 decimals
      lat: (_t: number, r: () => number, walk: { x: number }) => round((walk.x += 0.0005 * r()), 3),
    };
    const streams: [string, number, keyof typeof pattern, number][] = [
      ['thermostat 8 °C above its daily range', 30_000, 'thermostat', 8],
      ['meter jumping 30 hours of consumption', 60_000, 'meter', 36],
      ['battery dropping 30 points', 120_000, 'battery', -30],
      ['position jumping ~5 km', 120_000, 'lat', 0.05],
    ];
    for (const [what, every, kind, jump] of streams) {
      test(`metric anomaly out of pattern: ${what}; the pattern itself is quiet`, () => {
        const r = normal(7);
        const walk = { x: 48.2 };
        const n = Math.round((8 * HOUR) / every);
        const msgs = series(n + 3, { deviceId: `oop-${kind}` }, every).map((m, i) => {
          const t = (m.ts as number) - T0;
          const v = pattern[kind](t, r, walk);
          return { ...m, metrics: { [kind]: i >= n && i < n + 2 ? v + jump : v } };
        });
        const rows = byMessage(scoreAll(engine, msgs));
        assert.deepEqual(alerting(rows.slice(0, n)), []);
        assert.equal(rows[n].top, 'metric_anomaly');
        assert.ok(rows[n].score >= ALERT, `score ${rows[n].score}`);
        assert.equal(rows[n].ev1.observed, (msgs[n].metrics as Record<string, number>)[kind]);
        assert.equal(rows[n].ev1.expected, Math.fround((msgs[n - 1].metrics as Record<string, number>)[kind]));
        assert.ok(rows[n].ev1.spread < Math.abs(jump) / 6, `usual step ${rows[n].ev1.spread}`);
        // the burst does not become the baseline: its second reading is flagged too
        assert.equal(rows[n + 1].top, 'metric_anomaly');
      });
    }

    test('metric anomaly: a flag soon after the metric\'s last one scores at most the alert line; one after a quiet spell, or on another metric, in full', () => {
      const msgs = series(240, { deviceId: 'rep-1' });
      const set = (i: number, name: 'temp' | 'rh', v: number) => (msgs[i] = { ...msgs[i], metrics: { ...(msgs[i].metrics as Record<string, number>), [name]: v } });
      set(200, 'temp', 500);
      set(203, 'temp', 500); // 2 unflagged readings since the last flag of temp
      set(205, 'rh', 900); // rh's first flag
      set(230, 'temp', 500); // 26 unflagged readings since
      const rows = byMessage(scoreAll(engine, msgs));
      assert.deepEqual(alerting(rows.slice(0, 200)), []);
      for (const i of [200, 203, 205, 230]) assert.equal(rows[i].top, 'metric_anomaly', `reading ${i}`);
      assert.ok(rows[200].score >= 0.85, `first flag ${rows[200].score}`);
      assert.equal(rows[203].score, ALERT); // still a finding at the alert line, no longer a new incident's score
      assert.equal(rows[205].ev1.aux, 1);
      assert.ok(rows[205].score >= 0.85, `rh ${rows[205].score}`);
      assert.ok(rows[230].score >= 0.85, `after a quiet spell ${rows[230].score}`);
      // with the window at 0 every flag scores in full
      const all = byMessage(scoreAll(engine, msgs, { metricRepeatReadings: 0 }));
      assert.ok(all[203].score >= 0.85, `window 0: ${all[203].score}`);
      // the window counts readings: at 2 the repeat after 2 unflagged readings is in full again
      assert.ok(byMessage(scoreAll(engine, msgs, { metricRepeatReadings: 2 }))[203].score >= 0.85);
      assert.equal(byMessage(scoreAll(engine, msgs, { metricRepeatReadings: 3 }))[203].score, ALERT);
    });

    test('metric anomaly: absurd readings (beyond what an f32 holds, near the f64 limit) are flagged high and blind nothing', () => {
      const msgs = series(200, { deviceId: 'huge-1' });
      const at = (i: number, temp: number) => ({ ...series(1, { deviceId: 'huge-1' }, 30_000, T0 + i * 30_000, i)[0], metrics: { temp, rh: 40 } });
      // one in the warm-up, where nothing is judged yet, and one once warm
      msgs[10] = at(10, 1e300);
      const rows = byMessage(scoreAll(engine, [...msgs, at(200, -1.7e308), at(201, 500)]));
      assert.deepEqual(alerting(rows.slice(0, 200)), []);
      assert.equal(rows[200].top, 'metric_anomaly');
      assert.ok(rows[200].score >= 0.85, `score ${rows[200].score}`);
      assert.equal(rows[201].top, 'metric_anomaly'); // the metric still judges
    });

    test('benign: a battery recharged after a long drain stays quiet', () => {
      const r = normal(11);
      let level = 100;
      const msgs = series(3000, { deviceId: 'bat-1' }, 120_000).map((m) => {
        level -= 0.035 * (1 + 0.2 * r());
        if (level < 5) level = 100; // recharged
        return { ...m, metrics: { battery: round(level + 0.05 * r(), 1) } };
      });
      const recharge = msgs.findIndex((m, i) => i > 0 && (m.metrics as Record<string, number>).battery > (msgs[i - 1].metrics as Record<string, number>).battery + 50);
      assert.ok(recharge > 0, 'the stream has a recharge');
      const rows = byMessage(scoreAll(engine, msgs));
      assert.deepEqual(alerting(rows), []);
    });

    test('benign: a metric constant for hours that starts moving stays quiet', () => {
      const r = normal(5);
      const walk = { x: 45.5 };
      // a tracker that moves for 4 h, is parked for 6 h, then moves again; a valve at 0 for
      // 9 h that opens slowly; a CO2 sensor pinned at its floor of 350 ppm (one reading of
      // 351 early on) until the room fills and its readings carry their full noise
      const msgs = series(600, { deviceId: 'park-1' }, 60_000).map((m, i) => {
        const moving = i < 240 || i >= 600 - 60;
        const lat = moving ? round((walk.x += 0.0005 * r()), 3) : round(walk.x, 3);
        const valve = i < 540 ? 0 : round((i - 540) * 0.4 + 0.1 * r(), 1);
        const co2 = i === 5 ? 351 : Math.max(350, Math.round(300 + (i > 540 ? (i - 540) * 3 : 0) + 15 * r()));
        return { ...m, metrics: { lat, valve, co2 } };
      });
      assert.ok(msgs.slice(541).some((m) => (m.metrics as Record<string, number>).co2 > 360), 'the CO2 leaves its floor');
      const rows = byMessage(scoreAll(engine, msgs));
      assert.deepEqual(alerting(rows), []);
    });

    test('benign: daily cycles and meter growth over two days, and a device back after a 3 h gap, stay quiet', () => {
      const r = normal(3);
      const every = 60_000;
      const day = (t: number) => ({
        temp: pattern.thermostat(t, r),
        kwh: pattern.meter(t),
        power: round(900 + 600 * Math.cos((2 * Math.PI * (t - 19 * HOUR)) / (24 * HOUR)) + 40 * r(), 1),
      });
      const before = series(2 * 24 * 60, { deviceId: 'day-1' }, every).map((m) => ({ ...m, metrics: day((m.ts as number) - T0) }));
      const resume = T0 + 2 * 24 * HOUR + 3 * HOUR;
      const after = series(120, { deviceId: 'day-1' }, every, resume, 2 * 24 * 60 + 180).map((m) => ({ ...m, metrics: day((m.ts as number) - T0) }));
      const rows = byMessage(scoreAll(engine, [...before, ...after]));
      assert.deepEqual(alerting(rows).map((x) => `${x.message} ${x.top} ${x.ev1.expected} → ${x.ev1.observed}`), []);
    });

    test('bounded table: a flood of random ids evicts the stalest devices and counts it', () => {
      const msgs: Msg[] = [];
      for (let i = 0; i < 5000; i++) msgs.push({ deviceId: `rnd-${i}`, ts: T0 + i, arrivalTs: T0 + i });
      const { createCore } = require('../../src/core') as typeof import('../../src/core');
      const core = createCore(engine, { capacity: 64 }, 256);
      for (const m of msgs) {
        if (!core.add(Buffer.from(JSON.stringify(m)))) {
          core.score();
          core.add(Buffer.from(JSON.stringify(m)));
        }
      }
      core.score();
      const s = core.stats();
      assert.equal(s.slots, 64);
      assert.ok(s.devices <= 64);
      assert.equal(s.evictions, 5000 - s.devices);
      assert.equal(s.events, 5000);
    });

    test('fleet clock: without arrival times, one device with a skewed clock does not move it', () => {
      const fleet = Array.from({ length: 20 }, (_, k) => series(50, { deviceId: `fc-${k}` }, 30_000, T0 + k * 500));
      const liar = series(50, { deviceId: 'liar' }, 30_000, T0 + 250).map((m) => ({ ...m, ts: (m.ts as number) + 6 * 3_600_000 }));
      // lines in true arrival order, then the arrival times removed: the core must infer them
      const lines = merge(...fleet, liar).map(({ arrivalTs: _a, ...m }) => m as Msg);
      const rows = byMessage(scoreAll(engine, lines));
      const liarRows = rows.filter((r) => r.deviceId === 'liar');
      assert.ok(liarRows.every((r) => r.top === 'clock_skew'), 'the liar is skewed against the fleet');
      const honest = rows.filter((r) => r.deviceId !== 'liar');
      assert.deepEqual(alerting(honest), []);
      assert.ok(honest.every((r) => Math.abs(r.ts - r.arrival) < 120_000));
    });

    test('bad messages get a reason and do not stop the batch', () => {
      const good = series(3, { deviceId: 'g-1' });
      const rows = scoreAll(engine, [good[0], '{"deviceId":', good[1], '{"ts":1}', 'NaN', good[2]]);
      assert.deepEqual(
        rows.map((r) => r.status),
        [0, 3, 0, 6, 3, 0],
      );
      assert.deepEqual(alerting(rows), []);
    });
  });
}
