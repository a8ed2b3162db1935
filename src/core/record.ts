// The 256-byte device record of the WASM core (assembly/state.ts), byte offsets as
// TypeScript sees them. The WASM bridge reads records through these; the reference
// writes and reads its arrays in the same form for partition snapshots, so a snapshot
// taken by either engine restores into either. test/core/layout.test.ts keeps these
// equal to the R_* constants of assembly/state.ts.

import type { DeviceState } from './reference/state';

export const REC = {
  LAST_ARRIVAL: 0, LAST_TS: 8, SEQ_MAIN: 16, MAIN_ARRIVAL: 24, SOURCE: 32, CRED: 40, FIRMWARE: 48, GAP_FAST: 56,
  GAP_SLOW: 60, SIZE_MEAN: 64, SIZE_VAR: 68, SKEW_MEAN: 72, EVENTS: 76, FLAGS: 80, METRIC_COUNT: 81, INVENTORY: 82,
  METRIC_N: 84, METRIC_HASH: 92, METRIC_LAST: 96, METRIC_STEP: 100, METRIC_DEV: 102, METRIC_STRIDE: 12, SOURCE_FLIPS: 188,
  CRED_FLIPS: 190, SEQ_ALT: 192, ALT_ARRIVAL: 200, PREV_SOURCE: 208, SOURCE_CHANGED_AT: 216, PREV_CRED: 224,
  CRED_CHANGED_AT: 232, ID: 240, SIZE: 256,
} as const;

/**
 * A metric's METRIC_HASH word holds the upper 28 bits of its name's hash (metricNameHash)
 * and, in its low 4 bits, how many of its readings have gone by unflagged since it was
 * last flagged, up to METRIC_QUIET_MAX (also for a metric never flagged). Mirrors
 * assembly/state.ts.
 */
export const METRIC_QUIET_MAX = 15;
export const METRIC_NAME_MASK = ~METRIC_QUIET_MAX >>> 0;

/** The name part of a METRIC_HASH word (or of a metricNameHash): what the core matches names by. */
export function metricNameBits(hash: number): number {
  return (hash & METRIC_NAME_MASK) >>> 0;
}

/** Whether the record holds its device id inline (an id is never empty, so its first byte says). */
export function hasInlineId(bytes: Uint8Array, record: number): boolean {
  return bytes[record + REC.ID] !== 0;
}

/** Bytes of the device id held inline at REC.ID (zero-padded); 0: it is not (too long, or escaped in the message). */
export function inlineIdLength(bytes: Uint8Array, record: number): number {
  let n = 0;
  while (n < 16 && bytes[record + REC.ID + n] !== 0) n++;
  return n;
}

type F64Field = 'lastArrival' | 'lastTs' | 'seqMain' | 'mainArrival' | 'firmware' | 'seqAlt' | 'altArrival' | 'sourceChangedAt' | 'credChangedAt';
type F32Field = 'gapFast' | 'gapSlow' | 'sizeMean' | 'sizeVar' | 'skewMean';
const F64: [number, F64Field][] = [
  [REC.LAST_ARRIVAL, 'lastArrival'], [REC.LAST_TS, 'lastTs'], [REC.SEQ_MAIN, 'seqMain'], [REC.MAIN_ARRIVAL, 'mainArrival'],
  [REC.FIRMWARE, 'firmware'], [REC.SEQ_ALT, 'seqAlt'], [REC.ALT_ARRIVAL, 'altArrival'],
  [REC.SOURCE_CHANGED_AT, 'sourceChangedAt'], [REC.CRED_CHANGED_AT, 'credChangedAt'],
];
const F32: [number, F32Field][] = [
  [REC.GAP_FAST, 'gapFast'], [REC.GAP_SLOW, 'gapSlow'], [REC.SIZE_MEAN, 'sizeMean'], [REC.SIZE_VAR, 'sizeVar'], [REC.SKEW_MEAN, 'skewMean'],
];
const U64: [number, 'source' | 'prevSource' | 'cred' | 'prevCred'][] = [
  [REC.SOURCE, 'source'], [REC.PREV_SOURCE, 'prevSource'], [REC.CRED, 'cred'], [REC.PREV_CRED, 'prevCred'],
];

/** Write the reference's slot `s` as a record at `at` (the id is carried separately: REC.ID is zeros; no inventory verdict cache entry). */
export function writeRecord(st: DeviceState, s: number, v: DataView, at: number): void {
  for (const [off, f] of F64) v.setFloat64(at + off, st[f][s], true);
  for (const [off, f] of F32) v.setFloat32(at + off, st[f][s], true);
  for (const [off, f] of U64) {
    v.setUint32(at + off, st[`${f}Lo`][s], true);
    v.setUint32(at + off + 4, st[`${f}Hi`][s], true);
  }
  v.setUint32(at + REC.EVENTS, st.events[s], true);
  v.setUint8(at + REC.FLAGS, st.flags[s]);
  v.setUint8(at + REC.METRIC_COUNT, st.metricCount[s]);
  v.setUint16(at + REC.INVENTORY, 0, true);
  for (let i = 0; i < 16; i += 4) v.setUint32(at + REC.ID + i, 0, true);
  v.setUint16(at + REC.SOURCE_FLIPS, st.sourceFlips[s], true);
  v.setUint16(at + REC.CRED_FLIPS, st.credFlips[s], true);
  for (let j = 0; j < 8; j++) {
    const m = at + REC.METRIC_HASH + j * REC.METRIC_STRIDE;
    v.setUint8(at + REC.METRIC_N + j, st.metricN[s * 8 + j]);
    v.setUint32(m, st.metricHash[s * 8 + j], true);
    v.setFloat32(m + 4, st.metricLast[s * 8 + j], true);
    v.setUint16(m + 8, st.metricStep[s * 8 + j], true);
    v.setUint16(m + 10, st.metricDev[s * 8 + j], true);
  }
}

/** Load a record at `at` into the reference's slot `s` (everything but key and id; its inventory verdict cache entry is cleared). */
export function readRecord(st: DeviceState, s: number, v: DataView, at: number): void {
  for (const [off, f] of F64) st[f][s] = v.getFloat64(at + off, true);
  for (const [off, f] of F32) st[f][s] = v.getFloat32(at + off, true);
  for (const [off, f] of U64) {
    st[`${f}Lo`][s] = v.getUint32(at + off, true);
    st[`${f}Hi`][s] = v.getUint32(at + off + 4, true);
  }
  st.events[s] = v.getUint32(at + REC.EVENTS, true);
  st.flags[s] = v.getUint8(at + REC.FLAGS);
  st.metricCount[s] = v.getUint8(at + REC.METRIC_COUNT);
  st.inventory[s] = 0;
  st.sourceFlips[s] = v.getUint16(at + REC.SOURCE_FLIPS, true);
  st.credFlips[s] = v.getUint16(at + REC.CRED_FLIPS, true);
  for (let j = 0; j < 8; j++) {
    const m = at + REC.METRIC_HASH + j * REC.METRIC_STRIDE;
    st.metricN[s * 8 + j] = v.getUint8(at + REC.METRIC_N + j);
    st.metricHash[s * 8 + j] = v.getUint32(m, true);
    st.metricLast[s * 8 + j] = v.getFloat32(m + 4, true);
    st.metricStep[s * 8 + j] = v.getUint16(m + 8, true);
    st.metricDev[s * 8 + j] = v.getUint16(m + 10, true);
  }
}
