// The contract between the WASM core (assembly/) and TypeScript: reason bits, bad-input
// codes, the parsed-message record and the verdict record. assembly/layout.ts mirrors
// every number here; test/core/layout.test.ts checks that the two agree.

/** Why an event looks suspicious: one bit each, several may be set. */
export const Reason = {
  REPLAY: 1 << 0, // seq went back / duplicated without a reboot, or device time went back
  CLONE: 1 << 1, // two seq streams or two sources interleaving for one identity
  CREDENTIAL_CHANGE: 1 << 2,
  CREDENTIAL_SHARED: 1 << 3, // credential in use by another device id
  SOURCE_CHANGE: 1 << 4,
  FIRMWARE_DOWNGRADE: 1 << 5,
  CLOCK_SKEW: 1 << 6,
  RATE_SPIKE: 1 << 7,
  SILENCE: 1 << 8, // raised by the sweep, not by an event
  SIZE_ANOMALY: 1 << 9,
  METRIC_ANOMALY: 1 << 10,
  // inventory checks (only with an inventory or revocation list loaded)
  UNKNOWN_DEVICE: 1 << 11, // device id not enrolled
  REVOKED_CREDENTIAL: 1 << 12,
  CREDENTIAL_NOT_ENROLLED: 1 << 13, // not a credential the inventory lists for this device (or none)
  CREDENTIAL_EXPIRED: 1 << 14,
  SOURCE_OUT_OF_RANGE: 1 << 15, // outside the device's allowed networks
  FIRMWARE_BELOW_MINIMUM: 1 << 16,
  // informational bits: never an alert on their own
  NEW_DEVICE: 1 << 24,
  REBOOT: 1 << 25, // seq reset judged benign
  FIRMWARE_UPGRADE: 1 << 26,
  DUPLICATE: 1 << 27, // same seq and same device time: a transport re-delivery
  SEQ_GAP: 1 << 28, // messages lost in between
  RESUMED: 1 << 29, // first event after a silence verdict
  CLAIM: 1 << 30, // the device holds its credential in the index (taken now, or still active): worth telling other instances
} as const;
export type ReasonName = keyof typeof Reason;

/** Bits that can become alerts; the rest only explain. */
export const ALERTING_REASONS = 0xffffff;

/** Alert kinds in reason-bit order (bit i ↔ ALERT_KINDS[i]). */
export const ALERT_KINDS = [
  'replay',
  'clone',
  'credential_change',
  'credential_shared',
  'source_change',
  'firmware_downgrade',
  'clock_skew',
  'rate_spike',
  'silence',
  'size_anomaly',
  'metric_anomaly',
  'unknown_device',
  'revoked_credential',
  'credential_not_enrolled',
  'credential_expired',
  'source_out_of_range',
  'firmware_below_minimum',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Why a message was rejected. 0 means valid. Stable codes: they appear in DLQ headers. */
export const BAD_REASONS = [
  'ok',
  'too_large', // 1 message larger than maxMessageBytes
  'invalid_utf8', // 2
  'not_json', // 3 syntax error, NaN/Infinity tokens, trailing garbage, empty line
  'too_deep', // 4 nesting deeper than 32 anywhere
  'not_object', // 5 top-level value is not an object
  'missing_device_id', // 6
  'bad_device_id', // 7 not a string, empty, longer than 128 bytes
  'missing_ts', // 8
  'bad_ts', // 9 not a non-negative integer ms or an ISO-8601 string
  'bad_field', // 10 seq, source, credential, firmware, bytes or arrivalTs of the wrong type or range
  'bad_metric', // 11 metrics not an object, a value not a number, a name too long
  'non_finite', // 12 a number that overflows to ±Infinity
  'string_too_long', // 13 any string longer than MAX_STRING_BYTES
] as const;
export type BadReason = (typeof BAD_REASONS)[number];
export const Bad = Object.fromEntries(BAD_REASONS.map((r, i) => [r, i])) as { [K in BadReason]: number };

export const MAX_DEPTH = 32;
export const MAX_DEVICE_ID_BYTES = 128;
export const MAX_STRING_BYTES = 4096;
export const MAX_METRIC_NAME_BYTES = 64;
export const MAX_METRICS = 8;
export const DEFAULT_MAX_MESSAGE_BYTES = 65536;

/**
 * Parsed message record (written by the parser, read by the detectors), byte offsets.
 * Spans are [offset, length) into the message bytes of the raw JSON string contents
 * (between the quotes, escapes not decoded); hashes are of the decoded UTF-8 bytes.
 */
export const P = {
  STATUS: 0, // u32 bad reason (0 = ok)
  FLAGS: 4, // u32 HAS_* bits below
  DEVICE_HASH: 8, // u64 (hi:lo as two u32, lo first: little-endian)
  SOURCE_HASH: 16, // u64 (IPv4 sources are encoded, see hash.ts)
  CRED_HASH: 24, // u64
  TS: 32, // f64 device time, ms since epoch
  SEQ: 40, // f64
  FIRMWARE: 48, // f64 major*2^32 + minor*2^16 + patch
  BYTES: 56, // f64 payload size (defaults to the message length)
  ARRIVAL: 64, // f64 arrivalTs field when present
  DEVICE_SPAN: 72, // u32 off, u32 len
  SOURCE_SPAN: 80,
  CRED_SPAN: 88,
  METRIC_COUNT: 96, // u32 metrics modelled (≤ 8)
  METRIC_EXTRA: 100, // u32 metrics beyond the 8 modelled (ignored)
  METRIC_HASH: 104, // u32 × 8
  METRIC_VALUE: 136, // f64 × 8
  METRIC_SPAN: 200, // (u32 off, u32 len) × 8
  SIZE: 264,
} as const;

export const Has = {
  SEQ: 1,
  SOURCE: 2,
  CREDENTIAL: 4,
  FIRMWARE: 8,
  BYTES: 16,
  ARRIVAL: 32,
  DEVICE_ESCAPED: 64, // the deviceId span contains escapes: decode it, do not slice it
} as const;

/**
 * Verdict record, one per input message (and one per silence found by the sweep).
 * Evidence pairs explain the two strongest reasons: what the device's own history
 * predicted (expected), what this event showed (observed), and the tolerance (spread).
 */
export const V = {
  STATUS: 0, // u32 bad reason (0 = scored)
  REASONS: 4, // u32 reason bits
  SCORE: 8, // f64 in [0,1]: the strongest reason's score
  TS: 16, // f64 device time (silence verdicts: the device's last arrival)
  ARRIVAL: 24, // f64 arrival time used (silence verdicts: the fleet clock)
  SLOT: 32, // u32 device table slot
  MESSAGE: 36, // u32 message index in the batch (SWEEP_MESSAGE for silence verdicts)
  EV1_REASON: 40, // u32 reason bit index of the strongest reason (NO_REASON: none)
  EV2_REASON: 44, // u32 the second strongest
  EV1_SCORE: 48, // f64
  EV1_EXPECTED: 56, // f64
  EV1_OBSERVED: 64, // f64
  EV1_SPREAD: 72, // f64
  EV1_AUX: 80, // f64 reason-specific (metric position, other device slot, …)
  EV2_SCORE: 88,
  EV2_EXPECTED: 96,
  EV2_OBSERVED: 104,
  EV2_SPREAD: 112,
  EV2_AUX: 120,
  SIZE: 128,
} as const;
/** Offsets of an evidence block relative to EV1_SCORE / EV2_SCORE. */
export const EV = { SCORE: 0, EXPECTED: 8, OBSERVED: 16, SPREAD: 24, AUX: 32 } as const;
export const NO_REASON = 0xff;
export const SWEEP_MESSAGE = 0xffffffff;
