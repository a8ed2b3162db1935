// The ordering rules of the in-flight window, with in-process fakes for the sinks and
// the commit request: an offset is committed only when its chunk and every chunk scored
// before it were stored; a failed chunk stops every commit behind it until a rewind, which
// says where to read again from; the window bounds what is in flight; and a sink writes
// in order, chunks queued meanwhile together.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InOrderCommits, type CommitOffset } from '../../src/ingest/commits';
import { OrderedWrites } from '../../src/sinks/queue';

/** A promise settled from outside. */
function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let every pending promise callback run. */
const settle = () => new Promise((res) => setImmediate(res));

function tracker() {
  const commits: CommitOffset[][] = [];
  const pending: ReturnType<typeof deferred>[] = [];
  const t = new InOrderCommits((offsets) => {
    commits.push(offsets);
    const d = deferred();
    pending.push(d);
    return d.promise;
  });
  /** Acknowledge every commit request sent so far (and those they lead to). */
  const ackCommits = async () => {
    for (let i = 0; i < 100 && pending.length; i++) {
      pending.shift()!.resolve();
      await settle();
    }
  };
  return { t, commits, ackCommits };
}

const flat = (commits: CommitOffset[][]) => commits.map((c) => c.map((o) => `${o.partition}@${o.offset}`).join(' '));

describe('in-order commits', () => {
  test('a chunk stored before an earlier one is not committed until the earlier one is', async () => {
    const { t, commits, ackCommits } = tracker();
    const a = deferred();
    const b = deferred();
    t.track(0, 0n, 100n, 100, a.promise);
    t.track(0, 100n, 200n, 100, b.promise);
    b.resolve();
    await settle();
    assert.deepEqual(commits, [], 'chunk 2 was stored first: nothing may be committed yet');
    a.resolve();
    await settle();
    await ackCommits();
    assert.deepEqual(flat(commits), ['0@200'], 'both in one commit, at the later offset');
    assert.equal(t.committedMessages, 200);
    assert.equal(t.chunksInFlight, 0);
  });

  test('the order holds across partitions: a later chunk of another partition waits too', async () => {
    const { t, commits, ackCommits } = tracker();
    const a = deferred();
    const b = deferred();
    t.track(1, 50n, 60n, 10, a.promise);
    t.track(2, 70n, 80n, 10, b.promise);
    b.resolve();
    await settle();
    assert.deepEqual(commits, []);
    a.resolve();
    await settle();
    await ackCommits();
    assert.deepEqual(flat(commits), ['1@60 2@80']);
  });

  test('a failed chunk: nothing behind it is committed, even once stored; rewind says where to read again', async () => {
    const { t, commits, ackCommits } = tracker();
    const a = deferred();
    const b = deferred();
    const c = deferred();
    const d = deferred();
    t.track(0, 0n, 10n, 10, a.promise);
    t.track(0, 10n, 20n, 10, b.promise);
    t.track(1, 5n, 15n, 10, c.promise);
    t.track(0, 20n, 30n, 10, d.promise);
    a.resolve();
    await settle();
    await ackCommits();
    assert.deepEqual(flat(commits), ['0@10']);
    b.reject(new Error('400 bad points'));
    c.resolve();
    d.resolve();
    await settle();
    await ackCommits();
    assert.deepEqual(flat(commits), ['0@10'], 'chunks stored after a failed one are not committed');
    await assert.rejects(t.room(100, 1e9), /400 bad points/);
    await assert.rejects(t.drain(), /400 bad points/);
    const from = await t.rewind();
    assert.deepEqual(
      from.map((o) => `${o.partition}@${o.offset}`).sort(),
      ['0@10', '1@5'],
      'each partition is read again from its oldest uncommitted chunk',
    );
    assert.equal(t.failed, undefined);
    assert.equal(t.chunksInFlight, 0);
    // after the rewind the chunks are scored and tracked again, and commit normally
    t.track(0, 10n, 30n, 20, Promise.resolve());
    await settle();
    await ackCommits();
    assert.deepEqual(flat(commits), ['0@10', '0@30']);
    assert.equal(t.committedMessages, 30);
  });

  test('a failed commit request stops the commits behind it as well', async () => {
    const commits: CommitOffset[][] = [];
    let fail = true;
    const t = new InOrderCommits(async (offsets) => {
      commits.push(offsets);
      if (fail) throw new Error('not the coordinator');
    });
    t.track(3, 0n, 10n, 10, Promise.resolve());
    await settle();
    t.track(3, 10n, 20n, 10, Promise.resolve());
    await settle();
    await assert.rejects(t.drain(), /not the coordinator/);
    assert.deepEqual(flat(commits), ['3@10']);
    assert.deepEqual(await t.rewind(), [{ partition: 3, offset: 0n }]);
    fail = false;
    assert.equal(t.committedMessages, 0);
  });

  test('room() waits while the window is full, and a drain waits for every commit', async () => {
    const { t, ackCommits } = tracker();
    const a = deferred();
    t.track(0, 0n, 4000n, 4000, a.promise);
    t.track(0, 4000n, 8000n, 4000, Promise.resolve());
    let roomy = false;
    const waiting = t.room(8, 8000).then(() => (roomy = true));
    await settle();
    assert.equal(roomy, false, '8,000 messages in flight: the window is full');
    a.resolve();
    await settle();
    assert.equal(roomy, false, 'stored but not yet committed still counts');
    await ackCommits();
    await waiting;
    assert.equal(roomy, true);
    await t.drain();
  });
});

describe('ordered sink writes', () => {
  test('one write at a time, in order; what was queued meanwhile goes out together', async () => {
    const writes: number[][] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const q = new OrderedWrites<number>((items) => {
      writes.push(items);
      const d = deferred();
      gates.push(d);
      return d.promise;
    });
    const done: number[] = [];
    const p1 = q.push([1, 2]).then(() => done.push(1));
    const p2 = q.push([3]).then(() => done.push(2));
    const p3 = q.push([4, 5]).then(() => done.push(3));
    await settle();
    assert.deepEqual(writes, [[1, 2]], 'the second write waits for the first');
    gates[0].resolve();
    await settle();
    assert.deepEqual(writes, [[1, 2], [3, 4, 5]]);
    assert.deepEqual(done, [1]);
    gates[1].resolve();
    await Promise.all([p1, p2, p3]);
    assert.deepEqual(done, [1, 2, 3]);
  });

  test('a failed write rejects its own items only; the next write goes on', async () => {
    let n = 0;
    const q = new OrderedWrites<string>(async () => {
      if (n++ === 0) throw new Error('HTTP 400');
    });
    const first = q.push(['a']);
    const second = q.push(['b']);
    await assert.rejects(first, /HTTP 400/);
    await second;
  });
});
