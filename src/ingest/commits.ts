// Which offsets may be committed while several chunks are being stored at once. Chunks
// are tracked in the order they were scored; an offset is committed only when its chunk
// and every chunk scored before it (any partition) were acknowledged by every sink, so a
// commit never passes an unstored chunk. Commits go one request at a time, each covering
// every partition that moved since the last (fewer commits than chunks when storage is
// the slow part). A chunk whose storage failed stops all commits behind it until the
// caller rewinds: rewind() says where each partition must be read again from.
//
// The window is bounded by the caller through room(): it waits while too many chunks or
// messages are in flight, so consumption pauses (instead of buffering) when a sink is
// down and retrying.

export interface CommitOffset {
  partition: number;
  /** The next offset to read (last stored + 1). */
  offset: bigint;
}

interface Chunk {
  partition: number;
  /** First offset of the chunk (where to read again from if it was not stored). */
  first: bigint;
  /** Last offset + 1. */
  next: bigint;
  /** Messages stored by this chunk (what `committedMessages` counts). */
  messages: number;
  /** Partition's high watermark when fetched (lag after the commit), or −1. */
  highWatermark: bigint;
  state: 'storing' | 'stored' | 'failed';
}

export class InOrderCommits {
  /** Chunks not yet committed, oldest first (the committing ones excluded). */
  private chunks: Chunk[] = [];
  /** The chunks of the commit request in flight. */
  private committing: Chunk[] = [];
  private commitRequest: Promise<void> | undefined;
  private failure: unknown;
  private hasFailed = false;
  private waiters: (() => void)[] = [];
  /** Messages stored and committed so far. */
  committedMessages = 0;
  /** Next offset to read per partition, as last committed by this tracker. */
  readonly committed = new Map<number, bigint>();

  constructor(
    private readonly commit: (offsets: CommitOffset[]) => Promise<void>,
    /** After each commit, with the lag of each committed partition (−1: unknown). */
    private readonly onCommitted?: (offsets: CommitOffset[], lag: Map<number, number>) => void,
  ) {}

  /** Chunks scored and not yet committed. */
  get chunksInFlight(): number {
    return this.chunks.length + this.committing.length;
  }

  get messagesInFlight(): number {
    let n = 0;
    for (const c of this.chunks) n += c.messages;
    for (const c of this.committing) n += c.messages;
    return n;
  }

  /** The first storage or commit failure since the last rewind. */
  get failed(): unknown {
    return this.hasFailed ? this.failure : undefined;
  }

  /**
   * A chunk of `partition`, offsets [first, next), is being stored; `stored` resolves when
   * every sink acknowledged it (and everything queued before it).
   */
  track(partition: number, first: bigint, next: bigint, messages: number, stored: Promise<void>, highWatermark = -1n): void {
    const c: Chunk = { partition, first, next, messages, highWatermark, state: 'storing' };
    this.chunks.push(c);
    stored.then(
      () => {
        c.state = 'stored';
        this.advance();
      },
      (e: unknown) => {
        c.state = 'failed';
        this.fail(e);
      },
    );
  }

  /** Wait until fewer than `maxChunks` chunks and `maxMessages` messages are in flight; throws a failure. */
  async room(maxChunks: number, maxMessages: number): Promise<void> {
    for (;;) {
      if (this.hasFailed) throw this.failure;
      if (this.chunksInFlight < maxChunks && this.messagesInFlight < maxMessages) return;
      await this.changed();
    }
  }

  /** Wait until everything tracked is stored and committed; throws a failure. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.hasFailed) throw this.failure;
      if (this.chunksInFlight === 0) return;
      await this.changed();
    }
  }

  /**
   * After a failure: wait for the commit in flight, then forget every uncommitted chunk
   * and return, per partition, the offset to read again from (its oldest uncommitted
   * chunk). Chunks still being stored may finish later; they are never committed.
   */
  async rewind(): Promise<CommitOffset[]> {
    while (this.commitRequest) await this.commitRequest.catch(() => undefined);
    const from = new Map<number, bigint>();
    for (const c of [...this.committing, ...this.chunks]) {
      const f = from.get(c.partition);
      if (f === undefined || c.first < f) from.set(c.partition, c.first);
    }
    for (const c of this.chunks) c.state = 'failed'; // late acknowledgements are ignored
    this.chunks = [];
    this.committing = [];
    this.hasFailed = false;
    this.failure = undefined;
    this.wake();
    return [...from].map(([partition, offset]) => ({ partition, offset }));
  }

  private fail(e: unknown): void {
    if (!this.hasFailed) {
      this.hasFailed = true;
      this.failure = e;
    }
    this.wake();
  }

  /** Commit the stored prefix (one request at a time). */
  private advance(): void {
    if (this.commitRequest || this.hasFailed) return;
    let k = 0;
    while (k < this.chunks.length && this.chunks[k].state === 'stored') k++;
    if (k === 0) return;
    const batch = this.chunks.splice(0, k);
    this.committing = batch;
    const next = new Map<number, bigint>();
    const lag = new Map<number, number>();
    for (const c of batch) {
      next.set(c.partition, c.next);
      lag.set(c.partition, c.highWatermark >= 0n ? Number(c.highWatermark - c.next) : -1);
    }
    const offsets = [...next].map(([partition, offset]) => ({ partition, offset }));
    this.commitRequest = this.commit(offsets).then(
      () => {
        for (const o of offsets) this.committed.set(o.partition, o.offset);
        for (const c of batch) this.committedMessages += c.messages;
        this.committing = [];
        this.onCommitted?.(offsets, lag);
      },
      (e: unknown) => this.fail(e),
    );
    void this.commitRequest.finally(() => {
      this.commitRequest = undefined;
      this.wake();
      this.advance();
    });
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
