// Line-oriented output to a file or stdout with backpressure: lines are buffered and
// written per batch; `drain()` waits when the stream asks to.

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export class LineWriter {
  private buf: string[] = [];
  private size = 0;
  private constructor(
    private readonly stream: Writable,
    private readonly owned: boolean,
  ) {}

  /** `-` is stdout; anything else a file (created or truncated). */
  static open(target: string): LineWriter {
    if (target === '-') return new LineWriter(process.stdout, false);
    const stream = createWriteStream(target);
    return new LineWriter(stream, true);
  }

  write(line: string): void {
    this.buf.push(line);
    this.size += line.length;
    if (this.size > 1 << 16) this.push();
  }

  private push(): boolean {
    if (this.buf.length === 0) return true;
    const ok = this.stream.write(this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
    return ok;
  }

  /** Write what is buffered; wait if the stream is full. */
  async drain(): Promise<void> {
    if (!this.push()) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.drain();
    if (this.owned) {
      this.stream.end();
      await once(this.stream, 'finish');
    }
  }
}

/** Fail early, with a clear message, when an output file cannot be created. */
export async function openChecked(target: string, what: string): Promise<LineWriter> {
  const w = LineWriter.open(target);
  if (target !== '-') {
    // surface ENOENT/EACCES now rather than as an unhandled stream error later
    const stream = (w as unknown as { stream: Writable }).stream;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', (e: Error) => reject(new Error(`cannot write ${what} to ${target}: ${e.message}`)));
      stream.once('ready', () => resolve());
    });
  }
  return w;
}
