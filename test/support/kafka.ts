// Starts librdkafka's mock cluster (a real Kafka-protocol server on a loopback port)
// for a test, building the small C launcher on first use.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SOURCE = join(__dirname, 'kafka-mock.c');
const BINARY = join(ROOT, 'build', 'test-support', 'kafka-mock');

export interface KafkaMock {
  /** "127.0.0.1:port,…" */
  bootstrap: string;
  brokers: string[];
  stop(): Promise<void>;
}

function buildLauncher(): void {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return;
  mkdirSync(join(ROOT, 'build', 'test-support'), { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-o', BINARY, SOURCE, '-lrdkafka'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`cannot build the Kafka mock launcher (is librdkafka-dev installed? run scripts/install-test-deps.sh):\n${r.stderr || r.error}`);
  }
}

/** topics: "name:partitions" */
export async function startKafkaMock(opts: { topics: string[]; brokers?: number }): Promise<KafkaMock> {
  buildLauncher();
  const child = spawn(BINARY, [String(opts.brokers ?? 1), ...opts.topics], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`Kafka mock did not start: ${stderr}`)), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /BOOTSTRAP (\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`Kafka mock exited (${code}): ${stderr}`)));
  });
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  return {
    bootstrap,
    brokers: bootstrap.split(','),
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
