// Inventory checks of the reference core: the steps of assembly/inventory.ts over the
// same image (src/inventory/image.ts), read through a DataView.

import { Findings, EventInput, S, sourceNumber } from './detectors';
import { CRED_SIZE, FLAG_DEVICES, H, INVENTORY_MAGIC, RULE_IPV4, RULE_SIZE, SLOT, SLOT_SIZE } from '../../inventory/image';

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
    const d = this.lookup(this.devicesAt, this.deviceSlots, SLOT_SIZE, e.deviceHi, e.deviceLo);
    if (d < 0) {
      f.flag(B_UNKNOWN_DEVICE, S.UNKNOWN_DEVICE, -1, -1, this.deviceCount, 0);
      return;
    }
    const entry = this.devicesAt + d * SLOT_SIZE;
    const credCount = v.getUint16(entry + SLOT.CRED_COUNT, true);
    const ruleCount = v.getUint16(entry + SLOT.RULE_COUNT, true);
    const overflow = v.getUint32(entry + SLOT.OVERFLOW, true);
    // credential i sits in the slot (i = 0) or in the overflow; rules follow the overflow credentials
    const credAt = (i: number) => (i === 0 ? entry + SLOT.CRED : overflow + (i - 1) * CRED_SIZE);
    const ruleAt = (j: number) => (j === 0 ? entry + SLOT.RULE : overflow + (credCount > 1 ? credCount - 1 : 0) * CRED_SIZE + (j - 1) * RULE_SIZE);
    if (credCount > 0) {
      if (!e.hasCred) f.flag(B_CREDENTIAL_NOT_ENROLLED, S.CREDENTIAL_NOT_ENROLLED, -1, 0, credCount, 0);
      else {
        let i = 0;
        while (i < credCount && !this.is(credAt(i), e.credHi, e.credLo)) i++;
        if (i === credCount) f.flag(B_CREDENTIAL_NOT_ENROLLED, S.CREDENTIAL_NOT_ENROLLED, -1, 1, credCount, 0);
        else {
          const expires = v.getFloat64(credAt(i) + 16, true);
          if (a >= expires) f.flag(B_CREDENTIAL_EXPIRED, S.CREDENTIAL_EXPIRED, expires, a, v.getFloat64(credAt(i) + 8, true), 0);
        }
      }
    }
    if (ruleCount > 0 && e.hasSource) {
      const isIpv4 = e.sourceHi >= 0x80000000;
      let allowed = false;
      for (let j = 0; j < ruleCount && !allowed; j++) {
        const r = ruleAt(j);
        if (v.getUint32(r, true) === RULE_IPV4) allowed = isIpv4 && ((e.sourceLo & v.getUint32(r + 4, true)) >>> 0) === v.getUint32(r + 8, true);
        else allowed = this.is(r + 8, e.sourceHi, e.sourceLo);
      }
      if (!allowed) f.flag(B_SOURCE_OUT_OF_RANGE, S.SOURCE_OUT_OF_RANGE, -1, sourceNumber(e.sourceHi, e.sourceLo), ruleCount, 0);
    }
    const minimum = v.getFloat64(entry + SLOT.MIN_FIRMWARE, true);
    if (minimum >= 0 && e.hasFirmware && e.firmware < minimum) {
      f.flag(B_FIRMWARE_BELOW_MINIMUM, S.FIRMWARE_BELOW_MINIMUM, minimum, e.firmware, 0, 0);
    }
  }
}
