// The inventory checks of the core, each kind on a focused stream, on both engines:
// detected on the first message, quiet for what the inventory allows, and switched at
// once by a new inventory between batches.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, ENGINES } from '../../src/core';
import type { Core } from '../../src/core';
import { Reason } from '../../src/core/layout';
import { buildInventoryImage } from '../../src/inventory/image';
import { Inventory, InventoryDevice, parseSourceRule } from '../../src/inventory/model';
import { encode, Msg, readVerdicts, scoreAll, series, T0, VerdictRow } from '../support/telemetry';

const DAY = 86_400_000;

function device(deviceId: string, over: Partial<InventoryDevice> = {}): InventoryDevice {
  return {
    deviceId,
    credentials: [{ id: `sha256:${deviceId}`, issuedAt: T0 - 30 * DAY, expiresAt: T0 + 365 * DAY }],
    sources: [parseSourceRule('10.1.0.0/16')],
    minFirmware: '2.0.0',
    ...over,
  };
}

function inventory(devices: InventoryDevice[], revoked: string[] = []): Inventory {
  return { devices: new Map(devices.map((d) => [d.deviceId, d])), revoked: new Set(revoked) };
}

const INVENTORY_BITS =
  Reason.UNKNOWN_DEVICE | Reason.REVOKED_CREDENTIAL | Reason.CREDENTIAL_NOT_ENROLLED | Reason.CREDENTIAL_EXPIRED | Reason.SOURCE_OUT_OF_RANGE | Reason.FIRMWARE_BELOW_MINIMUM;

/** Score `msgs` as one batch on `core`; its verdict rows. */
function batch(core: Core, msgs: Msg[]): VerdictRow[] {
  for (const m of msgs) assert.ok(core.add(encode(m)), 'one batch');
  return readVerdicts(core.verdicts, core.score(), 0, (slot) => core.deviceId(slot));
}

for (const engine of ENGINES) {
  describe(`inventory checks [${engine}]`, () => {
    const run = (msgs: Msg[], inv: Inventory | undefined, batch = 512, prepare?: (core: Core) => void, params = {}): VerdictRow[] =>
      scoreAll(engine, msgs, params, batch, (core) => {
        if (inv) core.setInventory(buildInventoryImage(inv));
        prepare?.(core);
      });
    const flagged = (rows: VerdictRow[]) => rows.filter((r) => r.reasons & INVENTORY_BITS);

    test('an enrolled device that keeps to its inventory record raises nothing from it', () => {
      const rows = run(series(50, { deviceId: 'ok-1' }), inventory([device('ok-1')]));
      assert.deepEqual(flagged(rows), []);
    });

    test('unknown_device on the first message of an id the inventory does not list', () => {
      const rows = run(series(5, { deviceId: 'stranger' }), inventory([device('ok-1'), device('ok-2')]));
      assert.equal(rows[0].top, 'unknown_device');
      assert.ok(rows[0].score >= 0.85, 'high severity');
      assert.equal(rows[0].ev1.spread, 2, 'number of enrolled devices');
      assert.ok(rows.every((r) => r.reasons & Reason.UNKNOWN_DEVICE));
    });

    test('revoked_credential on the first message, for any device, even without a device list', () => {
      const msgs = series(3, { deviceId: 'ok-1', credential: 'tok-stolen' });
      const onlyRevocations: Inventory = { revoked: new Set(['tok-stolen']) };
      const rows = run(msgs, onlyRevocations);
      assert.equal(rows[0].top, 'revoked_credential');
      assert.ok(rows[0].score >= 0.95);
      // a revocation list alone does not make devices unknown
      assert.deepEqual(run(series(3, { deviceId: 'x' }), onlyRevocations).filter((r) => r.reasons & Reason.UNKNOWN_DEVICE), []);
    });

    test('credential_not_enrolled: another credential, or none, for a device with enrolled credentials', () => {
      const inv = inventory([device('ok-1')]);
      const other = run(series(2, { deviceId: 'ok-1', credential: 'sha256:somebody-else' }), inv);
      assert.equal(other[0].top, 'credential_not_enrolled');
      assert.equal(other[0].ev1.observed, 1);
      const none = run(
        series(2, { deviceId: 'ok-1' }).map(({ credential: _c, ...m }) => m as Msg),
        inv,
      );
      assert.equal(none[0].top, 'credential_not_enrolled');
      assert.equal(none[0].ev1.observed, 0, 'no credential at all');
      // a device listed without credentials is not constrained
      assert.deepEqual(flagged(run(series(2, { deviceId: 'ok-1', credential: 'anything' }), inventory([device('ok-1', { credentials: [] })]))), []);
    });

    test('credential_expired from the arrival at which the enrolled credential expires', () => {
      const msgs = series(10, { deviceId: 'ok-1' }, 60_000);
      const expiresAt = msgs[6].arrivalTs!;
      const rows = run(msgs, inventory([device('ok-1', { credentials: [{ id: 'sha256:ok-1', issuedAt: T0 - DAY, expiresAt }] })]));
      const expired = rows.map((r) => (r.reasons & Reason.CREDENTIAL_EXPIRED) !== 0);
      assert.deepEqual(expired, [false, false, false, false, false, false, true, true, true, true]);
      assert.equal(rows[6].ev1.expected, expiresAt);
      assert.equal(rows[6].ev1.spread, T0 - DAY, 'issuedAt');
    });

    test('source_out_of_range: outside every allowed network; exact sources and ports', () => {
      const inv = inventory([device('ok-1', { sources: [parseSourceRule('10.1.0.0/16'), parseSourceRule('192.168.7.9'), parseSourceRule('gw-eu-1')] })]);
      const sources = ['10.1.200.3', '10.1.0.7:5683', '192.168.7.9', 'gw-eu-1', '10.2.0.1', '192.168.7.10', 'gw-us-1', '2001:db8::1'];
      const msgs = sources.map((source, i) => ({ ...series(1, { deviceId: `d-${i}` })[0], deviceId: 'ok-1', credential: 'sha256:ok-1', seq: i, ts: T0 + i * 30_000, arrivalTs: T0 + i * 30_000 + 40, source }));
      const out = run(msgs, inv).map((r) => (r.reasons & Reason.SOURCE_OUT_OF_RANGE) !== 0);
      assert.deepEqual(out, [false, false, false, false, true, true, true, true]);
      const r = run([msgs[4]], inv)[0];
      assert.equal(r.ev1.observed, (10 << 24) + (2 << 16) + 1, 'the IPv4 source as a number');
    });

    test('several credentials and networks per device (rotation overlap): each one counts', () => {
      const inv = inventory([
        device('multi', {
          credentials: [
            { id: 'cred-a', expiresAt: T0 + DAY },
            { id: 'cred-b', issuedAt: T0 - 2 * DAY, expiresAt: T0 - DAY },
            { id: 'cred-c' },
          ],
          sources: [parseSourceRule('10.1.0.0/16'), parseSourceRule('172.16.0.0/12'), parseSourceRule('gw-eu-1')],
        }),
      ]);
      const at = (i: number, credential: string, source: string): Msg => ({ ...series(1, { deviceId: 'multi' })[0], seq: i, ts: T0 + i * 30_000, arrivalTs: T0 + i * 30_000 + 40, credential, source });
      const rows = run([at(0, 'cred-a', '10.1.2.3'), at(1, 'cred-c', '172.31.0.1'), at(2, 'cred-c', 'gw-eu-1'), at(3, 'cred-b', '10.1.2.3'), at(4, 'cred-d', '172.32.0.1')], inv);
      const bits = rows.map((r) => r.reasons & INVENTORY_BITS);
      assert.deepEqual(bits, [0, 0, 0, Reason.CREDENTIAL_EXPIRED, Reason.CREDENTIAL_NOT_ENROLLED | Reason.SOURCE_OUT_OF_RANGE]);
    });

    test('firmware_below_minimum on the first message, upgrades above it are fine', () => {
      const inv = inventory([device('ok-1', { minFirmware: '2.4.0' })]);
      const rows = run([...series(2, { deviceId: 'ok-1', firmware: '2.3.9' }), ...series(2, { deviceId: 'ok-1', firmware: '2.4.0' }, 30_000, T0 + 120_000, 2)], inv);
      assert.deepEqual(
        rows.map((r) => (r.reasons & Reason.FIRMWARE_BELOW_MINIMUM) !== 0),
        [true, true, false, false],
      );
      assert.equal(rows[0].top, 'firmware_below_minimum');
    });

    test('without an inventory, or after it is removed, nothing of this kind is raised', () => {
      assert.deepEqual(flagged(run(series(5, { deviceId: 'stranger' }), undefined)), []);
    });

    test('a new inventory takes effect between batches, all at once', () => {
      const msgs = series(20, { deviceId: 'late' });
      let batches = 0;
      const before = inventory([device('someone-else')]);
      const after = inventory([device('late')]);
      // batches of 5: the inventory is replaced after the second batch
      const rows = scoreAll(engine, msgs, {}, 5, (core) => {
        core.setInventory(buildInventoryImage(before));
        const score = core.score.bind(core);
        core.score = () => {
          const n = score();
          if (++batches === 2) core.setInventory(buildInventoryImage(after));
          return n;
        };
      });
      assert.deepEqual(
        rows.map((r) => (r.reasons & Reason.UNKNOWN_DEVICE) !== 0),
        [...Array(10).fill(true), ...Array(10).fill(false)],
      );
    });

    test('an image the core rejects leaves the inventory in use in place', () => {
      const core = createCore(engine, { capacity: 1024 }, 512);
      core.setInventory(buildInventoryImage(inventory([device('someone-else')])));
      const good = buildInventoryImage(inventory([device('late')]));
      const bad = good.slice();
      bad[0] ^= 0xff; // its magic
      assert.throws(() => core.setInventory(bad), /not an inventory image/);
      assert.throws(() => core.setInventory(good.subarray(0, 32)), /not an inventory image/);
      const rows = batch(core, series(3, { deviceId: 'late' }));
      assert.ok(rows.every((r) => (r.reasons & Reason.UNKNOWN_DEVICE) !== 0), 'the inventory before the bad one still applies');
    });

    // Both cores keep each device's last inventory verdict and reuse it while the device
    // presents the same credential, source and firmware: these are the ways it could go stale.

    test('a reloaded inventory applies from the very next event of a device the cache had judged', () => {
      const core = createCore(engine, { capacity: 1024 }, 512);
      const steps: [Inventory | undefined, number][] = [
        [inventory([device('ok-1')]), 0],
        [inventory([device('ok-1')], ['sha256:ok-1']), Reason.REVOKED_CREDENTIAL],
        [inventory([device('ok-1')]), 0],
        [inventory([device('ok-1', { credentials: [{ id: 'sha256:replacement' }] })]), Reason.CREDENTIAL_NOT_ENROLLED],
        [inventory([device('ok-1', { sources: [parseSourceRule('10.2.0.0/16')] })]), Reason.SOURCE_OUT_OF_RANGE],
        [inventory([device('ok-1', { minFirmware: '3.0.0' })]), Reason.FIRMWARE_BELOW_MINIMUM],
        [inventory([device('someone-else')]), Reason.UNKNOWN_DEVICE],
        [inventory([device('ok-1')]), 0],
        [undefined, 0],
        [inventory([device('someone-else')], ['sha256:ok-1']), Reason.UNKNOWN_DEVICE | Reason.REVOKED_CREDENTIAL],
        [inventory([device('ok-1')]), 0],
      ];
      const msgs = series(steps.length * 4, { deviceId: 'ok-1' });
      steps.forEach(([inv, bits], i) => {
        core.setInventory(inv && buildInventoryImage(inv));
        const rows = batch(core, msgs.slice(i * 4, i * 4 + 4));
        assert.deepEqual(rows.map((r) => r.reasons & INVENTORY_BITS), [bits, bits, bits, bits], `step ${i}`);
      });
    });

    test('credential_expired from the first event at or after the expiry, however long the credential was judged valid', () => {
      // one event a minute for four hours, the credential expiring at an odd instant in between
      const msgs = series(240, { deviceId: 'ok-1' }, 60_000);
      const expiresAt = T0 + 2 * 3_600_000 + 17 * 60_000 + 31_123;
      const rows = run(msgs, inventory([device('ok-1', { credentials: [{ id: 'sha256:ok-1', issuedAt: T0 - DAY, expiresAt }] })]));
      assert.deepEqual(
        rows.map((r) => (r.reasons & INVENTORY_BITS) === Reason.CREDENTIAL_EXPIRED),
        msgs.map((m) => m.arrivalTs! >= expiresAt),
      );
      const first = rows.find((r) => r.reasons & Reason.CREDENTIAL_EXPIRED)!;
      assert.equal(first.ev1.expected, expiresAt);
    });

    test('a device restored from a snapshot is judged by its restored record, not by what its slot held or its exporter cached', () => {
      // elsewhere, x has moved on to a credential that instance's inventory lists: clean there
      const elsewhere = createCore(engine, { capacity: 1024 }, 512);
      elsewhere.setInventory(buildInventoryImage(inventory([device('x', { credentials: [{ id: 'cred-1' }, { id: 'cred-2' }] })])));
      const away = series(6, { deviceId: 'x', credential: 'cred-2' }, 30_000, T0 + 600_000, 20);
      assert.ok(batch(elsewhere, away).every((r) => (r.reasons & INVENTORY_BITS) === 0));
      // here, where only cred-1 is enrolled, x was judged valid with it, then its state
      // (cred-2, and whatever the exporter's record held besides) comes back
      const here = createCore(engine, { capacity: 1024 }, 512);
      here.setInventory(buildInventoryImage(inventory([device('x', { credentials: [{ id: 'cred-1' }] })])));
      assert.ok(batch(here, series(6, { deviceId: 'x', credential: 'cred-1' })).every((r) => (r.reasons & INVENTORY_BITS) === 0));
      here.importPartition(elsewhere.exportPartition(0));
      const next = series(3, { deviceId: 'x', credential: 'cred-2' }, 30_000, T0 + 600_000 + 6 * 30_000, 26);
      assert.deepEqual(
        batch(here, next).map((r) => r.reasons & INVENTORY_BITS),
        [Reason.CREDENTIAL_NOT_ENROLLED, Reason.CREDENTIAL_NOT_ENROLLED, Reason.CREDENTIAL_NOT_ENROLLED],
      );
    });

    test('an event that presents less than the record holds, or a replayed one, does not vouch for the next', () => {
      const inv = inventory([device('ok-1')]); // 10.1.0.0/16, minimum firmware 2.0.0
      const at = (i: number, over: Partial<Msg>, ts = T0 + i * 30_000): Msg => ({ ...series(1, { deviceId: 'ok-1' }, 30_000, ts, i)[0], ...over });
      const drop = (m: Msg, field: 'source' | 'firmware'): Msg => {
        const { [field]: _gone, ...rest } = m;
        return rest as Msg;
      };
      const msgs = [
        at(0, { source: '10.9.9.9' }), // out of range (the record holds this source from now on)
        drop(at(1, { source: '10.9.9.9' }), 'source'), // no source: nothing to judge, clean
        at(2, { source: '10.9.9.9' }), // the held source again: out of range
        at(3, { source: '10.9.9.9', firmware: '1.0.0' }), // firmware below the minimum too
        drop(at(4, { source: '10.9.9.9', firmware: '1.0.0' }), 'firmware'),
        at(5, { source: '10.9.9.9', firmware: '1.0.0' }),
        at(6, { source: '10.1.0.7', firmware: '2.4.1', seq: 1 }, T0 - 3_600_000), // replayed from an hour back, clean: the record keeps 10.9.9.9 and 1.0.0
        at(7, { source: '10.9.9.9', firmware: '1.0.0' }),
      ];
      assert.deepEqual(
        run(msgs, inv).map((r) => r.reasons & (INVENTORY_BITS | Reason.REPLAY)),
        [
          Reason.SOURCE_OUT_OF_RANGE,
          0,
          Reason.SOURCE_OUT_OF_RANGE,
          Reason.SOURCE_OUT_OF_RANGE | Reason.FIRMWARE_BELOW_MINIMUM,
          Reason.SOURCE_OUT_OF_RANGE,
          Reason.SOURCE_OUT_OF_RANGE | Reason.FIRMWARE_BELOW_MINIMUM,
          Reason.REPLAY,
          Reason.SOURCE_OUT_OF_RANGE | Reason.FIRMWARE_BELOW_MINIMUM,
        ],
      );
    });

    test('a device judged clean that changes credential, source or firmware is judged anew at once', () => {
      // ok-1 keeps to its record for a while (judged from the cache), then changes one thing
      const inv = inventory([device('ok-1', { credentials: [{ id: 'sha256:ok-1' }, { id: 'sha256:next' }] })]); // 10.1.0.0/16, minimum 2.0.0
      const cases: [Partial<Msg>, number][] = [
        [{ credential: 'sha256:stolen' }, Reason.CREDENTIAL_NOT_ENROLLED],
        [{ credential: 'sha256:next' }, 0],
        [{ source: '10.9.9.9' }, Reason.SOURCE_OUT_OF_RANGE],
        [{ source: '10.1.200.1' }, 0],
        [{ firmware: '1.9.0' }, Reason.FIRMWARE_BELOW_MINIMUM],
        [{ firmware: '3.0.0' }, 0],
      ];
      for (const [change, bits] of cases) {
        const msgs = [...series(6, { deviceId: 'ok-1' }), ...series(3, { deviceId: 'ok-1', ...change }, 30_000, T0 + 6 * 30_000, 6)];
        assert.deepEqual(
          run(msgs, inv).map((r) => r.reasons & INVENTORY_BITS),
          [0, 0, 0, 0, 0, 0, bits, bits, bits],
          JSON.stringify(change),
        );
      }
    });

    test('a slot given to another device after an eviction is judged for the new device', () => {
      // a table of one bucket pair: enrolled 'ok-0' is evicted by strangers presenting the
      // same credential, source and firmware, then comes back
      const same = { credential: 'sha256:shared', source: '10.1.0.7', firmware: '2.4.1' };
      const inv = inventory([device('ok-0', { credentials: [{ id: 'sha256:shared' }] })]);
      const strangers = Array.from({ length: 20 }, (_, k) => series(2, { deviceId: `stranger-${k}`, ...same }, 1000, T0 + 60_000 + k * 2000));
      const msgs = [...series(3, { deviceId: 'ok-0', ...same }), ...strangers.flat(), ...series(2, { deviceId: 'ok-0', ...same }, 30_000, T0 + 3_600_000, 3)];
      const rows = run(msgs, inv, 512, undefined, { capacity: 8 });
      assert.ok(rows.filter((r) => r.reasons & Reason.NEW_DEVICE).length > 21, 'ok-0 was evicted and came back new');
      assert.deepEqual(
        rows.map((r) => r.reasons & INVENTORY_BITS),
        msgs.map((m) => (m.deviceId === 'ok-0' ? 0 : Reason.UNKNOWN_DEVICE)),
      );
    });

    test('a large inventory (50k devices) still finds every enrolled device and only those', () => {
      const devices = Array.from({ length: 50_000 }, (_, i) => device(`fleet-${i}`));
      const inv = inventory(devices, ['tok-1', 'tok-2']);
      const msgs = [0, 17, 49_999].map((i) => series(1, { deviceId: `fleet-${i}` })[0]);
      msgs.push(series(1, { deviceId: 'fleet-50000' })[0]);
      const rows = run(msgs, inv);
      assert.deepEqual(
        rows.map((r) => (r.reasons & Reason.UNKNOWN_DEVICE) !== 0),
        [false, false, false, true],
      );
    });
  });
}
