// NDJSON framing: splits a byte stream into lines without decoding it (the core parses
// bytes). Lines keep their bytes as subarrays of the chunk they came in; a line cut by
// a chunk boundary is joined once. Empty lines are skipped (a trailing newline is not
// a bad message); a line longer than `maxLineBytes` is passed on truncated to
// maxLineBytes + 1 bytes with its real length, so the core rejects it as too_large
// without the reader holding megabytes.

import type { Readable } from 'node:stream';

export type LineHandler = (line: Uint8Array, lineNo: number, fullLength: number) => void;

export class LineSplitter {
  private carry: Buffer | undefined;
  private carryLength = 0; // real length of an over-long line being skipped
  private lineNo = 0;

  constructor(
    private readonly onLine: LineHandler,
    private readonly maxLineBytes: number,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.emit(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk, start, chunk.length);
  }

  end(): void {
    if (this.carry || this.carryLength > 0) this.emit(Buffer.alloc(0), 0, 0);
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    const have = this.carry?.length ?? 0;
    const room = this.maxLineBytes + 1 - have;
    const take = Math.max(0, Math.min(room, to - from));
    if (take > 0) this.carry = this.carry ? Buffer.concat([this.carry, chunk.subarray(from, from + take)]) : Buffer.from(chunk.subarray(from, from + take));
    this.carryLength += to - from;
  }

  private emit(chunk: Buffer, from: number, to: number): void {
    let line: Uint8Array;
    let length: number;
    if (this.carry || this.carryLength > 0) {
      this.keep(chunk, from, to);
      line = this.carry ?? Buffer.alloc(0);
      length = this.carryLength;
      this.carry = undefined;
      this.carryLength = 0;
    } else {
      length = to - from;
      line = chunk.subarray(from, Math.min(to, from + this.maxLineBytes + 1));
    }
    const lineNo = this.lineNo++;
    if (length === 0) return;
    this.onLine(line, lineNo, length);
  }
}

/** Feed a readable stream through a splitter; resolves at end of input. */
export async function splitStream(input: Readable, splitter: LineSplitter, afterChunk?: () => Promise<void> | void): Promise<void> {
  for await (const chunk of input) {
    splitter.push(chunk as Buffer);
    if (afterChunk) await afterChunk();
  }
  splitter.end();
}
