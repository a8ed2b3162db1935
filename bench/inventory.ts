// The inventory bench:core and race-core check against: every device of the stream
// enrolled with the credential and /24 network of its first message and a minimum
// firmware, so each check runs its whole path; padded with devices that never send to
// 100,000; two revoked credentials nobody uses.

import { InventoryDevice, parseSourceRule } from '../src/inventory/model';

export const BENCH_INVENTORY_DEVICES = 100_000;

export function benchInventory(messages: readonly Uint8Array[]): { devices: Map<string, InventoryDevice>; revoked: Set<string> } {
  const devices = new Map<string, InventoryDevice>();
  for (const bytes of messages) {
    const m = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString()) as { deviceId: string; credential?: string; source?: string };
    if (devices.has(m.deviceId)) continue;
    const net = m.source && /^\d+\.\d+\.\d+\.\d+$/.test(m.source) ? m.source.replace(/\.\d+$/, '.0/24') : undefined;
    devices.set(m.deviceId, {
      deviceId: m.deviceId,
      credentials: m.credential ? [{ id: m.credential, issuedAt: 0 }] : [],
      sources: net ? [parseSourceRule(net)] : [],
      minFirmware: '1.0.0',
    });
  }
  for (let i = 0; devices.size < BENCH_INVENTORY_DEVICES; i++) {
    devices.set(`spare-${i}`, { deviceId: `spare-${i}`, credentials: [{ id: `tok-spare-${i}` }], sources: [parseSourceRule('10.0.0.0/8')] });
  }
  return { devices, revoked: new Set(['tok-revoked-1', 'tok-revoked-2']) };
}
