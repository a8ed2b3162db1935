// Inventory checks against the image built by src/inventory/image.ts (read that file for
// the format), the same steps as src/core/reference/inventory.ts. The image lives in a
// region of linear memory JS fills between batches; `inventoryUse` switches it in at
// once, so a reload is atomic for the scoring loop.

import { P, Has } from "./layout";
import { flag, sourceNumber } from "./detectors";

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

let region: usize = 0;
let regionCap: usize = 0;
export let inventoryOn: bool = false;
let listsDevices: bool = false;
let deviceSlots: u32 = 0;
let revokedSlots: u32 = 0;
let devicesAt: usize = 0;
let entriesAt: usize = 0;
let credsAt: usize = 0;
let rulesAt: usize = 0;
let revokedAt: usize = 0;
let deviceCount: f64 = 0;

/** A region of at least `bytes` for JS to write an image into (grown, never shrunk). */
export function inventoryReserve(bytes: u32): usize {
  if (<usize>bytes > regionCap) {
    regionCap = <usize>bytes + (<usize>bytes >> 1);
    region = (heap.alloc(regionCap + 8) + 7) & ~(<usize>7);
  }
  return region;
}

/** Switch to the image JS wrote at the reserved region (`bytes` 0: no inventory). Returns false for a bad header. */
export function inventoryUse(bytes: u32): bool {
  inventoryOn = false;
  if (bytes == 0) return true;
  const h = region;
  if (load<u32>(h) != MAGIC || load<u32>(h + 40) != bytes) return false;
  listsDevices = (load<u32>(h + 4) & FLAG_DEVICES) != 0;
  deviceSlots = load<u32>(h + 8);
  revokedSlots = load<u32>(h + 12);
  devicesAt = h + <usize>load<u32>(h + 16);
  entriesAt = h + <usize>load<u32>(h + 20);
  credsAt = h + <usize>load<u32>(h + 24);
  rulesAt = h + <usize>load<u32>(h + 28);
  revokedAt = h + <usize>load<u32>(h + 32);
  deviceCount = <f64>load<u32>(h + 36);
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

/** Check one valid parsed event (`pr`) arriving at `a` against the inventory. */
export function checkInventory(pr: usize, a: f64): void {
  const has = load<u32>(pr + P.FLAGS);
  const hasCred = (has & Has.CREDENTIAL) != 0;
  const cred = load<u64>(pr + P.CRED_HASH);
  if (hasCred && lookup(revokedAt, revokedSlots, 8, cred) >= 0) flag(B_REVOKED_CREDENTIAL, S_REVOKED_CREDENTIAL, -1, -1, 0, 0);
  if (!listsDevices) return;
  const d = lookup(devicesAt, deviceSlots, 16, load<u64>(pr + P.DEVICE_HASH));
  if (d < 0) {
    flag(B_UNKNOWN_DEVICE, S_UNKNOWN_DEVICE, -1, -1, deviceCount, 0);
    return;
  }
  const e = entriesAt + <usize>load<u32>(devicesAt + <usize>d * 16 + 8) * 32;
  const credCount = load<u32>(e + 12);
  if (credCount > 0) {
    if (!hasCred) flag(B_CREDENTIAL_NOT_ENROLLED, S_CREDENTIAL_NOT_ENROLLED, -1, 0, <f64>credCount, 0);
    else {
      let c = credsAt + <usize>load<u32>(e + 8) * 24;
      const end = c + <usize>credCount * 24;
      while (c < end && load<u64>(c) != cred) c += 24;
      if (c == end) flag(B_CREDENTIAL_NOT_ENROLLED, S_CREDENTIAL_NOT_ENROLLED, -1, 1, <f64>credCount, 0);
      else {
        const expires = load<f64>(c + 16);
        if (a >= expires) flag(B_CREDENTIAL_EXPIRED, S_CREDENTIAL_EXPIRED, expires, a, load<f64>(c + 8), 0);
      }
    }
  }
  const ruleCount = load<u32>(e + 20);
  if (ruleCount > 0 && (has & Has.SOURCE) != 0) {
    const src = load<u64>(pr + P.SOURCE_HASH);
    const isIpv4 = <u32>(src >> 32) >= 0x80000000;
    let r = rulesAt + <usize>load<u32>(e + 16) * 16;
    const end = r + <usize>ruleCount * 16;
    let allowed = false;
    while (r < end) {
      if (load<u32>(r) == RULE_IPV4) {
        if (isIpv4 && (<u32>src & load<u32>(r + 4)) == load<u32>(r + 8)) allowed = true;
      } else if (load<u64>(r + 8) == src) allowed = true;
      if (allowed) break;
      r += 16;
    }
    if (!allowed) flag(B_SOURCE_OUT_OF_RANGE, S_SOURCE_OUT_OF_RANGE, -1, sourceNumber(src), <f64>ruleCount, 0);
  }
  const minimum = load<f64>(e);
  if (minimum >= 0 && (has & Has.FIRMWARE) != 0) {
    const fw = load<f64>(pr + P.FIRMWARE);
    if (fw < minimum) flag(B_FIRMWARE_BELOW_MINIMUM, S_FIRMWARE_BELOW_MINIMUM, minimum, fw, 0, 0);
  }
}
