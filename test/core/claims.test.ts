// Credential claims between instances (scale-out): a device holding its credential marks
// its events CLAIM when it takes the credential and once per refresh period after; a
// core that imports another instance's claim flags its own devices presenting that
// credential while the claim is fresh, and a holder that is active here keeps it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, ENGINES } from '../../src/core';
import type { Core, CredentialClaim } from '../../src/core/core';
import { Reason } from '../../src/core/layout';
import { byMessage, encode, Msg, readVerdicts, series, T0, VerdictRow } from '../support/telemetry';

const REFRESH = 300_000;
const HOUR = 3_600_000;

/** Score messages through one core (one batch each call) and return their verdicts. */
function feed(core: Core, msgs: Msg[]): VerdictRow[] {
  const rows: VerdictRow[] = [];
  for (let i = 0; i < msgs.length; i += 256) {
    for (const m of msgs.slice(i, i + 256)) assert.ok(core.add(encode(m)));
    const n = core.score();
    rows.push(...readVerdicts(core.verdicts, n, i, (s) => core.deviceId(s)));
  }
  return byMessage(rows);
}

/** The claims a batch of verdicts stands for (what an instance would publish). */
function claimsOf(core: Core, rows: VerdictRow[]): CredentialClaim[] {
  return rows.filter((r) => r.reasons & Reason.CLAIM).map((r) => core.claimOf(r.slot));
}

for (const engine of ENGINES) {
  describe(`credential claims [${engine}]`, () => {
    test('a holder claims its credential when it takes it, then once per refresh period', () => {
      const core = createCore(engine, { capacity: 256, claimRefreshMs: REFRESH });
      const rows = feed(core, series(40, { deviceId: 'owner-1' })); // every 30 s from midnight: 19.5 min
      const claims = rows.map((r, i) => (r.reasons & Reason.CLAIM ? i : -1)).filter((i) => i >= 0);
      assert.equal(claims[0], 0, 'the first message takes the credential');
      // then the first message of each new 5-minute period of arrival time
      assert.deepEqual(claims, [0, 10, 20, 30]);
      const c = core.claimOf(rows[39].slot);
      assert.deepEqual(c, { ...core.claimOf(rows[0].slot) });
      assert.equal(c.seen, rows[39].arrival);
    });

    test('without a refresh period no event is a claim (a single instance)', () => {
      const rows = feed(createCore(engine, { capacity: 256 }), series(40, { deviceId: 'owner-2' }));
      assert.equal(rows.filter((r) => r.reasons & Reason.CLAIM).length, 0);
    });

    test("another instance's fresh claim makes a device here presenting the credential credential_shared", () => {
      const a = createCore(engine, { capacity: 256, claimRefreshMs: REFRESH });
      const b = createCore(engine, { capacity: 256, claimRefreshMs: REFRESH });
      const owner = series(120, { deviceId: 'victim-1', credential: 'tok-shared' }); // 1 h
      const claims = claimsOf(a, feed(a, owner));
      assert.ok(claims.length >= 12);
      for (const c of claims) assert.equal(b.importClaim(c), true);
      // a thief on this instance, 2 minutes after the owner's last message
      const thief = series(5, { deviceId: 'thief-1', credential: 'tok-shared', source: '203.0.113.9' }, 30_000, T0 + 121 * 30_000);
      const rows = feed(b, thief);
      assert.equal(rows[0].top, 'credential_shared');
      assert.equal(rows[0].ev1.aux, -1, 'the owner is held by another instance');
      assert.ok(rows[0].ev1.expected <= REFRESH + 120_000, `owner seen ${rows[0].ev1.expected} ms before`);
      assert.equal(rows[0].reasons & Reason.CLAIM, 0, 'the thief does not take the credential');
    });

    test('a stale claim does not stop a new device from taking the credential', () => {
      const a = createCore(engine, { capacity: 256, claimRefreshMs: REFRESH });
      const b = createCore(engine, { capacity: 256, claimRefreshMs: REFRESH });
      for (const c of claimsOf(a, feed(a, series(20, { deviceId: 'old-1', credential: 'tok-reused' })))) b.importClaim(c);
      // the replacement device starts two hours after the old one fell silent
      const rows = feed(b, series(5, { deviceId: 'new-1', credential: 'tok-reused' }, 30_000, T0 + 20 * 30_000 + 2 * HOUR));
      assert.equal(rows.filter((r) => r.score >= 0.5).length, 0);
      assert.ok(rows[0].reasons & Reason.CLAIM, 'the new device holds it now');
    });

    test('a holder active here keeps its credential against another instance claiming it', () => {
      const a = createCore(engine, { capacity: 256, claimRefreshMs: REFRESH });
      const b = createCore(engine, { capacity: 256, claimRefreshMs: REFRESH });
      const here = feed(b, series(20, { deviceId: 'local-1', credential: 'tok-both' }));
      const there = claimsOf(a, feed(a, series(20, { deviceId: 'remote-1', credential: 'tok-both' }, 30_000, T0 + 1000)));
      assert.equal(b.importClaim(there[there.length - 1]), false);
      // the local holder goes on unflagged
      const more = feed(b, series(5, { deviceId: 'local-1', credential: 'tok-both' }, 30_000, T0 + 20 * 30_000, 20));
      assert.equal(more.filter((r) => r.top === 'credential_shared').length, 0);
      assert.equal(here[0].top, undefined);
      // the same claim again, once the local holder has been quiet past the window, is taken
      const late = { ...there[there.length - 1], seen: T0 + 25 * 30_000 + 2 * HOUR };
      assert.equal(b.importClaim(late), true);
    });
  });
}
