// AssemblyScript mirror of src/core/layout.ts: the contract between the WASM core and
// TypeScript (reason bits, bad-input codes, limits, the parsed-message record P and the
// verdict record V). Every number here must equal its twin there;
// test/core/layout.test.ts reads this file as text and checks it, so keep one constant per
// line in the form `export const NAME: type = value;` (decimal, hex or `1 << n`).

/** Why an event looks suspicious: one bit each (see src/core/layout.ts). */
export namespace Reason {
  export const REPLAY: u32 = 1 << 0;
  export const CLONE: u32 = 1 << 1;
  export const CREDENTIAL_CHANGE: u32 = 1 << 2;
  export const CREDENTIAL_SHARED: u32 = 1 << 3;
  export const SOURCE_CHANGE: u32 = 1 << 4;
  export const FIRMWARE_DOWNGRADE: u32 = 1 << 5;
  export const CLOCK_SKEW: u32 = 1 << 6;
  export const RATE_SPIKE: u32 = 1 << 7;
  export const SILENCE: u32 = 1 << 8;
  export const SIZE_ANOMALY: u32 = 1 << 9;
  export const METRIC_ANOMALY: u32 = 1 << 10;
  export const UNKNOWN_DEVICE: u32 = 1 << 11;
  export const REVOKED_CREDENTIAL: u32 = 1 << 12;
  export const CREDENTIAL_NOT_ENROLLED: u32 = 1 << 13;
  export const CREDENTIAL_EXPIRED: u32 = 1 << 14;
  export const SOURCE_OUT_OF_RANGE: u32 = 1 << 15;
  export const FIRMWARE_BELOW_MINIMUM: u32 = 1 << 16;
  // informational bits: never an alert on their own
  export const NEW_DEVICE: u32 = 1 << 24;
  export const REBOOT: u32 = 1 << 25;
  export const FIRMWARE_UPGRADE: u32 = 1 << 26;
  export const DUPLICATE: u32 = 1 << 27;
  export const SEQ_GAP: u32 = 1 << 28;
  export const RESUMED: u32 = 1 << 29;
  export const CLAIM: u32 = 1 << 30;
}

/** Bits that can become alerts; the rest only explain. */
@inline export const ALERTING_REASONS: u32 = 0xffffff;

// Why a message was rejected (BAD_REASONS in src/core/layout.ts). 0 means valid.
@inline export const BAD_OK: u32 = 0;
@inline export const BAD_TOO_LARGE: u32 = 1;
@inline export const BAD_INVALID_UTF8: u32 = 2;
@inline export const BAD_NOT_JSON: u32 = 3;
@inline export const BAD_TOO_DEEP: u32 = 4;
@inline export const BAD_NOT_OBJECT: u32 = 5;
@inline export const BAD_MISSING_DEVICE_ID: u32 = 6;
@inline export const BAD_BAD_DEVICE_ID: u32 = 7;
@inline export const BAD_MISSING_TS: u32 = 8;
@inline export const BAD_BAD_TS: u32 = 9;
@inline export const BAD_BAD_FIELD: u32 = 10;
@inline export const BAD_BAD_METRIC: u32 = 11;
@inline export const BAD_NON_FINITE: u32 = 12;
@inline export const BAD_STRING_TOO_LONG: u32 = 13;
/** Number of bad-input codes including 0 (codes are < BAD_COUNT). */
@inline export const BAD_COUNT: u32 = 14;

@inline export const MAX_DEPTH: u32 = 32;
@inline export const MAX_DEVICE_ID_BYTES: u32 = 128;
@inline export const MAX_STRING_BYTES: u32 = 4096;
@inline export const MAX_METRIC_NAME_BYTES: u32 = 64;
@inline export const MAX_METRICS: u32 = 8;
@inline export const DEFAULT_MAX_MESSAGE_BYTES: u32 = 65536;

/**
 * Parsed message record, byte offsets (written by parse.ts, read by the detectors).
 * Spans are (u32 offset, u32 length) of the raw string contents in the message bytes;
 * hashes are u64 stored little-endian (lo word first) over the decoded UTF-8 bytes.
 */
export namespace P {
  export const STATUS: usize = 0; // u32 bad reason (0 = ok)
  export const FLAGS: usize = 4; // u32 Has bits
  export const DEVICE_HASH: usize = 8; // u64
  export const SOURCE_HASH: usize = 16; // u64 (IPv4 sources are encoded, see hash.ts)
  export const CRED_HASH: usize = 24; // u64
  export const TS: usize = 32; // f64 device time, ms since epoch
  export const SEQ: usize = 40; // f64
  export const FIRMWARE: usize = 48; // f64 major*2^32 + minor*2^16 + patch
  export const BYTES: usize = 56; // f64 payload size (defaults to the message length)
  export const ARRIVAL: usize = 64; // f64 arrivalTs field when present
  export const DEVICE_SPAN: usize = 72; // u32 off, u32 len
  export const SOURCE_SPAN: usize = 80;
  export const CRED_SPAN: usize = 88;
  export const METRIC_COUNT: usize = 96; // u32 metrics modelled (<= 8)
  export const METRIC_EXTRA: usize = 100; // u32 metrics beyond the 8 modelled
  export const METRIC_HASH: usize = 104; // u32 x 8
  export const METRIC_VALUE: usize = 136; // f64 x 8
  export const METRIC_SPAN: usize = 200; // (u32 off, u32 len) x 8
  export const SIZE: usize = 264;
}

/** FLAGS bits of the parsed record. */
export namespace Has {
  export const SEQ: u32 = 1;
  export const SOURCE: u32 = 2;
  export const CREDENTIAL: u32 = 4;
  export const FIRMWARE: u32 = 8;
  export const BYTES: u32 = 16;
  export const ARRIVAL: u32 = 32;
  export const DEVICE_ESCAPED: u32 = 64; // the deviceId span contains escapes
}

/** Verdict record, byte offsets (one per input message and per silence found by the sweep). */
export namespace V {
  export const STATUS: usize = 0; // u32 bad reason (0 = scored)
  export const REASONS: usize = 4; // u32 reason bits
  export const SCORE: usize = 8; // f64 in [0,1]
  export const TS: usize = 16; // f64 device time
  export const ARRIVAL: usize = 24; // f64 arrival time used
  export const SLOT: usize = 32; // u32 device table slot
  export const MESSAGE: usize = 36; // u32 message index in the batch
  export const EV1_REASON: usize = 40; // u32 reason bit index (NO_REASON: none)
  export const EV2_REASON: usize = 44; // u32
  export const EV1_SCORE: usize = 48; // f64
  export const EV1_EXPECTED: usize = 56; // f64
  export const EV1_OBSERVED: usize = 64; // f64
  export const EV1_SPREAD: usize = 72; // f64
  export const EV1_AUX: usize = 80; // f64
  export const EV2_SCORE: usize = 88;
  export const EV2_EXPECTED: usize = 96;
  export const EV2_OBSERVED: usize = 104;
  export const EV2_SPREAD: usize = 112;
  export const EV2_AUX: usize = 120;
  export const SIZE: usize = 128;
}

/** Offsets of an evidence block relative to V.EV1_SCORE / V.EV2_SCORE. */
export namespace EV {
  export const SCORE: usize = 0;
  export const EXPECTED: usize = 8;
  export const OBSERVED: usize = 16;
  export const SPREAD: usize = 24;
  export const AUX: usize = 32;
}

@inline export const NO_REASON: u32 = 0xff;
@inline export const SWEEP_MESSAGE: u32 = 0xffffffff;
