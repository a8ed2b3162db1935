// The inventory as the scoring core reads it: one flat little-endian byte image with
// hash tables keyed by the same 64-bit hashes the parser computes for deviceId,
// credential and source, so a check costs one or two probes and no string compare.
// Both cores read this same image (the WASM core from linear memory, the reference
// through a DataView); building it is the only place that walks the inventory.
//
//   header   (HEADER bytes)   see H below; 64, so that with the image at a 64-byte
//                             boundary (where the WASM core puts it) every device slot is
//                             one cache line, not two halves of two
//   devices  deviceSlots × 64 one cache line per device, holding what a check needs in the
//                             usual case of one credential and one source rule:
//              @0  u64 device hash (0 = empty)   @8 f64 minFirmware (−1: none)
//              @16 u16 credCount  @18 u16 ruleCount  @20 u32 byte offset of the overflow (0: none)
//              @24 the first credential (CRED_SIZE)  @48 the first rule (RULE_SIZE)
//   overflow per device with more: credentials 2.. then rules 2..
//              credential: u64 hash, f64 issuedAt (−1: unknown), f64 expiresAt (+∞: none)
//              rule:       u32 kind (0 IPv4 network, 1 exact source), u32 mask, u64 value
//                          (IPv4: the network address in the low word; exact: its source code)
//   revoked  revokedSlots × 8 u64 credential hash (0 = empty)
//
// Tables are open-addressed with linear probing from (lo & (slots − 1)); slots are a
// power of two at least twice the entries, so probes stay short and always end.

import { hashOut, hashString, sourceCodeString } from '../core/reference/hash';
import { EnrolledCredential, Inventory, maskOf, packFirmware, SourceRule } from './model';

export const INVENTORY_MAGIC = 0x31564e49; // "INV1"
/** Header fields (u32 each). */
export const H = {
  MAGIC: 0,
  FLAGS: 4, // bit 0: devices are listed (an id not listed is unknown)
  DEVICE_SLOTS: 8,
  REVOKED_SLOTS: 12,
  DEVICES: 16, // byte offsets of the sections
  OVERFLOW: 20,
  REVOKED: 24,
  UNUSED_28: 28,
  UNUSED_32: 32,
  DEVICE_COUNT: 36,
  BYTES: 40,
} as const;
export const HEADER = 64;

/** Whether `image` has an image's header: the magic, and its own length where the header says. */
export function isInventoryImage(image: Uint8Array): boolean {
  if (image.byteLength < HEADER) return false;
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return v.getUint32(H.MAGIC, true) === INVENTORY_MAGIC && v.getUint32(H.BYTES, true) === image.byteLength;
}
export const FLAG_DEVICES = 1;
export const RULE_IPV4 = 0;
export const RULE_EXACT = 1;
/** Device slot fields and sizes. */
export const SLOT_SIZE = 64;
export const SLOT = { KEY: 0, MIN_FIRMWARE: 8, CRED_COUNT: 16, RULE_COUNT: 18, OVERFLOW: 20, CRED: 24, RULE: 48 } as const;
export const CRED_SIZE = 24;
export const RULE_SIZE = 16;
/** Most credentials or rules one device may list (u16 counts). */
export const MAX_PER_DEVICE = 65535;

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
  let overflowBytes = 0;
  for (const d of devices) {
    if (d.credentials.length > MAX_PER_DEVICE || d.sources.length > MAX_PER_DEVICE) throw new Error(`device ${d.deviceId} lists more than ${MAX_PER_DEVICE} credentials or sources`);
    overflowBytes += Math.max(d.credentials.length - 1, 0) * CRED_SIZE + Math.max(d.sources.length - 1, 0) * RULE_SIZE;
  }
  const offDevices = HEADER;
  const offOverflow = offDevices + deviceSlots * SLOT_SIZE;
  const offRevoked = offOverflow + overflowBytes;
  const bytes = offRevoked + revokedSlots * 8;
  const image = new Uint8Array(bytes);
  const v = new DataView(image.buffer);
  v.setUint32(H.MAGIC, INVENTORY_MAGIC, true);
  v.setUint32(H.FLAGS, inv.devices ? FLAG_DEVICES : 0, true);
  v.setUint32(H.DEVICE_SLOTS, deviceSlots, true);
  v.setUint32(H.REVOKED_SLOTS, revokedSlots, true);
  v.setUint32(H.DEVICES, offDevices, true);
  v.setUint32(H.OVERFLOW, offOverflow, true);
  v.setUint32(H.REVOKED, offRevoked, true);
  v.setUint32(H.DEVICE_COUNT, devices.length, true);
  v.setUint32(H.BYTES, bytes, true);

  const writeCred = (at: number, c: EnrolledCredential) => {
    hashString(c.id);
    v.setUint32(at, hashOut.lo, true);
    v.setUint32(at + 4, hashOut.hi, true);
    v.setFloat64(at + 8, c.issuedAt ?? -1, true);
    v.setFloat64(at + 16, c.expiresAt ?? Infinity, true);
  };
  const writeRule = (at: number, r: SourceRule) => {
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
  };
  let overflow = offOverflow;
  for (const d of devices) {
    hashString(d.deviceId);
    const at = offDevices + probe(v, offDevices, deviceSlots, SLOT_SIZE, hashOut.hi, hashOut.lo) * SLOT_SIZE;
    if (v.getUint32(at, true) !== 0 || v.getUint32(at + 4, true) !== 0) throw new Error(`device ${d.deviceId} is listed twice (or its id hash collides)`);
    v.setUint32(at + SLOT.KEY, hashOut.lo, true);
    v.setUint32(at + SLOT.KEY + 4, hashOut.hi, true);
    v.setFloat64(at + SLOT.MIN_FIRMWARE, d.minFirmware === undefined ? -1 : packFirmware(d.minFirmware), true);
    v.setUint16(at + SLOT.CRED_COUNT, d.credentials.length, true);
    v.setUint16(at + SLOT.RULE_COUNT, d.sources.length, true);
    const more = d.credentials.length > 1 || d.sources.length > 1;
    v.setUint32(at + SLOT.OVERFLOW, more ? overflow : 0, true);
    d.credentials.forEach((c, i) => {
      if (i === 0) writeCred(at + SLOT.CRED, c);
      else {
        writeCred(overflow, c);
        overflow += CRED_SIZE;
      }
    });
    d.sources.forEach((r, i) => {
      if (i === 0) writeRule(at + SLOT.RULE, r);
      else {
        writeRule(overflow, r);
        overflow += RULE_SIZE;
      }
    });
  }
  for (const id of inv.revoked) {
    hashString(id);
    const slot = probe(v, offRevoked, revokedSlots, 8, hashOut.hi, hashOut.lo);
    v.setUint32(offRevoked + slot * 8, hashOut.lo, true);
    v.setUint32(offRevoked + slot * 8 + 4, hashOut.hi, true);
  }
  return image;
}
