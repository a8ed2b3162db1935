// bench:api — the API under load: autocannon against GET /api/alerts with 10,000 alerts
// in the store and 100 Server-Sent Events clients connected, and the alert fan-out
// latency: from an alert being raised (the store's listener, as the detector calls it)
// until every one of the 100 stream clients has received it, with the API idle and
// under the list load.
//
// Three processes, so that the load generator and the stream clients do not share the
// server's event loop: this one (the server), one running autocannon, one holding the
// stream clients. On a shared 2-core machine all three compete for the CPU: read the
// figures as an order of magnitude, and compare runs on the same machine only.
//
//   npm run bench:api                 human-readable
//   npm run bench:api -- --json       one JSON object
//   options: --alerts N (10000) --clients N (100) --connections N (10) --duration S (10)
//            --limit N (page size asked for, default 100) --fanout N (alerts raised per phase, 50)
//            --uncached   every request a different URL, so none is served from the page cache
//                         (the list route caches serialised pages until the store's next event)

import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { parseArgs } from 'node:util';
import type { Alert } from '../src/alerts/alert';
import { AlertStore } from '../src/alerts/store';
import { createApiServer } from '../src/api/server';
import { ALERT_KINDS } from '../src/core/layout';
import { Health } from '../src/health';
import { Metrics } from '../src/metrics';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    role: { type: 'string' },
    url: { type: 'string' },
    alerts: { type: 'string' },
    clients: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    limit: { type: 'string' },
    fanout: { type: 'string' },
    uncached: { type: 'boolean' },
  },
});

const now = () => performance.timeOrigin + performance.now(); // wall clock, sub-ms, comparable across processes

// ---- child: stream clients -------------------------------------------------------------
// Opens N SSE connections; for every event, when the last client has it, reports how long
// after the raise (carried in the alert's ts field) the first and the last client got it.
async function sseRole(url: string, n: number): Promise<void> {
  const got = new Map<string, { count: number; raisedAt: number; first: number }>();
  let open = 0;
  for (let i = 0; i < n; i++) {
    http.get(`${url}/api/stream`, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      res.setEncoding('utf8');
      if (++open === n) process.send!({ type: 'ready' });
      let buf = '';
      res.on('data', (chunk: string) => {
        const t = now();
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const a = JSON.parse(data.slice(6)) as Alert;
          if (!a.id.startsWith('fan')) continue;
          let g = got.get(a.id);
          if (!g) got.set(a.id, (g = { count: 0, raisedAt: a.ts, first: t }));
          if (++g.count === n) {
            process.send!({ type: 'fanout', id: a.id, firstMs: g.first - g.raisedAt, allMs: t - g.raisedAt });
            got.delete(a.id);
          }
        }
      });
    });
  }
}

// ---- child: load generator ---------------------------------------------------------------
async function loadRole(url: string, connections: number, duration: number, uncached: boolean): Promise<void> {
  const autocannon = (await import('autocannon')).default;
  let n = 0;
  // a cursor past every stored alert gives the same newest page, under a new URL each time
  const vary = uncached ? [{ setupRequest: (req: { path: string }) => ({ ...req, path: `${req.path}&cursor=${1_000_000_000 + n++}` }) }] : undefined;
  const result = await autocannon({ url, connections, duration, pipelining: 1, requests: vary as never });
  process.send!({ type: 'load', result });
}

// ---- parent: the server ------------------------------------------------------------------
function makeAlert(i: number, t: number): Alert {
  const kind = ALERT_KINDS[i % ALERT_KINDS.length];
  return {
    id: `al${String(i).padStart(18, '0')}`,
    deviceId: `thermo-${String(i % 5000).padStart(5, '0')}`,
    kind,
    severity: (['low', 'medium', 'high'] as const)[i % 3],
    score: 0.6 + (i % 40) / 100,
    ts: t - 40,
    detectedAt: t,
    firstSeen: t,
    lastSeen: t + 60_000,
    count: 1 + (i % 17),
    summary: 'sending every 4.85 s instead of every 42.5 s (8.76× the usual rate)',
    evidence: { expected: { intervalMs: 42506.01953125 }, observed: { intervalMs: 4854.008837890625 }, ratio: 8.756889604206318 },
    reasons: [kind],
    origin: { topic: 'telemetry', partition: i % 12, offset: String(1_000_000 + i) },
  };
}

function child(role: string, args: string[]): ChildProcess {
  return fork(__filename, [`--role=${role}`, ...args], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

const waitFor = <T>(cp: ChildProcess, type: string): Promise<T> =>
  new Promise((resolve, reject) => {
    const onMsg = (m: { type: string }) => {
      if (m.type === type) {
        cp.off('message', onMsg);
        resolve(m as T);
      }
    };
    cp.on('message', onMsg);
    cp.once('exit', (code) => reject(new Error(`${type}: child exited with ${code}`)));
  });

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const r = (x: number) => Math.round(x * 100) / 100;
  return { samples: s.length, p50: r(q(0.5)), p99: r(q(0.99)), max: r(s[s.length - 1]) };
}

async function main(): Promise<void> {
  const ALERTS = Number(values.alerts ?? 10_000);
  const CLIENTS = Number(values.clients ?? 100);
  const CONNECTIONS = Number(values.connections ?? 10);
  const DURATION = Number(values.duration ?? 10);
  const LIMIT = Number(values.limit ?? 100);
  const FANOUT = Number(values.fanout ?? 50);
  const log = (s: string) => {
    if (!values.json) process.stderr.write(s + '\n');
  };

  const store = new AlertStore({ capacity: ALERTS });
  const t0 = Date.UTC(2024, 10, 25);
  for (let i = 0; i < ALERTS; i++) store.listener({ type: 'raised', alert: makeAlert(i, t0 + i * 1000) });
  const server = createApiServer({
    detector: { core: { findDevice: () => -1, describe: () => undefined, stats: () => ({ events: 0, bad: [], devices: 0, slots: 1, evictions: 0, credentialEvictions: 0, clock: -1 }) } },
    store,
    metrics: new Metrics(),
    health: new Health(),
    options: { port: 0, logLevel: false, rateLimit: 1_000_000_000, maxStreamClients: CLIENTS + 10 },
  });
  const base = await server.listen();
  log(`server on ${base}: ${store.size.toLocaleString('en')} alerts stored; connecting ${CLIENTS} stream clients…`);

  const sse = child('sse', [`--url=${base}`, `--clients=${CLIENTS}`]);
  await waitFor(sse, 'ready');
  const fanouts: { firstMs: number; allMs: number }[] = [];
  sse.on('message', (m: { type: string; firstMs: number; allMs: number }) => {
    if (m.type === 'fanout') fanouts.push(m);
  });

  let seq = 0;
  const raise = () => {
    const a = makeAlert(ALERTS + seq, t0 + (ALERTS + seq) * 1000);
    a.id = `fan${String(seq++).padStart(17, '0')}`;
    a.ts = now(); // the raise time travels with the alert
    store.listener({ type: 'raised', alert: a });
  };
  const fanPhase = async (label: string, every: number): Promise<{ firstMs: number; allMs: number }[]> => {
    const from = fanouts.length;
    for (let i = 0; i < FANOUT; i++) {
      raise();
      await new Promise((r) => setTimeout(r, every));
    }
    const deadline = Date.now() + 5000;
    while (fanouts.length - from < FANOUT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (fanouts.length - from < FANOUT) log(`  ${label}: only ${fanouts.length - from} of ${FANOUT} alerts reached all clients`);
    return fanouts.slice(from);
  };

  log(`fan-out with the API idle: ${FANOUT} alerts, one every 50 ms…`);
  const idle = await fanPhase('idle', 50);

  const url = `${base}/api/alerts?limit=${LIMIT}`;
  const probe = await fetch(url);
  const page = (await probe.json()) as { alerts: unknown[] };
  const bytes = Number(probe.headers.get('content-length'));
  log(`autocannon: ${CONNECTIONS} connections for ${DURATION} s on GET /api/alerts?limit=${LIMIT} (${page.alerts.length} alerts, ${(bytes / 1024).toFixed(0)} kB per response), ${CLIENTS} stream clients connected…`);
  const load = child('load', [`--url=${url}`, `--connections=${CONNECTIONS}`, `--duration=${DURATION}`, ...(values.uncached ? ['--uncached'] : [])]);
  const loadDone = waitFor<{ result: import('autocannon').Result }>(load, 'load');
  await new Promise((r) => setTimeout(r, 1000)); // let the load settle
  const busy = await fanPhase('under load', Math.max(20, Math.floor(((DURATION - 2) * 1000) / FANOUT)));
  const { result } = await loadDone;

  sse.kill();
  await server.close();

  const out = {
    bench: 'api',
    node: process.version,
    storedAlerts: ALERTS,
    streamClients: CLIENTS,
    list: {
      route: `GET /api/alerts?limit=${LIMIT}`,
      pageCache: values.uncached ? 'bypassed' : 'used',
      responseBytes: bytes,
      connections: CONNECTIONS,
      durationS: DURATION,
      requestsPerSec: Math.round(result.requests.average),
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
      non2xx: result.non2xx,
      errors: result.errors,
    },
    fanoutMs: {
      idle: { toAll: stats(idle.map((f) => f.allMs)), toFirst: stats(idle.map((f) => f.firstMs)) },
      underLoad: { toAll: stats(busy.map((f) => f.allMs)), toFirst: stats(busy.map((f) => f.firstMs)) },
    },
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }
  const l = out.list;
  const f = out.fanoutMs;
  process.stdout.write(
    [
      `GET /api/alerts?limit=${LIMIT} (${ALERTS.toLocaleString('en')} stored, ${CLIENTS} SSE clients connected, ${CONNECTIONS} connections, ${DURATION} s, page cache ${out.list.pageCache})`,
      `  ${l.requestsPerSec.toLocaleString('en')} req/s   latency p50 ${l.latencyMs.p50} ms   p99 ${l.latencyMs.p99} ms   max ${l.latencyMs.max} ms   non-2xx ${l.non2xx}   errors ${l.errors}`,
      `alert fan-out to all ${CLIENTS} stream clients (raise → last client received)`,
      `  idle:        p50 ${f.idle.toAll.p50} ms   p99 ${f.idle.toAll.p99} ms   max ${f.idle.toAll.max} ms   (${f.idle.toAll.samples} alerts; first client p50 ${f.idle.toFirst.p50} ms)`,
      `  under load:  p50 ${f.underLoad.toAll.p50} ms   p99 ${f.underLoad.toAll.p99} ms   max ${f.underLoad.toAll.max} ms   (${f.underLoad.toAll.samples} alerts; first client p50 ${f.underLoad.toFirst.p50} ms)`,
    ].join('\n') + '\n',
  );
}

if (values.role === 'sse') void sseRole(values.url!, Number(values.clients));
else if (values.role === 'load') void loadRole(values.url!, Number(values.connections), Number(values.duration), values.uncached === true);
else
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`bench:api: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
