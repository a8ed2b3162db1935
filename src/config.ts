// Configuration of `edge-sentinel run`: flags win over the environment, which wins over
// a JSON config file, which wins over the defaults. Everything is validated at start and
// every problem is reported (one line each), not just the first.

import { readFileSync } from 'node:fs';

export interface KafkaConfig {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  dlqTopic: string;
  alertTopic: string;
  /** Start from the earliest offset when the group has none committed. */
  fromBeginning: boolean;
  /** Longest a fetch waits for data (kafkajs maxWaitTimeInMs). */
  maxWaitMs: number;
  /** Group session timeout: how long a silent member keeps its partitions. */
  sessionTimeoutMs: number;
  /** Compacted topic of per-partition device-state snapshots ('' : none kept). */
  stateTopic: string;
  /** A snapshot of each owned partition this often (after a commit), and on hand-over. */
  snapshotIntervalMs: number;
  /** Compacted topic of credential claims between instances ('' : none exchanged). */
  claimsTopic: string;
  ssl: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export interface InfluxConfig {
  url: string;
  api: 'v1' | 'v2';
  token?: string;
  org?: string;
  bucket?: string;
  db?: string;
  retentionPolicy?: string;
  username?: string;
  password?: string;
  /** device_score aggregation window (ms). */
  windowMs: number;
}

export interface InventoryConfig {
  /** Enrolled devices, CSV or NDJSON (src/inventory/load.ts). */
  file?: string;
  /** Revoked credential ids, one per line. */
  revoked?: string;
  /** Credentials issued longer ago than this are reported as due for rotation. */
  rotationAgeDays: number;
}

export const DEFAULT_ROTATION_AGE_DAYS = 90;

export interface RunConfig {
  kafka?: KafkaConfig;
  influx?: InfluxConfig;
  engine: 'wasm' | 'reference';
  capacity: number;
  /** A progress line in the log this often (ms). */
  reportIntervalMs: number;
  /** Embedded fleet (no Kafka): size, hours, speed. */
  fleet: { devices: number; hours: number; seed: string; speed: number };
  inventory: InventoryConfig;
}

/** Every setting: its env name, flag name, and config-file key. */
export const SETTINGS = {
  KAFKA_BROKERS: 'kafka-brokers',
  KAFKA_TOPIC: 'kafka-topic',
  KAFKA_GROUP_ID: 'kafka-group-id',
  KAFKA_CLIENT_ID: 'kafka-client-id',
  KAFKA_DLQ_TOPIC: 'kafka-dlq-topic',
  KAFKA_ALERT_TOPIC: 'kafka-alert-topic',
  KAFKA_FROM_BEGINNING: 'kafka-from-beginning',
  KAFKA_MAX_WAIT_MS: 'kafka-max-wait-ms',
  KAFKA_SESSION_TIMEOUT_MS: 'kafka-session-timeout-ms',
  KAFKA_STATE_TOPIC: 'kafka-state-topic',
  STATE_SNAPSHOT_INTERVAL_MS: 'state-snapshot-interval-ms',
  KAFKA_CLAIMS_TOPIC: 'kafka-claims-topic',
  KAFKA_SSL: 'kafka-ssl',
  KAFKA_SASL_MECHANISM: 'kafka-sasl-mechanism',
  KAFKA_SASL_USERNAME: 'kafka-sasl-username',
  KAFKA_SASL_PASSWORD: 'kafka-sasl-password',
  INFLUX_URL: 'influx-url',
  INFLUX_API: 'influx-api',
  INFLUX_TOKEN: 'influx-token',
  INFLUX_ORG: 'influx-org',
  INFLUX_BUCKET: 'influx-bucket',
  INFLUX_DB: 'influx-db',
  INFLUX_RETENTION_POLICY: 'influx-retention-policy',
  INFLUX_USERNAME: 'influx-username',
  INFLUX_PASSWORD: 'influx-password',
  INFLUX_WINDOW_MS: 'influx-window-ms',
  REPORT_INTERVAL_MS: 'report-interval-ms',
  ENGINE: 'engine',
  CAPACITY: 'capacity',
  FLEET_DEVICES: 'fleet-devices',
  FLEET_HOURS: 'fleet-hours',
  FLEET_SEED: 'fleet-seed',
  FLEET_SPEED: 'fleet-speed',
  INVENTORY_FILE: 'inventory',
  REVOKED_FILE: 'revoked',
  ROTATION_AGE_DAYS: 'rotation-age-days',
} as const;
export type SettingName = keyof typeof SETTINGS;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Merge the sources: flags (by flag name) > env > file (by env name or flag name). */
export function collectSettings(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv, file?: string): Partial<Record<SettingName, string>> {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError([`config file ${file}: ${(e as Error).message}`]);
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError([`config file ${file}: not JSON (${(e as Error).message})`]);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) throw new ConfigError([`config file ${file}: must hold a JSON object`]);
    const known = new Set<string>([...Object.keys(SETTINGS), ...Object.values(SETTINGS)]);
    const unknown = Object.keys(fromFile).filter((k) => !known.has(k));
    if (unknown.length) throw new ConfigError(unknown.map((k) => `config file ${file}: unknown setting "${k}"`));
  }
  const out: Partial<Record<SettingName, string>> = {};
  for (const [name, flag] of Object.entries(SETTINGS) as [SettingName, string][]) {
    const v = flags[flag] ?? env[name] ?? fileValue(fromFile[name] ?? fromFile[flag]);
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

function fileValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** Validate merged settings into a RunConfig; every problem is collected. */
export function resolveConfig(s: Partial<Record<SettingName, string>>): RunConfig {
  const problems: string[] = [];
  const int = (name: SettingName, def: number, min: number, max: number): number => {
    const v = s[name];
    if (v === undefined) return def;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) {
      problems.push(`${name} (--${SETTINGS[name]}) must be a whole number from ${min} to ${max}, got "${v}"`);
      return def;
    }
    return n;
  };
  const num = (name: SettingName, def: number, min: number): number => {
    const v = s[name];
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) {
      problems.push(`${name} (--${SETTINGS[name]}) must be a number ≥ ${min}, got "${v}"`);
      return def;
    }
    return n;
  };
  const bool = (name: SettingName): boolean => {
    const v = s[name];
    if (v === undefined) return false;
    if (/^(1|true|yes)$/i.test(v)) return true;
    if (/^(0|false|no)$/i.test(v)) return false;
    problems.push(`${name} (--${SETTINGS[name]}) must be true or false, got "${v}"`);
    return false;
  };
  const choice = <T extends string>(name: SettingName, choices: readonly T[], def: T): T => {
    const v = s[name];
    if (v === undefined) return def;
    if (!(choices as readonly string[]).includes(v)) {
      problems.push(`${name} (--${SETTINGS[name]}) must be one of ${choices.join(', ')}, got "${v}"`);
      return def;
    }
    return v as T;
  };

  let kafka: KafkaConfig | undefined;
  if (s.KAFKA_BROKERS !== undefined) {
    const brokers = s.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean);
    for (const b of brokers) if (!/^[A-Za-z0-9._\-[\]:]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS: "${b}" is not host:port`);
    if (brokers.length === 0) problems.push('KAFKA_BROKERS is empty');
    const topic = s.KAFKA_TOPIC ?? 'telemetry';
    const topicOk = (name: SettingName, t: string) => {
      if (!/^[A-Za-z0-9._-]{1,249}$/.test(t)) problems.push(`${name}: "${t}" is not a valid Kafka topic name`);
      return t;
    };
    topicOk('KAFKA_TOPIC', topic);
    let sasl: KafkaConfig['sasl'];
    if (s.KAFKA_SASL_MECHANISM !== undefined) {
      const mechanism = choice('KAFKA_SASL_MECHANISM', ['plain', 'scram-sha-256', 'scram-sha-512'] as const, 'plain');
      if (!s.KAFKA_SASL_USERNAME || !s.KAFKA_SASL_PASSWORD) problems.push('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
      sasl = { mechanism, username: s.KAFKA_SASL_USERNAME ?? '', password: s.KAFKA_SASL_PASSWORD ?? '' };
    }
    kafka = {
      brokers,
      topic,
      groupId: s.KAFKA_GROUP_ID ?? 'edge-sentinel',
      clientId: s.KAFKA_CLIENT_ID ?? 'edge-sentinel',
      dlqTopic: topicOk('KAFKA_DLQ_TOPIC', s.KAFKA_DLQ_TOPIC ?? `${topic}.dlq`),
      alertTopic: topicOk('KAFKA_ALERT_TOPIC', s.KAFKA_ALERT_TOPIC ?? 'alerts'),
      fromBeginning: bool('KAFKA_FROM_BEGINNING'),
      maxWaitMs: int('KAFKA_MAX_WAIT_MS', 5000, 10, 60_000),
      sessionTimeoutMs: int('KAFKA_SESSION_TIMEOUT_MS', 30_000, 6000, 300_000),
      stateTopic: s.KAFKA_STATE_TOPIC === 'none' ? '' : topicOk('KAFKA_STATE_TOPIC', s.KAFKA_STATE_TOPIC ?? `${topic}.state`),
      snapshotIntervalMs: int('STATE_SNAPSHOT_INTERVAL_MS', 60_000, 1000, 86_400_000),
      claimsTopic: s.KAFKA_CLAIMS_TOPIC === 'none' ? '' : topicOk('KAFKA_CLAIMS_TOPIC', s.KAFKA_CLAIMS_TOPIC ?? `${topic}.credentials`),
      ssl: bool('KAFKA_SSL'),
      sasl,
    };
  }

  let influx: InfluxConfig | undefined;
  if (s.INFLUX_URL !== undefined) {
    let url = s.INFLUX_URL;
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`INFLUX_URL must be http(s), got "${url}"`);
      url = url.replace(/\/+$/, '');
    } catch {
      problems.push(`INFLUX_URL is not a URL: "${url}"`);
    }
    const api = choice('INFLUX_API', ['v2', 'v1'] as const, 'v2');
    if (api === 'v2') {
      if (!s.INFLUX_ORG) problems.push('INFLUX_ORG is required with INFLUX_API=v2');
      if (!s.INFLUX_BUCKET) problems.push('INFLUX_BUCKET is required with INFLUX_API=v2');
    } else if (!s.INFLUX_DB) problems.push('INFLUX_DB is required with INFLUX_API=v1');
    influx = {
      url,
      api,
      token: s.INFLUX_TOKEN,
      org: s.INFLUX_ORG,
      bucket: s.INFLUX_BUCKET,
      db: s.INFLUX_DB,
      retentionPolicy: s.INFLUX_RETENTION_POLICY,
      username: s.INFLUX_USERNAME,
      password: s.INFLUX_PASSWORD,
      windowMs: int('INFLUX_WINDOW_MS', 10_000, 1000, 3_600_000),
    };
  }

  const config: RunConfig = {
    kafka,
    influx,
    engine: choice('ENGINE', ['wasm', 'reference'] as const, 'wasm'),
    capacity: int('CAPACITY', 65536, 8, 1 << 23),
    reportIntervalMs: int('REPORT_INTERVAL_MS', 10_000, 100, 86_400_000),
    fleet: {
      devices: int('FLEET_DEVICES', 1000, 1, 1_000_000),
      hours: num('FLEET_HOURS', 8, 0.01),
      seed: s.FLEET_SEED ?? '1',
      speed: s.FLEET_SPEED === 'max' ? Infinity : num('FLEET_SPEED', 600, 1),
    },
    // the files themselves are read (and every row checked) when the detector starts
    inventory: { file: s.INVENTORY_FILE, revoked: s.REVOKED_FILE, rotationAgeDays: int('ROTATION_AGE_DAYS', DEFAULT_ROTATION_AGE_DAYS, 1, 36_500) },
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** The config with secrets masked, for logs. */
export function redactConfig(c: RunConfig): unknown {
  return JSON.parse(
    JSON.stringify(c, (k, v) => (['password', 'token'].includes(k) && v ? '***' : v === Infinity ? 'max' : v)),
  );
}
