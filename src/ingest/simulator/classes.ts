// Device classes of the simulated fleet: how often each kind of device reports, which
// optional fields it carries, its payload size, its firmware line and the physics of its
// sensor readings. Values are per-device draws from the ranges below, so two thermostats
// differ (own base temperature, amplitude, drift) but each one is stable over time.

export const DEVICE_CLASS_NAMES = [
  'thermostat',
  'power_meter',
  'camera',
  'gateway',
  'asset_tracker',
  'air_quality',
] as const;
export type DeviceClassName = (typeof DEVICE_CLASS_NAMES)[number];

/**
 * How a reading evolves:
 * - cycle: base + drift·days + amp·cos(2π(hour − peakHour)/24) + noise (temperatures, load)
 * - counter: cumulative, grows by `amp` per hour ± noise (energy meters)
 * - drain: falls by `amp` per hour, recharged to `max` when it reaches `min` (batteries)
 * - walk: bounded random walk of step `amp` around the base (GPS position)
 */
export type MetricModel = 'cycle' | 'counter' | 'drain' | 'walk';

export interface MetricSpec {
  readonly name: string;
  readonly model: MetricModel;
  /** Per-device base value range. */
  readonly base: readonly [number, number];
  /** Per-device daily amplitude (cycle), rate per hour (counter, drain), step (walk). */
  readonly amp: readonly [number, number];
  /** Per-device drift per day range (cycle only). */
  readonly drift: readonly [number, number];
  /** Standard deviation of the per-message noise. */
  readonly noise: number;
  /** Physical bounds: readings are clamped into them. */
  readonly min: number;
  readonly max: number;
  /** Decimals kept in the message (≤ 3). */
  readonly decimals: number;
  /** Hour of day (UTC) of the daily maximum. */
  readonly peakHour: number;
  /** A physically impossible reading used by the value_injection attack. */
  readonly implausible: number;
}

export interface DeviceClass {
  readonly name: DeviceClassName;
  /** deviceId prefix: `thermo-00042`. */
  readonly prefix: string;
  readonly intervalMs: number;
  /** Relative interval jitter: each gap is interval × (1 ± jitter). */
  readonly jitter: number;
  readonly hasSeq: boolean;
  readonly hasCredential: boolean;
  /** Chance that a device of this class sits behind a shared (NAT) address on an ordinary site. */
  readonly natShare: number;
  /** Per-device mean payload size range (`bytes` field) and relative spread per message. */
  readonly bytes: readonly [number, number];
  readonly bytesSpread: number;
  /** Firmware versions in the field, oldest first; `legacy` are older than all of them. */
  readonly firmware: readonly string[];
  readonly legacyFirmware: readonly string[];
  /** Default share of the fleet. */
  readonly weight: number;
  readonly metrics: readonly MetricSpec[];
}

function cycle(
  name: string,
  base: [number, number],
  amp: [number, number],
  noise: number,
  min: number,
  max: number,
  decimals: number,
  peakHour: number,
  implausible: number,
  drift: [number, number] = [0, 0],
): MetricSpec {
  return { name, model: 'cycle', base, amp, drift, noise, min, max, decimals, peakHour, implausible };
}

export const DEVICE_CLASSES: Readonly<Record<DeviceClassName, DeviceClass>> = {
  thermostat: {
    name: 'thermostat',
    prefix: 'thermo',
    intervalMs: 30_000,
    jitter: 0.1,
    hasSeq: true,
    hasCredential: true,
    natShare: 0.05,
    bytes: [180, 260],
    bytesSpread: 0.03,
    firmware: ['2.3.7', '2.4.0', '2.4.1'],
    legacyFirmware: ['1.9.4', '2.0.2', '2.1.0'],
    weight: 0.3,
    metrics: [
      cycle('temp', [19, 23.5], [0.8, 2.2], 0.08, -30, 60, 2, 16, 500, [-0.3, 0.3]),
      cycle('rh', [32, 55], [3, 8], 0.6, 0, 100, 1, 5, 250, [-0.5, 0.5]),
    ],
  },
  power_meter: {
    name: 'power_meter',
    prefix: 'meter',
    intervalMs: 60_000,
    jitter: 0.02,
    hasSeq: true,
    hasCredential: true,
    natShare: 0.05,
    bytes: [220, 300],
    bytesSpread: 0.02,
    firmware: ['4.1.0', '4.1.2', '4.2.0'],
    legacyFirmware: ['3.0.9', '3.8.1'],
    weight: 0.22,
    metrics: [
      cycle('power', [300, 2500], [150, 900], 40, 0, 20_000, 1, 19, 2_500_000),
      cycle('voltage', [228, 232], [0.5, 2], 0.4, 180, 260, 1, 3, 23_000),
      { name: 'kwh', model: 'counter', base: [1_000, 40_000], amp: [0.3, 2.5], drift: [0, 0], noise: 0.05, min: 0, max: 1e9, decimals: 3, peakHour: 0, implausible: -5_000 },
    ],
  },
  camera: {
    name: 'camera',
    prefix: 'cam',
    intervalMs: 5_000,
    jitter: 0.05,
    hasSeq: true,
    hasCredential: true,
    natShare: 0.1,
    bytes: [1_200, 2_600],
    bytesSpread: 0.15,
    firmware: ['7.2.3', '7.3.0', '7.3.1'],
    legacyFirmware: ['5.1.2', '6.4.9'],
    weight: 0.08,
    metrics: [
      cycle('fps', [24.5, 25], [0, 0.3], 0.2, 0, 30, 1, 12, 900),
      cycle('bitrate', [1_500, 4_000], [200, 900], 120, 0, 20_000, 0, 14, 9_000_000),
    ],
  },
  gateway: {
    name: 'gateway',
    prefix: 'gw',
    intervalMs: 10_000,
    jitter: 0.05,
    hasSeq: false,
    hasCredential: true,
    natShare: 0,
    bytes: [400, 900],
    bytesSpread: 0.1,
    firmware: ['1.14.2', '1.15.0', '1.16.1'],
    legacyFirmware: ['1.9.8', '1.10.3'],
    weight: 0.1,
    metrics: [
      cycle('cpu', [8, 30], [3, 12], 2.5, 0, 100, 1, 11, 700),
      cycle('mem', [30, 70], [1, 4], 0.5, 0, 100, 1, 20, 640, [-1, 2]),
      cycle('board_temp', [40, 55], [1, 4], 0.3, -20, 110, 1, 15, 480),
    ],
  },
  asset_tracker: {
    name: 'asset_tracker',
    prefix: 'tracker',
    intervalMs: 120_000,
    jitter: 0.15,
    hasSeq: true,
    hasCredential: false,
    natShare: 0.5,
    bytes: [120, 200],
    bytesSpread: 0.05,
    firmware: ['0.9.12', '1.0.3', '1.0.4'],
    legacyFirmware: ['0.7.1', '0.8.5'],
    weight: 0.18,
    metrics: [
      { name: 'battery', model: 'drain', base: [55, 100], amp: [0.05, 0.6], drift: [0, 0], noise: 0.05, min: 5, max: 100, decimals: 1, peakHour: 0, implausible: 400 },
      { name: 'lat', model: 'walk', base: [44, 52], amp: [0.0002, 0.002], drift: [0, 0], noise: 0, min: -90, max: 90, decimals: 3, peakHour: 0, implausible: 95 },
      { name: 'lon', model: 'walk', base: [1, 15], amp: [0.0002, 0.002], drift: [0, 0], noise: 0, min: -180, max: 180, decimals: 3, peakHour: 0, implausible: 200 },
    ],
  },
  air_quality: {
    name: 'air_quality',
    prefix: 'air',
    intervalMs: 60_000,
    jitter: 0.05,
    hasSeq: true,
    hasCredential: true,
    natShare: 0.05,
    bytes: [200, 280],
    bytesSpread: 0.03,
    firmware: ['3.2.0', '3.2.1', '3.3.0'],
    legacyFirmware: ['2.6.4', '3.0.0'],
    weight: 0.12,
    metrics: [
      cycle('co2', [450, 700], [100, 400], 15, 350, 5_000, 0, 14, 60_000),
      cycle('pm25', [4, 18], [1, 6], 0.8, 0, 500, 1, 8, 9_999),
      cycle('voc', [80, 300], [20, 120], 10, 0, 5_000, 0, 15, 90_000),
    ],
  },
};

/** Generic readings appended when a benchmark asks for more metrics than a class has. */
export function extraMetric(i: number): MetricSpec {
  return cycle(`m${i}`, [10, 90], [1, 10], 0.5, 0, 100, 2, (i * 5) % 24, 9_999);
}

/** Parse `MAJOR.MINOR.PATCH` into a comparable number (16 bits per part). */
export function firmwareRank(v: string): number {
  const [a, b, c] = v.split('.').map(Number);
  return a * 2 ** 32 + b * 2 ** 16 + c;
}

/** A version strictly higher than `v`: the next one in the class line, else a minor bump. */
export function upgradeFirmware(cls: DeviceClass, v: string, pick: number): string {
  const rank = firmwareRank(v);
  const newer = cls.firmware.filter((f) => firmwareRank(f) > rank);
  if (newer.length > 0) return newer[Math.min(newer.length - 1, Math.floor(pick * newer.length))];
  const [a, b] = v.split('.').map(Number);
  return `${a}.${b + 1}.0`;
}
