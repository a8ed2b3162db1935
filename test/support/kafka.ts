// Starts librdkafka's mock cluster (a real Kafka-protocol server on loopback ports) for a
// test, building the small C launcher (kafka-mock.c) on first use into build/test-support/
// (git-ignored), and again whenever the .c is newer than the binary.
//
// What kafkajs can and cannot do against it: see kafka-mock.c and
// test/integration/harness.test.ts. In short: produce, fetch, consumer groups, offset
// commits and admin.fetchOffsets/fetchTopicOffsets/fetchTopicMetadata work; topics are
// created by the launcher (admin.createTopics fails); each partition keeps at most
// MOCK_LOG_LIMITS of log; a consumer joining a group a member just left waits
// sessionTimeout - 1 s (use sessionTimeout: 6000 in tests that restart consumers).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { reapOnExit, waitExit, withParentDeathSignal } from './ports';

const ROOT = join(__dirname, '..', '..');
const SOURCE = join(__dirname, 'kafka-mock.c');
const BUILD_DIR = join(ROOT, 'build', 'test-support');
const BINARY = join(BUILD_DIR, 'kafka-mock');
const HINT = 'run scripts/install-test-deps.sh (it installs librdkafka-dev and gcc)';

/** The per-partition log bound of librdkafka's mock cluster (2.0.2), fixed in the library:
 *  appending beyond either limit drops the oldest record batches. */
export const MOCK_LOG_LIMITS = { maxBytesPerPartition: 5 * 1024 * 1024, maxBatchesPerPartition: 100_000 } as const;

/** Partitions the mock gives a topic it auto-creates (a producer naming an unknown topic). */
export const MOCK_AUTO_CREATE_PARTITIONS = 4;

export interface KafkaMockOptions {
  /** "name:partitions" (or "name" for 1 partition), e.g. ["telemetry:4", "alerts:1"] */
  topics: string[];
  /** number of brokers (default 1); each gets its own loopback port */
  brokers?: number;
  /** librdkafka debug contexts for the mock's stderr log, e.g. "mock,protocol" */
  debug?: string;
}

export interface KafkaMock {
  /** "127.0.0.1:port,…", for KAFKA_BROKERS */
  bootstrap: string;
  /** the same, one "host:port" per broker, for new Kafka({ brokers }) */
  brokers: string[];
  /** what the launcher wrote on stderr so far (the last 8 kB) */
  log(): string;
  /** stops the cluster (idempotent); everything in it is gone */
  stop(): Promise<void>;
}

/** Builds the launcher if it is missing or older than kafka-mock.c; returns its path. */
export function buildKafkaMock(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(BUILD_DIR, { recursive: true });
  // build to a private name and rename: test files running in parallel may build at once
  const tmp = `${BINARY}.${process.pid}.tmp`;
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', 'rdkafka'], { encoding: 'utf8' });
  const flags = pc.status === 0 ? pc.stdout.trim().split(/\s+/).filter(Boolean) : ['-lrdkafka'];
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', tmp, SOURCE, ...flags], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? `gcc: ${r.error.message}` : r.stderr;
    const missing = /rdkafka(_mock)?\.h|-lrdkafka|ENOENT/.test(why) ? ` (librdkafka-dev or gcc missing? ${HINT})` : '';
    throw new Error(`cannot build the Kafka mock launcher${missing}:\n${why}`);
  }
  renameSync(tmp, BINARY);
  return BINARY;
}

function validTopic(spec: string): boolean {
  return /^[A-Za-z0-9._-]{1,249}(:[1-9][0-9]{0,4})?$/.test(spec);
}

export async function startKafkaMock(opts: KafkaMockOptions): Promise<KafkaMock> {
  const bad = opts.topics.filter((t) => !validTopic(t));
  if (bad.length) throw new Error(`startKafkaMock: bad topic spec ${bad.join(', ')} (want "name:partitions")`);
  const brokerCount = opts.brokers ?? 1;
  if (!Number.isInteger(brokerCount) || brokerCount < 1) throw new Error(`startKafkaMock: brokers must be ≥ 1, not ${opts.brokers}`);
  const binary = buildKafkaMock();

  const env = { ...process.env };
  if (opts.debug) env.KAFKA_MOCK_DEBUG = opts.debug;
  // stdin stays a pipe: the launcher exits when it closes, so it cannot outlive us
  const child = spawn(...withParentDeathSignal(binary, [String(brokerCount), ...opts.topics]), { stdio: ['pipe', 'pipe', 'pipe'], env });
  const release = reapOnExit(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  child.stdin!.on('error', () => undefined); // EPIPE once it has exited

  let bootstrap: string;
  try {
    bootstrap = await new Promise<string>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`Kafka mock did not print its bootstrap address within 10 s: ${stderr}`)), 10_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /^BOOTSTRAP (\S+)$/m.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
      child.once('error', (e) => {
        clearTimeout(t);
        reject(new Error(`Kafka mock did not start (${e.message}): ${HINT}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(t);
        reject(new Error(`Kafka mock exited (${signal ?? code}): ${stderr.trim() || '(no output)'}`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    release();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  return {
    bootstrap,
    brokers: bootstrap.split(','),
    log: () => stderr,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const done = waitExit(child, 5000);
          child.stdin!.end();
          child.kill('SIGTERM');
          await done;
        }
        release();
      })();
      return stopping;
    },
  };
}
