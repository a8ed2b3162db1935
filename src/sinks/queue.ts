// One sink's writes in order: a write starts only after the previous one was
// acknowledged, and whatever was queued meanwhile goes out together in the next write.
// So chunk N+1 is scored while chunk N is being stored, a point or alert never overtakes
// an older version of itself (InfluxDB keeps the last write of a point identity), and a
// sink that is slow or retrying receives fewer, larger writes instead of a backlog of
// small ones. The queue holds only what the caller's in-flight window lets through.

interface Entry<T> {
  items: T[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class OrderedWrites<T> {
  private queued: Entry<T>[] = [];
  private writing = false;

  /**
   * @param write stores the items; resolves when acknowledged (retries are its business)
   * @param maxItems most items in one write (a single push larger than this goes alone)
   */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxItems = 50_000,
  ) {}

  /** Items waiting for a write to start (not yet handed to `write`). */
  get pending(): number {
    let n = 0;
    for (const e of this.queued) n += e.items.length;
    return n;
  }

  /** Queue items behind everything pushed before; resolves when they were written. */
  push(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ items, resolve, reject });
      if (!this.writing) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.writing = true;
    while (this.queued.length > 0) {
      let n = this.queued[0].items.length;
      let k = 1;
      while (k < this.queued.length && n + this.queued[k].items.length <= this.maxItems) n += this.queued[k++].items.length;
      const group = this.queued.splice(0, k);
      const items = group.length === 1 ? group[0].items : group.flatMap((e) => e.items);
      try {
        await this.write(items);
        for (const e of group) e.resolve();
      } catch (err) {
        // only this write's items failed; later ones are written on their own merits (the
        // caller never commits past a failed chunk)
        for (const e of group) e.reject(err);
      }
    }
    this.writing = false;
  }
}
