// Storage in InfluxDB: the v2 write API through @influxdata/influxdb-client (InfluxDB
// 2.x, 3.x, Cloud, 1.8+) or the v1 `/write` endpoint for 1.x servers. A write is retried
// with backoff until it succeeds or the sink is stopped; while it fails the sink reports
// itself degraded (the caller pauses consumption meanwhile: nothing is buffered beyond
// the batch in hand).

import { InfluxDB, WriteApi } from '@influxdata/influxdb-client';
import type { InfluxConfig } from '../config';
import { backoffDelay, BackoffOptions, DEFAULT_BACKOFF, HttpError, isRetriable, parseRetryAfter } from '../retry';

export interface PointWriter {
  /** Write line-protocol lines (ms precision); resolves when the server acknowledged. */
  write(lines: string[]): Promise<void>;
  close(): Promise<void>;
  readonly target: string;
}

export class InfluxV2Writer implements PointWriter {
  private readonly api: WriteApi;
  readonly target: string;
  constructor(c: InfluxConfig, timeoutMs = 10_000) {
    const client = new InfluxDB({ url: c.url, token: c.token ?? '', timeout: timeoutMs });
    // retries are ours (one policy for v1 and v2, and a batch is acknowledged as a whole)
    this.api = client.getWriteApi(c.org!, c.bucket!, 'ms', { maxRetries: 0, batchSize: 1 << 30, flushInterval: 0, maxBufferLines: 1 << 30 });
    this.target = `${c.url} (v2, bucket ${c.bucket})`;
  }
  async write(lines: string[]): Promise<void> {
    this.api.writeRecords(lines);
    try {
      await this.api.flush();
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status) throw new HttpError(status, (e as Error).message);
      throw e;
    }
  }
  async close(): Promise<void> {
    await this.api.close().catch(() => undefined);
  }
}

export class InfluxV1Writer implements PointWriter {
  private readonly url: string;
  private readonly headers: Record<string, string>;
  readonly target: string;
  constructor(
    c: InfluxConfig,
    private readonly timeoutMs = 10_000,
  ) {
    const q = new URLSearchParams({ db: c.db!, precision: 'ms' });
    if (c.retentionPolicy) q.set('rp', c.retentionPolicy);
    this.url = `${c.url}/write?${q}`;
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (c.username) this.headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    else if (c.token) this.headers.authorization = `Token ${c.token}`;
    this.target = `${c.url} (v1, db ${c.db})`;
  }
  async write(lines: string[]): Promise<void> {
    const res = await fetch(this.url, { method: 'POST', headers: this.headers, body: lines.join('\n'), signal: AbortSignal.timeout(this.timeoutMs) });
    if (res.status !== 204 && res.status !== 200) {
      const text = await res.text().catch(() => '');
      throw new HttpError(res.status, `InfluxDB ${res.status}: ${text.slice(0, 200)}`, parseRetryAfter(res.headers.get('retry-after')));
    }
    await res.arrayBuffer().catch(() => undefined);
  }
  async close(): Promise<void> {}
}

export function createWriter(c: InfluxConfig): PointWriter {
  return c.api === 'v1' ? new InfluxV1Writer(c) : new InfluxV2Writer(c);
}

export interface SinkEvents {
  /** A write failed and will be retried after `delayMs`. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
  /** Writes succeed again after failures. */
  onRecovered?(failedAttempts: number): void;
  /** Called between attempts so long waits keep the consumer group session alive. */
  onWait?(): Promise<void>;
}

export class InfluxSink {
  private stopped = false;
  private wake: (() => void) | undefined;
  degraded = false;
  writeErrors = 0;
  pointsWritten = 0;

  constructor(
    readonly writer: PointWriter,
    private readonly events: SinkEvents = {},
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {}

  /**
   * Write until acknowledged. Non-retriable errors (a 400: malformed points) are
   * thrown; retriable ones (network, 5xx, 429) are retried with backoff until stop().
   */
  async writeAll(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writer.write(lines);
        if (this.degraded) {
          this.degraded = false;
          this.events.onRecovered?.(attempt - 1);
        }
        this.pointsWritten += lines.length;
        return;
      } catch (err) {
        this.writeErrors++;
        if (!isRetriable(err)) throw err;
        if (this.stopped) throw new Error(`InfluxDB write abandoned at shutdown: ${(err as Error).message}`);
        this.degraded = true;
        const delay = backoffDelay(attempt, this.backoff, err);
        this.events.onRetry?.(err, attempt, delay);
        await this.sleep(delay);
        await this.events.onWait?.();
        if (this.stopped) throw new Error(`InfluxDB write abandoned at shutdown: ${(err as Error).message}`);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Stop retrying (shutdown); a write in progress fails instead of waiting. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}
