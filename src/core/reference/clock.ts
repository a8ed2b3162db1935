// Fleet clock: the arrival time used when a message carries none (files, stdin). It is
// the median of the latest device time of the last 32 distinct devices seen, never going
// back. One device with a skewed or replayed clock is one entry of 32, however often it
// sends, so it cannot drag the clock; a single-device stream follows its own clock.
// Mirrors assembly/clock.ts step for step.

export const CLOCK_WINDOW = 32;
/**
 * One clock per Kafka partition (partition mod CLOCKS): a consumer reads partitions batch
 * by batch, so one partition's time can run hours ahead of another's while a backlog
 * drains, and a device's silence must be judged by its own partition's clock.
 */
export const CLOCKS = 1024;

/** The clocks of every partition, and the largest of them. */
export class PartitionClocks {
  private readonly clocks: FleetClock[] = [];
  /** The largest partition clock (−1 before the first event). */
  now = -1;

  of(partition: number): FleetClock {
    const i = partition & (CLOCKS - 1);
    return (this.clocks[i] ??= new FleetClock());
  }

  /** Feed one device's time to its partition's clock; returns that clock after it. */
  observe(partition: number, key: number, t: number): number {
    const now = this.of(partition).observe(key, t);
    if (now > this.now) this.now = now;
    return now;
  }
}

export class FleetClock {
  private readonly keys = new Uint32Array(CLOCK_WINDOW);
  private readonly times = new Float64Array(CLOCK_WINDOW);
  private readonly sorted = new Float64Array(CLOCK_WINDOW);
  private n = 0;
  private next = 0; // ring position replaced when a new device arrives and the ring is full
  now = -1;

  /** Feed one device's time; returns the fleet clock after it. */
  observe(key: number, t: number): number {
    const n = this.n;
    let i = 0;
    while (i < n && this.keys[i] !== key) i++;
    if (i < n) {
      this.remove(this.times[i]);
    } else if (n < CLOCK_WINDOW) {
      i = n;
      this.n = n + 1;
    } else {
      i = this.next;
      this.next = (i + 1) % CLOCK_WINDOW;
      this.remove(this.times[i]);
    }
    this.keys[i] = key;
    this.times[i] = t;
    this.insert(t);
    const median = this.sorted[(this.n - 1) >> 1];
    if (median > this.now) this.now = median;
    return this.now;
  }

  /** Remove one occurrence of v from the sorted prefix (size = entries before removal). */
  private remove(v: number): void {
    const size = this.n; // callers remove before insert, so n entries are in `sorted`
    let j = 0;
    while (j < size && this.sorted[j] !== v) j++;
    for (; j < size - 1; j++) this.sorted[j] = this.sorted[j + 1];
  }

  private insert(v: number): void {
    // sorted holds n-1 entries here
    let j = this.n - 1;
    while (j > 0 && this.sorted[j - 1] > v) {
      this.sorted[j] = this.sorted[j - 1];
      j--;
    }
    this.sorted[j] = v;
  }
}
