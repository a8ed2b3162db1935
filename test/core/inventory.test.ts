// The inventory checks of the core, each kind on a focused stream, on both engines:
// detected on the first message, quiet for what the inventory allows, and switched at
// once by a new inventory between batches.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES } from '../../src/core';
import type { Core } from '../../src/core';
import { Reason } from '../../src/core/layout';
import { buildInventoryImage } from '../../src/inventory/image';
import { Inventory, InventoryDevice, parseSourceRule } from '../../src/inventory/model';
import { Msg, scoreAll, series, T0, VerdictRow } from '../support/telemetry';

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

for (const engine of ENGINES) {
  describe(`inventory checks [${engine}]`, () => {
    const run = (msgs: Msg[], inv: Inventory | undefined, batch = 512, prepare?: (core: Core) => void): VerdictRow[] =>
      scoreAll(engine, msgs, {}, batch, (core) => {
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
