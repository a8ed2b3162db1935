// Per-batch floors for the core benchmarks: on a machine shared with other work, each
// batch's fastest time over several passes is what the batch costs when nothing else runs
// (other work only ever adds time, and every pass does the same work batch for batch).

/**
 * A lap timer for one pass (or a part of one whose first batch is batch `first`), started
 * at `start`: each call ends a batch and keeps in `floor` (when given) the fastest time
 * that batch has taken so far.
 */
export function batchLaps(floor: number[] | undefined, start = performance.now(), first = 0): () => void {
  let t = start;
  let b = first;
  return () => {
    const now = performance.now();
    if (floor) floor[b] = Math.min(floor[b] ?? Infinity, now - t);
    t = now;
    b++;
  };
}
