// replay --inventory: inventory alerts on a simulated fleet, and an inventory file
// replaced while replay reads stdin — lines read before the reload are judged by the old
// inventory, lines after it by the new one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'edge-sentinel.js');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface AlertLine {
  deviceId: string;
  kind: string;
  count: number;
  origin: { line: number };
}

test('replay: the inventory file replaced mid-stream; alerts before and after follow the old and the new one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-replay-inv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(cli(['simulate', '--devices', '50', '--hours', '1', '--seed', 'inv-replay', '--out', dir]).code, 0);
  const telemetry = readFileSync(join(dir, 'telemetry.ndjson'), 'utf8').split('\n').filter(Boolean);
  const draft = join(dir, 'draft.csv');
  assert.equal(cli(['inventory', 'learn', '--input', join(dir, 'telemetry.ndjson'), '--out', draft, '--quiet']).code, 0);
  const rows = readFileSync(draft, 'utf8').trim().split('\n');
  const devOf = (l: string) => JSON.parse(l).deviceId as string;
  const half = telemetry.length >> 1;
  // two quiet devices (no attack, no benign change: unknown_device is their only finding) that
  // send in both halves: x is unknown before the reload and enrolled after, y the reverse
  const labels = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as { attacks: { deviceId: string }[]; benign: { deviceId: string }[] };
  const eventful = new Set([...labels.attacks, ...labels.benign].map((e) => e.deviceId));
  const both = [...new Set(telemetry.slice(0, half - 200).map(devOf))]
    .filter((d) => !eventful.has(d) && telemetry.slice(half + 200).some((l) => devOf(l) === d))
    .sort();
  const [x, y] = both;
  assert.ok(x && y, 'two devices active throughout');
  const without = (id: string) => rows.filter((r) => !r.startsWith(`${id},`)).join('\n') + '\n';
  const inventory = join(dir, 'inventory.csv');
  writeFileSync(inventory, without(x));

  const child = spawn(process.execPath, [BIN, 'replay', '--input', '-', '--inventory', inventory], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  t.after(() => child.kill());
  const until = async (what: string, pred: () => boolean) => {
    const end = Date.now() + 15_000;
    while (!pred()) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  await until('the inventory to load', () => /inventory: .*inventory\.csv loaded \(\d+ devices/.test(stderr));
  child.stdin.write(telemetry.slice(0, half).join('\n') + '\n');
  await new Promise((r) => setTimeout(r, 500)); // let replay read what was written
  const tmp = join(dir, '.inventory.csv.new');
  writeFileSync(tmp, without(y));
  renameSync(tmp, inventory); // as a deploy tool or an editor replaces a file
  await until('the reload', () => /replay: inventory reloaded after input line \d+/.test(stderr));
  const reloadedAfter = Number(/replay: inventory reloaded after input line (\d+)/.exec(stderr)![1]);
  child.stdin.end(telemetry.slice(half).join('\n') + '\n');
  assert.equal(await exited, 0, stderr);

  assert.ok(reloadedAfter > 0 && reloadedAfter <= half, `reloaded after line ${reloadedAfter} of ${half} written`);
  const alerts: AlertLine[] = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const unknown = (id: string) => alerts.filter((a) => a.kind === 'unknown_device' && a.deviceId === id);
  const linesOf = (id: string, from: number, to: number) => telemetry.slice(from, to).filter((l) => devOf(l) === id).length;

  // x: unknown for every line read before the reload, never after
  assert.ok(unknown(x).length > 0, `${x} was unknown before the reload`);
  for (const a of unknown(x)) assert.ok(a.origin.line < reloadedAfter, `${x} alert raised at line ${a.origin.line}`);
  assert.equal(unknown(x).reduce((n, a) => n + a.count, 0), linesOf(x, 0, reloadedAfter), `every line of ${x} before the reload, none after`);
  // y: known before, unknown for every line after
  assert.ok(unknown(y).length > 0, `${y} is unknown after the reload`);
  for (const a of unknown(y)) assert.ok(a.origin.line >= reloadedAfter, `${y} alert raised at line ${a.origin.line}`);
  assert.equal(unknown(y).reduce((n, a) => n + a.count, 0), linesOf(y, reloadedAfter, telemetry.length));
  // nobody else is unknown
  assert.deepEqual([...new Set(alerts.filter((a) => a.kind === 'unknown_device').map((a) => a.deviceId))].sort(), [x, y].sort());
});

test('replay: an invalid inventory stops it before reading (exit 2, every problem); a revocation list alone works', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-replay-inv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'inventory.csv');
  writeFileSync(bad, 'deviceId,minFirmware\nd1,2.x\nd2,1.0.0,extra\n');
  const input = join(dir, 't.ndjson');
  const cred = 'sha256:stolen';
  writeFileSync(
    input,
    Array.from({ length: 5 }, (_, i) => JSON.stringify({ deviceId: 'd1', ts: 1_767_225_600_000 + i * 30_000, seq: i, credential: cred, source: '10.0.0.1' })).join('\n') + '\n',
  );
  const r = cli(['replay', '--input', input, '--inventory', bad]);
  assert.equal(r.code, 2);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    'edge-sentinel replay: inventory.csv row 2, minFirmware: "2.x" is not a MAJOR.MINOR.PATCH version',
    'edge-sentinel replay: inventory.csv row 3: 3 fields, the header has 2',
  ]);
  assert.equal(r.stdout, '');

  const revoked = join(dir, 'revoked.txt');
  writeFileSync(revoked, `${cred}\n`);
  const ok = cli(['replay', '--input', input, '--revoked', revoked, '--quiet']);
  assert.equal(ok.code, 0, ok.stderr);
  const kinds = ok.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).kind);
  assert.ok(kinds.includes('revoked_credential'), kinds.join(', '));
  assert.ok(!kinds.includes('unknown_device'), 'no device list: nobody is unknown');
});
