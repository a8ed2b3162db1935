// Differential test: the WASM core and the TypeScript reference score the same
// simulated streams (attacks, benign changes, bad lines, evictions, with and without
// arrival times) and must write byte-identical verdict records. With an inventory, both
// judge most events from their verdict caches; a third core, the reference checking
// every event against the image, must agree with them byte for byte too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceCore } from '../../src/core/reference/core';
import { WasmCore } from '../../src/core/wasm';
import { V } from '../../src/core/layout';
import type { CoreParams } from '../../src/core/params';
import { createFleet } from '../../src/ingest/simulator';
import { readVerdicts } from '../support/telemetry';
import { buildInventoryImage } from '../../src/inventory/image';
import { Inventory, InventoryDevice, parseSourceRule } from '../../src/inventory/model';

interface Case {
  name: string;
  devices: number;
  hours: number;
  seed: string;
  params: Partial<CoreParams>;
  batch: number;
  arrivalField: boolean;
  kafkaArrival: boolean;
  badEvery: number;
  /** Check against an inventory drawn from the fleet itself (see fleetInventory), replaced by the other variant every 30,000 messages. */
  inventory?: boolean;
  /** Attacks in the fleet (default: the simulator's); 30 takes every type in each of its ways. */
  attacks?: number;
}

/**
 * An inventory that most of the fleet keeps to and some of it does not: 90 % of the
 * devices enrolled with the credential, /24 and firmware of their first message (so
 * attacks and benign changes alike break it), some credentials expiring mid-stream, two
 * revoked. `variant` 1 enrols a different tenth and revokes other credentials.
 */
function fleetInventory(c: Case, variant: number): Inventory {
  const fleet = createFleet({ devices: c.devices, hours: c.hours, seed: c.seed, arrivalField: c.arrivalField });
  const first = new Map<string, Record<string, unknown>>();
  let start = 0;
  for (let ev = fleet.next(); ev; ev = fleet.next()) {
    const m = JSON.parse(ev.line) as Record<string, unknown>;
    start ||= ev.arrivalTs;
    if (!first.has(m.deviceId as string)) first.set(m.deviceId as string, { ...m, at: ev.arrivalTs });
  }
  const devices = new Map<string, InventoryDevice>();
  const revoked = new Set<string>();
  let i = 0;
  for (const [id, m] of first) {
    i++;
    if (i % 10 === variant) continue;
    const cred = typeof m.credential === 'string' ? m.credential : undefined;
    const src = typeof m.source === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(m.source) ? m.source.replace(/\.\d+$/, '.0/24') : undefined;
    devices.set(id, {
      deviceId: id,
      credentials: cred ? [{ id: cred, issuedAt: start, expiresAt: i % 7 === 0 ? start + (i % 5) * 3_600_000 : undefined }] : [],
      sources: src ? [parseSourceRule(src)] : [],
      minFirmware: i % 11 === 0 ? '99.0.0' : typeof m.firmware === 'string' && i % 3 === 0 ? (m.firmware as string) : undefined,
    });
    if (cred && i % 37 === 5 + variant) revoked.add(cred);
  }
  return { devices, revoked };
}

const BAD_LINES = ['{"deviceId":"x"', 'NaN', '{"deviceId":"x","ts":"yesterday"}', '[1,2]', '{"deviceId":"","ts":1}', '{"deviceId":"x","ts":1,"metrics":{"a":"b"}}'];

const cases: Case[] = [
  { name: 'fleet clock (no arrival times), attacks in all their ways and benign changes', devices: 120, hours: 8, seed: 'diff-1', params: {}, batch: 1000, arrivalField: false, kafkaArrival: false, badEvery: 997, attacks: 30 },
  { name: 'arrivalTs in every line, odd batch size', devices: 80, hours: 6, seed: 'diff-2', params: {}, batch: 37, arrivalField: true, kafkaArrival: false, badEvery: 0 },
  { name: 'transport arrival times (as from Kafka)', devices: 80, hours: 6, seed: 'diff-3', params: {}, batch: 4096, arrivalField: false, kafkaArrival: true, badEvery: 501 },
  { name: 'table smaller than the fleet: evictions', devices: 300, hours: 3, seed: 'diff-4', params: { capacity: 64 }, batch: 256, arrivalField: false, kafkaArrival: false, badEvery: 0 },
  { name: 'with an inventory and revocations, replaced mid-stream', devices: 150, hours: 4, seed: 'diff-5', params: {}, batch: 500, arrivalField: true, kafkaArrival: false, badEvery: 0, inventory: true },
  { name: 'with an inventory, replaced mid-stream, and evictions (slots given to other devices)', devices: 300, hours: 3, seed: 'diff-6', params: { capacity: 64 }, batch: 256, arrivalField: false, kafkaArrival: true, badEvery: 0, inventory: true, attacks: 30 },
];

for (const c of cases) {
  test(`WASM and reference agree byte for byte: ${c.name}`, () => {
    const wasm = new WasmCore(c.params, c.batch);
    const ref = new ReferenceCore(c.params, c.batch);
    // the oracle for both cores' inventory verdict caches
    const uncached = c.inventory ? new ReferenceCore(c.params, c.batch, undefined, { inventoryCache: false }) : undefined;
    const fleet = createFleet({ devices: c.devices, hours: c.hours, seed: c.seed, arrivalField: c.arrivalField, attacks: c.attacks });
    let messages = 0;
    let verdicts = 0;
    let alerting = 0;
    const inventories = c.inventory ? [buildInventoryImage(fleetInventory(c, 0)), buildInventoryImage(fleetInventory(c, 1))] : [];
    const inventoryBits = new Set<number>();
    let swaps = 0;
    const setInventory = (image: Uint8Array) => {
      for (const core of [wasm, ref, uncached]) core?.setInventory(image);
    };
    if (c.inventory) setInventory(inventories[0]);
    const same = (x: WasmCore | ReferenceCore, y: ReferenceCore, n: number, what: string) => {
      const a = new Uint8Array(x.verdicts.buffer, x.verdicts.byteOffset, n * V.SIZE);
      const b = new Uint8Array(y.verdicts.buffer, y.verdicts.byteOffset, n * V.SIZE);
      if (Buffer.compare(a, b) !== 0) {
        const rw = readVerdicts(x.verdicts, n, messages, (s) => x.deviceId(s));
        const rr = readVerdicts(y.verdicts, n, messages, (s) => y.deviceId(s));
        const k = rw.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(rr[i]));
        assert.deepEqual(rw[k], rr[k], `${what}: first differing verdict (#${k} of the batch)`);
        assert.fail(`${what}: verdict bytes differ outside the decoded fields`);
      }
    };
    const compare = () => {
      const nw = wasm.score();
      const nr = ref.score();
      assert.equal(nw, nr, 'verdict count');
      same(wasm, ref, nw, 'WASM vs reference');
      if (uncached) {
        assert.equal(uncached.score(), nr, 'verdict count without the cache');
        same(ref, uncached, nr, 'reference vs reference without the verdict cache');
      }
      for (let k = 0; k < nw; k++) {
        if (wasm.verdicts.getFloat64(k * V.SIZE + V.SCORE, true) >= 0.5) alerting++;
        for (let b = 11; b <= 16; b++) if (wasm.verdicts.getUint32(k * V.SIZE + V.REASONS, true) & (1 << b)) inventoryBits.add(b);
        const slot = wasm.verdicts.getUint32(k * V.SIZE + V.SLOT, true);
        if (slot !== 0xffffffff && k % 97 === 0) assert.equal(wasm.deviceId(slot), ref.deviceId(slot));
      }
      verdicts += nw;
    };
    for (let ev = fleet.next(); ev; ev = fleet.next()) {
      const lines = [Buffer.from(ev.line)];
      if (c.badEvery && messages % c.badEvery === 0) lines.push(Buffer.from(BAD_LINES[messages % BAD_LINES.length]));
      for (const bytes of lines) {
        const arrival = c.kafkaArrival ? ev.arrivalTs : -1;
        if (!wasm.add(bytes, arrival)) {
          compare();
          messages += c.batch;
          if (c.inventory && messages >= 30_000 * (swaps + 1)) setInventory(inventories[++swaps % 2]);
          assert.ok(wasm.add(bytes, arrival));
        }
        assert.ok(ref.add(bytes, arrival) || (compareBoth(), true));
        if (uncached) assert.ok(uncached.add(bytes, arrival));
      }
    }
    compare();
    assert.deepEqual(wasm.stats(), ref.stats());
    // what each core says about its devices agrees too
    let described = 0;
    for (let slot = 0; slot < wasm.stats().slots && described < 50; slot++) {
      const d = wasm.describe(slot);
      assert.deepEqual(d, ref.describe(slot));
      if (!d) continue;
      described++;
      assert.equal(wasm.findDevice(d.deviceId), slot);
      assert.equal(ref.findDevice(d.deviceId), slot);
    }
    assert.ok(described > 0);
    assert.equal(wasm.findDevice('no-such-device'), -1);
    assert.ok(verdicts > 1000, `a real stream (${verdicts} verdicts)`);
    assert.ok(alerting > 0, 'the stream raised something to compare');
    if (c.params.capacity) assert.ok(wasm.stats().evictions > 0, 'evictions happened');
    if (c.inventory) {
      assert.ok(swaps >= 2, `the inventory was replaced mid-stream, and back (${swaps} times)`);
      assert.deepEqual([...inventoryBits].sort((a, b) => a - b), [11, 12, 13, 14, 15, 16], 'every inventory check fired');
    }

    function compareBoth(): void {
      assert.fail('the reference batch filled before the WASM one');
    }
  });
}
