// Inventory checks of the reference core: the steps of assembly/inventory.ts over the
// same image (src/inventory/image.ts), read through a DataView, and its verdict cache.

import { Findings, EventInput, S, sourceNumber } from './detectors';
import type { DeviceState } from './state';
import { CRED_SIZE, FLAG_DEVICES, H, isInventoryImage, RULE_IPV4, RULE_SIZE, SLOT, SLOT_SIZE } from '../../inventory/image';

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
    if (!isInventoryImage(image)) throw new Error('not an inventory image');
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

  /** The expiry of the credential the last check matched (+∞: none, or it never expires). */
  matchedExpires = Infinity;

  /** Flags what the event breaks (and leaves the matched credential's expiry in matchedExpires). */
  check(e: EventInput, a: number, f: Findings): void {
    const v = this.v;
    this.matchedExpires = Infinity;
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
          this.matchedExpires = expires;
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

  /** What a cached verdict raises: revoked_credential and/or unknown_device, as the check would. */
  replay(tag: number, f: Findings): void {
    if (tag & OUT_REVOKED) f.flag(B_REVOKED_CREDENTIAL, S.REVOKED_CREDENTIAL, -1, -1, 0, 0);
    if (tag & OUT_UNKNOWN) f.flag(B_UNKNOWN_DEVICE, S.UNKNOWN_DEVICE, -1, -1, this.deviceCount, 0);
  }
}

// The verdict cache of assembly/inventory.ts (its comment explains it): a u16 entry per
// device, in its state (DeviceState.inventory, which scoring clears when it changes the
// credential, source or firmware held or replays) — the fields the checked event presented,
// what it raised (only nothing, revoked_credential, unknown_device), and a lower bound on
// the matched credential's expiry in 2^23 ms steps from expiryBase.
const ENTRY = 1;
const PRESENT_MASK = 0xe; // Has.SOURCE | Has.CREDENTIAL | Has.FIRMWARE
const KEY_MASK = 0xf;
const OUT_REVOKED = 16;
const OUT_UNKNOWN = 32;
const UNTIL_SHIFT = 6;
const UNTIL_MAX = 0x3ff;
const UNTIL_UNIT = 8388608;
const REBASE_AFTER = 512 * UNTIL_UNIT;
const CACHEABLE = (1 << B_REVOKED_CREDENTIAL) | (1 << B_UNKNOWN_DEVICE);
const INVENTORY_REASONS = 0x3f << B_UNKNOWN_DEVICE; // bits 11–16

export class InventoryCache {
  private expiryBase = -1;
  private entries = false;

  /** `enabled` false: every event is checked against the image (the tests' oracle for the cache). */
  constructor(
    private readonly st: DeviceState,
    private readonly enabled = true,
  ) {}

  /** Clear every entry: another image (or none) switched in, or the expiry base moves. */
  sweep(): void {
    const st = this.st;
    if (this.entries) for (let s = 0; s < st.slots; s++) if (st.keyHi[s] !== 0 || st.keyLo[s] !== 0) st.inventory[s] = 0;
    this.entries = false;
    this.expiryBase = -1;
  }

  /** Whether every field the event presents equals what the device's record holds. */
  static sameAsRecord(e: EventInput, st: DeviceState, s: number): boolean {
    return (
      (!e.hasCred || (e.credHi === st.credHi[s] && e.credLo === st.credLo[s])) &&
      (!e.hasSource || (e.sourceHi === st.sourceHi[s] && e.sourceLo === st.sourceLo[s])) &&
      (!e.hasFirmware || e.firmware === st.firmware[s])
    );
  }

  /**
   * Check an event of slot `s` (already scored; `has`: its Has bits) against `inv`: from
   * the slot's entry when it presents the fields the entry was checked with and the
   * credential had not expired by `a`, else by the image, rewriting the entry.
   */
  check(inv: InventoryCheck, e: EventInput, has: number, a: number, f: Findings, s: number): void {
    if (!this.enabled) {
      inv.check(e, a, f);
      return;
    }
    const st = this.st;
    const entry = st.inventory[s];
    if ((entry & KEY_MASK) === ((has & PRESENT_MASK) | ENTRY) && a < (entry >>> UNTIL_SHIFT) * UNTIL_UNIT + this.expiryBase) {
      inv.replay(entry, f);
      return;
    }
    inv.check(e, a, f);
    // what the check raised: the inventory's reason bits, which nothing else sets
    const raised = f.reasons & INVENTORY_REASONS;
    if ((raised & ~CACHEABLE) !== 0 || !InventoryCache.sameAsRecord(e, st, s)) {
      st.inventory[s] = 0;
      return;
    }
    if (this.expiryBase < 0) this.expiryBase = Math.floor(a / UNTIL_UNIT) * UNTIL_UNIT;
    else if (a - this.expiryBase >= REBASE_AFTER) {
      this.sweep();
      this.expiryBase = Math.floor(a / UNTIL_UNIT) * UNTIL_UNIT;
    }
    const x = inv.matchedExpires - this.expiryBase;
    const until = x >= UNTIL_MAX * UNTIL_UNIT ? UNTIL_MAX : Math.floor(x / UNTIL_UNIT);
    if (!(until >= 1)) {
      st.inventory[s] = 0;
      return;
    }
    const outcome = (raised & (1 << B_REVOKED_CREDENTIAL) ? OUT_REVOKED : 0) | (raised & (1 << B_UNKNOWN_DEVICE) ? OUT_UNKNOWN : 0);
    st.inventory[s] = (until << UNTIL_SHIFT) | outcome | (has & PRESENT_MASK) | ENTRY;
    this.entries = true;
  }
}
