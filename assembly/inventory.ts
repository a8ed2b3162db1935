// Inventory checks against the image built by src/inventory/image.ts (read that file for
// the format), the same steps as src/core/reference/inventory.ts. The image lives in a
// region of linear memory JS fills between batches; `inventoryUse` switches it in at
// once, so a reload is atomic for the scoring loop. The device lookup is split from the
// check so that the scoring loop can look up (and touch) a whole group's entries first.

import { P, Has } from "./layout";
import { flag, findingReasons, sourceNumber } from "./detectors";
import { slots as tableSlots, R_CRED, R_SOURCE, R_FIRMWARE } from "./state";

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

// Verdict cache: what the last check of each device-table slot found, so that a device
// presenting what its record already holds (the same credential, source and firmware,
// each present or not) is judged without reading the image, whose slot (and revoked
// table) is one more cache miss per event on a large inventory. One u32 per table slot,
// allocated with the first inventory: 4 bytes a device where the image has a 64-byte
// slot, so 16 devices share a cache line (the scoring loop touches it ahead):
//   bits 0–2    the fields the checked event presented (credential 1, source 2, firmware 4)
//   bits 3–4    what it raised: revoked_credential 8, unknown_device 16 (nothing else is
//               kept: their evidence is fixed per inventory)
//   bits 5–11   the generation of the inventory it was judged by (0: nothing cached)
//   bits 12–31  `until`: the matched credential has not expired before until · 2^22 ms
//               (a lower bound, so `a < until · 2^22` is exact; ~70-minute steps)
// The entry holds for the values the device's record has now (R_CRED, R_SOURCE,
// R_FIRMWARE), which scoring only changes to the event's own: it is written when those
// equal the event's after scoring and cleared otherwise; a slot given to another device
// (claim, restore) is cleared by inventoryForget; each image switched in is a new
// generation. Expiry is still judged every event.
const PRESENT_CRED: u32 = 1;
const PRESENT_SOURCE: u32 = 2;
const PRESENT_FIRMWARE: u32 = 4;
const OUT_REVOKED: u32 = 8;
const OUT_UNKNOWN: u32 = 16;
const GEN_SHIFT: u32 = 5;
const GEN_MAX: u32 = 127;
const KEY_MASK: u32 = 0xfe7; // present fields and generation
const UNTIL_SHIFT: u32 = 12;
const UNTIL_MAX: u32 = 0xfffff;
const UNTIL_UNIT: f64 = 4194304; // 2^22 ms
const INVENTORY_REASONS: u32 = 0x3f << B_UNKNOWN_DEVICE; // bits 11–16
let cache: usize = 0;
let generation: u32 = 0;
/** The expiry of the credential the last full check matched (+∞: none, or it never expires). */
let matchedExpires: f64 = Infinity;

/**
 * A region of at least `bytes` for JS to write an image into (grown, never shrunk). It
 * starts on a cache line, and so (the header being 64 bytes) does every device slot: a
 * check then reads one line per device, the one the scoring loop touched ahead.
 */
export function inventoryReserve(bytes: u32): usize {
  if (cache == 0) cache = (heap.alloc((<usize>tableSlots << 2) + 64) + 63) & ~(<usize>63);
  if (<usize>bytes > regionCap) {
    regionCap = <usize>bytes + (<usize>bytes >> 1);
    region = (heap.alloc(regionCap + 64) + 63) & ~(<usize>63);
  }
  return region;
}

/** Switch to the image JS wrote at the reserved region (`bytes` 0: no inventory). Returns false for a bad header. */
export function inventoryUse(bytes: u32): bool {
  inventoryOn = false;
  if (++generation > GEN_MAX) {
    if (cache != 0) memory.fill(cache, 0, <usize>tableSlots << 2);
    generation = 1;
  }
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

/** Drop what the cache holds for a table slot (the slot now holds another device, or a restored one). */
export function inventoryForget(slot: u32): void {
  if (cache != 0) store<u32>(cache + (<usize>slot << 2), 0);
}

/** A slot's cache entry (to touch its line ahead of time). */
export function inventoryCacheProbe(slot: u32): u64 {
  return <u64>load<u32>(cache + (<usize>slot << 2));
}

/** The fields an event presents, as cache bits. */
@inline function presentOf(has: u32): u32 {
  return ((has & Has.CREDENTIAL) != 0 ? PRESENT_CRED : 0) | ((has & Has.SOURCE) != 0 ? PRESENT_SOURCE : 0) | ((has & Has.FIRMWARE) != 0 ? PRESENT_FIRMWARE : 0);
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
 * Check one valid parsed event (`pr`) of the device `device` in table slot `s` (record
 * `rec`, already scored), arriving at `a`. `same`: the event presented what the record
 * held before scoring (inventorySameAsRecord then); if so and the slot's cache entry is
 * of this inventory and these fields, the entry is the verdict; else the image is read
 * and the entry rewritten.
 */
export function checkInventoryCached(pr: usize, a: f64, s: u32, device: u64, rec: usize, same: bool): void {
  const present = presentOf(load<u32>(pr + P.FLAGS));
  const at = cache + (<usize>s << 2);
  const tag = load<u32>(at);
  if (same && (tag & KEY_MASK) == ((generation << GEN_SHIFT) | present) && a < <f64>(tag >>> UNTIL_SHIFT) * UNTIL_UNIT) {
    if ((tag & OUT_REVOKED) != 0) flag(B_REVOKED_CREDENTIAL, S_REVOKED_CREDENTIAL, -1, -1, 0, 0);
    if ((tag & OUT_UNKNOWN) != 0) flag(B_UNKNOWN_DEVICE, S_UNKNOWN_DEVICE, -1, -1, deviceCount, 0);
    return;
  }
  checkInventory(pr, a, inventoryEntry(device));
  // what the check raised: the inventory's reason bits, which nothing else sets
  const raised = findingReasons() & INVENTORY_REASONS;
  // kept only for a verdict of nothing, revoked_credential and/or unknown_device, and only
  // when the record now holds what the event presented (not so after a replay, say)
  if ((raised & ~(((<u32>1) << B_REVOKED_CREDENTIAL) | ((<u32>1) << B_UNKNOWN_DEVICE))) != 0 || !inventorySameAsRecord(pr, rec)) {
    store<u32>(at, 0);
    return;
  }
  let outcome: u32 = 0;
  if ((raised & ((<u32>1) << B_REVOKED_CREDENTIAL)) != 0) outcome |= OUT_REVOKED;
  if ((raised & ((<u32>1) << B_UNKNOWN_DEVICE)) != 0) outcome |= OUT_UNKNOWN;
  const e = matchedExpires;
  const until: u32 = e >= <f64>UNTIL_MAX * UNTIL_UNIT ? UNTIL_MAX : e < UNTIL_UNIT ? 0 : <u32>Math.floor(e / UNTIL_UNIT);
  store<u32>(at, (until << UNTIL_SHIFT) | (generation << GEN_SHIFT) | outcome | present);
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
