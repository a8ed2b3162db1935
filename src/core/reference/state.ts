// Device state of the TypeScript reference: the same fields, types and table algorithm
// as the WASM core's 256-byte records (assembly/state.ts), held as one typed array per
// field. f32 fields live in Float32Arrays so both implementations round identically.

import { tableSlots } from '../params';

/** First slot of the bucket of a 32-bit hash half: floor(h · buckets / 2^32), exact in f64. */
export function bucketBase(h: number, slots: number): number {
  const buckets = slots / 8;
  const b = Math.floor(((h >>> 16) * buckets + Math.floor(((h & 0xffff) * buckets) / 65536)) / 65536);
  return b * 8;
}

/** A device's second bucket (from the other hash half; never the first one). */
export function altBucketBase(hi: number, lo: number, slots: number): number {
  const a = bucketBase(lo, slots);
  let b = bucketBase(hi, slots);
  if (b === a) b = a + 8 === slots ? 0 : a + 8;
  return b;
}

export const BUCKET = 8; // slots per bucket: one 64-byte cache line of keys in the core

/** Record flags. */
export const Flag = { SILENCED: 1, ALT_ADVANCED: 2, SOURCE_MOVED_NET: 4, CRED_OWNER: 8 } as const;

export class DeviceState {
  readonly slots: number;
  readonly keyHi: Uint32Array;
  readonly keyLo: Uint32Array;
  readonly lastArrival: Float64Array;
  readonly lastTs: Float64Array;
  readonly seqMain: Float64Array;
  readonly seqAlt: Float64Array;
  readonly mainArrival: Float64Array;
  readonly altArrival: Float64Array;
  readonly sourceHi: Uint32Array;
  readonly sourceLo: Uint32Array;
  readonly prevSourceHi: Uint32Array;
  readonly prevSourceLo: Uint32Array;
  readonly sourceChangedAt: Float64Array;
  readonly credHi: Uint32Array;
  readonly credLo: Uint32Array;
  readonly prevCredHi: Uint32Array;
  readonly prevCredLo: Uint32Array;
  readonly credChangedAt: Float64Array;
  readonly firmware: Float64Array;
  readonly gapFast: Float32Array;
  readonly gapSlow: Float32Array;
  readonly sizeMean: Float32Array;
  readonly sizeVar: Float32Array;
  readonly skewMean: Float32Array;
  readonly events: Uint32Array;
  readonly sourceFlips: Uint16Array;
  readonly credFlips: Uint16Array;
  readonly flags: Uint16Array;
  /** The inventory verdict cache entry (./inventory.ts InventoryCache; assembly/inventory.ts explains it). */
  readonly inventory: Uint16Array;
  readonly metricCount: Uint8Array;
  readonly metricN: Uint8Array; // × 8
  readonly metricHash: Uint32Array; // × 8
  /** Last accepted reading of each metric (× 8). */
  readonly metricLast: Float32Array;
  /** Usual squared step per usual interval, bfloat16 bits (× 8). */
  readonly metricStep: Uint16Array;
  /** Last accepted reading minus the metric's long-run mean, bfloat16 bits (× 8). */
  readonly metricDev: Uint16Array;
  readonly ids: (string | undefined)[];
  /** Kafka partition each device's events came from last (snapshots work per partition). */
  readonly partition: Uint16Array;
  used = 0;
  evictions = 0;

  constructor(capacity: number) {
    const n = (this.slots = tableSlots(capacity));
    this.keyHi = new Uint32Array(n);
    this.keyLo = new Uint32Array(n);
    this.lastArrival = new Float64Array(n);
    this.lastTs = new Float64Array(n);
    this.seqMain = new Float64Array(n);
    this.seqAlt = new Float64Array(n);
    this.mainArrival = new Float64Array(n);
    this.altArrival = new Float64Array(n);
    this.sourceHi = new Uint32Array(n);
    this.sourceLo = new Uint32Array(n);
    this.prevSourceHi = new Uint32Array(n);
    this.prevSourceLo = new Uint32Array(n);
    this.sourceChangedAt = new Float64Array(n);
    this.credHi = new Uint32Array(n);
    this.credLo = new Uint32Array(n);
    this.prevCredHi = new Uint32Array(n);
    this.prevCredLo = new Uint32Array(n);
    this.credChangedAt = new Float64Array(n);
    this.firmware = new Float64Array(n);
    this.gapFast = new Float32Array(n);
    this.gapSlow = new Float32Array(n);
    this.sizeMean = new Float32Array(n);
    this.sizeVar = new Float32Array(n);
    this.skewMean = new Float32Array(n);
    this.events = new Uint32Array(n);
    this.sourceFlips = new Uint16Array(n);
    this.credFlips = new Uint16Array(n);
    this.flags = new Uint16Array(n);
    this.inventory = new Uint16Array(n);
    this.metricCount = new Uint8Array(n);
    this.metricN = new Uint8Array(n * 8);
    this.metricHash = new Uint32Array(n * 8);
    this.metricLast = new Float32Array(n * 8);
    this.metricStep = new Uint16Array(n * 8);
    this.metricDev = new Uint16Array(n * 8);
    this.ids = new Array(n);
    this.partition = new Uint16Array(n);
  }

  /** Empty a slot (its device handed over to another instance). */
  release(s: number): void {
    if (this.keyHi[s] === 0 && this.keyLo[s] === 0) return;
    this.keyHi[s] = this.keyLo[s] = 0;
    this.ids[s] = undefined;
    this.used--;
  }

  /** Slot of the device, or -1. Each device may sit in one of two buckets. */
  find(hi: number, lo: number): number {
    const a = bucketBase(lo, this.slots);
    for (let i = 0; i < BUCKET; i++) if (this.keyLo[a + i] === lo && this.keyHi[a + i] === hi) return a + i;
    const b = altBucketBase(hi, lo, this.slots);
    for (let i = 0; i < BUCKET; i++) if (this.keyLo[b + i] === lo && this.keyHi[b + i] === hi) return b + i;
    return -1;
  }

  /**
   * Slot for a device not in the table: the first free slot of its two buckets, else
   * the least recently seen device of the 16 is evicted. Two choices keep a table 80 %
   * full nearly free of evictions (one 8-way bucket loses ~7 % of devices there); still
   * O(1) and bounded: a flood of new ids only pushes out the stalest devices.
   */
  claim(hi: number, lo: number): number {
    const a = bucketBase(lo, this.slots);
    const b = altBucketBase(hi, lo, this.slots);
    // the emptier bucket gets the device ("power of two choices"); ties go to the first
    let freeA = -1;
    let freeB = -1;
    let emptyA = 0;
    let emptyB = 0;
    for (let i = BUCKET - 1; i >= 0; i--) {
      if (this.keyLo[a + i] === 0 && this.keyHi[a + i] === 0) {
        emptyA++;
        freeA = a + i;
      }
      if (this.keyLo[b + i] === 0 && this.keyHi[b + i] === 0) {
        emptyB++;
        freeB = b + i;
      }
    }
    let victim = emptyB > emptyA ? freeB : freeA;
    if (victim >= 0) this.used++;
    else {
      for (let k = 0; k < 2 * BUCKET; k++) {
        const s = k < BUCKET ? a + k : b + k - BUCKET;
        if (victim < 0 || this.lastArrival[s] < this.lastArrival[victim]) victim = s;
      }
      this.evictions++;
    }
    this.keyHi[victim] = hi;
    this.keyLo[victim] = lo;
    return victim;
  }
}

/**
 * Credential → owning device, for credentials used by several device ids. Same
 * set-associative layout; the least recently used credential of a bucket is evicted.
 */
export class CredentialIndex {
  readonly slots: number;
  readonly keyHi: Uint32Array;
  readonly keyLo: Uint32Array;
  readonly ownerHi: Uint32Array;
  readonly ownerLo: Uint32Array;
  readonly seen: Float64Array;
  evictions = 0;

  constructor(capacity: number) {
    const n = (this.slots = tableSlots(capacity));
    this.keyHi = new Uint32Array(n);
    this.keyLo = new Uint32Array(n);
    this.ownerHi = new Uint32Array(n);
    this.ownerLo = new Uint32Array(n);
    this.seen = new Float64Array(n);
  }

  /** Slot of the credential; a new one is claimed (owner unset) when absent. */
  slotOf(hi: number, lo: number): number {
    const base = bucketBase(lo, this.slots);
    let empty = -1;
    let lru = -1;
    for (let i = 0; i < BUCKET; i++) {
      const s = base + i;
      if (this.keyLo[s] === lo && this.keyHi[s] === hi) return s;
      if (this.keyLo[s] === 0 && this.keyHi[s] === 0) {
        if (empty < 0) empty = s;
      } else if (lru < 0 || this.seen[s] < this.seen[lru]) lru = s;
    }
    const victim = empty >= 0 ? empty : lru;
    if (empty < 0) this.evictions++;
    this.keyHi[victim] = hi;
    this.keyLo[victim] = lo;
    this.ownerHi[victim] = 0;
    this.ownerLo[victim] = 0;
    this.seen[victim] = 0;
    return victim;
  }
}
