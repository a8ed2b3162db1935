// The hand-over's decisions, with an in-process stand-in for the state topic (the real
// topic is exercised in test/integration/): restore before the first batch, seek back and
// re-score silently when the snapshot is older than the committed offset, start cold on a
// missing or corrupt snapshot (never throw), snapshot on release and drop the devices.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../src/core';
import type { Core } from '../../src/core';
import { encodeSnapshot } from '../../src/core/snapshot';
import { PartitionHandover, RestoreResult } from '../../src/scaleout/handover';
import type { StateTopic, StoredSnapshot } from '../../src/scaleout/state-topic';
import { encode, series } from '../support/telemetry';

class FakeStore {
  readonly stored = new Map<number, StoredSnapshot>();
  readonly saves: { partition: number; offset: bigint | undefined }[] = [];
  async save(partition: number, bytes: Uint8Array, offset: bigint | undefined): Promise<void> {
    this.saves.push({ partition, offset });
    this.stored.set(partition, { bytes, offset, writtenAt: Date.now() });
  }
  async load(partitions: number[]): Promise<Map<number, StoredSnapshot>> {
    return new Map(partitions.filter((p) => this.stored.has(p)).map((p) => [p, this.stored.get(p)!]));
  }
}

/** A core that has seen `n` messages of one device on `partition`. */
function coreWith(partition: number, deviceId: string, n: number): Core {
  const core = createCore('wasm', { capacity: 256 });
  core.setPartition(partition);
  for (const m of series(n, { deviceId })) core.add(encode(m));
  core.score();
  return core;
}

function handover(core: Core, store: FakeStore, intervalMs = 60_000) {
  const results: RestoreResult[] = [];
  const warnings: string[] = [];
  const h = new PartitionHandover(() => core, store as unknown as StateTopic, intervalMs, { info: () => undefined, warn: (m) => warnings.push(m) }, {
    restored: (_p, r) => results.push(r),
  });
  return { h, results, warnings };
}

describe('partition hand-over', () => {
  test('restores the snapshot before the first batch; a snapshot at the committed offset needs no catch-up', async () => {
    const store = new FakeStore();
    store.stored.set(2, { bytes: encodeSnapshot(coreWith(2, 'dev-a', 40).exportPartition(2), 100n), offset: 100n, writtenAt: Date.now() });
    const core = createCore('wasm', { capacity: 256 });
    const { h, results } = handover(core, store);
    await h.assign([2]);
    assert.equal(await h.prepare(2, 100n), undefined);
    assert.deepEqual(results, ['restored']);
    assert.equal(core.describe(core.findDevice('dev-a'))!.events, 40);
    assert.equal(h.silentCount(2, [100n, 101n]), 0);
    assert.equal(await h.prepare(2, 150n), undefined, 'only the first batch restores');
  });

  test('an older snapshot: seek back to it, and the events up to the committed offset are re-scored silently', async () => {
    const store = new FakeStore();
    store.stored.set(0, { bytes: encodeSnapshot(coreWith(0, 'dev-b', 30).exportPartition(0), 70n), offset: 70n, writtenAt: Date.now() });
    const core = createCore('wasm', { capacity: 256 });
    const { h } = handover(core, store, 0);
    await h.assign([0]);
    assert.equal(await h.prepare(0, 100n), 70n, 'seek back to the snapshot');
    assert.equal(h.silentCount(0, [70n, 80n, 99n, 100n, 101n]), 3);
    await h.processed(0, 100n, 30);
    assert.equal(h.silentCount(0, [100n]), 0, 'caught up');
    assert.equal(store.saves.length, 1, 'a snapshot once caught up (interval 0)');
    assert.deepEqual(store.saves[0], { partition: 0, offset: 100n });
  });

  test('a missing or corrupt snapshot starts the partition cold, with a warning, never an exception', async () => {
    const store = new FakeStore();
    const bytes = encodeSnapshot(coreWith(1, 'dev-c', 10).exportPartition(1), 5n);
    bytes[60] ^= 0xff;
    store.stored.set(1, { bytes, offset: 5n, writtenAt: Date.now() });
    store.stored.set(3, { bytes: encodeSnapshot(coreWith(2, 'dev-d', 10).exportPartition(2), 5n), offset: 5n, writtenAt: Date.now() });
    const core = createCore('wasm', { capacity: 256 });
    const { h, results, warnings } = handover(core, store);
    await h.assign([1, 3, 4]);
    assert.equal(await h.prepare(1, 5n), undefined);
    assert.equal(await h.prepare(3, 5n), undefined);
    assert.equal(await h.prepare(4, 0n), undefined);
    assert.deepEqual(results, ['corrupt', 'corrupt', 'missing']);
    assert.match(warnings.join('\n'), /partition 1 is unusable \(snapshot checksum mismatch/);
    assert.match(warnings.join('\n'), /partition 3 is unusable \(snapshot is of partition 2\)/);
    assert.match(warnings.join('\n'), /no snapshot of partition 4/);
    assert.equal(core.stats().devices, 0);
  });

  test('a revoked partition is snapshotted at the offset its state covers, then its devices are dropped', async () => {
    const core = coreWith(5, 'dev-e', 25);
    const store = new FakeStore();
    const { h } = handover(core, store);
    await h.assign([5]);
    await h.prepare(5, 0n);
    await h.processed(5, 25n, 0);
    await h.assign([]);
    assert.deepEqual(store.saves, [{ partition: 5, offset: 25n }]);
    assert.equal(core.findDevice('dev-e'), -1, 'dropped');
    assert.deepEqual(h.partitions(), []);
    // the next owner gets it back whole
    const next = createCore('wasm', { capacity: 256 });
    const { h: h2 } = handover(next, store);
    await h2.assign([5]);
    assert.equal(await h2.prepare(5, 25n), undefined);
    assert.equal(next.describe(next.findDevice('dev-e'))!.events, 25);
  });
});
