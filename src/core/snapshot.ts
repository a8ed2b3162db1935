// Partition snapshots: what the core knows about the devices of one Kafka partition, as
// one self-checking byte string (versioned, CRC-32 over everything), so that another
// detector instance can take the partition over with its baselines intact.
//
//   header   HEADER bytes: u32 magic "ESS1", u32 version, u32 partition, u32 devices,
//            u32 credentials, u32 record size, u32 id bytes, u32 0, u64 source offset
//            (the next offset the state has not seen; 2^64−1: unknown)
//   devices  devices × (u64 key + record)          (record: src/core/record.ts)
//   ids      per device: u16 UTF-8 length + bytes
//   creds    credentials × 24: u64 credential hash, u64 owner device key, f64 owner claimed at
//   crc      u32 CRC-32 of all the bytes before it

import { crc32 } from 'node:zlib';
import { METRIC_QUIET_MAX, REC } from './record';

export const SNAPSHOT_MAGIC = 0x31535345; // "ESS1"
// 2: metric state is a step model (last reading, usual step, offset from the long-run
// mean); a version-1 snapshot still restores its devices, with their metrics relearned.
// 3: the low 4 bits of each metric's hash word count its readings since its last flag
// (src/core/record.ts); a version-2 snapshot held the whole name hash there, and restores
// with every metric counted as long unflagged. A build that reads only 1 and 2 refuses a
// version-3 snapshot instead of matching no metric name.
// 4: flags are one byte (80), the metric count moved to 81, bytes 82–83 hold the
// inventory verdict cache entry, and the inline id's length is its zero padding (the
// id-length byte 83 is gone); older records are converted on decoding (oldRecord).
export const SNAPSHOT_VERSION = 4;
const HEADER = 40;
const UNKNOWN_OFFSET = 0xffffffffffffffffn;

/** Device state of one partition, engine-neutral. */
export interface PartitionState {
  partition: number;
  /** Key halves, [hi0, lo0, hi1, lo1, …]. */
  keys: Uint32Array;
  /** REC.SIZE bytes per device, in key order. */
  records: Uint8Array;
  ids: string[];
  /** Credential index entries owned by these devices: [hi, lo, ownerHi, ownerLo] each. */
  credKeys: Uint32Array;
  credSeen: Float64Array;
}

export class SnapshotError extends Error {}

export function encodeSnapshot(state: PartitionState, sourceOffset?: bigint): Uint8Array {
  const n = state.ids.length;
  const c = state.credSeen.length;
  const ids = state.ids.map((id) => Buffer.from(id, 'utf8'));
  const idBytes = ids.reduce((sum, b) => sum + 2 + b.length, 0);
  const size = HEADER + n * (8 + REC.SIZE) + idBytes + c * 24 + 4;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, SNAPSHOT_MAGIC, true);
  v.setUint32(4, SNAPSHOT_VERSION, true);
  v.setUint32(8, state.partition, true);
  v.setUint32(12, n, true);
  v.setUint32(16, c, true);
  v.setUint32(20, REC.SIZE, true);
  v.setUint32(24, idBytes, true);
  v.setBigUint64(32, sourceOffset ?? UNKNOWN_OFFSET, true);
  let at = HEADER;
  for (let i = 0; i < n; i++) {
    v.setUint32(at, state.keys[2 * i + 1], true);
    v.setUint32(at + 4, state.keys[2 * i], true);
    out.set(state.records.subarray(i * REC.SIZE, (i + 1) * REC.SIZE), at + 8);
    at += 8 + REC.SIZE;
  }
  for (const b of ids) {
    if (b.length > 0xffff) throw new SnapshotError('device id too long for a snapshot');
    v.setUint16(at, b.length, true);
    out.set(b, at + 2);
    at += 2 + b.length;
  }
  for (let i = 0; i < c; i++) {
    v.setUint32(at, state.credKeys[4 * i + 1], true);
    v.setUint32(at + 4, state.credKeys[4 * i], true);
    v.setUint32(at + 8, state.credKeys[4 * i + 3], true);
    v.setUint32(at + 12, state.credKeys[4 * i + 2], true);
    v.setFloat64(at + 16, state.credSeen[i], true);
    at += 24;
  }
  v.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

/**
 * A record of a version 1, 2 or 3 snapshot in today's layout: flags were a u16 at 80 (only
 * the low byte ever used), the metric count a byte at 82, and byte 83 the inline id's
 * length (255: not inline, the id bytes then undefined).
 */
function oldRecord(r: Uint8Array, at: number): void {
  const metricCount = r[at + 82];
  const idLength = r[at + 83];
  r[at + REC.METRIC_COUNT] = metricCount;
  r[at + REC.INVENTORY] = 0;
  r[at + REC.INVENTORY + 1] = 0;
  if (idLength > 16) r.fill(0, at + REC.ID, at + REC.ID + 16);
  else r.fill(0, at + REC.ID + idLength, at + REC.ID + 16);
}

export interface DecodedSnapshot {
  state: PartitionState;
  /** Next source offset the state has not seen, when known. */
  sourceOffset: bigint | undefined;
}

/** Validate and decode; throws SnapshotError saying what is wrong. */
export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  if (bytes.length < HEADER + 4) throw new SnapshotError(`snapshot too short (${bytes.length} bytes)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== SNAPSHOT_MAGIC) throw new SnapshotError('not a partition snapshot (bad magic)');
  const version = v.getUint32(4, true);
  if (version < 1 || version > SNAPSHOT_VERSION) throw new SnapshotError(`snapshot version ${version}, this build reads 1 to ${SNAPSHOT_VERSION}`);
  const crcAt = bytes.length - 4;
  if (crc32(bytes.subarray(0, crcAt)) !== v.getUint32(crcAt, true)) throw new SnapshotError('snapshot checksum mismatch (corrupt or truncated)');
  const partition = v.getUint32(8, true);
  const n = v.getUint32(12, true);
  const c = v.getUint32(16, true);
  if (v.getUint32(20, true) !== REC.SIZE) throw new SnapshotError(`snapshot records of ${v.getUint32(20, true)} bytes, this build uses ${REC.SIZE}`);
  const idBytes = v.getUint32(24, true);
  if (HEADER + n * (8 + REC.SIZE) + idBytes + c * 24 + 4 !== bytes.length) throw new SnapshotError('snapshot sections do not add up to its length');
  const offset = v.getBigUint64(32, true);
  const keys = new Uint32Array(2 * n);
  const records = new Uint8Array(n * REC.SIZE);
  let at = HEADER;
  for (let i = 0; i < n; i++) {
    keys[2 * i + 1] = v.getUint32(at, true);
    keys[2 * i] = v.getUint32(at + 4, true);
    records.set(bytes.subarray(at + 8, at + 8 + REC.SIZE), i * REC.SIZE);
    if (version < 4) oldRecord(records, i * REC.SIZE);
    // version 1 held a level model in the metric fields: keep the device, relearn its metrics
    if (version === 1) records.fill(0, i * REC.SIZE + REC.METRIC_N, i * REC.SIZE + REC.METRIC_N + 8);
    // version 2 held the whole name hash: its low bits are no count, so count it as long unflagged
    if (version === 2) {
      for (let j = 0; j < 8; j++) {
        const w = i * REC.SIZE + REC.METRIC_HASH + j * REC.METRIC_STRIDE;
        records[w] |= METRIC_QUIET_MAX;
      }
    }
    at += 8 + REC.SIZE;
  }
  const ids: string[] = new Array(n);
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // an id's leading U+FEFF is part of it
  for (let i = 0; i < n; i++) {
    const len = v.getUint16(at, true);
    ids[i] = decoder.decode(bytes.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  const credKeys = new Uint32Array(4 * c);
  const credSeen = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    credKeys[4 * i + 1] = v.getUint32(at, true);
    credKeys[4 * i] = v.getUint32(at + 4, true);
    credKeys[4 * i + 3] = v.getUint32(at + 8, true);
    credKeys[4 * i + 2] = v.getUint32(at + 12, true);
    credSeen[i] = v.getFloat64(at + 16, true);
    at += 24;
  }
  return { state: { partition, keys, records, ids, credKeys, credSeen }, sourceOffset: offset === UNKNOWN_OFFSET ? undefined : offset };
}
