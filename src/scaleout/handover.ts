// Which partitions this instance owns, and their device state crossing instances: on
// assignment the latest snapshot of a partition is restored before its first event is
// scored (and the events between the snapshot and the committed offset are re-scored
// silently, so the state is exactly what the previous owner had); while owned, a
// snapshot is written every interval after a commit; on revocation and on stop a last
// one is written and the partition's devices are dropped. A snapshot is taken only once
// every event scored so far is stored and committed, so the offset it names is the
// committed one.

import type { Core } from '../core/core';
import { decodeSnapshot, encodeSnapshot, SnapshotError } from '../core/snapshot';
import type { StateTopic, StoredSnapshot } from './state-topic';

export type RestoreResult = 'restored' | 'missing' | 'corrupt';

export interface HandoverEvents {
  restored?(partition: number, result: RestoreResult, devices: number, ms: number): void;
  saved?(partition: number, bytes: number, devices: number, ms: number): void;
  caughtUp?(partition: number, messages: number): void;
}

export interface HandoverLog {
  info(msg: string): void;
  warn(msg: string): void;
}

interface Owned {
  snapshot: Promise<StoredSnapshot | undefined>;
  ready: boolean;
  /** Events below this offset were already stored by the previous owner: score them silently. */
  catchUpUntil?: bigint;
  caughtUp: number;
  /** Next offset the state has seen (what a snapshot taken now covers). */
  stateOffset?: bigint;
  lastSavedAt: number;
  saving?: Promise<void>;
}

export class PartitionHandover {
  private readonly owned = new Map<number, Owned>();

  constructor(
    private readonly core: () => Core,
    private readonly store: StateTopic,
    private readonly intervalMs: number,
    private readonly log: HandoverLog,
    private readonly events: HandoverEvents = {},
    /**
     * Resolves when every event scored so far is stored and committed (the caller's
     * in-flight window drained). A snapshot waits for it: taken earlier, it would cover
     * events past the committed offset, and the next owner would count them twice.
     */
    private readonly settle: () => Promise<void> = () => Promise.resolve(),
  ) {}

  /** Partitions owned now, ascending. */
  partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** A new assignment (after a rebalance): release what was lost, start loading what is new. */
  async assign(assigned: number[]): Promise<void> {
    const keep = new Set(assigned);
    for (const p of this.partitions()) if (!keep.has(p)) await this.release(p);
    this.adopt(assigned.filter((p) => !this.owned.has(p)));
  }

  private adopt(partitions: number[]): void {
    if (partitions.length === 0) return;
    const loading = this.store.load(partitions).catch((e: Error) => {
      this.log.warn(`state: reading snapshots of partitions ${partitions.join(', ')} failed (${e.message}); starting them cold`);
      return new Map<number, StoredSnapshot>();
    });
    for (const p of partitions) this.owned.set(p, { snapshot: loading.then((m) => m.get(p)), ready: false, caughtUp: 0, lastSavedAt: Date.now() });
  }

  /**
   * Before the first batch of a partition: restore its snapshot. Returns the offset to
   * seek back to when the snapshot is older than `firstOffset` (the events in between are
   * then re-scored silently), else undefined.
   */
  async prepare(partition: number, firstOffset: bigint): Promise<bigint | undefined> {
    if (!this.owned.has(partition)) this.adopt([partition]);
    const o = this.owned.get(partition)!;
    if (o.ready) return undefined;
    const t0 = performance.now();
    const stored = await o.snapshot;
    o.ready = true;
    o.stateOffset = firstOffset;
    if (!stored) {
      this.log.warn(`state: no snapshot of partition ${partition}; its devices start cold (baselines relearned)`);
      this.events.restored?.(partition, 'missing', 0, performance.now() - t0);
      return undefined;
    }
    let devices = 0;
    try {
      const { state } = decodeSnapshot(stored.bytes);
      if (state.partition !== partition) throw new SnapshotError(`snapshot is of partition ${state.partition}`);
      this.core().importPartition(state);
      devices = state.ids.length;
    } catch (e) {
      if (!(e instanceof SnapshotError)) throw e;
      this.log.warn(`state: the snapshot of partition ${partition} is unusable (${e.message}); its devices start cold`);
      this.events.restored?.(partition, 'corrupt', 0, performance.now() - t0);
      return undefined;
    }
    this.events.restored?.(partition, 'restored', devices, performance.now() - t0);
    const age = Math.round((Date.now() - stored.writtenAt) / 1000);
    if (stored.offset !== undefined && stored.offset < firstOffset) {
      o.catchUpUntil = firstOffset;
      o.stateOffset = stored.offset;
      this.log.info(`state: partition ${partition}: restored ${devices} devices from a snapshot at offset ${stored.offset} (${age} s old); re-scoring up to ${firstOffset} silently`);
      return stored.offset;
    }
    if (stored.offset !== undefined && stored.offset > firstOffset) {
      this.log.warn(`state: partition ${partition}: the snapshot (offset ${stored.offset}) is ahead of the committed offset ${firstOffset}; events in between count as re-deliveries`);
    }
    this.log.info(`state: partition ${partition}: restored ${devices} devices (snapshot ${age} s old)`);
    return undefined;
  }

  /**
   * How many of these offsets (ascending; Kafka's decimal strings or bigints) are below the
   * catch-up mark: score them silently. Offsets are converted only while catching up.
   */
  silentCount(partition: number, offsets: readonly (bigint | string)[]): number {
    const until = this.owned.get(partition)?.catchUpUntil;
    if (until === undefined) return 0;
    let n = 0;
    while (n < offsets.length && BigInt(offsets[n]) < until) n++;
    return n;
  }

  /** Events up to `next` (exclusive) are in the state (and stored, when not a catch-up). */
  async processed(partition: number, next: bigint, silent: number): Promise<void> {
    const o = this.owned.get(partition);
    if (!o) return;
    o.stateOffset = next;
    if (silent > 0) o.caughtUp += silent;
    if (o.catchUpUntil !== undefined && next >= o.catchUpUntil) {
      o.catchUpUntil = undefined;
      this.events.caughtUp?.(partition, o.caughtUp);
      this.log.info(`state: partition ${partition} caught up (${o.caughtUp} events re-scored)`);
    }
    if (o.catchUpUntil === undefined && Date.now() - o.lastSavedAt >= this.intervalMs) await this.save(partition);
  }

  /** Write a snapshot of a partition now (after its last commit). */
  async save(partition: number): Promise<void> {
    const o = this.owned.get(partition);
    if (!o || !o.ready || o.catchUpUntil !== undefined) return;
    await o.saving;
    try {
      await this.settle();
    } catch (e) {
      this.log.warn(`state: no snapshot of partition ${partition}: results in flight were not stored (${(e as Error).message})`);
      return;
    }
    if (!this.owned.has(partition)) return;
    const t0 = performance.now();
    const state = this.core().exportPartition(partition);
    const bytes = encodeSnapshot(state, o.stateOffset);
    o.lastSavedAt = Date.now();
    o.saving = this.store.save(partition, bytes, o.stateOffset);
    try {
      await o.saving;
      this.events.saved?.(partition, bytes.length, state.ids.length, performance.now() - t0);
    } catch (e) {
      this.log.warn(`state: writing the snapshot of partition ${partition} failed (${(e as Error).message}); the next owner re-scores from an older one`);
    } finally {
      o.saving = undefined;
    }
  }

  /** Hand a partition over: last snapshot, then forget its devices. */
  async release(partition: number): Promise<void> {
    await this.save(partition);
    const dropped = this.core().dropPartition(partition);
    this.owned.delete(partition);
    this.log.info(`state: partition ${partition} handed over (${dropped} devices dropped)`);
  }

  /** On stop: a last snapshot of every partition (the next owner starts exactly here). */
  async saveAll(): Promise<void> {
    for (const p of this.partitions()) await this.save(p);
  }
}
