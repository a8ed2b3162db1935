// Differential test: the WASM core and the TypeScript reference score the same
// simulated streams (attacks, benign changes, bad lines, evictions, with and without
// arrival times) and must write byte-identical verdict records.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceCore } from '../../src/core/reference/core';
import { WasmCore } from '../../src/core/wasm';
import { V } from '../../src/core/layout';
import type { CoreParams } from '../../src/core/params';
import { createFleet } from '../../src/ingest/simulator';
import { readVerdicts } from '../support/telemetry';

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
}

const BAD_LINES = ['{"deviceId":"x"', 'NaN', '{"deviceId":"x","ts":"yesterday"}', '[1,2]', '{"deviceId":"","ts":1}', '{"deviceId":"x","ts":1,"metrics":{"a":"b"}}'];

const cases: Case[] = [
  { name: 'fleet clock (no arrival times), attacks and benign changes', devices: 120, hours: 8, seed: 'diff-1', params: {}, batch: 1000, arrivalField: false, kafkaArrival: false, badEvery: 997 },
  { name: 'arrivalTs in every line, odd batch size', devices: 80, hours: 6, seed: 'diff-2', params: {}, batch: 37, arrivalField: true, kafkaArrival: false, badEvery: 0 },
  { name: 'transport arrival times (as from Kafka)', devices: 80, hours: 6, seed: 'diff-3', params: {}, batch: 4096, arrivalField: false, kafkaArrival: true, badEvery: 501 },
  { name: 'table smaller than the fleet: evictions', devices: 300, hours: 3, seed: 'diff-4', params: { capacity: 64 }, batch: 256, arrivalField: false, kafkaArrival: false, badEvery: 0 },
];

for (const c of cases) {
  test(`WASM and reference agree byte for byte: ${c.name}`, () => {
    const wasm = new WasmCore(c.params, c.batch);
    const ref = new ReferenceCore(c.params, c.batch);
    const fleet = createFleet({ devices: c.devices, hours: c.hours, seed: c.seed, arrivalField: c.arrivalField });
    let messages = 0;
    let verdicts = 0;
    let alerting = 0;
    const compare = () => {
      const nw = wasm.score();
      const nr = ref.score();
      assert.equal(nw, nr, 'verdict count');
      const a = new Uint8Array(wasm.verdicts.buffer, wasm.verdicts.byteOffset, nw * V.SIZE);
      const b = new Uint8Array(ref.verdicts.buffer, ref.verdicts.byteOffset, nr * V.SIZE);
      if (Buffer.compare(a, b) !== 0) {
        const rw = readVerdicts(wasm.verdicts, nw, messages, (s) => wasm.deviceId(s));
        const rr = readVerdicts(ref.verdicts, nr, messages, (s) => ref.deviceId(s));
        const k = rw.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(rr[i]));
        assert.deepEqual(rw[k], rr[k], `first differing verdict (#${k} of the batch)`);
        assert.fail('verdict bytes differ outside the decoded fields');
      }
      for (let k = 0; k < nw; k++) {
        if (wasm.verdicts.getFloat64(k * V.SIZE + V.SCORE, true) >= 0.5) alerting++;
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
          assert.ok(wasm.add(bytes, arrival));
        }
        assert.ok(ref.add(bytes, arrival) || (compareBoth(), true));
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

    function compareBoth(): void {
      assert.fail('the reference batch filled before the WASM one');
    }
  });
}
