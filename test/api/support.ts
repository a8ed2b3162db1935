// Shared by the API tests: a detector + store + server on a free loopback port, a
// minimal SSE client over node:http, hand-made alerts and telemetry that raises them.

import http from 'node:http';
import { Writable } from 'node:stream';
import type { Alert } from '../../src/alerts/alert';
import { AlertSink, AlertStore, AlertStoreOptions, fanOut } from '../../src/alerts/store';
import type { AlertEvent } from '../../src/alerts/policy';
import { DeviceHistory } from '../../src/api/history';
import type { ApiOptions } from '../../src/api/options';
import { ApiServer, ApiServerDeps, createApiServer } from '../../src/api/server';
import { Detector } from '../../src/detector';
import { Health } from '../../src/health';
import { Metrics } from '../../src/metrics';
import { Msg, series, T0 } from '../support/telemetry';

export { T0 };

export interface Harness {
  server: ApiServer;
  url: string;
  detector: Detector;
  store: AlertStore;
  metrics: Metrics;
  health: Health;
  history: DeviceHistory;
  events: AlertEvent[];
  /** Score hand-made messages (one batch per call) and let the store publish. */
  feed(msgs: Msg[]): Promise<void>;
  close(): Promise<void>;
}

let line = 0;

export async function startHarness(
  opts: {
    api?: Partial<ApiOptions>;
    store?: Partial<AlertStoreOptions>;
    sinks?: AlertSink[];
    engine?: 'wasm' | 'reference';
    inventory?: ApiServerDeps['inventory'];
  } = {},
): Promise<Harness> {
  const store = new AlertStore({ ...opts.store, sinks: opts.sinks ?? [] });
  const history = new DeviceHistory();
  const events: AlertEvent[] = [];
  const detector = new Detector({
    engine: opts.engine ?? 'reference',
    params: { capacity: 4096 },
    policy: {},
    originOf: (l) => ({ file: 'test', line: l }),
    onAlert: fanOut(store.listener, history.listener, (e) => events.push(e)),
    onBatch: (core, n) => history.record(core, n),
    maxBatch: 4096,
  });
  store.attach(detector.policy);
  const metrics = new Metrics({ processMetrics: false }).track(detector);
  const health = new Health();
  const server = createApiServer({ detector, store, metrics, health, history, inventory: opts.inventory, options: { port: 0, logLevel: false, ...opts.api } });
  const url = await server.listen();
  return {
    server,
    url,
    detector,
    store,
    metrics,
    health,
    history,
    events,
    async feed(msgs) {
      for (const m of msgs) detector.add(Buffer.from(JSON.stringify(m)), -1, line++);
      detector.flush();
      await new Promise((r) => setImmediate(r)); // coalesced updates go out
    },
    close: () => server.close(),
  };
}

/** A device that sends calmly for 100 messages, then floods: one rate_spike alert. */
export function flood(deviceId: string, start = T0, calm = 100): Msg[] {
  return [...series(calm, { deviceId }, 30_000, start), ...series(60, { deviceId }, 1000, start + calm * 30_000, calm)];
}

/** The same device calm again for hours, then flooding again: a second incident. */
export function secondFlood(deviceId: string, start = T0, calm = 100): Msg[] {
  const t1 = start + calm * 30_000 + 60_000;
  return [...series(360, { deviceId }, 30_000, t1, calm + 60), ...series(60, { deviceId }, 1000, t1 + 360 * 30_000, calm + 420)];
}

const KINDS = ['replay', 'clone', 'rate_spike', 'silence', 'metric_anomaly'] as const;
const SEVS = ['low', 'medium', 'high'] as const;

/** A made-up alert, i-th of a series: device d-(i%7), kinds and severities cycling, detectedAt growing. */
export function fakeAlert(i: number, over: Partial<Alert> = {}): Alert {
  const t = T0 + i * 60_000;
  return {
    id: `a${String(i).padStart(5, '0')}`,
    deviceId: `d-${i % 7}`,
    kind: KINDS[i % KINDS.length],
    severity: SEVS[i % 3],
    score: 0.5 + (i % 3) * 0.2,
    ts: t - 50,
    detectedAt: t,
    firstSeen: t,
    lastSeen: t,
    count: 1,
    summary: `made-up alert ${i}`,
    evidence: { expected: { n: 1 }, observed: { n: 2 } },
    reasons: [KINDS[i % KINDS.length]],
    origin: { topic: 'telemetry', partition: i % 3, offset: String(i) },
    ...over,
  };
}

export interface JsonResponse<T = any> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
  text: string;
}

export async function request<T = any>(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body: parsed as T, text };
}

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: any;
}

/** A Server-Sent Events client that collects events and waits for the ones a test needs. */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  private buf = '';
  private waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  private req: http.ClientRequest | undefined;
  private res: http.IncomingMessage | undefined;

  static async connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    await new Promise<void>((resolve, reject) => {
      c.req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.push(chunk));
        res.on('error', () => {});
        resolve();
      });
      c.req.on('error', reject);
    });
    return c;
  }

  private push(chunk: string): void {
    this.buf += chunk;
    let cut;
    while ((cut = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, cut);
      this.buf = this.buf.slice(cut + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const l of block.split('\n')) {
        if (l.startsWith(':')) continue;
        const i = l.indexOf(':');
        const f = i < 0 ? l : l.slice(0, i);
        const v = i < 0 ? '' : l.slice(i + 1).replace(/^ /, '');
        if (f === 'id') id = v;
        else if (f === 'event') event = v;
        else if (f === 'data') data.push(v);
      }
      if (data.length === 0) continue;
      const e = { id, event, data: JSON.parse(data.join('\n')) };
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
    }
  }

  /** The first event (already received or to come) that matches. */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching SSE event within ${timeoutMs} ms (got ${this.events.map((e) => e.event).join(', ') || 'none'})`)), timeoutMs);
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  get lastId(): string | undefined {
    return this.events.at(-1)?.id;
  }

  close(): void {
    this.res?.destroy();
    this.req?.destroy();
  }
}

/** A log stream that keeps every line. */
export function captureLog(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
