// Fleet options: a documented interface, the defaults, and one place that validates and
// resolves them (profiles first, then explicit options on top).

import { ATTACK_TYPES, type AttackType } from './attacks';
import { DEVICE_CLASSES, DEVICE_CLASS_NAMES, type DeviceClassName } from './classes';

/** 2024-11-25T00:00:00Z: a fixed default so that runs are reproducible. */
export const DEFAULT_START = Date.UTC(2024, 10, 25, 0, 0, 0);

export type FleetProfile = 'default' | 'bench';

export interface FleetOptions {
  /** Number of fleet devices (1 … 1,000,000). */
  devices: number;
  /** Simulated duration in hours (> 0, ≤ 8,760; fractions allowed). */
  hours: number;
  /** Same seed (and options) → byte-identical output. 42 and "42" are the same seed. */
  seed: number | string;
  /** Simulated start, ms since epoch. Default DEFAULT_START. */
  start?: number;
  /**
   * Number of attacks, each on a distinct victim. Default: round(devices / 40), at least one
   * of each type when devices ≥ 40; with fewer devices, min(types, floor(devices / 2)).
   */
  attacks?: number;
  /** Attack types to draw from, assigned round-robin in this order. Default ATTACK_TYPES. */
  attackTypes?: readonly AttackType[];
  /** Benign changes per device per day (reboots, DHCP, rotations, …). Default 0.25; 0 = none. */
  benignRate?: number;
  /** Relative weights of the device classes. Default: each class's `weight`. */
  classes?: Partial<Record<DeviceClassName, number>>;
  /** Write `"arrivalTs"` (ms) into every line. Default false. */
  arrivalField?: boolean;
  /** Exactly this many metrics per device (0 … 8): a class's own first, then generic m<i>. */
  metricsPerDevice?: number;
  /** Pad every line with a `"pad"` field up to this many bytes (lines already longer stay as they are). */
  messageBytes?: number;
  /** `bench`: ~200-byte lines, exactly 2 metrics per device, no attacks. Explicit options win. */
  profile?: FleetProfile;
}

export interface ResolvedFleetOptions {
  devices: number;
  hours: number;
  seed: number | string;
  start: number;
  end: number;
  attacks: number;
  attackTypes: readonly AttackType[];
  benignRate: number;
  classWeights: Record<DeviceClassName, number>;
  arrivalField: boolean;
  metricsPerDevice: number | null;
  messageBytes: number | null;
  profile: FleetProfile;
}

export const DEFAULT_BENIGN_RATE = 0.25;
export const MAX_DEVICES = 1_000_000;
export const MAX_HOURS = 8_760;
export const MAX_METRICS_PER_DEVICE = 8;

const PROFILES: Readonly<Record<FleetProfile, Partial<FleetOptions>>> = {
  default: {},
  bench: { attacks: 0, metricsPerDevice: 2, messageBytes: 200 },
};

/** Default attack count for a fleet size (see FleetOptions.attacks). */
export function defaultAttackCount(devices: number, types: number = ATTACK_TYPES.length): number {
  if (types <= 0) return 0;
  if (devices >= 40) return Math.max(types, Math.round(devices / 40));
  return Math.min(types, Math.floor(devices / 2));
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Validate and fill in defaults. Throws RangeError with a one-line message. */
export function resolveFleetOptions(opts: FleetOptions): ResolvedFleetOptions {
  if (opts === null || typeof opts !== 'object') throw new RangeError('fleet options must be an object');
  const profile: FleetProfile = opts.profile ?? 'default';
  if (!(profile in PROFILES)) throw new RangeError(`profile must be one of ${Object.keys(PROFILES).join(', ')}, got ${String(profile)}`);
  const o: FleetOptions = { ...PROFILES[profile] } as FleetOptions;
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;

  if (!isInt(o.devices) || o.devices < 1 || o.devices > MAX_DEVICES) {
    throw new RangeError(`devices must be an integer from 1 to ${MAX_DEVICES}, got ${String(o.devices)}`);
  }
  if (typeof o.hours !== 'number' || !Number.isFinite(o.hours) || o.hours <= 0 || o.hours > MAX_HOURS) {
    throw new RangeError(`hours must be a number above 0 and at most ${MAX_HOURS}, got ${String(o.hours)}`);
  }
  if (typeof o.seed === 'number' ? !Number.isFinite(o.seed) : typeof o.seed !== 'string' || o.seed === '') {
    throw new RangeError(`seed must be a finite number or a non-empty string, got ${String(o.seed)}`);
  }
  const start = o.start ?? DEFAULT_START;
  if (!isInt(start) || start < 0 || start > 8.64e15) throw new RangeError(`start must be an integer ms epoch, got ${String(o.start)}`);

  const attackTypes = o.attackTypes ?? ATTACK_TYPES;
  if (!Array.isArray(attackTypes)) throw new RangeError('attackTypes must be an array');
  for (const t of attackTypes) {
    if (!(ATTACK_TYPES as readonly string[]).includes(t)) throw new RangeError(`unknown attack type ${String(t)} (known: ${ATTACK_TYPES.join(', ')})`);
  }
  const attacks = o.attacks ?? defaultAttackCount(o.devices, attackTypes.length);
  if (!isInt(attacks) || attacks < 0) throw new RangeError(`attacks must be a non-negative integer, got ${String(o.attacks)}`);
  if (attacks > o.devices) throw new RangeError(`attacks (${attacks}) cannot exceed devices (${o.devices}): each attack needs its own victim`);
  if (attacks > 0 && attackTypes.length === 0) throw new RangeError('attacks requested but attackTypes is empty');

  const benignRate = o.benignRate ?? DEFAULT_BENIGN_RATE;
  if (typeof benignRate !== 'number' || !Number.isFinite(benignRate) || benignRate < 0 || benignRate > 100) {
    throw new RangeError(`benignRate must be a number from 0 to 100 (changes per device per day), got ${String(o.benignRate)}`);
  }

  const classWeights = {} as Record<DeviceClassName, number>;
  let total = 0;
  for (const name of DEVICE_CLASS_NAMES) {
    const w = o.classes ? (o.classes[name] ?? 0) : DEVICE_CLASSES[name].weight;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw new RangeError(`class weight of ${name} must be a non-negative number, got ${String(w)}`);
    classWeights[name] = w;
    total += w;
  }
  if (o.classes) {
    for (const k of Object.keys(o.classes)) {
      if (!(DEVICE_CLASS_NAMES as readonly string[]).includes(k)) throw new RangeError(`unknown device class ${k} (known: ${DEVICE_CLASS_NAMES.join(', ')})`);
    }
  }
  if (total <= 0) throw new RangeError('class weights must not all be zero');

  const metricsPerDevice = o.metricsPerDevice ?? null;
  if (metricsPerDevice !== null && (!isInt(metricsPerDevice) || metricsPerDevice < 0 || metricsPerDevice > MAX_METRICS_PER_DEVICE)) {
    throw new RangeError(`metricsPerDevice must be an integer from 0 to ${MAX_METRICS_PER_DEVICE}, got ${String(metricsPerDevice)}`);
  }
  const messageBytes = o.messageBytes ?? null;
  if (messageBytes !== null && (!isInt(messageBytes) || messageBytes < 0 || messageBytes > 65_536)) {
    throw new RangeError(`messageBytes must be an integer from 0 to 65536, got ${String(messageBytes)}`);
  }

  return {
    devices: o.devices,
    hours: o.hours,
    seed: o.seed,
    start,
    end: start + Math.round(o.hours * 3_600_000),
    attacks,
    attackTypes: [...attackTypes],
    benignRate,
    classWeights,
    arrivalField: o.arrivalField === true,
    metricsPerDevice,
    messageBytes,
    profile,
  };
}
