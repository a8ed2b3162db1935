// `edge-sentinel run`: the live detector. Kafka in (or the embedded simulated fleet
// without KAFKA_BROKERS), InfluxDB and the alert topic out, offsets committed only after
// both acknowledged. SIGTERM/SIGINT: stop fetching, finish and commit the batch in
// flight, flush, exit 0 within 10 s.

import { ConfigError, collectSettings, redactConfig, resolveConfig, RunConfig, SETTINGS } from '../config';
import { createFleet } from '../ingest/simulator';
import { pacedChunks } from '../ingest/simulator/pace';
import { KafkaSource, kafkaClient } from '../ingest/kafka';
import { stderrLog } from '../log';
import { Pipeline, Sinks } from '../pipeline';
import { createWriter, InfluxSink } from '../sinks/influx';
import { formatCounts, sumCounts } from '../detector';
import { parseFlags, runCommand } from './args';
import { formatAlertLine } from './start';
import { AlertStore, fanOut } from '../alerts/store';
import { Health } from '../health';
import { Metrics } from '../metrics';
import { DeviceHistory } from '../api/history';
import { apiOptionsFromEnv, resolveApiOptions } from '../api/options';
import { ApiServer, createApiServer } from '../api/server';
import { verdictLine } from '../sinks/points';
import { attachInventory } from '../inventory/attach';
import { InventoryError } from '../inventory/load';
import type { InventoryWatcher } from '../inventory/watch';

const flagOptions = Object.fromEntries(Object.values(SETTINGS).map((f) => [f, { type: 'string' as const }]));

export const RUN_HELP = `Usage: edge-sentinel run [options]

The live detector: consumes telemetry from Kafka, scores it, stores scores and alerts
in InfluxDB, produces alerts (OCSF Detection Findings) to the alert topic and bad
messages to the dead-letter topic, and commits offsets only after both acknowledged.
Without KAFKA_BROKERS it runs the embedded simulated fleet; without INFLUX_URL it stores
nothing (and says so).

Every setting is a flag, an environment variable, or a key of a JSON --config file
(flags win over the environment, which wins over the file):
  --kafka-brokers  KAFKA_BROKERS        host:port,host:port
  --kafka-topic    KAFKA_TOPIC          (default telemetry)
  --kafka-group-id KAFKA_GROUP_ID       (default edge-sentinel)
  --kafka-dlq-topic KAFKA_DLQ_TOPIC     (default <topic>.dlq)
  --kafka-alert-topic KAFKA_ALERT_TOPIC (default alerts)
  --kafka-from-beginning KAFKA_FROM_BEGINNING  true: read from the start when the group has no offsets
  --kafka-max-wait-ms KAFKA_MAX_WAIT_MS  longest a fetch waits for data (default 5000)
  --kafka-session-timeout-ms KAFKA_SESSION_TIMEOUT_MS  how long a silent group member keeps its
                                        partitions (default 30000)
  --kafka-state-topic KAFKA_STATE_TOPIC  compacted topic of per-partition device-state snapshots
                                        (default <topic>.state; "none": keep no state in Kafka)
  --state-snapshot-interval-ms STATE_SNAPSHOT_INTERVAL_MS  snapshot each owned partition this often
                                        (default 60000; also on hand-over and on stop)
  --kafka-claims-topic KAFKA_CLAIMS_TOPIC  compacted topic where the instances of the group tell each
                                        other which device holds which credential (credential_shared
                                        across instances; default <topic>.credentials; "none": off)
  --kafka-ssl KAFKA_SSL, --kafka-sasl-mechanism KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512),
  --kafka-sasl-username KAFKA_SASL_USERNAME, --kafka-sasl-password KAFKA_SASL_PASSWORD
  --influx-url     INFLUX_URL           http(s)://host:port
  --influx-api     INFLUX_API           v2 (default) or v1
  --influx-token INFLUX_TOKEN, --influx-org INFLUX_ORG, --influx-bucket INFLUX_BUCKET   (v2)
  --influx-db INFLUX_DB, --influx-retention-policy INFLUX_RETENTION_POLICY,
  --influx-username INFLUX_USERNAME, --influx-password INFLUX_PASSWORD                (v1)
  --influx-window-ms INFLUX_WINDOW_MS   device_score window (default 10000)
  --engine ENGINE (wasm|reference), --capacity CAPACITY (devices tracked, default 65536)
  --report-interval-ms REPORT_INTERVAL_MS   a progress line this often (default 10000)
  --fleet-devices, --fleet-hours, --fleet-seed, --fleet-speed   the embedded fleet
  --inventory      INVENTORY_FILE       enrolled devices, CSV or NDJSON (see README "Device inventory");
                                        reloaded when the file changes (or on SIGHUP), kept when the new one is invalid
  --revoked        REVOKED_FILE         revoked credential ids, one per line (# comments)
  --rotation-age-days ROTATION_AGE_DAYS credentials older than this are due for rotation in
                                        GET /api/inventory/report (default 90)
  --config <file.json>
  -h, --help

The API and dashboard are served on API_HOST:API_PORT (default 127.0.0.1:8080; API_KEYS,
API_KEYS_FILE, API_RATE_LIMIT as for \`start\`); API_ENABLED=false turns them off.`;

const SHUTDOWN_MS = 10_000;

export async function runMain(config: RunConfig, log = stderrLog(), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  log.info(`edge-sentinel run: ${JSON.stringify(redactConfig(config))}`);
  // signals first: a SIGTERM during start-up (connecting, binding the API) is a clean stop too
  let stopping = false;
  let stopped: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping — finishing the batch in flight, committing, flushing`);
    const force = setTimeout(() => {
      log.error(`shutdown took longer than ${SHUTDOWN_MS / 1000} s; exiting`);
      process.exit(1);
    }, SHUTDOWN_MS);
    force.unref();
    stopped();
  };
  const onTerm = () => shutdown('SIGTERM');
  const onInt = () => shutdown('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);

  const apiOptions = env.API_ENABLED === 'false' ? undefined : resolveApiOptions(apiOptionsFromEnv(env));
  let influx: InfluxSink | undefined;
  let source: KafkaSource | undefined;
  const sinks: Sinks = {};
  const health = new Health();
  const metrics = new Metrics();
  if (config.influx) {
    health.register('influx', 'ok', null);
    influx = new InfluxSink(createWriter(config.influx), {
      onRetry: (err, attempt, delay) => {
        metrics.influxWriteErrors.inc({ measurement: 'batch' });
        health.set('influx', 'degraded', `writes failing: ${(err as Error).message}`);
        if (attempt === 1) log.warn(`InfluxDB write failed (${(err as Error).message}): degraded, consumption paused, retrying with backoff`);
        else if (attempt % 10 === 0) log.warn(`InfluxDB still failing after ${attempt} attempts; next in ${Math.round(delay)} ms`);
      },
      onRecovered: (n) => {
        health.set('influx', 'ok');
        log.info(`InfluxDB writes recovered after ${n} failed attempts; consumption resumed`);
      },
      onWait: () => source?.heartbeat() ?? Promise.resolve(),
    });
    sinks.influx = influx;
    log.info(`storing scores and alerts in InfluxDB at ${influx.writer.target}`);
  } else {
    log.info('INFLUX_URL not set: scores and alerts are not stored (alerts still go to the log and the alert topic)');
  }

  const pipeline = new Pipeline(config, sinks);
  const store = new AlertStore();
  const history = new DeviceHistory();
  pipeline.onAlert = fanOut(store.listener, history.listener, (e) => {
    if (e.type === 'raised') log.info(`alert ${formatAlertLine(e.alert)}`);
  });
  pipeline.onScored = (core, n) => history.record(core, n);
  store.attach(pipeline.detector.policy);
  metrics.track(pipeline.detector);
  let inventory: InventoryWatcher | undefined;
  try {
    inventory = await attachInventory({ inventory: config.inventory.file, revoked: config.inventory.revoked }, { target: pipeline.detector, log, metrics, health });
  } catch (e) {
    if (!(e instanceof InventoryError)) throw e;
    // a configuration error like any other: say everything that is wrong, exit 2
    log.error(`the inventory cannot be used (${e.problems.length} problem${e.problems.length > 1 ? 's' : ''}):`);
    for (const p of e.problems) log.error(`  ${p}`);
    await influx?.close();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    return 2;
  }
  const onHup = () => void inventory?.check();
  if (inventory) process.on('SIGHUP', onHup);
  if (influx) {
    const sink = influx;
    // analyst verdicts are stored with their alert (same point identity)
    store.addSink({ onVerdict: (alert, verdict) => sink.writeAll([verdictLine(alert, pipeline.severityTagOf(alert), verdict.verdict, verdict.note ?? undefined)]) });
  }
  let server: ApiServer | undefined;
  if (apiOptions) {
    server = createApiServer({
      detector: pipeline.detector,
      store,
      metrics,
      health,
      history,
      inventory: inventory && { watcher: inventory, rotationAgeDays: config.inventory.rotationAgeDays },
      partitions: () => source?.assigned,
      options: apiOptions,
    });
    const url = await server.listen();
    log.info(`API on ${url}/api/alerts, dashboard on ${url}/, metrics on ${url}/metrics`);
  }

  let code = 0;
  try {
    if (config.kafka) {
      const kafka = kafkaClient(config.kafka, log);
      source = new KafkaSource(kafka, config.kafka, pipeline, log);
      sinks.alerts = source.alertSink;
      sinks.deadLetters = source.deadLetterSink;
      if (config.kafka.claimsTopic) sinks.claims = source.claimSink;
      health.register('kafka', 'down', 'connecting');
      source.onLag = (topic, partition, lag) => metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
      source.onCrash = (reason) => health.set('kafka', 'down', reason);
      source.onRejoined = () => health.set('kafka', 'ok');
      const pm = metrics.trackPartitions();
      source.onAssigned = (ps) => {
        pm.owned.reset();
        for (const p of ps) pm.owned.set({ partition: String(p) }, 1);
        log.info(`owning partitions ${ps.join(', ') || '(none)'} of ${config.kafka!.topic}`);
      };
      if (config.kafka.stateTopic) {
        source.handoverEvents = {
          restored: (_p, result, _devices, ms) => {
            pm.restores.inc({ result });
            pm.restoreSeconds.observe(ms / 1000);
          },
          saved: (p, bytes, _devices, ms) => {
            pm.snapshots.inc();
            pm.snapshotBytes.set({ partition: String(p) }, bytes);
            pm.snapshotSeconds.observe(ms / 1000);
          },
          caughtUp: (_p, n) => pm.caughtUp.inc(n),
        };
      }
      await source.start();
      health.set('kafka', 'ok');
      const claims = source.claims;
      if (claims) metrics.trackClaims(() => ({ ...claims.totals }));
      log.info(`consuming ${config.kafka.topic} as group ${config.kafka.groupId} from ${config.kafka.brokers.join(',')}`);
      const report = setInterval(() => {
        const t = pipeline.detector.totals();
        log.info(`${t.messages} messages, ${sumCounts(t.bad)} bad, ${t.devices} devices, ${t.evictions} evicted, alerts: ${formatCounts(t.alerts)}${influx?.degraded ? ' [InfluxDB degraded]' : ''}`);
      }, config.reportIntervalMs);
      report.unref();
      await done;
      clearInterval(report);
      await source.stop();
    } else {
      health.register('fleet', 'ok', null);
      log.info(`KAFKA_BROKERS not set: scoring the embedded simulated fleet (${config.fleet.devices} devices, ${config.fleet.hours} h)`);
      await runFleet(config, pipeline, () => stopping);
    }
    influx?.stop();
    await pipeline.flush().catch((e: Error) => log.warn(`final flush failed: ${e.message}`));
  } catch (e) {
    log.error(`stopped on error: ${(e as Error).message}`);
    code = 1;
  } finally {
    inventory?.close();
    process.off('SIGHUP', onHup);
    await server?.close();
    await source?.disconnect();
    await influx?.close();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
  const t = pipeline.detector.totals();
  log.info(
    `done: ${t.events} events, ${sumCounts(t.bad)} bad (${formatCounts(t.bad)}), ${t.devices} devices, ${t.evictions} evicted, ` +
      `${sumCounts(t.alerts)} alerts (${formatCounts(t.alerts)}), ${pipeline.totals.deadLettered} dead-lettered, ${pipeline.totals.pointsWritten} points written`,
  );
  return code;
}

/** The embedded fleet as a source (no offsets to commit). */
async function runFleet(config: RunConfig, pipeline: Pipeline, stopping: () => boolean): Promise<void> {
  const { devices, hours, seed, speed } = config.fleet;
  for await (const chunk of pacedChunks(createFleet({ devices, hours, seed }), speed, pipeline.maxChunk, stopping)) {
    await pipeline.process(chunk.map((e) => ({ value: Buffer.from(e.line), arrival: e.arrivalTs, origin: { file: 'simulated-fleet', line: e.lineNo } })));
  }
}

export async function runDetectorCommand(argv: string[]): Promise<number> {
  return runCommand('run', async () => {
    const { values } = parseFlags(argv, { ...flagOptions, config: { type: 'string', short: 'c' } });
    if (values.help) {
      process.stdout.write(RUN_HELP + '\n');
      return 0;
    }
    let config: RunConfig;
    try {
      config = resolveConfig(collectSettings(values as Record<string, string | undefined>, process.env, values.config as string | undefined));
    } catch (e) {
      if (e instanceof ConfigError) {
        for (const p of e.problems) process.stderr.write(`edge-sentinel run: ${p}\n`);
        return 2;
      }
      throw e;
    }
    return runMain(config);
  });
}
