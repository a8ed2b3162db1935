// Fleet clocks (see src/core/reference/clock.ts): per partition, the median of the latest
// time of the last 32 distinct devices, never going back. One clock per Kafka partition
// (partition mod CLOCKS), because a consumer reads partitions batch by batch: one
// partition's time can run hours ahead of another's while a backlog drains, and judging
// a device's silence by another partition's clock would be wrong. Mirrors the reference
// step for step.

const WINDOW: u32 = 32;
export const CLOCKS: u32 = 1024;
// one clock's state: u32 keys × 32, f64 times × 32, f64 sorted × 32, u32 n, u32 next, f64 now
const K: usize = 0;
const T: usize = 128;
const S: usize = 384;
const N: usize = 640;
const NEXT: usize = 644;
const NOW: usize = 648;
const CLOCK_BYTES: usize = 656;

let clocks: usize = 0;
/** The largest of the partition clocks (−1 before the first event). */
export let clockNow: f64 = -1;

export function initClock(): void {
  clocks = heap.alloc(<usize>CLOCKS * CLOCK_BYTES);
  for (let c: u32 = 0; c < CLOCKS; c++) {
    const b = clocks + <usize>c * CLOCK_BYTES;
    store<u32>(b + N, 0);
    store<u32>(b + NEXT, 0);
    store<f64>(b + NOW, -1);
  }
  clockNow = -1;
}

@inline function clockBase(partition: u32): usize {
  return clocks + <usize>(partition & (CLOCKS - 1)) * CLOCK_BYTES;
}

/** The clock of a partition (−1 before its first event). */
export function clockOf(partition: u32): f64 {
  return load<f64>(clockBase(partition) + NOW);
}

function removeSorted(b: usize, v: f64): void {
  const size = load<u32>(b + N);
  let j: u32 = 0;
  while (j < size && load<f64>(b + S + (<usize>j << 3)) != v) j++;
  // the entries after it move down by one, two at a time (usually most of them: the ring
  // replaces the device seen longest ago, whose time tends to be the smallest)
  for (; j + 2 < size; j += 2) v128.store(b + S + (<usize>j << 3), v128.load(b + S + (<usize>(j + 1) << 3)));
  if (j + 1 < size) store<f64>(b + S + (<usize>j << 3), load<f64>(b + S + (<usize>(j + 1) << 3)));
}

/** Index of `key` among the clock's `count` device keys, or `count`: four keys per compare. */
@inline function findKey(b: usize, count: u32, key: u32): u32 {
  const k = i32x4.splat(key);
  let m: u32 = 0;
  for (let q: u32 = 0; q < WINDOW; q += 4) m |= i32x4.bitmask(i32x4.eq(v128.load(b + K + (<usize>q << 2)), k)) << q;
  m &= count < WINDOW ? ((<u32>1 << count) - 1) : 0xffffffff;
  return m != 0 ? ctz<u32>(m) : count;
}

function insertSorted(b: usize, v: f64): void {
  let j = load<u32>(b + N) - 1;
  while (j > 0 && load<f64>(b + S + (<usize>(j - 1) << 3)) > v) {
    store<f64>(b + S + (<usize>j << 3), load<f64>(b + S + (<usize>(j - 1) << 3)));
    j--;
  }
  store<f64>(b + S + (<usize>j << 3), v);
}

/** Feed one device's time to its partition's clock; returns that clock after it. */
export function observeClock(partition: u32, key: u32, t: f64): f64 {
  const b = clockBase(partition);
  const count = load<u32>(b + N);
  let i = findKey(b, count, key);
  if (i < count) {
    removeSorted(b, load<f64>(b + T + (<usize>i << 3)));
  } else if (count < WINDOW) {
    i = count;
    store<u32>(b + N, count + 1);
  } else {
    i = load<u32>(b + NEXT);
    store<u32>(b + NEXT, (i + 1) % WINDOW);
    removeSorted(b, load<f64>(b + T + (<usize>i << 3)));
  }
  store<u32>(b + K + (<usize>i << 2), key);
  store<f64>(b + T + (<usize>i << 3), t);
  insertSorted(b, t);
  const median = load<f64>(b + S + (<usize>((load<u32>(b + N) - 1) >> 1) << 3));
  let now = load<f64>(b + NOW);
  if (median > now) {
    now = median;
    store<f64>(b + NOW, now);
    if (now > clockNow) clockNow = now;
  }
  return now;
}
