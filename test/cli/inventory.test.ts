// `inventory learn` → `inventory report` as an operator runs them (the built CLI), on a
// simulated fleet: the draft covers what the fleet did, and edits to it show up in the
// report as the discrepancies they are.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInventory } from '../../src/inventory/load';
import { maskOf, type InventoryDevice } from '../../src/inventory/model';

const BIN = join(__dirname, '..', '..', 'bin', 'edge-sentinel.js');

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Line {
  deviceId: string;
  ts: number;
  credential?: string;
  source?: string;
  firmware?: string;
}

function allows(d: InventoryDevice, source: string): boolean {
  return d.sources.some((r) => {
    if (r.kind === 'exact') return r.text === source;
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(source);
    if (!m) return false;
    const a = ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
    return ((a & maskOf(r.prefix)) >>> 0) === r.network;
  });
}

const fw = (v: string) => v.split(/[-+]/)[0].split('.').reduce((acc, x) => acc * 65536 + Number(x), 0);

test('learn → report round trip on a simulated fleet', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-inventory-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sim = cli(['simulate', '--devices', '50', '--hours', '1', '--seed', 'inv-1', '--out', dir]);
  assert.equal(sim.code, 0, sim.stderr);
  const telemetryFile = join(dir, 'telemetry.ndjson');
  const text = readFileSync(telemetryFile, 'utf8');
  const lines: Line[] = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  // two malformed lines, skipped and counted
  writeFileSync(telemetryFile, text + 'not json\n{"deviceId":"x"}\n');

  // learn: CSV and NDJSON drafts hold the same inventory
  const draft = join(dir, 'draft.csv');
  const learned = cli(['inventory', 'learn', '--input', telemetryFile, '--out', draft]);
  assert.equal(learned.code, 0, learned.stderr);
  const byDevice = new Map<string, Line[]>();
  for (const l of lines) byDevice.set(l.deviceId, [...(byDevice.get(l.deviceId) ?? []), l]);
  const credentials = new Set(lines.filter((l) => l.credential).map((l) => `${l.deviceId}\0${l.credential}`)).size;
  assert.match(
    learned.stderr,
    new RegExp(`^learn: ${(lines.length + 2).toLocaleString('en')} lines \\(2 malformed, skipped\\), ${byDevice.size} devices seen → ${byDevice.size} devices, ${credentials} credentials written to ${draft.replace(/[.\\]/g, '\\$&')} \\(csv\\) in [\\d.]+ s\\n`),
  );
  const inv = parseInventory(readFileSync(draft, 'utf8'), 'draft.csv');
  const ndjson = join(dir, 'draft.ndjson');
  assert.equal(cli(['inventory', 'learn', '--input', telemetryFile, '--out', ndjson, '--quiet']).code, 0);
  assert.deepEqual(parseInventory(readFileSync(ndjson, 'utf8'), 'draft.ndjson'), inv);
  // the draft allows everything the fleet did
  assert.equal(inv.size, byDevice.size);
  for (const [id, ls] of byDevice) {
    const d = inv.get(id)!;
    assert.ok(d, id);
    const creds = [...new Set(ls.filter((l) => l.credential).map((l) => l.credential!))].sort();
    assert.deepEqual(d.credentials.map((c) => c.id).sort(), creds, `${id} credentials`);
    for (const c of d.credentials) assert.equal(c.issuedAt, Math.min(...ls.filter((l) => l.credential === c.id).map((l) => l.ts)), `${id} ${c.id} first seen`);
    for (const l of ls) if (l.source) assert.ok(allows(d, l.source), `${id} may send from ${l.source}`);
    const fws = ls.filter((l) => l.firmware).map((l) => l.firmware!);
    if (fws.length) assert.equal(fw(d.minFirmware!), Math.min(...fws.map(fw)), `${id} lowest firmware`);
  }

  // report on the unedited draft: nothing unenrolled, nothing unseen
  const clean = cli(['inventory', 'report', '--inventory', draft, '--input', telemetryFile, '--json', '--quiet']);
  assert.equal(clean.code, 0, clean.stderr);
  const r0 = JSON.parse(clean.stdout);
  assert.equal(r0.now, Math.max(...lines.map((l) => l.ts)), 'now defaults to the latest ts of the input');
  assert.deepEqual([r0.counts.unenrolled, r0.counts.neverSeen, r0.counts.credentialNotEnrolled, r0.counts.pastRotation, r0.counts.expired], [0, 0, 0, 0, 0]);
  assert.equal(r0.totals.seenDevices, byDevice.size);
  // credentials the fleet shares are enrolled for each sharer, and seen shared
  assert.deepEqual(r0.sharedEnrolled, r0.sharedObserved);

  // a year later every learned credential is past a 90-day rotation age
  const later = cli(['inventory', 'report', '--inventory', draft, '--now', new Date(r0.now + 365 * 86_400_000).toISOString(), '--json']);
  assert.equal(JSON.parse(later.stdout).counts.pastRotation, credentials);

  // edit the draft: drop one device, enrol a device that never sends, revoke a credential in use, expire another
  const rows = readFileSync(draft, 'utf8').trim().split('\n');
  const [header, ...body] = rows;
  const withCred = body.filter((r) => r.split(',')[1] !== '');
  const dropped = withCred[0].split(',')[0];
  const revokedRow = withCred.find((r) => r.split(',')[0] !== dropped)!.split(',');
  const expiredRow = withCred.filter((r) => ![dropped, revokedRow[0]].includes(r.split(',')[0]))[0].split(',');
  const edited = body
    .filter((r) => r.split(',')[0] !== dropped)
    .map((r) => {
      const f = r.split(',');
      if (f[0] === expiredRow[0] && f[1] === expiredRow[1]) f[3] = new Date(r0.now - 60_000).toISOString();
      return f.join(',');
    });
  edited.push('ghost-0001,sha256:ghost,2026-01-01,,10.9.0.0/16,1.0.0,thermostat,"Ops, EU",eu-1');
  writeFileSync(draft, [header, ...edited].join('\n') + '\n');
  writeFileSync(join(dir, 'revoked.txt'), `# lost in transit\n${revokedRow[1]}\n`);
  const rep = cli(['inventory', 'report', '--inventory', draft, '--revoked', join(dir, 'revoked.txt'), '--input', telemetryFile, '--json', '--quiet']);
  assert.equal(rep.code, 0, rep.stderr);
  const r = JSON.parse(rep.stdout);
  assert.deepEqual(
    r.unenrolled.map((u: { deviceId: string }) => u.deviceId),
    [dropped],
  );
  assert.equal(r.unenrolled[0].messages, byDevice.get(dropped)!.length);
  assert.deepEqual(r.neverSeen, [{ deviceId: 'ghost-0001', credentials: 1 }]);
  assert.ok(
    r.revokedInUse.some((x: { credential: string; deviceIds: string[] }) => x.credential === revokedRow[1] && x.deviceIds.includes(revokedRow[0])),
    'the revoked credential is in use',
  );
  assert.ok(r.revokedEnrolled.some((x: { credential: string }) => x.credential === revokedRow[1]));
  assert.deepEqual(
    r.expired.map((e: { deviceId: string; credential: string; inUse: boolean }) => [e.deviceId, e.credential, e.inUse]),
    [[expiredRow[0], expiredRow[1], true]],
  );

  // the same as a table
  const table = cli(['inventory', 'report', '--inventory', draft, '--revoked', join(dir, 'revoked.txt'), '--input', telemetryFile, '--quiet']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`\\nDevices seen but not enrolled: 1\\n  DEVICE +FIRST SEEN +LAST SEEN +MESSAGES\\n  ${dropped} +\\d{4}-`));
  assert.match(table.stdout, /\nEnrolled devices never seen: 1\n {2}DEVICE +CREDENTIALS\n {2}ghost-0001 +1\n/);
  assert.match(table.stdout, /\nRevoked credentials in use: 1\n/);

  // learn from stdin to stdout
  const piped = cli(['inventory', 'learn', '--input', '-', '--out', '-', '--format', 'ndjson', '--quiet'], text);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout.trim().split('\n').length, byDevice.size);
});

test('inventory: errors are one clear line (exit 2); a bad file lists every problem; --help', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-inventory-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const telemetry = join(dir, 't.ndjson');
  writeFileSync(telemetry, '{"deviceId":"a","ts":1}\n');
  const out = join(dir, 'exists.csv');
  writeFileSync(out, 'deviceId\nkeep\n');

  const cases: [string[], RegExp][] = [
    [['inventory'], /^Usage: edge-sentinel inventory <learn\|report>/],
    [['inventory', 'forget'], /^edge-sentinel inventory: unknown subcommand "forget" \(learn, report; see --help\)\n$/],
    [['inventory', 'learn', '--out', 'x.csv'], /^edge-sentinel inventory learn: --input is required \(a telemetry file, or - for stdin\) \(see --help\)\n$/],
    [['inventory', 'learn', '--input', telemetry], /^edge-sentinel inventory learn: --out is required/],
    [['inventory', 'learn', '--input', telemetry, '--out', out], /exists\.csv exists: give --force to overwrite it/],
    [['inventory', 'learn', '--input', telemetry, '--out', 'x.csv', '--min-messages', 'many'], /--min-messages must be a whole number, got "many"/],
    [['inventory', 'learn', '--input', telemetry, '--out', 'x.csv', '--format', 'xml'], /--format must be one of csv, ndjson, got "xml"/],
    [['inventory', 'report'], /^edge-sentinel inventory report: --inventory is required/],
    [['inventory', 'report', '--inventory', out, '--now', 'tomorrow'], /^edge-sentinel inventory report: --now "tomorrow" is not a date/],
    [['inventory', 'report', '--inventory', out, '--rotation-age-days', '0'], /--rotation-age-days must be between 1 and 36500, got 0/],
    [['inventory', 'report', '--inventory', out, '--frobnicate'], /^edge-sentinel inventory report: Unknown option '--frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr || r.stdout, message, args.join(' '));
  }
  assert.equal(readFileSync(out, 'utf8'), 'deviceId\nkeep\n', 'not overwritten');
  assert.equal(cli(['inventory', 'learn', '--input', telemetry, '--out', out, '--force', '--quiet']).code, 0);
  assert.match(readFileSync(out, 'utf8'), /^deviceId,credential,.*\na,,,,,,,,\n$/);

  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'deviceId,credential,expiresAt\nd1,c1,2026-13-01\nd2,c2,soon\n');
  const r = cli(['inventory', 'report', '--inventory', bad, '--revoked', join(dir, 'missing.txt')]);
  assert.equal(r.code, 2);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    'edge-sentinel inventory report: bad.csv row 2, expiresAt: "2026-13-01" is not a date',
    'edge-sentinel inventory report: bad.csv row 3, expiresAt: "soon" is not a date (ISO-8601 such as 2026-01-31T00:00:00Z, or ms since the epoch)',
    `edge-sentinel inventory report: ${join(dir, 'missing.txt')} does not exist`,
  ]);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(join(dir, 'x.csv')), false);

  for (const sub of ['learn', 'report']) {
    const h = cli(['inventory', sub, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, new RegExp(`^Usage: edge-sentinel inventory ${sub} `));
  }
  assert.match(cli(['--help']).stdout, /\n {2}inventory +device inventory/);
});
