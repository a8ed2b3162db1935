// Inventory checks against the image built by src/inventory/image.ts (read that file for
// the format), the same steps as src/core/reference/inventory.ts. The image lives in a
// region of linear memory JS fills between batches; `inventoryUse` switches it in at
// once, so a reload is atomic for the scoring loop. The device lookup is split from the
// check so that the scoring loop can look up (and touch) a whole group's entries first.

import { P, Has } from "./layout";
import { flag, findingReasons, sourceNumber } from "./detectors";
import { slots as tableSlots, keyOf, recordOf, R_CRED, R_SOURCE, R_FIRMWARE, R_INVENTORY } from "./state";

// Reason bit indices and scores (src/core/reference/detectors.ts `S`).
const B_UNKNOWN_DEVICE: u32 = 11;
const B_REVOKED_CREDENTIAL: u32 = 12;
const B_CREDENTIAL_NOT_ENROLLED: u32 = 13;
const B_CREDENTIAL_EXPIRED: u32 = 14;
const B_SOURCE_OUT_OF_RANGE: u32 = 15;
const B_FIRMWARE_BELOW_MINIMUM: u32 = 16;
const S_UNKNOWN_DEVICE: f64 = 0.9;
const S_REVOKED_CREDENTIAL: f64 = 0.99;
const S_CREDENTIAL_NOT_ENROLLED: f64 = 0.9;
const S_CREDENTIAL_EXPIRED: f64 = 0.75;
const S_SOURCE_OUT_OF_RANGE: f64 = 0.8;
const S_FIRMWARE_BELOW_MINIMUM: f64 = 0.7;

const MAGIC: u32 = 0x31564e49;
const FLAG_DEVICES: u32 = 1;
const RULE_IPV4: u32 = 0;
const SLOT_SIZE: usize = 64;
const SLOT_MIN_FIRMWARE: usize = 8;
const SLOT_CRED_COUNT: usize = 16;
const SLOT_RULE_COUNT: usize = 18;
const SLOT_OVERFLOW: usize = 20;
const SLOT_CRED: usize = 24;
const SLOT_RULE: usize = 48;
const CRED_SIZE: usize = 24;
const RULE_SIZE: usize = 16;

let region: usize = 0;
let regionCap: usize = 0;
export let inventoryOn: bool = false;
let listsDevices: bool = false;
let deviceSlots: u32 = 0;
let revokedSlots: u32 = 0;
let devicesAt: usize = 0;
let revokedAt: usize = 0;
let deviceCount: f64 = 0;
let anyRevoked: bool = false;

// Verdict cache: what the last check of a device found, kept in its record (a u16 at
// R_INVENTORY, on the record line every event reads), so that a device presenting what
// its record already holds is judged without reading the image, whose slot is one more
// cache miss per event on a large inventory, and in a couple of compares:
//   bit 0       set: an entry
//   bits 1–3    the fields the checked event presented: its Has bits SOURCE 2, CREDENTIAL 4,
//               FIRMWARE 8
//   bit 4, 5    what it raised: revoked_credential, unknown_device (nothing else is kept:
//               their evidence is fixed per inventory)
//   bits 6–15   `until`: the matched credential has not expired before
//               expiryBase + until · 2^23 ms (a lower bound, ~2.3-hour steps; ≥ 1)
// The entry holds for the credential, source and firmware the record holds, and scoring
// sets those only to the event's own: it clears the entry whenever it changes one of them
// or leaves them while the event presented others (replays; detectors.ts
// forgetInventoryVerdict), and so does a device's first event in a slot (initDevice). So
// an entry whose present bits are the event's says the event presents what was checked.
// A slot restored from a snapshot is cleared by its importer (src/core/wasm.ts), an image
// switched in clears every entry (sweep), and expiry is still judged every event.
const ENTRY: u32 = 1;
const PRESENT_MASK: u32 = 0xe; // Has.SOURCE | Has.CREDENTIAL | Has.FIRMWARE
const KEY_MASK: u32 = 0xf;
const OUT_REVOKED: u32 = 16;
const OUT_UNKNOWN: u32 = 32;
const UNTIL_SHIFT: u32 = 6;
const UNTIL_MAX: u32 = 0x3ff;
const UNTIL_UNIT: f64 = 8388608; // 2^23 ms
// the base moves (and every entry is cleared) once the clock is this far past it, so
// entries of credentials that expire later than UNTIL_MAX steps can be renewed
const REBASE_AFTER: f64 = 512 * UNTIL_UNIT;
const INVENTORY_REASONS: u32 = 0x3f << B_UNKNOWN_DEVICE; // bits 11–16
/** Time from which `until` counts (−1: not set since the last sweep). */
let expiryBase: f64 = -1;
/** Whether any entry may have been written since the last sweep. */
let entries: bool = false;
/** The expiry of the credential the last full check matched (+∞: none, or it never expires). */
let matchedExpires: f64 = Infinity;

/** Clear every record's entry (an image switched in, or the expiry base moved). */
function sweep(): void {
  if (entries) {
    for (let s: u32 = 0; s < tableSlots; s++) if (keyOf(s) != 0) store<u16>(recordOf(s) + R_INVENTORY, 0);
  }
  entries = false;
  expiryBase = -1;
}

/**
 * A region of at least `bytes` for JS to write an image into (grown, never shrunk). It
 * starts on a cache line, and so (the header being 64 bytes) does every device slot: a
 * check then reads one line per device, the one the scoring loop touched ahead.
 */
export function inventoryReserve(bytes: u32): usize {
  if (<usize>bytes > regionCap) {
    regionCap = <usize>bytes + (<usize>bytes >> 1);
    region = (heap.alloc(regionCap + 64) + 63) & ~(<usize>63);
  }
  return region;
}

/** Switch to the image JS wrote at the reserved region (`bytes` 0: no inventory). Returns false for a bad header. */
export function inventoryUse(bytes: u32): bool {
  inventoryOn = false;
  sweep();
  if (bytes == 0) return true;
  const h = region;
  if (load<u32>(h) != MAGIC || load<u32>(h + 40) != bytes) return false;
  listsDevices = (load<u32>(h + 4) & FLAG_DEVICES) != 0;
  deviceSlots = load<u32>(h + 8);
  revokedSlots = load<u32>(h + 12);
  devicesAt = h + <usize>load<u32>(h + 16);
  revokedAt = h + <usize>load<u32>(h + 24);
  deviceCount = <f64>load<u32>(h + 36);
  anyRevoked = false;
  for (let i: u32 = 0; i < revokedSlots && !anyRevoked; i++) anyRevoked = load<u64>(revokedAt + (<usize>i << 3)) != 0;
  inventoryOn = true;
  return true;
}

/** Slot of `key` in a linear-probing table (`stride` bytes per slot, key first), or −1. */
function lookup(base: usize, slots: u32, stride: usize, key: u64): i32 {
  if (slots == 0) return -1;
  const mask = slots - 1;
  let i = <u32>key & mask;
  while (true) {
    const k = load<u64>(base + <usize>i * stride);
    if (k == key) return <i32>i;
    if (k == 0) return -1;
    i = (i + 1) & mask;
  }
  return -1;
}

/** Whether every field the event presents equals what the device's record holds. */
export function inventorySameAsRecord(pr: usize, rec: usize): bool {
  const has = load<u32>(pr + P.FLAGS);
  return ((has & Has.CREDENTIAL) == 0 || load<u64>(pr + P.CRED_HASH) == load<u64>(rec + R_CRED)) &&
    ((has & Has.SOURCE) == 0 || load<u64>(pr + P.SOURCE_HASH) == load<u64>(rec + R_SOURCE)) &&
    ((has & Has.FIRMWARE) == 0 || load<f64>(pr + P.FIRMWARE) == load<f64>(rec + R_FIRMWARE));
}

/** The first key a device lookup reads (to touch its cache line ahead of time). */
export function inventoryProbe(device: u64): u64 {
  return deviceSlots == 0 ? 0 : load<u64>(devicesAt + <usize>(<u32>device & (deviceSlots - 1)) * SLOT_SIZE);
}

/** The device's slot in the image (its address), or 0 when the inventory does not list it. */
export function inventoryEntry(device: u64): usize {
  const d = lookup(devicesAt, deviceSlots, SLOT_SIZE, device);
  return d < 0 ? 0 : devicesAt + <usize>d * SLOT_SIZE;
}

/** Credential i of a device slot: in the slot itself (i = 0), else in its overflow. */
@inline function credAt(entry: usize, i: u32): usize {
  return i == 0 ? entry + SLOT_CRED : region + <usize>load<u32>(entry + SLOT_OVERFLOW) + <usize>(i - 1) * CRED_SIZE;
}

/** Rule j: in the slot (j = 0), else in the overflow after the overflow credentials. */
@inline function ruleAt(entry: usize, j: u32, credCount: u32): usize {
  if (j == 0) return entry + SLOT_RULE;
  const creds: u32 = credCount > 1 ? credCount - 1 : 0;
  return region + <usize>load<u32>(entry + SLOT_OVERFLOW) + <usize>creds * CRED_SIZE + <usize>(j - 1) * RULE_SIZE;
}

/**
 * Whether the record's entry judges this event (`pr`, already scored, arriving at `a`):
 * it does when it presents the fields the entry was checked with and the matched
 * credential had not expired by `a`; then what the entry raised is flagged again.
 */
@inline export function inventoryCached(pr: usize, a: f64, rec: usize): bool {
  const e = <u32>load<u16>(rec + R_INVENTORY);
  if ((e & KEY_MASK) != ((load<u32>(pr + P.FLAGS) & PRESENT_MASK) | ENTRY) || !(a < <f64>(e >>> UNTIL_SHIFT) * UNTIL_UNIT + expiryBase)) return false;
  if ((e & (OUT_REVOKED | OUT_UNKNOWN)) != 0) replayCached(e);
  return true;
}

function replayCached(e: u32): void {
  if ((e & OUT_REVOKED) != 0) flag(B_REVOKED_CREDENTIAL, S_REVOKED_CREDENTIAL, -1, -1, 0, 0);
  if ((e & OUT_UNKNOWN) != 0) flag(B_UNKNOWN_DEVICE, S_UNKNOWN_DEVICE, -1, -1, deviceCount, 0);
}

/**
 * Check an event the entry did not judge against the image (`device`: its device key;
 * `rec`: its record, already scored) and rewrite the entry.
 */
export function checkInventoryUncached(pr: usize, a: f64, device: u64, rec: usize): void {
  checkInventory(pr, a, inventoryEntry(device));
  // what the check raised: the inventory's reason bits, which nothing else sets
  const raised = findingReasons() & INVENTORY_REASONS;
  // kept only for a verdict of nothing, revoked_credential and/or unknown_device, and only
  // when the record now holds what the event presented (not so after a replay, say)
  if ((raised & ~(((<u32>1) << B_REVOKED_CREDENTIAL) | ((<u32>1) << B_UNKNOWN_DEVICE))) != 0 || !inventorySameAsRecord(pr, rec)) {
    store<u16>(rec + R_INVENTORY, 0);
    return;
  }
  if (expiryBase < 0) expiryBase = Math.floor(a / UNTIL_UNIT) * UNTIL_UNIT;
  else if (a - expiryBase >= REBASE_AFTER) {
    sweep();
    expiryBase = Math.floor(a / UNTIL_UNIT) * UNTIL_UNIT;
  }
  const x = matchedExpires - expiryBase;
  const until: f64 = x >= <f64>UNTIL_MAX * UNTIL_UNIT ? <f64>UNTIL_MAX : Math.floor(x / UNTIL_UNIT);
  if (until < 1) {
    store<u16>(rec + R_INVENTORY, 0);
    return;
  }
  let outcome: u32 = 0;
  if ((raised & ((<u32>1) << B_REVOKED_CREDENTIAL)) != 0) outcome |= OUT_REVOKED;
  if ((raised & ((<u32>1) << B_UNKNOWN_DEVICE)) != 0) outcome |= OUT_UNKNOWN;
  store<u16>(rec + R_INVENTORY, <u16>((<u32>until << UNTIL_SHIFT) | outcome | (load<u32>(pr + P.FLAGS) & PRESENT_MASK) | ENTRY));
  entries = true;
}

/**
 * Check one valid parsed event (`pr`) arriving at `a`; `entry` is inventoryEntry of its
 * device. Leaves the matched credential's expiry in matchedExpires.
 */
export function checkInventory(pr: usize, a: f64, entry: usize): void {
  matchedExpires = Infinity;
  const has = load<u32>(pr + P.FLAGS);
  const hasCred = (has & Has.CREDENTIAL) != 0;
  const cred = load<u64>(pr + P.CRED_HASH);
  if (hasCred && anyRevoked && lookup(revokedAt, revokedSlots, 8, cred) >= 0) flag(B_REVOKED_CREDENTIAL, S_REVOKED_CREDENTIAL, -1, -1, 0, 0);
  if (!listsDevices) return;
  if (entry == 0) {
    flag(B_UNKNOWN_DEVICE, S_UNKNOWN_DEVICE, -1, -1, deviceCount, 0);
    return;
  }
  const credCount = <u32>load<u16>(entry + SLOT_CRED_COUNT);
  const ruleCount = <u32>load<u16>(entry + SLOT_RULE_COUNT);
  if (credCount > 0) {
    if (!hasCred) flag(B_CREDENTIAL_NOT_ENROLLED, S_CREDENTIAL_NOT_ENROLLED, -1, 0, <f64>credCount, 0);
    else {
      let i: u32 = 0;
      while (i < credCount && load<u64>(credAt(entry, i)) != cred) i++;
      if (i == credCount) flag(B_CREDENTIAL_NOT_ENROLLED, S_CREDENTIAL_NOT_ENROLLED, -1, 1, <f64>credCount, 0);
      else {
        const c = credAt(entry, i);
        const expires = load<f64>(c + 16);
        matchedExpires = expires;
        if (a >= expires) flag(B_CREDENTIAL_EXPIRED, S_CREDENTIAL_EXPIRED, expires, a, load<f64>(c + 8), 0);
      }
    }
  }
  if (ruleCount > 0 && (has & Has.SOURCE) != 0) {
    const src = load<u64>(pr + P.SOURCE_HASH);
    const isIpv4 = <u32>(src >> 32) >= 0x80000000;
    let allowed = false;
    for (let j: u32 = 0; j < ruleCount && !allowed; j++) {
      const r = ruleAt(entry, j, credCount);
      if (load<u32>(r) == RULE_IPV4) allowed = isIpv4 && (<u32>src & load<u32>(r + 4)) == load<u32>(r + 8);
      else allowed = load<u64>(r + 8) == src;
    }
    if (!allowed) flag(B_SOURCE_OUT_OF_RANGE, S_SOURCE_OUT_OF_RANGE, -1, sourceNumber(src), <f64>ruleCount, 0);
  }
  const minimum = load<f64>(entry + SLOT_MIN_FIRMWARE);
  if (minimum >= 0 && (has & Has.FIRMWARE) != 0) {
    const fw = load<f64>(pr + P.FIRMWARE);
    if (fw < minimum) flag(B_FIRMWARE_BELOW_MINIMUM, S_FIRMWARE_BELOW_MINIMUM, minimum, fw, 0, 0);
  }
}
