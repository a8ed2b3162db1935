// Device table and credential index in linear memory. Mirrors src/core/reference/state.ts.
//
// Device table: `slots` (a multiple of 8) 64-bit keys in one dense array, grouped in
// buckets of 8 — one 64-byte cache line per lookup — and a 256-byte record per slot.
// Hot fields (times, seq, source) sit on the record's first cache line.

// Record layout (byte offsets). Line 0 holds what every event reads and writes; line 1
// the statistics, flags and the first three metrics; lines 2–3 what only changes
// (second seq stream, previous source/credential, change times) and the device id.
export const R_LAST_ARRIVAL: u32 = 0; // f64
export const R_LAST_TS: u32 = 8; // f64
export const R_SEQ_MAIN: u32 = 16; // f64, −1 none
export const R_MAIN_ARRIVAL: u32 = 24; // f64
export const R_SOURCE: u32 = 32; // u64
export const R_CRED: u32 = 40; // u64
export const R_FIRMWARE: u32 = 48; // f64
export const R_GAP_FAST: u32 = 56; // f32
export const R_GAP_SLOW: u32 = 60; // f32
export const R_SIZE_MEAN: u32 = 64; // f32
export const R_SIZE_VAR: u32 = 68; // f32
export const R_SKEW_MEAN: u32 = 72; // f32
export const R_EVENTS: u32 = 76; // u32
export const R_FLAGS: u32 = 80; // u8
export const R_METRIC_COUNT: u32 = 81; // u8
export const R_INVENTORY: u32 = 82; // u16: the inventory verdict cache entry (assembly/inventory.ts)
export const R_METRIC_N: u32 = 84; // u8 × 8
export const R_METRIC_HASH: u32 = 92; // metric j at R_METRIC_HASH + j·METRIC_STRIDE: u32 name hash | quiet count,
export const R_METRIC_LAST: u32 = 96; //   f32 last accepted reading,
export const R_METRIC_STEP: u32 = 100; //   bf16 usual squared step per usual interval,
export const R_METRIC_DEV: u32 = 102; //   bf16 last reading − long-run mean (8 × 12 bytes, up to 188)
export const METRIC_STRIDE: u32 = 12;
// The METRIC_HASH word: the upper 28 bits of the metric name's hash, and in the low 4 bits
// how many of the metric's readings have gone by unflagged since its last flag, up to
// METRIC_QUIET_MAX (also for a metric never flagged).
export const METRIC_QUIET_MAX: u32 = 15;
export const METRIC_NAME_MASK: u32 = ~METRIC_QUIET_MAX;
export const R_SOURCE_FLIPS: u32 = 188; // u16
export const R_CRED_FLIPS: u32 = 190; // u16
export const R_SEQ_ALT: u32 = 192; // f64, −1 none
export const R_ALT_ARRIVAL: u32 = 200; // f64
export const R_PREV_SOURCE: u32 = 208; // u64
export const R_SOURCE_CHANGED_AT: u32 = 216; // f64
export const R_PREV_CRED: u32 = 224; // u64
export const R_CRED_CHANGED_AT: u32 = 232; // f64
// 16 bytes: the device id when it is ≤ 16 bytes and unescaped, zero-padded; all zero when
// it is not (its length is that of the leading non-zero bytes: an unescaped JSON string
// holds no byte below 0x20, and an id is never empty)
export const R_ID: u32 = 240;
export const RECORD_SIZE: u32 = 256;
export const ID_INLINE: u32 = 16;

// Record flags (one byte).
export const F_SILENCED: u16 = 1;
export const F_ALT_ADVANCED: u16 = 2;
export const F_SOURCE_MOVED_NET: u16 = 4;
export const F_CRED_OWNER: u16 = 8; // holds its credential in the credential index

export const BUCKET: u32 = 8;

export let slots: u32 = 0;
export let keys: usize = 0; // u64 × slots
export let records: usize = 0; // RECORD_SIZE × slots
export let used: u32 = 0;
export let evictions: f64 = 0;

// The Kafka partition each device's events came from last (u16 × slots): snapshots and
// hand-overs work per partition. Kept apart from the records: written every event, read
// only when a partition is saved or dropped.
export let partitions: usize = 0;
export let currentPartition: u16 = 0;

export let credKeys: usize = 0; // u64 × slots
export let credOwners: usize = 0; // u64 × slots
export let credSeen: usize = 0; // f64 × slots
export let credEvictions: f64 = 0;

function alignedAlloc(size: usize, align: usize): usize {
  const p = heap.alloc(size + align);
  return (p + align - 1) & ~(align - 1);
}

/**
 * Reserve the tables (once per instance). They are not cleared: the runtime's bump
 * allocator hands out linear memory never used before, which WebAssembly guarantees to be
 * zero, and writing 30 MB of zeros would only fault every page in ahead of its first use.
 */
export function initState(n: u32): void {
  slots = n;
  keys = alignedAlloc(<usize>n << 3, 64);
  records = alignedAlloc(<usize>n * RECORD_SIZE, 64);
  credKeys = alignedAlloc(<usize>n << 3, 64);
  credOwners = alignedAlloc(<usize>n << 3, 64);
  credSeen = alignedAlloc(<usize>n << 3, 64);
  partitions = alignedAlloc(<usize>n << 1, 64);
  currentPartition = 0;
  used = 0;
  evictions = 0;
  credEvictions = 0;
}

/** First slot of the bucket of a 32-bit hash half: multiply-shift by the bucket count. */
@inline function bucketOf(h: u32): u32 {
  return <u32>((<u64>h * <u64>(slots / BUCKET)) >> 32) * BUCKET;
}

/**
 * Load both of a device's key lines (bucket a and b): called for a whole group of
 * messages in a tight loop before any lookup, so that their cache misses overlap. Each
 * load is only a touch (WASM has no prefetch); the caller sinks the sum.
 */
export function touchBuckets(key: u64): u64 {
  const a = bucketOf(<u32>key);
  return load<u64>(keys + (<usize>a << 3)) + load<u64>(keys + (<usize>altBucketOf(key, a) << 3));
}

/** Load a credential's index lines (key, owner, time): a new device's credential is looked up when it is scored. */
export function touchCredential(key: u64): u64 {
  const at = <usize>bucketOf(<u32>key) << 3;
  return load<u64>(credKeys + at) + load<u64>(credOwners + at) + load<u64>(credSeen + at);
}

/** A device's second bucket (from the other hash half; never the first one). */
@inline function altBucketOf(key: u64, a: u32): u32 {
  let b = bucketOf(<u32>(key >> 32));
  if (b == a) b = a + BUCKET == slots ? 0 : a + BUCKET;
  return b;
}

@inline export function recordOf(slot: u32): usize {
  return records + <usize>slot * RECORD_SIZE;
}

@inline export function keyOf(slot: u32): u64 {
  return load<u64>(keys + (<usize>slot << 3));
}

/** Bit i set when key i of the bucket at slot `first` is `key`: the 8 keys in four 2-lane compares. */
@inline function matchesIn(first: u32, key: v128): u32 {
  const p = keys + (<usize>first << 3);
  return <u32>i64x2.bitmask(i64x2.eq(v128.load(p), key)) |
    (<u32>i64x2.bitmask(i64x2.eq(v128.load(p, 16), key)) << 2) |
    (<u32>i64x2.bitmask(i64x2.eq(v128.load(p, 32), key)) << 4) |
    (<u32>i64x2.bitmask(i64x2.eq(v128.load(p, 48), key)) << 6);
}

/** Slot of the device, or −1. Each device may sit in one of two buckets (a key is in one slot at most). */
export function findDevice(key: u64): i32 {
  const k = i64x2.splat(key);
  const a = bucketOf(<u32>key);
  let m = matchesIn(a, k);
  if (m != 0) return <i32>(a + ctz<u32>(m));
  const b = altBucketOf(key, a);
  m = matchesIn(b, k);
  return m != 0 ? <i32>(b + ctz<u32>(m)) : -1;
}

/** Claim a slot for a device not in the table: a free slot of its two buckets, else the LRU of the 16. */
export function claimDevice(key: u64): u32 {
  const a = bucketOf(<u32>key);
  const b = altBucketOf(key, a);
  // the emptier bucket gets the device ("power of two choices"); ties go to the first
  let freeA: i32 = -1;
  let freeB: i32 = -1;
  let emptyA: u32 = 0;
  let emptyB: u32 = 0;
  for (let i: i32 = <i32>BUCKET - 1; i >= 0; i--) {
    if (keyOf(a + <u32>i) == 0) {
      emptyA++;
      freeA = <i32>a + i;
    }
    if (keyOf(b + <u32>i) == 0) {
      emptyB++;
      freeB = <i32>b + i;
    }
  }
  let victim: i32 = emptyB > emptyA ? freeB : freeA;
  if (victim >= 0) used++;
  else {
    for (let k: u32 = 0; k < 2 * BUCKET; k++) {
      const s = k < BUCKET ? a + k : b + k - BUCKET;
      if (victim < 0 || load<f64>(recordOf(s) + R_LAST_ARRIVAL) < load<f64>(recordOf(<u32>victim) + R_LAST_ARRIVAL)) victim = <i32>s;
    }
    evictions += 1;
  }
  const v = <u32>victim;
  store<u64>(keys + (<usize>v << 3), key);
  return v;
}

/** The partition of the messages scored from now on. */
export function setCurrentPartition(p: u32): void {
  currentPartition = <u16>p;
}

/** Empty a slot (its device handed over to another instance). */
export function releaseSlot(slot: u32): void {
  if (keyOf(slot) == 0) return;
  store<u64>(keys + (<usize>slot << 3), 0);
  used--;
}

/** Slot of a credential in the index; a new entry (owner 0) is claimed when absent. */
export function credentialSlot(key: u64): u32 {
  const base = bucketOf(<u32>key);
  let empty: i32 = -1;
  let lru: i32 = -1;
  for (let i: u32 = 0; i < BUCKET; i++) {
    const s = base + i;
    const k = load<u64>(credKeys + (<usize>s << 3));
    if (k == key) return s;
    if (k == 0) {
      if (empty < 0) empty = <i32>s;
    } else if (lru < 0 || load<f64>(credSeen + (<usize>s << 3)) < load<f64>(credSeen + (<usize>lru << 3))) lru = <i32>s;
  }
  const victim = <u32>(empty >= 0 ? empty : lru);
  if (empty < 0) credEvictions += 1;
  store<u64>(credKeys + (<usize>victim << 3), key);
  store<u64>(credOwners + (<usize>victim << 3), 0);
  store<f64>(credSeen + (<usize>victim << 3), 0);
  return victim;
}
