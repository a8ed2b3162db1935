// The commands as a user runs them: the built CLI in a child process, on a simulated
// fleet written by `simulate`, with bad lines mixed in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'edge-sentinel.js');

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('simulate → replay: alerts as NDJSON, scores, dead letters and a one-line summary', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sim = cli(['simulate', '--devices', '60', '--hours', '6', '--seed', 'cli-1', '--out', dir]);
  assert.equal(sim.code, 0, sim.stderr);
  const telemetry = readFileSync(join(dir, 'telemetry.ndjson'), 'utf8').split('\n').filter(Boolean);
  // mix in bad lines: truncated, wrong type, not JSON
  const mixed = [...telemetry];
  mixed.splice(100, 0, '{"deviceId":"x","ts":', '{"deviceId":5,"ts":1}', 'hello');
  writeFileSync(join(dir, 'mixed.ndjson'), mixed.join('\n') + '\n');

  const r = cli(['replay', '--input', join(dir, 'mixed.ndjson'), '--alerts', join(dir, 'alerts.ndjson'), '--scores', join(dir, 'scores.ndjson'), '--dead-letter', join(dir, 'dlq.txt'), '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const summary = r.stderr.trim().split('\n').pop()!;
  assert.match(summary, new RegExp(`^replay: ${telemetry.length} events, 3 bad lines \\(not_json 2, bad_device_id 1\\), \\d+ devices, \\d+ alerts \\(.+\\), [\\d,]+ events/s \\[wasm\\]$`));
  const alerts = readFileSync(join(dir, 'alerts.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(alerts.length > 0);
  for (const a of alerts) {
    for (const k of ['id', 'deviceId', 'kind', 'severity', 'score', 'ts', 'detectedAt', 'firstSeen', 'lastSeen', 'count', 'summary', 'evidence', 'origin']) assert.ok(k in a, `alert has ${k}`);
    if (a.kind !== 'silence') assert.equal(a.origin.file, join(dir, 'mixed.ndjson')); // silence has no message
  }
  const scores = readFileSync(join(dir, 'scores.ndjson'), 'utf8').split('\n').filter(Boolean);
  assert.equal(scores.length, telemetry.length);
  const s0 = JSON.parse(scores[0]);
  assert.deepEqual(Object.keys(s0).slice(0, 4), ['deviceId', 'ts', 'score', 'reasons']);
  assert.deepEqual(readFileSync(join(dir, 'dlq.txt'), 'utf8').trim().split('\n').map((l) => l.split('\t')[0]), ['not_json', 'bad_device_id', 'not_json']);

  // stdin in, stdout out; the reference engine gives the same alerts
  const viaStdin = cli(['replay', '--input', '-', '--quiet', '--engine', 'reference'], mixed.join('\n'));
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  const stdinAlerts = viaStdin.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual(stdinAlerts.map((a) => [a.id, a.kind, a.count]), alerts.map((a) => [a.id, a.kind, a.count]));
});

test('errors: missing input → exit 1 with one line; bad flags → exit 2; --help → 0', () => {
  const missing = cli(['replay', '--input', '/nonexistent/telemetry.ndjson']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^edge-sentinel replay: cannot read \/nonexistent\/telemetry\.ndjson: ENOENT/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const bad = cli(['replay', '--input', '-', '--engine', 'gpu']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--engine must be one of wasm, reference, got "gpu"/);
  assert.equal(cli(['replay', '--frobnicate']).code, 2);
  assert.equal(cli(['nonsense']).code, 2);
  for (const c of ['replay', 'start', 'simulate']) {
    const h = cli([c, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^Usage: edge-sentinel /);
  }
});

test('start: the embedded fleet runs to the end and prints alerts', () => {
  const r = cli(['start', '--devices', '80', '--hours', '8', '--speed', 'max', '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /simulated fleet of 80 devices/);
  assert.match(r.stdout, /(HIGH|MEDIUM) +\w+/);
  assert.match(r.stdout.trim().split('\n').pop()!, /^edge-sentinel: done after [\d.]+ s: [\d,]+ events from \d+ devices, 0 bad, \d+ alerts/);
});
