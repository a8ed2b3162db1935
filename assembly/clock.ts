// Fleet clock (see src/core/reference/clock.ts): the median of the latest device time of
// the last 32 distinct devices, never going back. Mirrors the reference step for step.

const WINDOW: u32 = 32;
let keysPtr: usize = 0; // u32 × 32
let timesPtr: usize = 0; // f64 × 32
let sortedPtr: usize = 0; // f64 × 32
let n: u32 = 0;
let next: u32 = 0;
export let clockNow: f64 = -1;

export function initClock(): void {
  keysPtr = heap.alloc(WINDOW << 2);
  timesPtr = heap.alloc(WINDOW << 3);
  sortedPtr = heap.alloc(WINDOW << 3);
  n = 0;
  next = 0;
  clockNow = -1;
}

function removeSorted(v: f64): void {
  const size = n;
  let j: u32 = 0;
  while (j < size && load<f64>(sortedPtr + (<usize>j << 3)) != v) j++;
  for (; j + 1 < size; j++) store<f64>(sortedPtr + (<usize>j << 3), load<f64>(sortedPtr + (<usize>(j + 1) << 3)));
}

function insertSorted(v: f64): void {
  let j = n - 1;
  while (j > 0 && load<f64>(sortedPtr + (<usize>(j - 1) << 3)) > v) {
    store<f64>(sortedPtr + (<usize>j << 3), load<f64>(sortedPtr + (<usize>(j - 1) << 3)));
    j--;
  }
  store<f64>(sortedPtr + (<usize>j << 3), v);
}

export function observeClock(key: u32, t: f64): f64 {
  const count = n;
  let i: u32 = 0;
  while (i < count && load<u32>(keysPtr + (<usize>i << 2)) != key) i++;
  if (i < count) {
    removeSorted(load<f64>(timesPtr + (<usize>i << 3)));
  } else if (count < WINDOW) {
    i = count;
    n = count + 1;
  } else {
    i = next;
    next = (i + 1) % WINDOW;
    removeSorted(load<f64>(timesPtr + (<usize>i << 3)));
  }
  store<u32>(keysPtr + (<usize>i << 2), key);
  store<f64>(timesPtr + (<usize>i << 3), t);
  insertSorted(t);
  const median = load<f64>(sortedPtr + (<usize>((n - 1) >> 1) << 3));
  if (median > clockNow) clockNow = median;
  return clockNow;
}
