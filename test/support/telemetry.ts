// Builders for hand-made telemetry in unit tests: one device's messages with explicit
// times, and a helper that scores a list of messages on a core and returns its verdicts.

import { Core, createCore, Engine } from '../../src/core';
import { ALERT_KINDS, NO_REASON, SWEEP_MESSAGE, V } from '../../src/core/layout';
import type { CoreParams } from '../../src/core/params';

export const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

export interface Msg {
  deviceId: string;
  ts: number | string;
  seq?: number;
  source?: string;
  credential?: string;
  firmware?: string;
  bytes?: number;
  metrics?: Record<string, number>;
  arrivalTs?: number;
}

export interface VerdictRow {
  message: number; // SWEEP_MESSAGE for silence
  status: number;
  reasons: number;
  score: number;
  top: string | undefined;
  second: string | undefined;
  ts: number;
  arrival: number;
  slot: number;
  ev1: { score: number; expected: number; observed: number; spread: number; aux: number };
  deviceId: string;
}

export function encode(m: Msg | string): Uint8Array {
  return Buffer.from(typeof m === 'string' ? m : JSON.stringify(m));
}

/**
 * A device sending every `every` ms from `start`, n messages, seq from `seq0`. Its readings
 * follow the time (one period step per 30 s), so a series that resumes later continues
 * the same curve, as a real sensor would.
 */
export function series(n: number, base: Partial<Msg> & { deviceId: string }, every = 30_000, start = T0, seq0 = 0): Msg[] {
  const out: Msg[] = [];
  for (let i = 0; i < n; i++) {
    const ts = start + i * every;
    const k = (ts - T0) / 30_000;
    out.push({
      source: '10.1.0.7',
      credential: `sha256:${base.deviceId}`,
      firmware: '2.4.1',
      bytes: 200 + ((i * 7) % 13),
      metrics: { temp: 21 + Math.sin(k / 5) * 0.5, rh: 40 + Math.cos(k / 7) },
      seq: seq0 + i,
      arrivalTs: ts + 40,
      ...base,
      ts,
    });
  }
  return out;
}

/** Interleave several message lists by arrival time (stable). */
export function merge(...lists: Msg[][]): Msg[] {
  const all = lists.flat().map((m, i) => ({ m, i }));
  const key = (m: Msg) => m.arrivalTs ?? (typeof m.ts === 'number' ? m.ts : Date.parse(m.ts));
  all.sort((a, b) => key(a.m) - key(b.m) || a.i - b.i);
  return all.map((x) => x.m);
}

/** Score messages (one batch per `batch` messages) and return every verdict. */
export function scoreAll(
  engine: Engine,
  msgs: (Msg | string | Uint8Array)[],
  params: Partial<CoreParams> = {},
  batch = 512,
  prepare?: (core: Core) => void,
): VerdictRow[] {
  const core = createCore(engine, { capacity: 1024, ...params }, batch);
  prepare?.(core);
  const rows: VerdictRow[] = [];
  let before = 0; // messages of earlier batches
  const run = () => {
    const pending = core.pending;
    const n = core.score();
    rows.push(...readVerdicts(core.verdicts, n, before, (slot) => core.deviceId(slot)));
    before += pending;
  };
  for (const m of msgs) {
    const bytes = m instanceof Uint8Array ? m : encode(m);
    if (!core.add(bytes)) {
      run();
      core.add(bytes);
    }
  }
  run();
  core.destroy();
  return rows;
}

export function readVerdicts(v: DataView, n: number, before: number, deviceIdOf: (slot: number) => string): VerdictRow[] {
  const rows: VerdictRow[] = [];
  for (let k = 0; k < n; k++) {
    const at = k * V.SIZE;
    const r1 = v.getUint32(at + V.EV1_REASON, true);
    const r2 = v.getUint32(at + V.EV2_REASON, true);
    const message = v.getUint32(at + V.MESSAGE, true);
    const status = v.getUint32(at + V.STATUS, true);
    const slot = v.getUint32(at + V.SLOT, true);
    rows.push({
      message: message === SWEEP_MESSAGE ? SWEEP_MESSAGE : before + message,
      status,
      reasons: v.getUint32(at + V.REASONS, true),
      score: v.getFloat64(at + V.SCORE, true),
      top: r1 === NO_REASON ? undefined : ALERT_KINDS[r1],
      second: r2 === NO_REASON ? undefined : ALERT_KINDS[r2],
      ts: v.getFloat64(at + V.TS, true),
      arrival: v.getFloat64(at + V.ARRIVAL, true),
      slot,
      ev1: {
        score: v.getFloat64(at + V.EV1_SCORE, true),
        expected: v.getFloat64(at + V.EV1_EXPECTED, true),
        observed: v.getFloat64(at + V.EV1_OBSERVED, true),
        spread: v.getFloat64(at + V.EV1_SPREAD, true),
        aux: v.getFloat64(at + V.EV1_AUX, true),
      },
      deviceId: status === 0 ? deviceIdOf(slot) : '',
    });
  }
  return rows;
}

/** Verdicts of messages only (silence verdicts dropped), indexed like the input. */
export function byMessage(rows: VerdictRow[]): VerdictRow[] {
  return rows.filter((r) => r.message !== SWEEP_MESSAGE);
}
