// Reloading the inventory from real files: in-place edits, an invalid file (kept out),
// replacement by rename, deletion, the poll fallback and debouncing of bursts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryError } from '../../src/inventory/load';
import type { Inventory } from '../../src/inventory/model';
import { InventoryWatcher, InventoryWatchOptions } from '../../src/inventory/watch';

const csv = (...ids: string[]) => ['deviceId,credential', ...ids.map((id) => `${id},cred-${id}`)].join('\n') + '\n';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'es-inv-watch-'));
  const applied: Inventory[] = [];
  const log = { info: [] as string[], warn: [] as string[] };
  const watchers: InventoryWatcher[] = [];
  t.after(() => {
    for (const w of watchers) w.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (files: { inventory?: string; revoked?: string }, opts: Partial<InventoryWatchOptions> = {}) => {
    const w = await InventoryWatcher.start(files, {
      apply: (inv) => applied.push(inv),
      log: { info: (m) => log.info.push(m), warn: (m) => log.warn.push(m), error: (m) => log.warn.push(m) },
      debounceMs: 30,
      pollMs: 0,
      ...opts,
    });
    watchers.push(w);
    return w;
  };
  return { dir, applied, log, start };
}

const ids = (inv: Inventory | undefined) => [...(inv?.devices?.keys() ?? [])];

async function until(what: string, pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('start: both files loaded and applied once; problems of both files in one error', async (t) => {
  const { dir, applied, start } = setup(t);
  const inv = join(dir, 'inventory.csv');
  const rev = join(dir, 'revoked.txt');
  writeFileSync(inv, csv('a', 'b'));
  writeFileSync(rev, '# none yet\ncred-x\n');
  const w = await start({ inventory: inv, revoked: rev });
  assert.equal(applied.length, 1);
  assert.deepEqual(ids(applied[0]), ['a', 'b']);
  assert.deepEqual([...applied[0].revoked], ['cred-x']);
  const s = w.state;
  assert.deepEqual([s.devices, s.credentials, s.revoked, s.reloads, s.failedReloads, s.lastError, s.inSync], [2, 2, 1, 0, 0, null, true]);

  writeFileSync(inv, 'deviceId,zone\na,1\n');
  writeFileSync(rev, 'x y\n');
  await assert.rejects(
    start({ inventory: inv, revoked: rev }),
    (e: unknown) =>
      e instanceof InventoryError &&
      e.problems.length === 2 &&
      /^inventory\.csv row 1: unknown column "zone"/.test(e.problems[0]) &&
      /^revoked\.txt line 1: "x y" holds whitespace/.test(e.problems[1]),
  );
  await assert.rejects(start({ inventory: join(dir, 'missing.csv') }), (e: unknown) => e instanceof InventoryError && /missing\.csv does not exist$/.test(e.problems[0]));
  // only a revocation list: no device list, so no device is unknown
  writeFileSync(rev, 'cred-y\n');
  applied.length = 0;
  await start({ revoked: rev });
  assert.equal(applied[0].devices, undefined);
});

test('an edited file is reloaded; an invalid edit keeps the old inventory and says why; fixing it reloads', async (t) => {
  const { dir, applied, log, start } = setup(t);
  const inv = join(dir, 'inventory.csv');
  writeFileSync(inv, csv('a'));
  const w = await start({ inventory: inv });

  writeFileSync(inv, csv('a', 'b'));
  await until('the reload', () => applied.length === 2);
  assert.deepEqual(ids(applied[1]), ['a', 'b']);
  assert.equal(w.state.reloads, 1);
  assert.equal(w.inventory.devices?.size, 2);
  assert.match(log.info.at(-1)!, /^inventory: reloaded inventory\.csv \(2 devices, 2 credentials, 0 revoked\)$/);

  writeFileSync(inv, 'deviceId,credential,issuedAt\nc,k,2026-13-01\nd,k,,\n');
  await until('the rejection', () => w.state.failedReloads === 1);
  assert.equal(applied.length, 2, 'nothing applied');
  assert.deepEqual(ids(w.inventory), ['a', 'b']);
  const s = w.state;
  assert.equal(s.inSync, false);
  assert.deepEqual(s.lastError?.problems, ['inventory.csv row 2, issuedAt: "2026-13-01" is not a date', 'inventory.csv row 3: 4 fields, the header has 3']);
  assert.match(log.warn[0], /^inventory: inventory\.csv changed but cannot be used; keeping the inventory loaded at \d{4}-/);
  assert.deepEqual(log.warn.slice(1), s.lastError!.problems.map((p) => `inventory:   ${p}`));

  // the poll sees the same rejected file again: no second report
  await w.check();
  assert.equal(w.state.failedReloads, 1);

  writeFileSync(inv, csv('c'));
  await until('the reload after the fix', () => applied.length === 3);
  assert.deepEqual(ids(applied[2]), ['c']);
  assert.equal(w.state.inSync, true);
  assert.equal(w.state.reloads, 2);
  assert.ok(w.state.lastError, 'the last error stays as history');
});

test('an editor replacing the file by rename is picked up', async (t) => {
  const { dir, applied, start } = setup(t);
  const inv = join(dir, 'inventory.ndjson');
  writeFileSync(inv, '{"deviceId":"a"}\n');
  await start({ inventory: inv });
  const tmp = join(dir, '.inventory.ndjson.swp');
  writeFileSync(tmp, '{"deviceId":"a"}\n{"deviceId":"z"}\n');
  renameSync(tmp, inv);
  await until('the reload', () => applied.length === 2);
  assert.deepEqual(ids(applied[1]), ['a', 'z']);
  // and again: the watch survives the first replacement (it is on the directory)
  writeFileSync(tmp, '{"deviceId":"y"}\n');
  renameSync(tmp, inv);
  await until('the second reload', () => applied.length === 3);
  assert.deepEqual(ids(applied[2]), ['y']);
});

test('a deleted file keeps the inventory loaded (counted as a failed reload); when it comes back it is read', async (t) => {
  const { dir, applied, log, start } = setup(t);
  const inv = join(dir, 'inventory.csv');
  const rev = join(dir, 'revoked.txt');
  writeFileSync(inv, csv('a'));
  writeFileSync(rev, 'cred-a\n');
  const w = await start({ inventory: inv, revoked: rev });
  unlinkSync(rev);
  await until('the rejection', () => w.state.failedReloads === 1);
  assert.deepEqual(w.state.lastError?.problems, ['revoked.txt was removed']);
  assert.deepEqual([...w.inventory.revoked], ['cred-a'], 'still revoked');
  assert.equal(applied.length, 1);
  assert.match(log.warn[0], /revoked\.txt changed but cannot be used/);

  writeFileSync(rev, 'cred-a\ncred-b\n');
  await until('the reload', () => applied.length === 2);
  assert.deepEqual([...applied[1].revoked], ['cred-a', 'cred-b']);
  assert.deepEqual(ids(applied[1]), ['a'], 'the device list is unchanged');
});

test('without change events the stat poll finds changes', async (t) => {
  const { dir, applied, start } = setup(t);
  const inv = join(dir, 'inventory.csv');
  writeFileSync(inv, csv('a'));
  const w = await start({ inventory: inv }, { watchEvents: false, pollMs: 40 });
  writeFileSync(inv, csv('b'));
  await until('the polled reload', () => applied.length === 2);
  assert.deepEqual(ids(applied[1]), ['b']);
  assert.equal(w.state.reloads, 1);
});

test('a burst of writes is one reload; touching a file without changing it is none', async (t) => {
  const { dir, applied, start } = setup(t);
  const inv = join(dir, 'inventory.csv');
  writeFileSync(inv, csv('a'));
  const w = await start({ inventory: inv }, { debounceMs: 150 });
  for (let i = 0; i < 5; i++) {
    writeFileSync(inv, csv('a', `n${i}`));
    await sleep(10);
  }
  await until('the reload', () => applied.length >= 2);
  await sleep(300);
  assert.equal(applied.length, 2, 'one reload for the burst');
  assert.deepEqual(ids(applied[1]), ['a', 'n4']);

  const later = new Date(Date.now() + 5000);
  utimesSync(inv, later, later);
  await sleep(300);
  await w.check();
  assert.equal(applied.length, 2);
  assert.equal(w.state.reloads, 1);
});

test('an inventory the consumer refuses is a failed reload; the old one stays', async (t) => {
  const { dir, start } = setup(t);
  const inv = join(dir, 'inventory.csv');
  writeFileSync(inv, csv('a'));
  let refuse = false;
  const w = await start({ inventory: inv }, { apply: () => {
    if (refuse) throw new Error('too large');
  } });
  refuse = true;
  writeFileSync(inv, csv('a', 'b'));
  await until('the rejection', () => w.state.failedReloads === 1);
  assert.deepEqual(w.state.lastError?.problems, ['inventory.csv could not be applied: too large']);
  assert.deepEqual(ids(w.inventory), ['a']);
});
