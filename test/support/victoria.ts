// Starts Debian's victoria-metrics for a test: a server that accepts InfluxDB line
// protocol on /api/v2/write (the write path of InfluxDB 2.x/3.x and Cloud), read back
// with /api/v1/export. Retention is set to 100 years: simulated fleets are dated in the
// past, and samples older than the retention are dropped silently.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

export interface ExportedSeries {
  metric: Record<string, string> & { __name__: string };
  values: number[];
  timestamps: number[];
}

export interface Victoria {
  url: string;
  /** Every series stored (field values become `<measurement>_<field>`; tags become labels). */
  exportSeries(): Promise<ExportedSeries[]>;
  stop(): Promise<void>;
}

export async function startVictoria(): Promise<Victoria> {
  const dir = mkdtempSync(join(tmpdir(), 'victoria-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-search.latencyOffset=0s', '-retentionPeriod=100y', '-loggerLevel=ERROR'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const failed = new Promise<never>((_, reject) => {
    child.on('error', (e) => reject(new Error(`victoria-metrics did not start (${e.message}): run scripts/install-test-deps.sh`)));
    child.on('exit', (code) => reject(new Error(`victoria-metrics exited (${code}): ${stderr}`)));
  });
  failed.catch(() => undefined);
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${url}/health`)).ok) return;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`victoria-metrics not ready: ${stderr}`);
  })();
  await Promise.race([ready, failed]);
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    url,
    async exportSeries() {
      await fetch(`${url}/internal/force_flush`).catch(() => undefined);
      const r = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': '{__name__=~".+"}' })}`);
      const text = await r.text();
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ExportedSeries);
    },
    async stop() {
      process.off('exit', onExit);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
