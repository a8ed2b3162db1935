// Exports of the WASM core: a numbers-only boundary. JS copies a batch of message bytes
// into the input region, writes an index entry per message (offset, length, arrival),
// calls scoreBatch, and reads fixed-size verdict records from the output region.
// Every region is carved out once by init (runtime "stub": no GC, nothing in the hot
// path allocates), so typed-array views stay valid after init.

import { parseMessage } from "./parse";
import { P, V, NO_REASON, SWEEP_MESSAGE, Has } from "./layout";
import { initParams, paramsBase, param, PRM_MAX_MESSAGE_BYTES, PRM_SWEEP_PERIOD_MS, PARAM_COUNT } from "./params";
import {
  initState, findDevice, claimDevice, recordOf, keyOf, touchBuckets, touchCredential, slots, used, evictions, credEvictions, R_ID,
  R_LAST_TS, ID_INLINE, partitions, currentPartition, setCurrentPartition, releaseSlot, credentialSlot, credKeys, credOwners,
  credSeen, keys,
} from "./state";
import { initClock, observeClock, clockNow, clockOf, CLOCKS } from "./clock";
import { resetFindings, scoreEvent, writeVerdict, checkSilence, importClaim } from "./detectors";
import { inventoryOn, inventoryProbe, inventoryCached, checkInventoryUncached } from "./inventory";
export { inventoryReserve, inventoryUse } from "./inventory";

const INDEX_ENTRY: u32 = 16; // u32 offset, u32 length, f64 arrival (−1: none)
// Messages are parsed GROUP at a time, and the table lines their devices need are loaded
// before any of them is scored: first every key line, then every record (or, for a new
// device, its credential's index lines). WASM has no prefetch, and a load that misses
// holds up every instruction behind it once the reorder buffer is full, so the touching
// loads are issued back to back in tight loops, where their misses overlap; between two
// parses, each would cost a whole miss. Scoring itself stays strictly in order.
const GROUP: u32 = 32;
const BAD_REASON_COUNT: u32 = 14;
const STATS_COUNT: u32 = 6 + BAD_REASON_COUNT;

let inputBase: usize = 0;
let inputCap: u32 = 0;
let indexBase: usize = 0;
let outputBase: usize = 0;
let parsedBase: usize = 0; // GROUP parsed records
let aheadBase: usize = 0; // i32 × GROUP: each parsed message's device slot as found before scoring (−1: none)
let touched: u64 = 0; // sink for the touching loads (exported so they are not optimised away)
let statsBase: usize = 0;
let maxBatch: u32 = 0;
let events: f64 = 0;
// Fleet time up to which each partition clock has paid its sweep debt (f64 × CLOCKS):
// the debt grows with whichever partition's clock advances, so a partition drained after
// the others (a backlog, a hand-over) is still swept as its own time passes.
let sweepAts: usize = 0;
let sweepDebt: f64 = 0;
let sweepCursor: u32 = 0;
// The silence sweep walks the table in slot order, a record at a time between events;
// each group touches the records the sweep will reach next alongside its own devices'
// (SWEEP_AHEAD slots past the cursor), so that the sweep's misses overlap with theirs.
const SWEEP_AHEAD: u32 = 16;
let sweepTouched: u32 = 0;

/**
 * Reserve every region. `tableSlots` is a multiple of 8; the caller writes the
 * parameters to paramsPtr() before the first batch.
 */
export function init(tableSlots: u32, batchMax: u32, inputBytes: u32): void {
  initParams();
  initState(tableSlots);
  initClock();
  maxBatch = batchMax;
  inputCap = inputBytes;
  inputBase = heap.alloc(<usize>inputBytes + 64);
  indexBase = heap.alloc(<usize>batchMax * INDEX_ENTRY);
  outputBase = heap.alloc(<usize>batchMax * 2 * V.SIZE);
  parsedBase = heap.alloc(<usize>P.SIZE * GROUP);
  aheadBase = heap.alloc(<usize>GROUP << 2);
  statsBase = heap.alloc(<usize>STATS_COUNT << 3);
  memory.fill(statsBase, 0, <usize>STATS_COUNT << 3);
  events = 0;
  sweepAts = heap.alloc(<usize>CLOCKS << 3);
  for (let c: u32 = 0; c < CLOCKS; c++) store<f64>(sweepAts + (<usize>c << 3), -1);
  sweepDebt = 0;
  sweepCursor = 0;
  sweepTouched = 0;
}

export function paramsPtr(): usize { return paramsBase; }
export function paramCount(): u32 { return PARAM_COUNT; }
export function inputPtr(): usize { return inputBase; }
export function indexPtr(): usize { return indexBase; }
export function outputPtr(): usize { return outputBase; }
export function parsedPtr(): usize { return parsedBase; }
export function recordPtr(slot: u32): usize { return recordOf(slot); }

/** Parse one message at inputPtr() (tests and tools); returns the bad reason (0 = ok). */
export function parseOne(len: u32, maxMessageBytes: u32): u32 {
  return parseMessage(inputBase, len, parsedBase, maxMessageBytes);
}

/** Fill the stats region and return its address: see src/core/wasm.ts for the order. */
export function statsPtr(): usize {
  store<f64>(statsBase, events);
  store<f64>(statsBase + 8, <f64>used);
  store<f64>(statsBase + 16, <f64>slots);
  store<f64>(statsBase + 24, evictions);
  store<f64>(statsBase + 32, credEvictions);
  store<f64>(statsBase + 40, clockNow);
  return statsBase;
}

function writeRejected(out: usize, status: u32, arrival: f64, message: u32): void {
  memory.fill(out, 0, V.SIZE);
  store<u32>(out + V.STATUS, status);
  store<f64>(out + V.ARRIVAL, arrival);
  store<u32>(out + V.SLOT, 0xffffffff);
  store<u32>(out + V.MESSAGE, message);
  store<u32>(out + V.EV1_REASON, NO_REASON);
  store<u32>(out + V.EV2_REASON, NO_REASON);
}

/**
 * Keep the device id in its record when it is short and unescaped (silence verdicts need
 * it), zero-padded, else zeros; returns whether it was not. One 16-byte load and store,
 * the bytes past the id zeroed: a `memory.copy` of a few bytes is a call out of the
 * compiled code. The load may read past the message, never past the input region (it
 * has 64 spare bytes at its end).
 */
function rememberId(s: u32, msg: usize, pr: usize): bool {
  const rec = recordOf(s);
  const off = load<u32>(pr + P.DEVICE_SPAN);
  const len = load<u32>(pr + P.DEVICE_SPAN + 4);
  if (len > ID_INLINE || (load<u32>(pr + P.FLAGS) & Has.DEVICE_ESCAPED) != 0) {
    v128.store(rec + R_ID, i64x2.splat(0));
    return true;
  }
  const keep = i8x16.lt_u(v128(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), i8x16.splat(<i8>len));
  v128.store(rec + R_ID, v128.and(v128.load(msg + off), keep));
  return false;
}

/** Device ids of this batch's new devices that did not fit their record (JS keeps those). */
let longIds: u32 = 0;
export function longIdsScored(): u32 { return longIds; }

/** Score `count` indexed messages; returns the number of verdict records written. */
export function scoreBatch(count: u32): u32 {
  const maxBytes = <u32>param(PRM_MAX_MESSAGE_BYTES);
  const period = param(PRM_SWEEP_PERIOD_MS);
  const n = count < maxBatch ? count : maxBatch;
  let out: u32 = 0;
  let sweeps: u32 = 0;
  longIds = 0;
  for (let g: u32 = 0; g < n; g += GROUP) {
    const m = n - g < GROUP ? n - g : GROUP;
    // 1. parse the group
    for (let k: u32 = 0; k < m; k++) {
      const entry = indexBase + <usize>(g + k) * INDEX_ENTRY;
      parseMessage(inputBase + load<u32>(entry), load<u32>(entry + 4), parsedBase + <usize>k * P.SIZE, maxBytes);
    }
    // 2. touch both key lines of each device
    let sink: u64 = 0;
    for (let k: u32 = 0; k < m; k++) {
      const pr = parsedBase + <usize>k * P.SIZE;
      if (load<u32>(pr + P.STATUS) == 0) sink += touchBuckets(load<u64>(pr + P.DEVICE_HASH));
    }
    // 3. find the devices (their key lines are in cache now)
    for (let k: u32 = 0; k < m; k++) {
      const pr = parsedBase + <usize>k * P.SIZE;
      store<i32>(aheadBase + (<usize>k << 2), load<u32>(pr + P.STATUS) == 0 ? findDevice(load<u64>(pr + P.DEVICE_HASH)) : -1);
    }
    // 4. touch the records of the devices known (hot lines 0 and 1, which hold the
    //    inventory verdict cache entry too); for new devices, their credential's index
    //    lines and their slot in the inventory image
    for (let k: u32 = 0; k < m; k++) {
      const pr = parsedBase + <usize>k * P.SIZE;
      if (load<u32>(pr + P.STATUS) != 0) continue;
      const s = load<i32>(aheadBase + (<usize>k << 2));
      if (s >= 0) {
        sink += load<u64>(recordOf(<u32>s)) + load<u64>(recordOf(<u32>s) + 64);
      } else {
        if ((load<u32>(pr + P.FLAGS) & Has.CREDENTIAL) != 0) sink += touchCredential(load<u64>(pr + P.CRED_HASH));
        if (inventoryOn) sink += inventoryProbe(load<u64>(pr + P.DEVICE_HASH));
      }
    }
    // and the records the sweep comes to next (line 1 holds its flags, line 0 its times)
    if (period > 0) {
      let ahead = sweepTouched >= sweepCursor ? sweepTouched - sweepCursor : sweepTouched + slots - sweepCursor;
      if (ahead > SWEEP_AHEAD) {
        sweepTouched = sweepCursor;
        ahead = 0;
      }
      while (ahead < SWEEP_AHEAD) {
        sink += load<u64>(recordOf(sweepTouched)) + load<u64>(recordOf(sweepTouched) + 64);
        sweepTouched = sweepTouched + 1 == slots ? 0 : sweepTouched + 1;
        ahead++;
      }
    }
    touched += sink;
    // 5. score in order
    for (let k: u32 = 0; k < m; k++) {
      const i = g + k;
      const entry = indexBase + <usize>i * INDEX_ENTRY;
      const transport = load<f64>(entry + 8);
      const at = outputBase + <usize>(out++) * V.SIZE;
      const msg = inputBase + load<u32>(entry);
      const pr = parsedBase + <usize>k * P.SIZE;
      const status = load<u32>(pr + P.STATUS);
      if (status != 0) {
        const code: u32 = status < BAD_REASON_COUNT ? status : 0;
        const slot = statsBase + ((<usize>6 + <usize>code) << 3);
        store<f64>(slot, load<f64>(slot) + 1);
        writeRejected(at, status, transport, i);
        continue;
      }
      const ts = load<f64>(pr + P.TS);
      const given = (load<u32>(pr + P.FLAGS) & Has.ARRIVAL) != 0 ? load<f64>(pr + P.ARRIVAL) : transport;
      const key = load<u64>(pr + P.DEVICE_HASH);
      const now = observeClock(<u32>currentPartition, <u32>key, given >= 0 ? given : ts);
      const a = given >= 0 ? given : now;

      // the slot found ahead, unless an earlier event of the group claimed a slot since
      let s = load<i32>(aheadBase + (<usize>k << 2));
      if (s < 0 || keyOf(<u32>s) != key) s = findDevice(key);
      const isNew = s < 0;
      if (isNew) {
        s = <i32>claimDevice(key);
        if (rememberId(<u32>s, msg, pr)) longIds++;
      }
      store<u16>(partitions + (<usize>s << 1), currentPartition);
      resetFindings();
      scoreEvent(pr, <u32>s, isNew, a);
      // judged from the record's verdict cache entry when it holds (initDevice cleared a new device's)
      if (inventoryOn && !inventoryCached(pr, a, recordOf(<u32>s))) checkInventoryUncached(pr, a, key, recordOf(<u32>s));
      writeVerdict(at, ts, a, <u32>s, i);
      events += 1;

      // Silence sweep: the whole table once per sweep period of fleet time.
      const sweptAt = sweepAts + ((<usize>currentPartition & (<usize>CLOCKS - 1)) << 3);
      const swept = load<f64>(sweptAt);
      if (period > 0 && now > swept) {
        if (swept >= 0) {
          sweepDebt += ((now - swept) * <f64>slots) / period;
          if (sweepDebt > <f64>slots) sweepDebt = <f64>slots;
        }
        store<f64>(sweptAt, now);
      }
      while (sweepDebt >= 1 && sweeps < maxBatch) {
        const slot = sweepCursor;
        sweepCursor = slot + 1 == slots ? 0 : slot + 1;
        sweepDebt -= 1;
        resetFindings();
        // a device is silent by its own partition's clock
        const at = clockOf(<u32>load<u16>(partitions + (<usize>slot << 1)));
        if (checkSilence(slot, at)) {
          writeVerdict(outputBase + <usize>(out++) * V.SIZE, load<f64>(recordOf(slot) + R_LAST_TS), at, slot, SWEEP_MESSAGE);
          sweeps++;
        }
      }
    }
  }
  return out;
}

/** The touching loads' sink (never needed; exported so the optimiser keeps the loads). */
export function touchSink(): u64 {
  return touched;
}

/** Parse the indexed batch without scoring it (profiling: the parser's share of the time). */
export function parseBatch(count: u32): u32 {
  const maxBytes = <u32>param(PRM_MAX_MESSAGE_BYTES);
  let ok: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const entry = indexBase + <usize>i * INDEX_ENTRY;
    if (parseMessage(inputBase + load<u32>(entry), load<u32>(entry + 4), parsedBase, maxBytes) == 0) ok++;
  }
  return ok;
}

/** Slot of the device with this key (hash halves), or −1. */
export function findSlot(hi: u32, lo: u32): i32 {
  return findDevice((<u64>hi << 32) | <u64>lo);
}
export function slotKeyHi(slot: u32): u32 { return <u32>(keyOf(slot) >> 32); }
export function slotKeyLo(slot: u32): u32 { return <u32>keyOf(slot); }

// ---- partition hand-over (src/core/wasm.ts reads and writes the tables directly) -------
export function setPartition(p: u32): void { setCurrentPartition(p); }
export function keysPtr(): usize { return keys; }
export function partitionsPtr(): usize { return partitions; }
export function credKeysPtr(): usize { return credKeys; }
export function credOwnersPtr(): usize { return credOwners; }
export function credSeenPtr(): usize { return credSeen; }

/**
 * The slot for a device being restored (its own when present), tagged with its partition;
 * JS then writes the record, and clears its inventory verdict cache entry.
 */
export function importDevice(hi: u32, lo: u32, partition: u32): u32 {
  const key = (<u64>hi << 32) | <u64>lo;
  let s = findDevice(key);
  if (s < 0) s = <i32>claimDevice(key);
  store<u16>(partitions + (<usize>s << 1), <u16>partition);
  return <u32>s;
}

/** Forget every device of a partition; returns how many. */
export function dropPartition(partition: u32): u32 {
  let n: u32 = 0;
  for (let s: u32 = 0; s < slots; s++) {
    if (keyOf(s) != 0 && <u32>load<u16>(partitions + (<usize>s << 1)) == partition) {
      releaseSlot(s);
      n++;
    }
  }
  return n;
}

/** A credential claim from another instance (see importClaim in detectors.ts); true when taken. */
export function claimCredential(hi: u32, lo: u32, ownerHi: u32, ownerLo: u32, seen: f64): bool {
  return importClaim((<u64>hi << 32) | <u64>lo, (<u64>ownerHi << 32) | <u64>ownerLo, seen);
}

/** Restore a credential index entry (credential → owner, claimed at `seen`). */
export function importCredential(hi: u32, lo: u32, ownerHi: u32, ownerLo: u32, seen: f64): void {
  const k = credentialSlot((<u64>hi << 32) | <u64>lo);
  store<u64>(credOwners + (<usize>k << 3), (<u64>ownerHi << 32) | <u64>ownerLo);
  store<f64>(credSeen + (<usize>k << 3), seen);
}
