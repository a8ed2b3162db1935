// The bridge to the WASM core (assembly/): loads build/core.wasm once per process,
// carves the regions, and exposes the batch interface of src/core/core.ts. The export
// table is looked up once; `abort` becomes a JS error; typed-array views are made after
// init, when the memory has reached its final size.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Core, CoreStats, CredentialClaim, DEFAULT_INPUT_BYTES, DEFAULT_MAX_BATCH } from './core';
import { BAD_REASONS, Reason, V } from './layout';
import { CoreParams, PARAM_NAMES, resolveParams, tableSlots } from './params';
import { decodeDevice, DeviceRecord } from './device';
import { hashOut, hashString } from './reference/hash';
import { hasInlineId, inlineIdLength, REC } from './record';
import type { PartitionState } from './snapshot';
import { isInventoryImage } from '../inventory/image';

interface CoreExports {
  memory: WebAssembly.Memory;
  init(slots: number, maxBatch: number, inputBytes: number): void;
  paramsPtr(): number;
  paramCount(): number;
  inputPtr(): number;
  indexPtr(): number;
  outputPtr(): number;
  statsPtr(): number;
  recordPtr(slot: number): number;
  scoreBatch(count: number): number;
  longIdsScored(): number;
  findSlot(hi: number, lo: number): number;
  slotKeyHi(slot: number): number;
  slotKeyLo(slot: number): number;
  inventoryReserve(bytes: number): number;
  inventoryUse(bytes: number): boolean;
  setPartition(p: number): void;
  keysPtr(): number;
  partitionsPtr(): number;
  credKeysPtr(): number;
  credOwnersPtr(): number;
  credSeenPtr(): number;
  importDevice(hi: number, lo: number, partition: number): number;
  dropPartition(partition: number): number;
  importCredential(hi: number, lo: number, ownerHi: number, ownerLo: number, seen: number): void;
  claimCredential(hi: number, lo: number, ownerHi: number, ownerLo: number, seen: number): number;
}

/** Where the build puts the release core (same relative place from src/ and dist/). */
export const WASM_PATH = join(__dirname, '..', '..', 'build', 'core.wasm');

let compiled: WebAssembly.Module | undefined;

/** The compiled core module (compiled once per process; each instance has its own memory). */
export function coreModule(): WebAssembly.Module {
  if (!compiled) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(WASM_PATH);
    } catch {
      throw new Error(`the WASM core is not built (${WASM_PATH} missing): run \`npm run build\``);
    }
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}

export { REC };
const ID = REC.ID;
const STATS_BAD = 6;
const EMPTY = new Uint8Array(0);

export class WasmCore implements Core {
  readonly kind = 'wasm' as const;
  readonly params: CoreParams;
  readonly maxBatch: number;
  private readonly x: CoreExports;
  private readonly inputBase: number;
  private readonly inputBytes: number;
  /** Bytes of a message copied in at most: one past the limit proves a message too large. */
  private readonly maxCopy: number;
  private readonly indexBase: number;
  // Views of linear memory: remade when it grows (only an inventory load grows it).
  private mem!: Uint8Array;
  private index32!: Uint32Array;
  private index64!: Float64Array;
  private out!: DataView;
  private records!: DataView;
  private count = 0;
  private used = 0;
  // The messages of the batch being filled and of the one scored last (message(i)): two
  // arrays of maxBatch kept and swapped, written by index — a fresh array per batch grew
  // by push, a measurable share of add()'s time.
  private batch: Uint8Array[];
  private scored: Uint8Array[];
  private scoredCount = 0;
  private readonly longIds = new Map<number, string>();
  // ids keep a leading U+FEFF: it is part of the id the device sent (and of its hash)
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(params: Partial<CoreParams> = {}, maxBatch = DEFAULT_MAX_BATCH, inputBytes = DEFAULT_INPUT_BYTES) {
    this.params = resolveParams(params);
    this.maxBatch = maxBatch;
    this.batch = new Array<Uint8Array>(maxBatch);
    this.scored = new Array<Uint8Array>(maxBatch);
    this.maxCopy = this.params.maxMessageBytes + 1;
    this.inputBytes = Math.max(inputBytes, this.maxCopy);
    const instance = new WebAssembly.Instance(coreModule(), {
      env: {
        abort(_msg: number, _file: number, line: number, col: number): never {
          throw new Error(`WASM core aborted at ${line}:${col}`);
        },
      },
    });
    this.x = instance.exports as unknown as CoreExports;
    this.x.init(tableSlots(this.params.capacity), maxBatch, this.inputBytes);
    if (this.x.paramCount() !== PARAM_NAMES.length) throw new Error('WASM core and params.ts disagree on the parameters');
    const buf = this.x.memory.buffer;
    const values = new Float64Array(buf, this.x.paramsPtr(), PARAM_NAMES.length);
    PARAM_NAMES.forEach((name, i) => (values[i] = this.params[name]));
    this.inputBase = this.x.inputPtr();
    this.indexBase = this.x.indexPtr();
    this.makeViews();
  }

  private makeViews(): void {
    const buf = this.x.memory.buffer;
    this.mem = new Uint8Array(buf);
    this.index32 = new Uint32Array(buf, this.indexBase, this.maxBatch * 4);
    this.index64 = new Float64Array(buf, this.indexBase, this.maxBatch * 2);
    this.out = new DataView(buf, this.x.outputPtr(), 2 * this.maxBatch * V.SIZE);
    this.records = new DataView(buf);
  }

  setPartition(partition: number): void {
    this.x.setPartition(partition);
  }

  exportPartition(partition: number): PartitionState {
    const buf = this.x.memory.buffer;
    const slots = this.stats().slots;
    const keys = new Uint32Array(buf, this.x.keysPtr(), slots * 2);
    const parts = new Uint16Array(buf, this.x.partitionsPtr(), slots);
    const mine: number[] = [];
    for (let s = 0; s < slots; s++) if ((keys[2 * s] !== 0 || keys[2 * s + 1] !== 0) && parts[s] === partition) mine.push(s);
    const out = new Uint32Array(mine.length * 2);
    const records = new Uint8Array(mine.length * REC.SIZE);
    const ids = mine.map((s, i) => {
      out[2 * i] = keys[2 * s + 1];
      out[2 * i + 1] = keys[2 * s];
      const p = this.x.recordPtr(s);
      records.set(this.mem.subarray(p, p + REC.SIZE), i * REC.SIZE);
      return this.deviceId(s);
    });
    // credential index entries whose owner is one of these devices
    const ck = new Uint32Array(buf, this.x.credKeysPtr(), slots * 2);
    const co = new Uint32Array(buf, this.x.credOwnersPtr(), slots * 2);
    const cs = new Float64Array(buf, this.x.credSeenPtr(), slots);
    const credKeys: number[] = [];
    const credSeen: number[] = [];
    for (let k = 0; k < slots; k++) {
      if (co[2 * k] === 0 && co[2 * k + 1] === 0) continue;
      const owner = this.x.findSlot(co[2 * k + 1], co[2 * k]);
      if (owner < 0 || parts[owner] !== partition) continue;
      credKeys.push(ck[2 * k + 1], ck[2 * k], co[2 * k + 1], co[2 * k]);
      credSeen.push(cs[k]);
    }
    return { partition, keys: out, records, ids, credKeys: Uint32Array.from(credKeys), credSeen: Float64Array.from(credSeen) };
  }

  importPartition(state: PartitionState): void {
    for (let i = 0; i < state.ids.length; i++) {
      const s = this.x.importDevice(state.keys[2 * i], state.keys[2 * i + 1], state.partition);
      const p = this.x.recordPtr(s);
      this.mem.set(state.records.subarray(i * REC.SIZE, (i + 1) * REC.SIZE), p);
      // the inventory verdict cache entry was of another core, or of this one's past
      this.mem[p + REC.INVENTORY] = 0;
      this.mem[p + REC.INVENTORY + 1] = 0;
      if (!hasInlineId(this.mem, p)) this.longIds.set(s, state.ids[i]);
      else this.longIds.delete(s);
    }
    for (let i = 0; i < state.credSeen.length; i++) {
      const k = state.credKeys;
      this.x.importCredential(k[4 * i], k[4 * i + 1], k[4 * i + 2], k[4 * i + 3], state.credSeen[i]);
    }
  }

  dropPartition(partition: number): number {
    return this.x.dropPartition(partition);
  }

  claimOf(slot: number): CredentialClaim {
    const p = this.x.recordPtr(slot);
    const r = this.records;
    return { credHi: r.getUint32(p + REC.CRED + 4, true), credLo: r.getUint32(p + REC.CRED, true), ownerHi: this.x.slotKeyHi(slot), ownerLo: this.x.slotKeyLo(slot), seen: r.getFloat64(p + REC.LAST_ARRIVAL, true) };
  }

  importClaim(c: CredentialClaim): boolean {
    return this.x.claimCredential(c.credHi, c.credLo, c.ownerHi, c.ownerLo, c.seen) !== 0;
  }

  get verdicts(): DataView {
    return this.out;
  }

  setInventory(image: Uint8Array | undefined): void {
    if (!image) {
      this.x.inventoryUse(0);
      return;
    }
    // judged before it is written: the region may hold the image in use, which a rejected
    // one must not replace (the reference keeps it too)
    if (!isInventoryImage(image)) throw new Error('not an inventory image');
    const at = this.x.inventoryReserve(image.byteLength);
    if (this.mem.buffer !== this.x.memory.buffer) this.makeViews();
    this.mem.set(image, at);
    if (!this.x.inventoryUse(image.byteLength)) throw new Error('the WASM core rejected the inventory image');
  }

  get pending(): number {
    return this.count;
  }

  add(bytes: Uint8Array, arrival = -1): boolean {
    const i = this.count;
    if (i >= this.maxBatch) return false;
    // An oversize message is rejected by length alone: copy only what proves it.
    const copy = Math.min(bytes.length, this.maxCopy);
    if (this.used + copy > this.inputBytes) return false;
    this.mem.set(copy < bytes.length ? bytes.subarray(0, copy) : bytes, this.inputBase + this.used);
    this.index32[i * 4] = this.used;
    this.index32[i * 4 + 1] = bytes.length;
    this.index64[i * 2 + 1] = arrival;
    this.used += copy;
    this.batch[i] = bytes;
    this.count = i + 1;
    return true;
  }

  score(): number {
    const n = this.x.scoreBatch(this.count);
    // the array refilled next lets go of the batch before (no more messages held than before)
    const next = this.scored;
    next.fill(EMPTY, 0, this.scoredCount);
    this.scored = this.batch;
    this.scoredCount = this.count;
    this.batch = next;
    this.count = 0;
    this.used = 0;
    this.rememberLongIds(n);
    return n;
  }

  /** Ids that do not fit the record (long or escaped) are kept here, per slot. */
  private rememberLongIds(n: number): void {
    // nothing to keep, nothing kept that a new device could have replaced: the usual case
    if (this.longIds.size === 0 && this.x.longIdsScored() === 0) return;
    const v = this.verdicts;
    for (let k = 0; k < n; k++) {
      const at = k * V.SIZE;
      if ((v.getUint32(at + V.REASONS, true) & Reason.NEW_DEVICE) === 0) continue;
      const slot = v.getUint32(at + V.SLOT, true);
      if (hasInlineId(this.mem, this.x.recordPtr(slot))) {
        this.longIds.delete(slot);
        continue;
      }
      const msg = this.scored[v.getUint32(at + V.MESSAGE, true)];
      this.longIds.set(slot, String(JSON.parse(this.decoder.decode(msg)).deviceId));
    }
  }

  message(i: number): Uint8Array {
    return this.scored[i];
  }

  deviceId(slot: number): string {
    const rec = this.x.recordPtr(slot);
    const len = inlineIdLength(this.mem, rec);
    if (len === 0) return this.longIds.get(slot) ?? '';
    return this.decoder.decode(this.mem.subarray(rec + ID, rec + ID + len));
  }

  stats(): CoreStats {
    const s = new Float64Array(this.x.memory.buffer, this.x.statsPtr(), STATS_BAD + BAD_REASONS.length);
    return {
      events: s[0],
      devices: s[1],
      slots: s[2],
      evictions: s[3],
      credentialEvictions: s[4],
      clock: s[5],
      bad: Array.from(s.subarray(STATS_BAD, STATS_BAD + BAD_REASONS.length)),
    };
  }

  findDevice(deviceId: string): number {
    hashString(deviceId);
    return this.x.findSlot(hashOut.hi, hashOut.lo);
  }

  describe(slot: number): DeviceRecord | undefined {
    if (slot < 0 || slot >= this.stats().slots || (this.x.slotKeyHi(slot) === 0 && this.x.slotKeyLo(slot) === 0)) return undefined;
    const r = this.records;
    const p = this.x.recordPtr(slot);
    const f64 = (o: number) => r.getFloat64(p + o, true);
    const f32 = (o: number) => r.getFloat32(p + o, true);
    const u32 = (o: number) => r.getUint32(p + o, true);
    const metrics = [];
    for (let j = 0; j < r.getUint8(p + REC.METRIC_COUNT); j++) {
      const m = REC.METRIC_STRIDE * j;
      metrics.push({ hash: u32(REC.METRIC_HASH + m), last: f32(REC.METRIC_LAST + m), step: r.getUint16(p + REC.METRIC_STEP + m, true), dev: r.getUint16(p + REC.METRIC_DEV + m, true), n: r.getUint8(p + REC.METRIC_N + j) });
    }
    return decodeDevice({
      slot,
      deviceId: this.deviceId(slot),
      partition: new Uint16Array(this.x.memory.buffer, this.x.partitionsPtr() + slot * 2, 1)[0],
      events: u32(REC.EVENTS),
      lastArrival: f64(REC.LAST_ARRIVAL),
      lastTs: f64(REC.LAST_TS),
      seqMain: f64(REC.SEQ_MAIN),
      sourceHi: u32(REC.SOURCE + 4),
      sourceLo: u32(REC.SOURCE),
      prevSourceHi: u32(REC.PREV_SOURCE + 4),
      prevSourceLo: u32(REC.PREV_SOURCE),
      sourceChangedAt: f64(REC.SOURCE_CHANGED_AT),
      credHi: u32(REC.CRED + 4),
      credLo: u32(REC.CRED),
      credChangedAt: f64(REC.CRED_CHANGED_AT),
      firmware: f64(REC.FIRMWARE),
      gapFast: f32(REC.GAP_FAST),
      gapSlow: f32(REC.GAP_SLOW),
      sizeMean: f32(REC.SIZE_MEAN),
      sizeVar: f32(REC.SIZE_VAR),
      skewMean: f32(REC.SKEW_MEAN),
      flags: r.getUint8(p + REC.FLAGS),
      metrics,
    });
  }

  destroy(): void {
    this.batch.fill(EMPTY);
    this.scored.fill(EMPTY);
    this.scoredCount = 0;
    this.longIds.clear();
  }
}
