// Replays a simulated fleet in accelerated time: chunks of the events due up to 100 ms of
// wall time ahead, then a pause until the next event is due (speed = simulated seconds
// per real second; Infinity = as fast as possible). Used by `start` and by `run` without
// Kafka.

import { setTimeout as sleep } from 'node:timers/promises';
import type { SimEvent } from './device';

export interface PacedEvent extends SimEvent {
  /** 0-based position in the stream. */
  lineNo: number;
}

export async function* pacedChunks(
  fleet: { next(): SimEvent | null },
  speed: number,
  maxChunk: number,
  stopping: () => boolean,
): AsyncGenerator<PacedEvent[]> {
  const wall0 = performance.now();
  let fleet0 = -1;
  let lineNo = 0;
  let next = fleet.next();
  while (next && !stopping()) {
    if (fleet0 < 0) fleet0 = next.arrivalTs;
    const horizon = speed === Infinity ? Infinity : fleet0 + (performance.now() - wall0 + 100) * speed;
    const chunk: PacedEvent[] = [];
    while (next && next.arrivalTs <= horizon && chunk.length < maxChunk) {
      chunk.push({ ...next, lineNo: lineNo++ });
      next = fleet.next();
    }
    if (chunk.length) yield chunk;
    if (next && speed !== Infinity) {
      const wait = wall0 + (next.arrivalTs - fleet0) / speed - performance.now();
      if (wait > 0) await sleep(Math.min(wait, 100));
    } else await sleep(0); // let signals and output through
  }
}
