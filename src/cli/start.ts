// `edge-sentinel start` (what `npm start` runs): the embedded default. A simulated fleet
// with attacks is replayed in accelerated time through the detector, printing alerts as
// they are raised and a live summary, while the API and dashboard serve them — the whole
// product without Kafka or InfluxDB.

import { ENGINES } from '../core';
import { DEFAULT_PARAMS } from '../core/params';
import { Detector, formatCounts, sumCounts } from '../detector';
import { createFleet } from '../ingest/simulator';
import { pacedChunks } from '../ingest/simulator/pace';
import type { Alert } from '../alerts/alert';
import { AlertStore, fanOut } from '../alerts/store';
import { Health } from '../health';
import { Metrics } from '../metrics';
import { DeviceHistory } from '../api/history';
import { apiOptionsFromEnv, DEFAULT_API_OPTIONS, resolveApiOptions } from '../api/options';
import { ApiServer, createApiServer } from '../api/server';
import { choiceFlag, intFlag, numFlag, parseFlags, runCommand, UsageError } from './args';
import { DEFAULT_ROTATION_AGE_DAYS } from '../config';
import { stderrLog } from '../log';
import { attachInventory } from '../inventory/attach';
import { InventoryError } from '../inventory/load';
import type { InventoryWatcher } from '../inventory/watch';

export const START_HELP = `Usage: edge-sentinel start [options]

Runs the detector on a built-in simulated fleet (device classes with daily cycles,
benign changes and labelled attacks), replayed faster than real time. Alerts are
printed as they are raised; a summary line follows every few seconds. Ctrl-C stops.

Options:
  --devices <n>     fleet size                                  (default: 1000)
  --hours <h>       simulated hours                              (default: 8)
  --seed <s>        fleet seed                                   (default: 1)
  --speed <x|max>   simulated seconds per real second            (default: 600)
  --engine <wasm|reference>                                      (default: wasm)
  --min-severity <low|medium|high>  alerts to print              (default: medium)
  --api-host <host> where the API and dashboard listen           (default: API_HOST or ${DEFAULT_API_OPTIONS.host})
  --api-port <port> their port, 0 for any free one               (default: API_PORT or ${DEFAULT_API_OPTIONS.port})
  --api-keys-file <file>  API keys, one per line ("label:key" or "key"; also API_KEYS_FILE)
  --no-api          do not serve the API
  --keep-running    keep serving the API after the fleet has ended, until Ctrl-C
  --inventory <file>  enrolled devices, CSV or NDJSON (also INVENTORY_FILE); reloaded on change
  --revoked <file>    revoked credential ids, one per line (also REVOKED_FILE)
  --rotation-age-days <n>  rotation age for /api/inventory/report (also ROTATION_AGE_DAYS; default ${DEFAULT_ROTATION_AGE_DAYS})
  -h, --help        this text

Environment: API_KEYS (comma list of keys, "label:key" or "key") makes /api/* need
"X-API-Key: <key>" or "Authorization: Bearer <key>"; without keys the API only listens
on a loopback address. API_RATE_LIMIT (requests per key per minute), LOG_LEVEL.`;

const SEV_RANK = { low: 0, medium: 1, high: 2 } as const;

export function formatAlertLine(a: Alert): string {
  const t = new Date(a.detectedAt).toISOString().slice(11, 19);
  return `${t}  ${a.severity.toUpperCase().padEnd(6)} ${a.kind.padEnd(18)} ${a.deviceId.padEnd(16)} ${a.summary}`;
}

export async function startCommand(argv: string[]): Promise<number> {
  return runCommand('start', async () => {
    const { values } = parseFlags(argv, {
      devices: { type: 'string' },
      hours: { type: 'string' },
      seed: { type: 'string' },
      speed: { type: 'string' },
      engine: { type: 'string' },
      'min-severity': { type: 'string' },
      'api-host': { type: 'string' },
      'api-port': { type: 'string' },
      'api-keys-file': { type: 'string' },
      'no-api': { type: 'boolean' },
      'keep-running': { type: 'boolean' },
      inventory: { type: 'string' },
      revoked: { type: 'string' },
      'rotation-age-days': { type: 'string' },
    });
    if (values.help) {
      process.stdout.write(START_HELP + '\n');
      return 0;
    }
    const devices = intFlag('devices', values.devices, 1000, 1, 1_000_000);
    const hours = numFlag('hours', values.hours, 8, 0.01);
    const seed = values.seed ?? '1';
    const speed = values.speed === 'max' ? Infinity : numFlag('speed', values.speed, 600, 1);
    const engine = choiceFlag('engine', values.engine, ENGINES, 'wasm');
    const minSeverity = choiceFlag('min-severity', values['min-severity'], ['low', 'medium', 'high'] as const, 'medium');
    const serveApi = !values['no-api'];
    const keepRunning = values['keep-running'] === true;
    if (keepRunning && !serveApi) throw new UsageError('--keep-running keeps the API up: it cannot go with --no-api');
    const apiPort = values['api-port'] === undefined ? undefined : intFlag('api-port', values['api-port'], 0, 0, 65535);
    const inventoryFiles = { inventory: values.inventory ?? (process.env.INVENTORY_FILE || undefined), revoked: values.revoked ?? (process.env.REVOKED_FILE || undefined) };
    const rotationAgeDays = intFlag('rotation-age-days', values['rotation-age-days'] ?? (process.env.ROTATION_AGE_DAYS || undefined), DEFAULT_ROTATION_AGE_DAYS, 1, 36_500);
    // settings errors (keys file, non-loopback without keys) before anything starts
    const apiOptions = serveApi
      ? resolveApiOptions(
          apiOptionsFromEnv(process.env, {
          ...(values['api-host'] !== undefined && { host: values['api-host'] }),
          ...(apiPort !== undefined && { port: apiPort }),
          keysFile: values['api-keys-file'],
          logLevel: process.env.LOG_LEVEL ?? 'warn',
            logStream: process.stderr,
          }),
        )
      : undefined;

    const fleet = createFleet({ devices, hours, seed });
    const out = process.stdout;
    out.write(
      `edge-sentinel: scoring a simulated fleet of ${devices} devices over ${hours} h (seed ${seed}), ` +
        `${speed === Infinity ? 'as fast as possible' : `${speed}× real time`}, ${engine} core. Ctrl-C stops.\n`,
    );
    const store = new AlertStore();
    const history = new DeviceHistory();
    const detector = new Detector({
      engine,
      params: { capacity: Math.max(DEFAULT_PARAMS.capacity, devices * 2) },
      policy: {},
      originOf: (line) => ({ file: 'simulated-fleet', line }),
      onAlert: fanOut(store.listener, history.listener, (e) => {
        if (e.type === 'raised' && SEV_RANK[e.alert.severity] >= SEV_RANK[minSeverity]) out.write(formatAlertLine(e.alert) + '\n');
      }),
      onBatch: (core, n) => history.record(core, n),
    });
    store.attach(detector.policy);
    const metrics = new Metrics().track(detector);
    const health = new Health();
    health.register('fleet', 'ok', 'replaying the simulated fleet');
    let inventory: InventoryWatcher | undefined;
    try {
      inventory = await attachInventory(inventoryFiles, { target: detector, log: stderrLog(), metrics, health });
    } catch (e) {
      if (!(e instanceof InventoryError)) throw e;
      for (const p of e.problems) process.stderr.write(`edge-sentinel start: ${p}\n`);
      return 2;
    }
    let server: ApiServer | undefined;
    if (apiOptions) {
      server = createApiServer({ detector, store, metrics, health, history, inventory: inventory && { watcher: inventory, rotationAgeDays }, options: apiOptions });
      let url: string;
      try {
        url = await server.listen();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const where = `${server.options.host}:${server.options.port}`;
        if (e.code === 'EADDRINUSE') throw new Error(`cannot serve the API on ${where}: the port is in use (choose another with --api-port or API_PORT, or --no-api)`);
        throw new Error(`cannot serve the API on ${where}: ${e.message}`);
      }
      out.write(`edge-sentinel: dashboard on ${url}/  ·  API ${url}/api/alerts  ·  OpenAPI ${url}/docs  ·  metrics ${url}/metrics\n`);
    }

    let stopping = false;
    const onSignal = () => {
      stopping = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    const wall0 = performance.now();
    let lastReport = wall0;
    let lastMessages = 0;
    try {
      for await (const chunk of pacedChunks(fleet, speed, 8192, () => stopping)) {
        for (const e of chunk) detector.add(Buffer.from(e.line), e.arrivalTs, e.lineNo);
        const b0 = performance.now();
        if (detector.flush() > 0) metrics.observeBatch((performance.now() - b0) / 1000);
        const now = performance.now();
        if (now - lastReport >= 3000) {
          const t = detector.totals();
          const rate = Math.round(((t.messages - lastMessages) * 1000) / (now - lastReport));
          process.stderr.write(
            `  · fleet time ${new Date(t.clock).toISOString().slice(0, 16).replace('T', ' ')}  ${rate.toLocaleString('en')} events/s  ` +
              `${t.devices} devices  ${sumCounts(t.alerts)} alerts (${formatCounts(t.alerts)})\n`,
          );
          lastReport = now;
          lastMessages = t.messages;
        }
      }
      detector.finish();
      const t = detector.totals();
      const seconds = (performance.now() - wall0) / 1000;
      out.write(
        `edge-sentinel: ${stopping ? 'stopped' : 'done'} after ${seconds.toFixed(1)} s: ${t.events.toLocaleString('en')} events from ${t.devices} devices, ` +
          `${sumCounts(t.bad)} bad, ${sumCounts(t.alerts)} alerts (${formatCounts(t.alerts)})\n`,
      );
      health.degraded('fleet', 'the simulated fleet has ended: no new telemetry');
      if (server && keepRunning && !stopping) {
        out.write('edge-sentinel: the fleet has ended; still serving the API and dashboard. Ctrl-C stops.\n');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      inventory?.close();
      await server?.close();
    }
    return 0;
  });
}
