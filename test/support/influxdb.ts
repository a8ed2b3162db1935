// Starts a real InfluxDB 1.x (Debian's influxd, 1.6.7: v1 API only: /write, /query,
// /ping; no /api/v2/*) for a test: a generated config in a temp dir (meta, data and WAL
// in it, reporting off), HTTP on a free 127.0.0.1 port, the RPC (backup) listener on
// another free loopback port, every other listener off.
//
// Faults: kill()/restart() take it down hard (SIGKILL: connections refused) and bring it
// back on the same port and data; pause()/resume() freeze it (SIGSTOP: connections are
// accepted by the kernel but nothing answers, so clients time out).

import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ownedTempDir, portIsFree, reapOnExit, waitExit, withParentDeathSignal } from './ports';

export type Row = Record<string, unknown>;

export interface InfluxdOptions {
  /** databases to create once it is up */
  databases?: string[];
}

export interface Influxd {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** the temp dir holding config, meta, data and WAL (removed by stop()) */
  dir: string;
  /**
   * Runs InfluxQL (POST /query, epoch=ms) and returns the rows of the first statement:
   * every series, each row an object of its columns plus the series' tags (GROUP BY).
   * Throws on an error from the server.
   */
  query(q: string, db?: string): Promise<Row[]>;
  /** POST /write?db= with line protocol (one string or lines); precision defaults to ms */
  write(db: string, lines: string | string[], precision?: 'ns' | 'u' | 'ms' | 's'): Promise<void>;
  createDatabase(db: string): Promise<void>;
  /** SIGKILL the server, as a crash would (data and WAL stay). */
  kill(): Promise<void>;
  /** Start it again on the same port and data (kills it first if it is running). */
  restart(): Promise<void>;
  /** SIGSTOP: the server hangs (requests time out) until resume(). Resolves once stopped. */
  pause(): Promise<void>;
  /** SIGCONT. Resolves once it runs again. */
  resume(): Promise<void>;
  running(): boolean;
  /** what influxd wrote lately (the last 8 kB) */
  log(): string;
  /** kill it and remove its temp dir (idempotent) */
  stop(): Promise<void>;
}

const HINT = 'run scripts/install-test-deps.sh (it installs Debian\'s influxdb)';

function config(dir: string, httpPort: number, rpcPort: number): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${dir}/meta"
  logging-enabled = false

[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  write-tracing = false
  pprof-enabled = false

[subscriber]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`;
}

/** Signals are delivered asynchronously: wait until /proc says the process is (not)
 *  stopped, so that a request sent right after pause() is sure to hang. */
async function untilState(pid: number, stopped: boolean): Promise<void> {
  const isStopped = (stat: string) => /^[Tt]/.test(stat.slice(stat.lastIndexOf(')') + 2)); // "pid (comm) S ..."
  for (let i = 0; i < 200; i++) {
    let states: boolean[];
    try {
      // every thread: a Go server answers from whichever thread is still running
      states = readdirSync(`/proc/${pid}/task`).map((tid) => isStopped(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      return; // no /proc (or the process is gone): nothing to wait for
    }
    if (states.every((s) => s === stopped)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`influxd (pid ${pid}) did not ${stopped ? 'stop' : 'continue'} within 1 s`);
}

export async function startInfluxd(opts: InfluxdOptions = {}): Promise<Influxd> {
  const dir = ownedTempDir('influxd');
  const conf = join(dir, 'influxdb.conf');
  let port = 0;
  let child: ChildProcess | undefined;
  let release = reapOnExit(undefined, dir);
  let output = '';

  const launch = async (): Promise<void> => {
    // a fresh RPC port every time: nothing connects to it, and the old one may be taken
    writeFileSync(conf, config(dir, port, await freePort()));
    output = '';
    const c = spawn(...withParentDeathSignal('influxd', ['run', '-config', conf]), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    release();
    release = reapOnExit(c, dir);
    c.stdout!.on('data', (d) => (output = (output + d).slice(-8000)));
    c.stderr!.on('data', (d) => (output = (output + d).slice(-8000)));
    const failed = new Promise<never>((_, reject) => {
      c.once('error', (e) => reject(new Error(`influxd did not start (${e.message}): ${HINT}`)));
      c.once('exit', (code, sig) => reject(new Error(`influxd exited (${sig ?? code}): ${output.trim()}${code === 127 ? `\n${HINT}` : ''}`)));
    });
    failed.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    const ready = (async () => {
      while (Date.now() < deadline && c.exitCode === null && c.signalCode === null) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(1000) });
          if (r.status === 204 && r.headers.get('x-influxdb-version')) return;
        } catch {
          /* not up yet */
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(c.exitCode === null && c.signalCode === null ? `influxd did not answer /ping within 30 s: ${output.trim()}` : `influxd exited: ${output.trim()}`);
    })();
    try {
      await Promise.race([ready, failed]);
    } catch (e) {
      c.kill('SIGKILL');
      await waitExit(c, 1000).catch(() => undefined);
      throw e;
    }
  };

  // first start: a port taken between freePort() and influxd's bind gets a new port
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (e) {
      const msg = (e as Error).message;
      if (attempt < 3 && /address already in use/.test(msg)) continue;
      release();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const url = `http://127.0.0.1:${port}`;

  const isRunning = () => !!child && child.exitCode === null && child.signalCode === null;
  const killNow = async () => {
    if (!child || !isRunning()) return;
    const c = child;
    const done = waitExit(c, 10_000);
    c.kill('SIGKILL');
    await done;
  };

  const query = async (q: string, db?: string): Promise<Row[]> => {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db) params.set('db', db);
    const r = await fetch(`${url}/query`, { method: 'POST', body: params });
    const text = await r.text();
    let body: { results?: { error?: string; series?: { tags?: Record<string, string>; columns: string[]; values?: unknown[][] }[] }[]; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`influxd /query: HTTP ${r.status}: ${text.slice(0, 500)}`);
    }
    if (body.error) throw new Error(`influxd /query: ${body.error}`);
    const res = body.results?.[0];
    if (res?.error) throw new Error(`influxd /query: ${res.error}`);
    const rows: Row[] = [];
    for (const s of res?.series ?? []) {
      for (const v of s.values ?? []) rows.push({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) });
    }
    return rows;
  };

  const createDatabase = async (db: string) => {
    await query(`CREATE DATABASE "${db.replace(/["\\]/g, '\\$&')}"`);
  };
  for (const db of opts.databases ?? []) await createDatabase(db);

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    dir,
    query,
    async write(db, lines, precision = 'ms') {
      const body = Array.isArray(lines) ? lines.join('\n') : lines;
      const r = await fetch(`${url}/write?${new URLSearchParams({ db, precision })}`, { method: 'POST', body });
      if (r.status !== 204) throw new Error(`influxd /write: HTTP ${r.status}: ${(await r.text()).slice(0, 500)}`);
    },
    createDatabase,
    kill: killNow,
    async restart() {
      await killNow();
      // same port: wait (briefly) until the kernel has let go of it
      for (let i = 0; i < 50 && !(await portIsFree(port)); i++) await new Promise((r) => setTimeout(r, 100));
      await launch();
    },
    async pause() {
      if (!isRunning()) throw new Error('influxd is not running');
      child!.kill('SIGSTOP');
      await untilState(child!.pid!, true);
    },
    async resume() {
      if (!isRunning()) return;
      child!.kill('SIGCONT');
      await untilState(child!.pid!, false);
    },
    running: isRunning,
    log: () => output,
    stop() {
      stopping ??= (async () => {
        await killNow();
        release();
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
