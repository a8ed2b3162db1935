// The device inventory as the rest of the program sees it: what the operator enrolled
// (credentials with their validity, allowed source networks, minimum firmware, labels)
// and which credentials are revoked. Loading and validating files is src/inventory/load.ts;
// turning this into the tables the scoring core checks is src/inventory/image.ts.

import { firmwareOf } from '../core/reference/parse';

/** A credential enrolled for a device. Times are ms since epoch. */
export interface EnrolledCredential {
  /** As it appears in telemetry's `credential` field (fingerprint or token id). */
  id: string;
  issuedAt?: number;
  expiresAt?: number;
}

/** Where a device may send from: an IPv4 network, or one exact source string. */
export type SourceRule = { kind: 'ipv4'; text: string; network: number; prefix: number } | { kind: 'exact'; text: string };

export interface InventoryDevice {
  deviceId: string;
  /** Empty: the inventory does not constrain this device's credential. */
  credentials: EnrolledCredential[];
  /** Empty: any source is allowed. */
  sources: SourceRule[];
  /** `MAJOR.MINOR.PATCH`. */
  minFirmware?: string;
  class?: string;
  owner?: string;
  site?: string;
}

export interface Inventory {
  /** Undefined when only a revocation list is configured: then no device is "unknown". */
  devices?: Map<string, InventoryDevice>;
  /** Revoked credential ids. */
  revoked: Set<string>;
}

/** `a.b.c.d/n` or `a.b.c.d` (a /32) → an IPv4 rule; anything else that is not IPv6 → exact. Throws with a reason. */
export function parseSourceRule(text: string): SourceRule {
  const t = text.trim();
  if (t === '') throw new Error('empty source');
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(t);
  if (m) {
    const parts = m.slice(1, 5).map(Number);
    if (parts.some((p) => p > 255)) throw new Error(`"${t}" is not an IPv4 address`);
    const prefix = m[5] === undefined ? 32 : Number(m[5]);
    if (prefix > 32) throw new Error(`"${t}": prefix /${prefix} is longer than 32`);
    const address = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
    const network = (address & maskOf(prefix)) >>> 0;
    if (network !== address) throw new Error(`"${t}" has host bits set (network is ${ipv4Text(network)}/${prefix})`);
    return { kind: 'ipv4', text: t, network, prefix };
  }
  if (t.includes('/')) throw new Error(`"${t}": only IPv4 networks (a.b.c.d/n) are supported as prefixes; list other sources exactly`);
  return { kind: 'exact', text: t };
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function ipv4Text(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Packed firmware (as the parser packs telemetry's `firmware`), or throws. */
export function packFirmware(text: string): number {
  const v = firmwareOf(text.trim());
  if (v < 0) throw new Error(`"${text}" is not a MAJOR.MINOR.PATCH version`);
  return v;
}
