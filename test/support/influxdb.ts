// Starts a real InfluxDB 1.x (Debian's influxd) for a test: generated config, temp data
// dir, HTTP on a free loopback port. kill()/restart() take it down and bring it back on
// the same port and data (fault tests).

import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

export interface Influxd {
  url: string;
  /** InfluxQL; returns the rows of the first series (columns as keys), or [] */
  query(q: string, db?: string): Promise<Record<string, unknown>[]>;
  /** SIGKILL the server (data stays). */
  kill(): Promise<void>;
  /** Start it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`influxd exited (${child.exitCode}): ${log()}`);
    try {
      const r = await fetch(`${url}/ping`);
      if (r.status === 204) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`influxd did not answer /ping: ${log()}`);
}

export async function startInfluxd(): Promise<Influxd> {
  const dir = mkdtempSync(join(tmpdir(), 'influxd-'));
  const port = await freePort();
  const rpc = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
`,
  );
  let child: ChildProcess;
  let output = '';
  const start = async () => {
    output = '';
    child = spawn('influxd', ['run', '-config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output = (output + d).slice(-4000)));
    child.stderr!.on('data', (d) => (output = (output + d).slice(-4000)));
    await waitReady(url, child, () => output);
  };
  const killNow = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  try {
    await start();
  } catch (e) {
    if ((e as Error).message.includes('ENOENT')) throw new Error('influxd not found: run scripts/install-test-deps.sh');
    throw e;
  }
  return {
    url,
    async query(q, db) {
      const params = new URLSearchParams({ q, epoch: 'ms' });
      if (db) params.set('db', db);
      const r = await fetch(`${url}/query`, { method: 'POST', body: params });
      const body = (await r.json()) as { results: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[]; error?: string };
      if (body.error) throw new Error(body.error);
      const res = body.results?.[0];
      if (res?.error) throw new Error(res.error);
      const rows: Record<string, unknown>[] = [];
      for (const s of res?.series ?? []) for (const v of s.values) rows.push(Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
      return rows;
    },
    kill: killNow,
    restart: start,
    async stop() {
      process.off('exit', onExit);
      await killNow();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
