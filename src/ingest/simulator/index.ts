// The simulated fleet: a deterministic stream of device telemetry with labelled attacks
// and benign changes. createFleet() streams events; simulateToDir() writes a run to disk.

export { ATTACK_TYPES, ATTACK_VARIANTS, EXPECTED_KINDS, type AttackType, warmupMs } from './attacks';
export { BENIGN_TYPES, type BenignType } from './benign';
export { DEVICE_CLASSES, DEVICE_CLASS_NAMES, type DeviceClass, type DeviceClassName, firmwareRank } from './classes';
export type { SimEvent } from './device';
export {
  type AttackLabel,
  type BenignLabel,
  LABELS_VERSION,
  type SharedSourceLabel,
  type SimLabels,
  formatLabels,
} from './labels';
export {
  DEFAULT_START,
  type FleetOptions,
  type FleetProfile,
  type ResolvedFleetOptions,
  defaultAttackCount,
  resolveFleetOptions,
} from './options';
export { Prng, hashSeed } from './prng';
export { type DeviceInfo, type Fleet, createFleet } from './scheduler';
export { LABELS_FILE, type SimProgress, type SimSummary, type SimulateToDirOptions, TELEMETRY_FILE, simulateToDir } from './write';
