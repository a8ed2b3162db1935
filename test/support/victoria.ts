// Starts Debian's victoria-metrics (1.79) for a test: the server for the InfluxDB v2
// write path. It accepts line protocol on /api/v2/write as @influxdata/influxdb-client
// sends it (org, bucket and token are accepted and ignored: no `db` label, no auth), and
// what was written is read back with /api/v1/export.
//
// How line protocol lands there: each numeric field becomes the series
// `<measurement>_<field>` with the point's tags as labels; integers, floats and booleans
// are stored as numbers; string fields are stored as 0 (their text is lost). Two points
// with the same series and timestamp are both kept (InfluxDB would overwrite) unless
// started with dedup (-dedup.minScrapeInterval=1ms), which keeps one per timestamp.
//
// Started with -retentionPeriod=100y: with the default (1 month) it silently drops points
// older than a month, such as a simulated fleet replayed with old timestamps; and with
// -search.latencyOffset=0s so that fresh points are exported at once.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort, ownedTempDir, reapOnExit, waitExit, withParentDeathSignal } from './ports';

export interface ExportedSeries {
  metric: Record<string, string> & { __name__: string };
  values: number[];
  timestamps: number[];
}

export interface VictoriaOptions {
  /** keep one sample per series and timestamp (-dedup.minScrapeInterval=1ms) */
  dedup?: boolean;
  /** more victoria-metrics flags */
  args?: string[];
}

export interface Victoria {
  /** http://127.0.0.1:<port>: the `url` for new InfluxDB({ url, token }) */
  url: string;
  port: number;
  /**
   * Flushes what was written and exports the stored series matching a series selector
   * (default: all), e.g. '{__name__=~"alert_.*",device="thermo-0042"}'.
   */
  exportSeries(match?: string): Promise<ExportedSeries[]>;
  /** what victoria-metrics wrote on stderr lately (the last 8 kB) */
  log(): string;
  /** stop it and remove its storage dir (idempotent) */
  stop(): Promise<void>;
}

const HINT = "run scripts/install-test-deps.sh (it installs Debian's victoria-metrics)";

export async function startVictoria(opts: VictoriaOptions = {}): Promise<Victoria> {
  const dir = ownedTempDir('victoria');
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dir}`,
      '-retentionPeriod=100y',
      '-search.latencyOffset=0s',
      '-loggerLevel=ERROR',
      ...(opts.dedup ? ['-dedup.minScrapeInterval=1ms'] : []),
      ...(opts.args ?? []),
    ];
    const child = spawn(...withParentDeathSignal('victoria-metrics', args), { stdio: ['ignore', 'ignore', 'pipe'] });
    const release = reapOnExit(child, dir);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (e) => reject(new Error(`victoria-metrics did not start (${e.message}): ${HINT}`)));
      child.once('exit', (code, sig) => reject(new Error(`victoria-metrics exited (${sig ?? code}): ${stderr.trim()}${code === 127 ? `\n${HINT}` : ''}`)));
    });
    failed.catch(() => undefined);
    const ready = (async () => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && child.exitCode === null) {
        try {
          if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok) return;
        } catch {
          /* not yet */
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`victoria-metrics not ready within 20 s: ${stderr.trim()}`);
    })();
    try {
      await Promise.race([ready, failed]);
    } catch (e) {
      child.kill('SIGKILL');
      await waitExit(child, 1000);
      release();
      lastError = e as Error;
      if (/address already in use/.test(lastError.message)) continue;
      break;
    }

    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      async exportSeries(match = '{__name__!=""}') {
        const f = await fetch(`${url}/internal/force_flush`);
        await f.arrayBuffer();
        const r = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match })}`);
        const text = await r.text();
        if (!r.ok) throw new Error(`victoria-metrics /api/v1/export: HTTP ${r.status}: ${text.slice(0, 500)}`);
        return text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ExportedSeries);
      },
      log: () => stderr,
      stop() {
        stopping ??= (async () => {
          const done = waitExit(child, 5000);
          child.kill('SIGTERM');
          await done;
          release();
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('victoria-metrics did not start');
}
