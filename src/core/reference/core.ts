// The TypeScript reference core: TextDecoder + JSON.parse → the same detectors and the
// same verdict records as the WASM core. It is the readable statement of the
// algorithms and the baseline the WASM core is measured against.

import { Core, CoreStats, CredentialClaim, DEFAULT_INPUT_BYTES, DEFAULT_MAX_BATCH } from '../core';
import { BAD_REASONS, Has, NO_REASON, SWEEP_MESSAGE, V } from '../layout';
import { CoreParams, resolveParams } from '../params';
import { CLOCKS, PartitionClocks } from './clock';
import { Detectors, EventInput, Findings } from './detectors';
import { parseReference } from './parse';
import { CredentialIndex, DeviceState } from './state';
import { hashOut, hashString } from './hash';
import { decodeDevice, DeviceRecord } from '../device';
import { InventoryCache, InventoryCheck } from './inventory';
import { readRecord, writeRecord, REC } from '../record';
import type { PartitionState } from '../snapshot';

export class ReferenceCore implements Core {
  readonly kind = 'reference' as const;
  readonly params: CoreParams;
  readonly maxBatch: number;
  private readonly inputBytes: number;
  private readonly state: DeviceState;
  private readonly creds: CredentialIndex;
  private readonly detectors: Detectors;
  private readonly clock = new PartitionClocks();
  private readonly findings = new Findings();
  private readonly out: DataView;
  private batch: Uint8Array[] = [];
  private arrivals: number[] = [];
  private batchBytes = 0;
  private scored: Uint8Array[] = [];
  private readonly input: EventInput;
  private events = 0;
  private readonly bad: number[] = new Array(BAD_REASONS.length).fill(0);
  /** Fleet time up to which each partition clock has paid its sweep debt (see assembly/index.ts). */
  private readonly sweptAt = new Float64Array(CLOCKS).fill(-1);
  private sweepDebt = 0;
  private sweepCursor = 0;
  private inventory: InventoryCheck | undefined;
  private readonly inventoryCache: InventoryCache;
  private currentPartition = 0;

  /**
   * `options.inventoryCache` false: judge every event against the inventory image, never
   * from the verdict cache (the differential tests hold both cores' cached verdicts to it).
   */
  constructor(params: Partial<CoreParams> = {}, maxBatch = DEFAULT_MAX_BATCH, inputBytes = DEFAULT_INPUT_BYTES, options: { inventoryCache?: boolean } = {}) {
    this.params = resolveParams(params);
    this.maxBatch = maxBatch;
    this.inputBytes = inputBytes;
    this.state = new DeviceState(this.params.capacity);
    this.creds = new CredentialIndex(this.params.capacity);
    this.detectors = new Detectors(this.params, this.state, this.creds);
    this.inventoryCache = new InventoryCache(this.state, options.inventoryCache ?? true);
    this.out = new DataView(new ArrayBuffer(2 * maxBatch * V.SIZE));
    this.input = {
      deviceHi: 0, deviceLo: 0, ts: 0, hasSeq: false, seq: 0, hasSource: false, sourceHi: 0, sourceLo: 0,
      hasCred: false, credHi: 0, credLo: 0, hasFirmware: false, firmware: 0, bytes: 0,
      metricCount: 0, metricHash: [], metricValue: [],
    };
  }

  get pending(): number {
    return this.batch.length;
  }

  get verdicts(): DataView {
    return this.out;
  }

  setPartition(partition: number): void {
    this.currentPartition = partition & 0xffff;
  }

  exportPartition(partition: number): PartitionState {
    const st = this.state;
    const mine: number[] = [];
    for (let s = 0; s < st.slots; s++) if ((st.keyHi[s] !== 0 || st.keyLo[s] !== 0) && st.partition[s] === partition) mine.push(s);
    const keys = new Uint32Array(mine.length * 2);
    const records = new Uint8Array(mine.length * REC.SIZE);
    const view = new DataView(records.buffer);
    const ids = mine.map((s, i) => {
      keys[2 * i] = st.keyHi[s];
      keys[2 * i + 1] = st.keyLo[s];
      writeRecord(st, s, view, i * REC.SIZE);
      return st.ids[s] ?? '';
    });
    const c = this.creds;
    const credKeys: number[] = [];
    const credSeen: number[] = [];
    for (let k = 0; k < c.slots; k++) {
      if (c.ownerHi[k] === 0 && c.ownerLo[k] === 0) continue;
      const owner = st.find(c.ownerHi[k], c.ownerLo[k]);
      if (owner < 0 || st.partition[owner] !== partition) continue;
      credKeys.push(c.keyHi[k], c.keyLo[k], c.ownerHi[k], c.ownerLo[k]);
      credSeen.push(c.seen[k]);
    }
    return { partition, keys, records, ids, credKeys: Uint32Array.from(credKeys), credSeen: Float64Array.from(credSeen) };
  }

  importPartition(state: PartitionState): void {
    const st = this.state;
    const view = new DataView(state.records.buffer, state.records.byteOffset, state.records.byteLength);
    for (let i = 0; i < state.ids.length; i++) {
      const hi = state.keys[2 * i];
      const lo = state.keys[2 * i + 1];
      let s = st.find(hi, lo);
      if (s < 0) s = st.claim(hi, lo);
      readRecord(st, s, view, i * REC.SIZE); // (which clears the slot's inventory verdict cache entry)
      st.ids[s] = state.ids[i];
      st.partition[s] = state.partition;
    }
    const k = state.credKeys;
    for (let i = 0; i < state.credSeen.length; i++) {
      const slot = this.creds.slotOf(k[4 * i], k[4 * i + 1]);
      this.creds.ownerHi[slot] = k[4 * i + 2];
      this.creds.ownerLo[slot] = k[4 * i + 3];
      this.creds.seen[slot] = state.credSeen[i];
    }
  }

  dropPartition(partition: number): number {
    const st = this.state;
    let n = 0;
    for (let s = 0; s < st.slots; s++) {
      if ((st.keyHi[s] !== 0 || st.keyLo[s] !== 0) && st.partition[s] === partition) {
        st.release(s);
        n++;
      }
    }
    return n;
  }

  claimOf(slot: number): CredentialClaim {
    const st = this.state;
    return { credHi: st.credHi[slot], credLo: st.credLo[slot], ownerHi: st.keyHi[slot], ownerLo: st.keyLo[slot], seen: st.lastArrival[slot] };
  }

  importClaim(c: CredentialClaim): boolean {
    return this.detectors.importClaim(c.credHi, c.credLo, c.ownerHi, c.ownerLo, c.seen);
  }


  setInventory(image: Uint8Array | undefined): void {
    this.inventoryCache.sweep();
    this.inventory = image ? new InventoryCheck(image) : undefined;
  }

  add(bytes: Uint8Array, arrival = -1): boolean {
    if (this.batch.length >= this.maxBatch) return false;
    const size = Math.min(bytes.length, this.params.maxMessageBytes + 1);
    if (this.batch.length > 0 && this.batchBytes + size > this.inputBytes) return false;
    this.batch.push(bytes);
    this.arrivals.push(arrival);
    this.batchBytes += size;
    return true;
  }

  score(): number {
    const f = this.findings;
    const out = this.out;
    const st = this.state;
    const e = this.input;
    let n = 0;
    let sweeps = 0;
    for (let i = 0; i < this.batch.length; i++) {
      const r = parseReference(this.batch[i], this.params.maxMessageBytes);
      const at = n++ * V.SIZE;
      if (r.status !== 0) {
        this.bad[r.status]++;
        writeRejected(out, at, r.status, this.arrivals[i], i);
        continue;
      }
      e.deviceHi = r.deviceHi;
      e.deviceLo = r.deviceLo;
      e.ts = r.ts;
      e.hasSeq = (r.flags & Has.SEQ) !== 0;
      e.seq = r.seq;
      e.hasSource = (r.flags & Has.SOURCE) !== 0;
      e.sourceHi = r.sourceHi;
      e.sourceLo = r.sourceLo;
      e.hasCred = (r.flags & Has.CREDENTIAL) !== 0;
      e.credHi = r.credHi;
      e.credLo = r.credLo;
      e.hasFirmware = (r.flags & Has.FIRMWARE) !== 0;
      e.firmware = r.firmware;
      e.bytes = r.bytes;
      e.metricCount = r.metricCount;
      e.metricHash = r.metricHash;
      e.metricValue = r.metricValue;

      // Arrival: the message's own arrivalTs, else the transport's, else the fleet clock.
      const given = (r.flags & Has.ARRIVAL) !== 0 ? r.arrival : this.arrivals[i];
      const now = this.clock.observe(this.currentPartition, r.deviceLo, given >= 0 ? given : r.ts);
      const a = given >= 0 ? given : now;

      let s = st.find(r.deviceHi, r.deviceLo);
      const isNew = s < 0;
      if (isNew) {
        s = st.claim(r.deviceHi, r.deviceLo);
        st.ids[s] = r.deviceId;
      }
      st.partition[s] = this.currentPartition;
      f.reset();
      this.detectors.score(e, s, isNew, a, f);
      // judged from the slot's verdict cache entry when it holds (initDevice cleared a new device's)
      if (this.inventory) this.inventoryCache.check(this.inventory, e, r.flags, a, f, s);
      f.write(out, at, r.ts, a, s, i);
      this.events++;

      // Silence sweep: the whole table once per sweepPeriodMs of fleet time.
      const c = this.currentPartition & (CLOCKS - 1);
      const swept = this.sweptAt[c];
      if (this.params.sweepPeriodMs > 0 && now > swept) {
        if (swept >= 0) {
          this.sweepDebt += ((now - swept) * st.slots) / this.params.sweepPeriodMs;
          if (this.sweepDebt > st.slots) this.sweepDebt = st.slots;
        }
        this.sweptAt[c] = now;
      }
      while (this.sweepDebt >= 1 && sweeps < this.maxBatch) {
        const slot = this.sweepCursor;
        this.sweepCursor = slot + 1 === st.slots ? 0 : slot + 1;
        this.sweepDebt -= 1;
        f.reset();
        // a device is silent by its own partition's clock
        const at = this.clock.of(st.partition[slot]).now;
        if (this.detectors.silence(slot, at, f)) {
          f.write(out, n++ * V.SIZE, st.lastTs[slot], at, slot, SWEEP_MESSAGE);
          sweeps++;
        }
      }
    }
    this.scored = this.batch;
    this.batch = [];
    this.arrivals = [];
    this.batchBytes = 0;
    return n;
  }

  message(i: number): Uint8Array {
    return this.scored[i];
  }

  deviceId(slot: number): string {
    return this.state.ids[slot] ?? '';
  }

  stats(): CoreStats {
    return {
      events: this.events,
      bad: this.bad.slice(),
      devices: this.state.used,
      slots: this.state.slots,
      evictions: this.state.evictions,
      credentialEvictions: this.creds.evictions,
      clock: this.clock.now,
    };
  }

  findDevice(deviceId: string): number {
    hashString(deviceId);
    return this.state.find(hashOut.hi, hashOut.lo);
  }

  describe(slot: number): DeviceRecord | undefined {
    const st = this.state;
    if (slot < 0 || slot >= st.slots || (st.keyHi[slot] === 0 && st.keyLo[slot] === 0)) return undefined;
    const metrics = [];
    for (let j = 0; j < st.metricCount[slot]; j++) {
      const k = slot * 8 + j;
      metrics.push({ hash: st.metricHash[k], last: st.metricLast[k], step: st.metricStep[k], dev: st.metricDev[k], n: st.metricN[k] });
    }
    return decodeDevice({
      slot,
      deviceId: this.deviceId(slot),
      partition: st.partition[slot],
      events: st.events[slot],
      lastArrival: st.lastArrival[slot],
      lastTs: st.lastTs[slot],
      seqMain: st.seqMain[slot],
      sourceHi: st.sourceHi[slot],
      sourceLo: st.sourceLo[slot],
      prevSourceHi: st.prevSourceHi[slot],
      prevSourceLo: st.prevSourceLo[slot],
      sourceChangedAt: st.sourceChangedAt[slot],
      credHi: st.credHi[slot],
      credLo: st.credLo[slot],
      credChangedAt: st.credChangedAt[slot],
      firmware: st.firmware[slot],
      gapFast: st.gapFast[slot],
      gapSlow: st.gapSlow[slot],
      sizeMean: st.sizeMean[slot],
      sizeVar: st.sizeVar[slot],
      skewMean: st.skewMean[slot],
      flags: st.flags[slot],
      metrics,
    });
  }

  destroy(): void {
    this.batch = [];
    this.scored = [];
  }
}

/** Verdict record of a rejected message: the status and zeros. */
export function writeRejected(out: DataView, at: number, status: number, arrival: number, message: number): void {
  for (let k = 0; k < V.SIZE; k += 8) out.setFloat64(at + k, 0, true);
  out.setUint32(at + V.STATUS, status, true);
  out.setFloat64(at + V.ARRIVAL, arrival, true);
  out.setUint32(at + V.SLOT, 0xffffffff, true);
  out.setUint32(at + V.MESSAGE, message, true);
  out.setUint32(at + V.EV1_REASON, NO_REASON, true);
  out.setUint32(at + V.EV2_REASON, NO_REASON, true);
}
