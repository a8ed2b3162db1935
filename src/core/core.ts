// One interface over the two implementations of the scoring core: the WASM core
// (src/core/wasm.ts over assembly/) and the TypeScript reference (src/core/reference/).
// Both take raw message bytes in batches and write the same fixed-size verdict records
// (src/core/layout.ts `V`), so everything downstream is shared and the two can be
// compared byte for byte.

import type { CoreParams } from './params';
import type { DeviceRecord } from './device';
import type { PartitionState } from './snapshot';

export interface CoreStats {
  /** Valid events scored. */
  events: number;
  /** Rejected messages by bad-reason code (index = code). */
  bad: number[];
  /** Devices in the table now. */
  devices: number;
  /** Table slots (capacity rounded up to a power of two). */
  slots: number;
  /** Devices pushed out of the table to make room. */
  evictions: number;
  /** Credentials pushed out of the credential index. */
  credentialEvictions: number;
  /** Fleet clock (ms), −1 before the first event. */
  clock: number;
}

/**
 * A device holding a credential, as one instance tells the others (scale-out: credential
 * sharing between devices whose partitions belong to different instances). Hashes are
 * the cores' 64-bit hashes as (hi, lo) halves.
 */
export interface CredentialClaim {
  credHi: number;
  credLo: number;
  ownerHi: number;
  ownerLo: number;
  /** Arrival time (ms) the owner was last seen using it. */
  seen: number;
}

export interface Core {
  readonly kind: 'wasm' | 'reference';
  readonly params: CoreParams;
  /** Most messages one batch holds. */
  readonly maxBatch: number;
  /**
   * Append a message to the pending batch. `arrival` is the transport's arrival time in
   * ms (a Kafka timestamp), or −1/undefined when there is none. Returns false, adding
   * nothing, when the batch is full: call score() and add it again.
   */
  add(bytes: Uint8Array, arrival?: number): boolean;
  /** Messages pending. */
  readonly pending: number;
  /**
   * Score the pending batch. Returns the number of verdict records now readable in
   * `verdicts` (one per message, in order, with silence verdicts interleaved after the
   * message that advanced the clock); they stay valid until the next score().
   */
  score(): number;
  readonly verdicts: DataView;
  /** The bytes of message i of the last scored batch. */
  message(i: number): Uint8Array;
  /** The device id held in a table slot (for verdicts that carry no message). */
  deviceId(slot: number): string;
  stats(): CoreStats;
  /** Table slot of a device id, or −1 when the core does not know it. */
  findDevice(deviceId: string): number;
  /** What the core holds for the device in `slot` (undefined for an empty slot). */
  describe(slot: number): DeviceRecord | undefined;
  /**
   * Check every event from now on against this inventory image (src/inventory/image.ts),
   * or stop checking (undefined). Takes effect between batches, all at once.
   */
  setInventory(image: Uint8Array | undefined): void;
  /** The Kafka partition of the messages scored from now on (0 outside Kafka). */
  setPartition(partition: number): void;
  /** Everything the core holds about the devices last seen on this partition. */
  exportPartition(partition: number): PartitionState;
  /** Take over the devices of a partition snapshot (replacing what the core held for them). */
  importPartition(state: PartitionState): void;
  /** Forget the devices of a partition (handed over to another instance); returns how many. */
  dropPartition(partition: number): number;
  /** The claim a CLAIM verdict of this slot stands for: its device's credential and last arrival. */
  claimOf(slot: number): CredentialClaim;
  /**
   * Another instance's claim: taken when the credential has no active holder here (then
   * this instance's devices presenting it within the sharing window are credential_shared).
   * Returns true when taken. Between batches only.
   */
  importClaim(claim: CredentialClaim): boolean;
  /** Release memory; the core is unusable afterwards. */
  destroy(): void;
}

/** Batch limits shared by both implementations (they decide where sweeps stop). */
export const DEFAULT_MAX_BATCH = 4096;
export const DEFAULT_INPUT_BYTES = 4 << 20;
