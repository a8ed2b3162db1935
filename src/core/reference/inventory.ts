// Inventory checks of the reference core: the steps of assembly/inventory.ts over the
// same image (src/inventory/image.ts), read through a DataView.

import { Findings, EventInput, S, sourceNumber } from './detectors';
import { FLAG_DEVICES, H, INVENTORY_MAGIC, RULE_IPV4 } from '../../inventory/image';

const B_UNKNOWN_DEVICE = 11;
const B_REVOKED_CREDENTIAL = 12;
const B_CREDENTIAL_NOT_ENROLLED = 13;
const B_CREDENTIAL_EXPIRED = 14;
const B_SOURCE_OUT_OF_RANGE = 15;
const B_FIRMWARE_BELOW_MINIMUM = 16;

export class InventoryCheck {
  private readonly v: DataView;
  private readonly listsDevices: boolean;
  private readonly deviceSlots: number;
  private readonly revokedSlots: number;
  private readonly devicesAt: number;
  private readonly entriesAt: number;
  private readonly credsAt: number;
  private readonly rulesAt: number;
  private readonly revokedAt: number;
  private readonly deviceCount: number;

  constructor(image: Uint8Array) {
    const v = (this.v = new DataView(image.buffer, image.byteOffset, image.byteLength));
    if (v.getUint32(H.MAGIC, true) !== INVENTORY_MAGIC || v.getUint32(H.BYTES, true) !== image.byteLength) {
      throw new Error('not an inventory image');
    }
    this.listsDevices = (v.getUint32(H.FLAGS, true) & FLAG_DEVICES) !== 0;
    this.deviceSlots = v.getUint32(H.DEVICE_SLOTS, true);
    this.revokedSlots = v.getUint32(H.REVOKED_SLOTS, true);
    this.devicesAt = v.getUint32(H.DEVICES, true);
    this.entriesAt = v.getUint32(H.ENTRIES, true);
    this.credsAt = v.getUint32(H.CREDS, true);
    this.rulesAt = v.getUint32(H.RULES, true);
    this.revokedAt = v.getUint32(H.REVOKED, true);
    this.deviceCount = v.getUint32(H.DEVICE_COUNT, true);
  }

  private is(at: number, hi: number, lo: number): boolean {
    return this.v.getUint32(at, true) === lo && this.v.getUint32(at + 4, true) === hi;
  }

  /** Slot of hi:lo in a linear-probing table (`stride` bytes per slot, key first), or −1. */
  private lookup(base: number, slots: number, stride: number, hi: number, lo: number): number {
    if (slots === 0) return -1;
    const mask = slots - 1;
    let i = lo & mask;
    for (;;) {
      const at = base + i * stride;
      if (this.is(at, hi, lo)) return i;
      if (this.is(at, 0, 0)) return -1;
      i = (i + 1) & mask;
    }
  }

  check(e: EventInput, a: number, f: Findings): void {
    const v = this.v;
    if (e.hasCred && this.lookup(this.revokedAt, this.revokedSlots, 8, e.credHi, e.credLo) >= 0) {
      f.flag(B_REVOKED_CREDENTIAL, S.REVOKED_CREDENTIAL, -1, -1, 0, 0);
    }
    if (!this.listsDevices) return;
    const d = this.lookup(this.devicesAt, this.deviceSlots, 16, e.deviceHi, e.deviceLo);
    if (d < 0) {
      f.flag(B_UNKNOWN_DEVICE, S.UNKNOWN_DEVICE, -1, -1, this.deviceCount, 0);
      return;
    }
    const entry = this.entriesAt + v.getUint32(this.devicesAt + d * 16 + 8, true) * 32;
    const credCount = v.getUint32(entry + 12, true);
    if (credCount > 0) {
      if (!e.hasCred) f.flag(B_CREDENTIAL_NOT_ENROLLED, S.CREDENTIAL_NOT_ENROLLED, -1, 0, credCount, 0);
      else {
        let c = this.credsAt + v.getUint32(entry + 8, true) * 24;
        const end = c + credCount * 24;
        while (c < end && !this.is(c, e.credHi, e.credLo)) c += 24;
        if (c === end) f.flag(B_CREDENTIAL_NOT_ENROLLED, S.CREDENTIAL_NOT_ENROLLED, -1, 1, credCount, 0);
        else {
          const expires = v.getFloat64(c + 16, true);
          if (a >= expires) f.flag(B_CREDENTIAL_EXPIRED, S.CREDENTIAL_EXPIRED, expires, a, v.getFloat64(c + 8, true), 0);
        }
      }
    }
    const ruleCount = v.getUint32(entry + 20, true);
    if (ruleCount > 0 && e.hasSource) {
      const isIpv4 = e.sourceHi >= 0x80000000;
      let r = this.rulesAt + v.getUint32(entry + 16, true) * 16;
      const end = r + ruleCount * 16;
      let allowed = false;
      while (r < end) {
        if (v.getUint32(r, true) === RULE_IPV4) {
          if (isIpv4 && ((e.sourceLo & v.getUint32(r + 4, true)) >>> 0) === v.getUint32(r + 8, true)) allowed = true;
        } else if (this.is(r + 8, e.sourceHi, e.sourceLo)) allowed = true;
        if (allowed) break;
        r += 16;
      }
      if (!allowed) f.flag(B_SOURCE_OUT_OF_RANGE, S.SOURCE_OUT_OF_RANGE, -1, sourceNumber(e.sourceHi, e.sourceLo), ruleCount, 0);
    }
    const minimum = v.getFloat64(entry, true);
    if (minimum >= 0 && e.hasFirmware && e.firmware < minimum) {
      f.flag(B_FIRMWARE_BELOW_MINIMUM, S.FIRMWARE_BELOW_MINIMUM, minimum, e.firmware, 0, 0);
    }
  }
}
