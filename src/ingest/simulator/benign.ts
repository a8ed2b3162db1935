// Benign changes: what real fleets do all day and a detector must not call an attack.
// Planned up front (device, time, parameters); applied by the device when its clock
// passes `at` (device.ts); labelled at the first line that shows the change.

import type { FleetPlan, DevicePlan } from './plan';
import type { CredentialPool } from './plan';
import type { ResolvedFleetOptions } from './options';
import type { Prng } from './prng';

export const BENIGN_TYPES = [
  'reboot', // silent 30–180 s, then seq restarts at 0 or 1; device time continues
  'dhcp_change', // new address in the same /24, then stays
  'credential_rotation', // new credential, same source, then stays
  'firmware_upgrade', // higher version, then stays
  'network_gap', // 1–5 min without messages; seq continues with a jump
  'duplicate', // one line delivered twice in a row
  'lost_messages', // 1–2 messages lost: seq jumps by 2–3
] as const;
export type BenignType = (typeof BENIGN_TYPES)[number];

/** Relative frequency of each type (BENIGN_TYPES order). */
const WEIGHTS = [3, 2, 1, 2, 3, 3, 4];

export interface BenignPlan {
  type: BenignType;
  device: number;
  /** Planned time, ms epoch: applied at the device's first send at or after it. */
  at: number;
  /** reboot: silent time; network_gap: length of the gap (ms). */
  durationMs?: number;
  /** reboot: seq after the reboot (0 or 1). */
  seqRestart?: number;
  /** dhcp_change: new last octet. */
  host?: number;
  /** credential_rotation: the new credential. */
  credential?: string;
  /** firmware_upgrade: uniform draw choosing among the newer versions. */
  pick?: number;
  /** lost_messages: messages lost (1–2). */
  count?: number;
  /** Filled when applied (from/to, gap, …), copied into the label. */
  detail?: Record<string, string | number>;
}

function eligible(type: BenignType, d: DevicePlan): boolean {
  switch (type) {
    case 'dhcp_change':
      return !d.nat;
    case 'credential_rotation':
      return d.credential !== null;
    case 'lost_messages':
      return d.cls.hasSeq;
    default:
      return true;
  }
}

/** Number of benign changes: benignRate per device per day, at least one of each type. */
export function benignCount(o: ResolvedFleetOptions): number {
  if (o.benignRate <= 0) return 0;
  return Math.max(BENIGN_TYPES.length, Math.round((o.benignRate * o.devices * o.hours) / 24));
}

/**
 * Plan the benign changes on devices that are not attack victims. Each device gets at
 * most one change while there are enough devices; then devices are reused.
 */
export function planBenign(
  o: ResolvedFleetOptions,
  plan: FleetPlan,
  victims: Uint8Array,
  prng: Prng,
  credentials: CredentialPool,
): BenignPlan[] {
  const order: number[] = [];
  for (let i = 0; i < plan.devices.length; i++) if (victims[i] === 0) order.push(i);
  prng.shuffle(order);
  if (order.length === 0) return [];
  const used = new Uint8Array(plan.devices.length);
  const cursor = new Array<number>(BENIGN_TYPES.length).fill(0);
  const runMs = o.end - o.start;
  const out: BenignPlan[] = [];
  const n = benignCount(o);

  const pickDevice = (t: number): number => {
    const type = BENIGN_TYPES[t];
    while (cursor[t] < order.length) {
      const i = order[cursor[t]++];
      if (used[i] === 0 && eligible(type, plan.devices[i])) return i;
    }
    const from = prng.int(0, order.length - 1); // every device used: reuse one
    for (let k = 0; k < order.length; k++) {
      const i = order[(from + k) % order.length];
      if (eligible(type, plan.devices[i])) return i;
    }
    return -1;
  };

  for (let k = 0; k < n; k++) {
    const t = k < BENIGN_TYPES.length ? k : prng.weighted(WEIGHTS);
    const type = BENIGN_TYPES[t];
    const device = pickDevice(t);
    if (device < 0) continue;
    used[device] = 1;
    const b: BenignPlan = { type, device, at: o.start + Math.round(prng.range(0.05, 0.85) * runMs) };
    switch (type) {
      case 'reboot':
        b.durationMs = prng.int(30, 180) * 1000;
        b.seqRestart = prng.int(0, 1);
        break;
      case 'dhcp_change':
        b.host = prng.int(210, 254);
        break;
      case 'credential_rotation':
        b.credential = credentials.next();
        break;
      case 'firmware_upgrade':
        b.pick = prng.float();
        break;
      case 'network_gap':
        b.durationMs = prng.int(60, 300) * 1000;
        break;
      case 'lost_messages':
        b.count = prng.int(1, 2);
        break;
      case 'duplicate':
        break;
    }
    out.push(b);
  }
  return out;
}
