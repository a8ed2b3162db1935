// The inventory as the scoring core reads it: one flat little-endian byte image with
// hash tables keyed by the same 64-bit hashes the parser computes for deviceId,
// credential and source, so a check costs one or two probes and no string compare.
// Both cores read this same image (the WASM core from linear memory, the reference
// through a DataView); building it is the only place that walks the inventory.
//
//   header   (HEADER bytes)   see H below
//   devices  deviceSlots × 16 u64 device hash (0 = empty), u32 entry index, u32 0
//   entries  count × 32       f64 minFirmware (−1: none), u32 credStart, u32 credCount,
//                             u32 ruleStart, u32 ruleCount, u64 0
//   creds    × 24             u64 credential hash, f64 issuedAt (−1: unknown), f64 expiresAt (+∞: none)
//   rules    × 16             u32 kind (0 IPv4 network, 1 exact source), u32 mask, u64 value
//                             (IPv4: the network address in the low word; exact: its source code)
//   revoked  revokedSlots × 8 u64 credential hash (0 = empty)
//
// Tables are open-addressed with linear probing from (lo & (slots − 1)); slots are a
// power of two at least twice the entries, so probes stay short and always end.

import { hashOut, hashString, sourceCodeString } from '../core/reference/hash';
import { Inventory, maskOf, packFirmware } from './model';

export const INVENTORY_MAGIC = 0x31564e49; // "INV1"
/** Header fields (u32 each). */
export const H = {
  MAGIC: 0,
  FLAGS: 4, // bit 0: devices are listed (an id not listed is unknown)
  DEVICE_SLOTS: 8,
  REVOKED_SLOTS: 12,
  DEVICES: 16, // byte offsets of the sections
  ENTRIES: 20,
  CREDS: 24,
  RULES: 28,
  REVOKED: 32,
  DEVICE_COUNT: 36,
  BYTES: 40,
} as const;
export const HEADER = 48;
export const FLAG_DEVICES = 1;
export const RULE_IPV4 = 0;
export const RULE_EXACT = 1;

function tableSize(n: number): number {
  let s = 8;
  while (s < 2 * n) s *= 2;
  return s;
}

/** Probe for `hi:lo` in a table of u64 keys with `stride` bytes per slot; returns the slot, empty or matching. */
function probe(view: DataView, base: number, slots: number, stride: number, hi: number, lo: number): number {
  let i = lo & (slots - 1);
  for (;;) {
    const at = base + i * stride;
    const klo = view.getUint32(at, true);
    const khi = view.getUint32(at + 4, true);
    if ((klo === 0 && khi === 0) || (klo === lo && khi === hi)) return i;
    i = (i + 1) & (slots - 1);
  }
}

/** The byte image of an inventory (throws on values the model should have rejected). */
export function buildInventoryImage(inv: Inventory): Uint8Array {
  const devices = inv.devices ? [...inv.devices.values()] : [];
  const deviceSlots = inv.devices ? tableSize(devices.length) : 0;
  const revokedSlots = tableSize(inv.revoked.size);
  let credCount = 0;
  let ruleCount = 0;
  for (const d of devices) {
    credCount += d.credentials.length;
    ruleCount += d.sources.length;
  }
  const offDevices = HEADER;
  const offEntries = offDevices + deviceSlots * 16;
  const offCreds = offEntries + devices.length * 32;
  const offRules = offCreds + credCount * 24;
  const offRevoked = offRules + ruleCount * 16;
  const bytes = offRevoked + revokedSlots * 8;
  const image = new Uint8Array(bytes);
  const v = new DataView(image.buffer);
  v.setUint32(H.MAGIC, INVENTORY_MAGIC, true);
  v.setUint32(H.FLAGS, inv.devices ? FLAG_DEVICES : 0, true);
  v.setUint32(H.DEVICE_SLOTS, deviceSlots, true);
  v.setUint32(H.REVOKED_SLOTS, revokedSlots, true);
  v.setUint32(H.DEVICES, offDevices, true);
  v.setUint32(H.ENTRIES, offEntries, true);
  v.setUint32(H.CREDS, offCreds, true);
  v.setUint32(H.RULES, offRules, true);
  v.setUint32(H.REVOKED, offRevoked, true);
  v.setUint32(H.DEVICE_COUNT, devices.length, true);
  v.setUint32(H.BYTES, bytes, true);

  let cred = 0;
  let rule = 0;
  devices.forEach((d, e) => {
    hashString(d.deviceId);
    const slot = probe(v, offDevices, deviceSlots, 16, hashOut.hi, hashOut.lo);
    const at = offDevices + slot * 16;
    if (v.getUint32(at, true) !== 0 || v.getUint32(at + 4, true) !== 0) throw new Error(`device ${d.deviceId} is listed twice (or its id hash collides)`);
    v.setUint32(at, hashOut.lo, true);
    v.setUint32(at + 4, hashOut.hi, true);
    v.setUint32(at + 8, e, true);
    const en = offEntries + e * 32;
    v.setFloat64(en, d.minFirmware === undefined ? -1 : packFirmware(d.minFirmware), true);
    v.setUint32(en + 8, cred, true);
    v.setUint32(en + 12, d.credentials.length, true);
    v.setUint32(en + 16, rule, true);
    v.setUint32(en + 20, d.sources.length, true);
    for (const c of d.credentials) {
      hashString(c.id);
      const at = offCreds + cred++ * 24;
      v.setUint32(at, hashOut.lo, true);
      v.setUint32(at + 4, hashOut.hi, true);
      v.setFloat64(at + 8, c.issuedAt ?? -1, true);
      v.setFloat64(at + 16, c.expiresAt ?? Infinity, true);
    }
    for (const r of d.sources) {
      const at = offRules + rule++ * 16;
      if (r.kind === 'ipv4') {
        v.setUint32(at, RULE_IPV4, true);
        v.setUint32(at + 4, maskOf(r.prefix), true);
        v.setUint32(at + 8, r.network, true);
      } else {
        sourceCodeString(r.text);
        v.setUint32(at, RULE_EXACT, true);
        v.setUint32(at + 8, hashOut.lo, true);
        v.setUint32(at + 12, hashOut.hi, true);
      }
    }
  });
  for (const id of inv.revoked) {
    hashString(id);
    const slot = probe(v, offRevoked, revokedSlots, 8, hashOut.hi, hashOut.lo);
    v.setUint32(offRevoked + slot * 8, hashOut.lo, true);
    v.setUint32(offRevoked + slot * 8 + 4, hashOut.hi, true);
  }
  return image;
}
