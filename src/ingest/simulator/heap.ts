// Binary min-heap of sender ids keyed by their next arrival time: O(log N) per event, two
// typed arrays, no objects. Ties go to the lower id, so the order is fully deterministic.

export class ArrivalHeap {
  private readonly heap: Int32Array;
  /** keys[id]: next arrival of sender id. Owned by the caller; call fixTop() after changing the top's key. */
  readonly keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.heap = new Int32Array(Math.max(1, capacity));
    this.keys = new Float64Array(Math.max(1, capacity));
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a];
    const kb = this.keys[b];
    return ka < kb || (ka === kb && a < b);
  }

  push(id: number, key: number): void {
    this.keys[id] = key;
    const h = this.heap;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(id, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = id;
  }

  /** The id with the smallest key (size must be > 0). */
  peek(): number {
    return this.heap[0];
  }

  /** Remove the top. */
  pop(): void {
    const h = this.heap;
    const last = h[--this.size];
    if (this.size > 0) {
      h[0] = last;
      this.siftDown(0);
    }
  }

  /** The top's key was changed (raised): restore the heap order. */
  fixTop(key: number): void {
    this.keys[this.heap[0]] = key;
    this.siftDown(0);
  }

  clear(): void {
    this.size = 0;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = this.size;
    const id = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1], h[c])) c++;
      if (!this.less(h[c], id)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = id;
  }
}
