// The message parser of the WASM core: one telemetry JSON message, straight from its bytes
// in linear memory, into the fixed-size parsed record P (see layout.ts). Its twin is
// src/core/reference/parse.ts (TextDecoder + JSON.parse + a walk); test/core/parse.test.ts
// runs both on the same inputs.
//
// - No allocation, no String objects, never traps: the bounds of every load are checked
//   against the message end (`e`), and nothing reads past it. Scratch memory (decoded
//   escapes, metric-name hashes, the quote bitmap, the nesting stack of the grammar
//   re-check) is static data reserved at compile time.
// - Two scans. The fast one (fastTop, see "The fast scan" below) takes the messages
//   devices send: compact printable ASCII without escapes, up to 2 KiB. It finds every
//   string from a bitmap of the quotes made in one pass over 16-byte SIMD blocks, so that no
//   token waits for the scan of the one before. Anything else it leaves, unjudged, to
//   the general scan (parseTop), which reads any input; both fill the fields through the
//   same functions, so the fast scan changes no result.
// - Full RFC 8259 grammar. String contents are scanned 8 bytes at a time for `"`, `\`,
//   control characters and bytes >= 0x80; UTF-8 is validated (Unicode Table 3-7, as
//   WHATWG TextDecoder with fatal: true) only where a non-ASCII byte appears.
// - Numbers: Clinger's fast path (integer mantissa <= 2^53, |decimal exponent| <= 22: one
//   correctly rounded multiply or divide by an exact power of ten, so the same double as
//   JSON.parse). Otherwise `slowValue`, double-double arithmetic (~104-bit) rounded once at
//   the end, subnormals and the overflow boundary included: with |exponent| <= 22 one exact
//   power of ten and every rounding error carried (exact halfway cases of up to 19
//   significant digits round to even, as JSON.parse); beyond, a table of 10^(16j) exact to
//   2^-106. It equals JSON.parse except within ~2^-100 of a halfway point between two
//   doubles (crafted near-ties, exact ties of more than 19 significant digits; digits
//   beyond the 38th are ignored), where it may be 1 ulp off. Shortest round-trip output
//   (JSON.stringify, <= 17 digits) is never that close to a tie: it converts exactly.
//
// Reason precedence (the reference follows the same order, so that a message with one
// fault gets the same reason from both; with several faults both are non-zero but may
// differ where the reference walks object members in JS property order, i.e. integer-like
// keys first):
//   1. too_large (len > maxMessageBytes), before looking at any byte;
//   2. invalid_utf8 if the bytes are not UTF-8 anywhere (checked over the whole message
//      when the scan stops at any fault, so a stray byte outside a string reads as
//      invalid_utf8, as TextDecoder would have it);
//   3. not_json if the grammar fails anywhere (when the scan stopped at a too_deep /
//      string_too_long / non_finite / lone-surrogate fault, the whole message is
//      re-checked for grammar alone, so that a truncated message is always not_json;
//      beyond 4096 levels of nesting the re-check gives up and too_deep stays);
//   4. the first of too_deep, string_too_long, invalid_utf8 (a `\u` escape leaving a lone
//      surrogate), non_finite in document order;
//   5. not_object;
//   6. field faults, in this fixed order: deviceId (missing / bad), ts (missing / bad),
//      bad_field (seq, source, credential, firmware, bytes, arrivalTs), bad_metric.
//
// Field semantics beyond the input contract (DESIGN.md §3):
// - Known fields are top-level members only; for a repeated key the last occurrence wins
//   entirely (as in JSON.parse). `null` means absent for optional fields; for deviceId and
//   ts it is a bad value.
// - metrics: every member (repeated ones included) must have a number value and a name of
//   1..64 decoded bytes, otherwise bad_metric, even if a later duplicate would override
//   it. The first 8 distinct names in document order are modelled (distinct by their
//   64-bit hash); a repeated name overwrites the value in its original position. Members
//   beyond those 8 are counted in METRIC_EXTRA once per occurrence (a name repeated among
//   them counts twice).

import {
  P,
  Has,
  BAD_TOO_LARGE,
  BAD_INVALID_UTF8,
  BAD_NOT_JSON,
  BAD_TOO_DEEP,
  BAD_NOT_OBJECT,
  BAD_MISSING_DEVICE_ID,
  BAD_BAD_DEVICE_ID,
  BAD_MISSING_TS,
  BAD_BAD_TS,
  BAD_BAD_FIELD,
  BAD_BAD_METRIC,
  BAD_NON_FINITE,
  BAD_STRING_TOO_LONG,
  MAX_DEPTH,
  MAX_DEVICE_ID_BYTES,
  MAX_STRING_BYTES,
  MAX_METRIC_NAME_BYTES,
  MAX_METRICS,
} from "./layout";
import { hash64, sourceCode } from "./hash";

// ---------------------------------------------------------------------------------------
// Static scratch (reserved once in the data segment; nothing is allocated per message)

/** Decoded bytes of the last string that had escapes (at most MAX_STRING_BYTES). */
const SCRATCH: usize = memory.data(MAX_STRING_BYTES + 16, 16);
/** 64-bit hashes of the modelled metric names of the current `metrics` object. */
const METRIC_KEYS: usize = memory.data(MAX_METRICS * 8, 8);
/** Container kinds (1 = array) per nesting level, for the grammar re-check of deep input. */
@inline const STACK_LEVELS: u32 = 4096;
const STACK: usize = memory.data(STACK_LEVELS + 8, 8);

/** 10^0..10^8 as integers (joining digit words). */
const POW10_U64: usize = memory.data<u64>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000]);

/** Exact powers of ten 10^0..10^22 (Clinger's fast path). */
const POW10: usize = memory.data<f64>([
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]);

/**
 * 10^(16j) for j = -22..19 as double-doubles normalised to [1,2): (hi + lo) * 2^POW16_EXP[j],
 * hi + lo within 2^-106 of the exact value. Generated with BigInt arithmetic:
 * hi = round53(10^k / 2^e), lo = round53(10^k / 2^e - hi), e = floor(log2 10^k).
 */
const POW16: usize = memory.data<u64>([
  0x3ff9a8542268de6a, 0xbc705fedb15081b4, // 1e-352
  0x3ffc7c4f4889b1b3, 0x3c76ffa363646103, // 1e-336
  0x3fffa01712e8f047, 0x3c7a1124161312ab, // 1e-320
  0x3ff18e3b9b374169, 0x3c8259ff0c08b7f2, // 1e-304
  0x3ff37d99cc506d59, 0xbc944588e4c035e8, // 1e-288
  0x3ff5a391d56bdc87, 0x3c9b36d1921b2800, // 1e-272
  0x3ff8062864ac6f43, 0x3c839fa911155ff0, // 1e-256
  0x3ffaac0bf9b9e65c, 0x3c8d6fb1e4a9a909, // 1e-240
  0x3ffd9ca79d89462a, 0xbc8425b0740a9cae, // 1e-224
  0x3ff0701bd527b498, 0xbc9cfdedc1a30d30, // 1e-208
  0x3ff23ff06eea847a, 0xbc9fcc24e7cae5cf, // 1e-192
  0x3ff442e4fb671960, 0x3c57dc56d0072d28, // 1e-176
  0x3ff67e9c127b6e74, 0x3c726b3da42cecad, // 1e-160
  0x3ff8f9574dcf8a70, 0x3c9647f32529774b, // 1e-144
  0x3ffbba08cf8c979d, 0xbc9afa9c1a60497d, // 1e-128
  0x3ffec866b79e0cba, 0x3c9bea6a30bdaffa, // 1e-112
  0x3ff116805effaeaa, 0x3c9cd88ede5810c7, // 1e-96
  0x3ff2f8ac174d6123, 0x3c8a5dccd879fc96, // 1e-80
  0x3ff50ffd44f4a73d, 0x3c8a53f2398d747b, // 1e-64
  0x3ff7624f8a762fd8, 0x3c8595560c018581, // 1e-48
  0x3ff9f623d5a8a733, 0xbc9a2cc10f3892d4, // 1e-32
  0x3ffcd2b297d889bc, 0x3c85b4c2ebe68799, // 1e-16
  0x3ff0000000000000, 0x0000000000000000, // 1e0
  0x3ff1c37937e08000, 0x0000000000000000, // 1e16
  0x3ff3b8b5b5056e17, 0xbc93107f00000000, // 1e32
  0x3ff5e531a0a1c873, 0xbc914b4c7a76a406, // 1e48
  0x3ff84f03e93ff9f5, 0xbc82ac340948e389, // 1e64
  0x3ffafcef51f0fb5f, 0xbc208f322e84da10, // 1e80
  0x3ffdf67562d8b363, 0xbc9ae9d180b58861, // 1e96
  0x3ff0a1f5b8132466, 0x3c94f01f167b5e30, // 1e112
  0x3ff27748f9301d32, 0xbc9901cc86649e4a, // 1e128
  0x3ff4805738b51a75, 0xbc818a0e9df9363a, // 1e144
  0x3ff6c2d4256ffcc3, 0xbc656a2119e533ad, // 1e160
  0x3ff945145230b378, 0xbc6b20a11c22bf0c, // 1e176
  0x3ffc0e1ef1a724eb, 0xbc94abd220ed605c, // 1e192
  0x3fff25c186a6f04c, 0x3c845a7709a56cce, // 1e208
  0x3ff14a52dffc6799, 0x3c82f82bd6b70d9a, // 1e224
  0x3ff33234de7ad7e3, 0xbc734a66b24bc3eb, // 1e240
  0x3ff54fdd7f73bf3c, 0xbc87222446fe4670, // 1e256
  0x3ff7a93a2954f3b8, 0xbc9beda693cdd93b, // 1e272
  0x3ffa44df832b8d46, 0xbc6ce31f3444e400, // 1e288
  0x3ffd2a1be4048f90, 0x3c9fea3e35c17799, // 1e304
]);
const POW16_EXP: usize = memory.data<i32>([
  -1170, -1117, -1064, -1010, -957, -904, -851, -798, -745, -691, -638, -585, -532, -479,
  -426, -373, -319, -266, -213, -160, -107, -54, 0, 53, 106, 159, 212, 265, 318, 372, 425,
  478, 531, 584, 637, 690, 744, 797, 850, 903, 956, 1009,
]);

// ---------------------------------------------------------------------------------------
// Scanner state: module globals carry the secondary results of the scanner functions
// (AssemblyScript has no multiple return values)

/** The fault that stopped the scan (a scanner function returned 0). */
let fault: u32 = 0;
/** Grammar-only mode (the re-check after a structural fault): no depth, length, surrogate or overflow faults. */
let lenient = false;
let depthLimit: u32 = MAX_DEPTH;

// The last string scanned (its contents are [opening quote + 1, end - 1)): decoded length,
// escapes present.
let sDec: u32 = 0;
let sEsc = false;

// The last number scanned: value = (-1)^nNeg * (nW + nW2 / 10^nC2) * 10^nE, nNd significant
// digits in nW (at most 19), the next nC2 (at most 19) in nW2; digits beyond those 38 are
// dropped.
let nW: u64 = 0;
let nE: i32 = 0;
let nNd: i32 = 0;
let nW2: u64 = 0;
let nC2: i32 = 0;
let nNeg = false;
/** The last number had more than 19 digits: nNd, nW2, nC2 are set (else only nW, nE, nNeg). */
let nLong = false;

@inline const CH_QUOTE: u32 = 0x22;
@inline const CH_BACKSLASH: u32 = 0x5c;
@inline const CH_COMMA: u32 = 0x2c;
@inline const CH_COLON: u32 = 0x3a;
@inline const CH_MINUS: u32 = 0x2d;
@inline const CH_DOT: u32 = 0x2e;
@inline const CH_LBRACE: u32 = 0x7b;
@inline const CH_RBRACE: u32 = 0x7d;
@inline const CH_LBRACKET: u32 = 0x5b;
@inline const CH_RBRACKET: u32 = 0x5d;

@inline function fail(code: u32): usize {
  fault = code;
  return 0;
}

@inline function skipWs(p: usize, e: usize): usize {
  while (p < e) {
    const c = <u32>load<u8>(p);
    if (c > 0x20 || (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09)) break;
    p++;
  }
  return p;
}

/** Bits 0x80 set in the bytes of x that are `"`, `\`, < 0x20 or >= 0x80; the lowest one is exact. */
@inline function specialMask(x: u64): u64 {
  const q = x ^ 0x2222222222222222;
  const b = x ^ 0x5c5c5c5c5c5c5c5c;
  const t =
    ((q - 0x0101010101010101) & ~q) |
    ((b - 0x0101010101010101) & ~b) |
    ((x - 0x2020202020202020) & ~x) |
    x;
  return t & 0x8080808080808080;
}

@inline function hexDigit(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  c |= 0x20;
  if (c - 0x61 < 6) return <i32>(c - 0x61 + 10);
  return -1;
}

/** The 4 hex digits at p (caller checked p + 4 <= e), or -1. */
@inline function hex4(p: usize): i32 {
  const a = hexDigit(load<u8>(p));
  const b = hexDigit(load<u8>(p + 1));
  const c = hexDigit(load<u8>(p + 2));
  const d = hexDigit(load<u8>(p + 3));
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/** Length of the valid UTF-8 sequence starting with byte c (>= 0x80) at q, or 0. */
function utf8Seq(q: usize, e: usize, c: u32): usize {
  if (c < 0xc2) return 0;
  if (c < 0xe0) {
    if (q + 1 >= e || (<u32>load<u8>(q + 1) & 0xc0) != 0x80) return 0;
    return 2;
  }
  if (c < 0xf0) {
    if (q + 2 >= e) return 0;
    const b1 = <u32>load<u8>(q + 1);
    const lower: u32 = c == 0xe0 ? 0xa0 : 0x80;
    const upper: u32 = c == 0xed ? 0x9f : 0xbf;
    if (b1 < lower || b1 > upper || (<u32>load<u8>(q + 2) & 0xc0) != 0x80) return 0;
    return 3;
  }
  if (c < 0xf5) {
    if (q + 3 >= e) return 0;
    const b1 = <u32>load<u8>(q + 1);
    const lower: u32 = c == 0xf0 ? 0x90 : 0x80;
    const upper: u32 = c == 0xf4 ? 0x8f : 0xbf;
    if (b1 < lower || b1 > upper) return 0;
    if ((<u32>load<u8>(q + 2) & 0xc0) != 0x80 || (<u32>load<u8>(q + 3) & 0xc0) != 0x80) return 0;
    return 4;
  }
  return 0;
}

/** Whether [p, e) is entirely valid UTF-8. */
function utf8Valid(p: usize, e: usize): bool {
  while (p < e) {
    if (p + 8 <= e && (load<u64>(p) & 0x8080808080808080) == 0) {
      p += 8;
      continue;
    }
    const c = <u32>load<u8>(p);
    if (c < 0x80) {
      p++;
      continue;
    }
    const n = utf8Seq(p, e, c);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Strings

/**
 * Scan the string whose opening quote is at p. Returns the position after the closing
 * quote and sets sDec/sEsc, or 0 with `fault` set.
 */
@inline function scanString(p: usize, e: usize): usize {
  const beg = p + 1;
  let q = beg;
  let saved: u32 = 0; // raw bytes minus decoded bytes, from escapes
  let esc = false;
  while (true) {
    let c: u32;
    if (q + 8 <= e) {
      const m = specialMask(load<u64>(q));
      if (m == 0) {
        q += 8;
        continue;
      }
      q += <usize>(ctz<u64>(m) >> 3);
      c = load<u8>(q);
    } else {
      if (q >= e) return fail(BAD_NOT_JSON);
      c = load<u8>(q);
      if (c >= 0x20 && c < 0x80 && c != CH_QUOTE && c != CH_BACKSLASH) {
        q++;
        continue;
      }
    }
    if (c == CH_QUOTE) break;
    if (c == CH_BACKSLASH) {
      esc = true;
      if (q + 1 >= e) return fail(BAD_NOT_JSON);
      const n = <u32>load<u8>(q + 1);
      if (n == 0x75) {
        // \uXXXX
        if (q + 6 > e) return fail(BAD_NOT_JSON);
        const cu = hex4(q + 2);
        if (cu < 0) return fail(BAD_NOT_JSON);
        if (<u32>cu - 0xd800 < 0x800) {
          // a surrogate: only a high one followed by a \u low one is a character
          if (<u32>cu < 0xdc00 && q + 12 <= e && load<u8>(q + 6) == CH_BACKSLASH && load<u8>(q + 7) == 0x75) {
            const lo = hex4(q + 8);
            if (lo < 0) return fail(BAD_NOT_JSON);
            if (<u32>lo - 0xdc00 < 0x400) {
              saved += 8; // 12 raw bytes -> 4
              q += 12;
              continue;
            }
          }
          if (!lenient) return fail(BAD_INVALID_UTF8);
          saved += 3;
        } else {
          saved += cu < 0x80 ? 5 : cu < 0x800 ? 4 : 3;
        }
        q += 6;
        continue;
      }
      if (
        n == CH_QUOTE || n == CH_BACKSLASH || n == 0x2f || n == 0x62 ||
        n == 0x66 || n == 0x6e || n == 0x72 || n == 0x74
      ) {
        saved += 1;
        q += 2;
        continue;
      }
      return fail(BAD_NOT_JSON);
    }
    if (c < 0x20) return fail(BAD_NOT_JSON);
    // c >= 0x80: one UTF-8 sequence
    const len = utf8Seq(q, e, c);
    if (len == 0) return fail(BAD_INVALID_UTF8);
    q += len;
  }
  const dec = <u32>(q - beg) - saved;
  if (dec > MAX_STRING_BYTES && !lenient) return fail(BAD_STRING_TOO_LONG);
  sDec = dec;
  sEsc = esc;
  return q + 1;
}

@inline function putUtf8(o: usize, cp: u32): usize {
  if (cp < 0x80) {
    store<u8>(o, cp);
    return o + 1;
  }
  if (cp < 0x800) {
    store<u8>(o, 0xc0 | (cp >> 6));
    store<u8>(o + 1, 0x80 | (cp & 0x3f));
    return o + 2;
  }
  if (cp < 0x10000) {
    store<u8>(o, 0xe0 | (cp >> 12));
    store<u8>(o + 1, 0x80 | ((cp >> 6) & 0x3f));
    store<u8>(o + 2, 0x80 | (cp & 0x3f));
    return o + 3;
  }
  store<u8>(o, 0xf0 | (cp >> 18));
  store<u8>(o + 1, 0x80 | ((cp >> 12) & 0x3f));
  store<u8>(o + 2, 0x80 | ((cp >> 6) & 0x3f));
  store<u8>(o + 3, 0x80 | (cp & 0x3f));
  return o + 4;
}

/**
 * The decoded bytes (sDec of them) of the last string scanned, [q, end) with its quotes:
 * the message bytes themselves when it had no escapes, else its decoding in SCRATCH
 * (valid until the next call). Only called after a successful strict scan, so the escapes
 * are well formed.
 */
@inline function stringBytes(q: usize, end: usize): usize {
  return sEsc ? decodeEscapes(q + 1, end - 1) : q + 1;
}

/** Decode the escapes of the string contents [q, end) into SCRATCH; returns SCRATCH. */
function decodeEscapes(q: usize, end: usize): usize {
  let o = SCRATCH;
  while (q < end) {
    const c = <u32>load<u8>(q);
    if (c != CH_BACKSLASH) {
      store<u8>(o, c);
      o++;
      q++;
      continue;
    }
    const n = <u32>load<u8>(q + 1);
    if (n == 0x75) {
      let cp = <u32>hex4(q + 2);
      q += 6;
      if (cp - 0xd800 < 0x400) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (<u32>hex4(q + 2) - 0xdc00);
        q += 6;
      }
      o = putUtf8(o, cp);
      continue;
    }
    let d = n; // \" \\ \/
    if (n == 0x62) d = 0x08;
    else if (n == 0x66) d = 0x0c;
    else if (n == 0x6e) d = 0x0a;
    else if (n == 0x72) d = 0x0d;
    else if (n == 0x74) d = 0x09;
    store<u8>(o, d);
    o++;
    q += 2;
  }
  return SCRATCH;
}

// ---------------------------------------------------------------------------------------
// Numbers

/** Whether the 8 bytes of x are all ASCII digits (simdjson's is_made_of_eight_digits_fast). */
@inline function eightDigits(x: u64): bool {
  return ((x & 0xf0f0f0f0f0f0f0f0) | (((x + 0x0606060606060606) & 0xf0f0f0f0f0f0f0f0) >> 4)) == 0x3333333333333333;
}

/** The value of 8 ASCII digits, first digit in the lowest byte (simdjson's parse_eight_digits_unrolled). */
@inline function eightDigitsValue(x: u64): u64 {
  x -= 0x3030303030303030;
  x = x * 10 + (x >> 8);
  return (((x & 0x000000ff000000ff) * 0x000f424000000064) + (((x >> 16) & 0x000000ff000000ff) * 0x0000271000000001)) >> 32;
}

/**
 * How many of the 8 bytes of x, from the lowest, are ASCII digits before the first other
 * byte (8 when all are). A byte b is a digit when its high nibble is 3 both in b and in
 * b + 6; a carry out of a byte >= 0xfa only disturbs the bytes above a non-digit.
 */
@inline function digitRun(x: u64): u32 {
  const nd =
    ((x & 0xf0f0f0f0f0f0f0f0) ^ 0x3030303030303030) |
    (((x + 0x0606060606060606) & 0xf0f0f0f0f0f0f0f0) ^ 0x3030303030303030);
  return <u32>(ctz<u64>(nd) >> 3);
}

/** The value of the first n (1..8) digit bytes of x: moved to the top, '0's shifted in below. */
@inline function digitsValue(x: u64, n: u32): u64 {
  const sh = <u64>((8 - n) << 3);
  return eightDigitsValue((x << sh) | (0x3030303030303030 & ((<u64>1 << sh) - 1)));
}

/**
 * The usual numbers, a word at a time: [-]int[.frac] with at most 15 integer and 7
 * fraction digits, 19 digits in all, no exponent, and 16 bytes readable from the first
 * digit. Sets nW, nE, nNeg, nLong exactly as the byte loop of scanNumber would; returns
 * the end, or 0 to let the byte loop decide (other shapes and every grammar fault).
 */
@inline function scanNumberWords(p: usize, e: usize): usize {
  let neg = false;
  if (<u32>load<u8>(p) == CH_MINUS) {
    neg = true;
    p++;
  }
  if (p + 16 > e) return 0;
  let x = load<u64>(p);
  let n = digitRun(x);
  if (n == 0) return 0;
  // a leading 0 stands alone ("0", "0.5"); "01" is left to the byte loop's fault
  if ((<u32>x & 0xff) == 0x30 && n > 1) return 0;
  let w = digitsValue(x, n);
  let nd = n;
  if (n == 8) {
    x = load<u64>(p + 8);
    n = digitRun(x);
    if (n == 8) return 0;
    if (n != 0) w = w * load<u64>(POW10_U64 + (<usize>n << 3)) + digitsValue(x, n);
    nd += n;
  }
  p += <usize>nd;
  let ex: i32 = 0;
  let c = <u32>load<u8>(p); // p < first digit + 16 <= e
  if (c == CH_DOT) {
    if (p + 9 > e) return 0;
    x = load<u64>(p + 1);
    n = digitRun(x);
    if (n == 0 || n == 8 || nd + n > 19) return 0;
    w = w * load<u64>(POW10_U64 + (<usize>n << 3)) + digitsValue(x, n);
    p += <usize>(n + 1);
    ex = -<i32>n;
    if (p >= e) return 0;
    c = load<u8>(p);
  }
  if ((c | 0x20) == 0x65) return 0; // an exponent: the byte loop
  nW = w;
  nE = ex;
  nNeg = neg;
  nLong = false;
  return p;
}

/**
 * Scan the number starting at p ('-' or a digit): grammar, and its value as
 * (-1)^nNeg * nW * 10^nE when it has at most 19 digits (nLong = false); longer ones go
 * to scanNumberFull. Returns the end, or 0 with `fault`.
 */
@inline function scanNumber(p: usize, e: usize): usize {
  const r = scanNumberWords(p, e);
  if (r != 0) return r;
  return scanNumberBytes(p, e);
}

/** scanNumber a byte at a time: every shape, every fault, up to the message end. */
function scanNumberBytes(p: usize, e: usize): usize {
  const start = p;
  let neg = false;
  let c = <u32>load<u8>(p);
  if (c == CH_MINUS) {
    neg = true;
    p++;
    if (p >= e) return fail(BAD_NOT_JSON);
    c = load<u8>(p);
  }
  let d = c - 0x30;
  if (d >= 10) return fail(BAD_NOT_JSON);
  const first = p;
  let w = <u64>d;
  p++;
  if (d != 0) {
    // a long run (timestamps, counters): 8 digits at once
    if (p + 8 <= e) {
      const x = load<u64>(p);
      if (eightDigits(x)) {
        w = w * 100000000 + eightDigitsValue(x);
        p += 8;
      }
    }
    while (p < e) {
      d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
      w = w * 10 + <u64>d;
      p++;
    }
  }
  let digits = <u32>(p - first);
  let ex: i32 = 0;
  if (p < e && <u32>load<u8>(p) == CH_DOT) {
    p++;
    const f = p;
    while (p < e) {
      d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
      w = w * 10 + <u64>d;
      p++;
    }
    const nf = <u32>(p - f);
    if (nf == 0) return fail(BAD_NOT_JSON);
    digits += nf;
    ex = -<i32>nf;
  }
  if (p < e && (<u32>load<u8>(p) | 0x20) == 0x65) {
    p++;
    if (p >= e) return fail(BAD_NOT_JSON);
    c = load<u8>(p);
    let eneg = false;
    if (c == 0x2b || c == CH_MINUS) {
      eneg = c == CH_MINUS;
      p++;
      if (p >= e) return fail(BAD_NOT_JSON);
      c = load<u8>(p);
    }
    d = c - 0x30;
    if (d >= 10) return fail(BAD_NOT_JSON);
    let x: i32 = 0;
    while (true) {
      if (x < 100000) x = x * 10 + <i32>d;
      p++;
      if (p >= e) break;
      d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
    }
    ex += eneg ? -x : x;
  }
  if (digits > 19) return scanNumberFull(start, e); // w may have wrapped: keep 38 digits
  nW = w;
  nE = ex;
  nNeg = neg;
  nLong = false;
  return p;
}

/** Decimal digits of w (w > 0). */
function digitCount(w: u64): i32 {
  let n = 1;
  while (w >= 10) {
    w /= 10;
    n++;
  }
  return n;
}

/**
 * The number at p again, keeping 38 significant digits: the rare path of scanNumber for
 * numbers of more than 19 digits. Sets every n* global (nLong = true).
 */
function scanNumberFull(p: usize, e: usize): usize {
  nLong = true;
  let neg = false;
  let c = <u32>load<u8>(p);
  if (c == CH_MINUS) {
    neg = true;
    p++;
    c = load<u8>(p); // scanNumber checked the grammar up to the end of the number
  }
  let w: u64 = 0; // the first 19 significant digits
  let nd: i32 = 0;
  let ex: i32 = 0;
  let w2: u64 = 0; // the next 19 digits
  let c2: i32 = 0;
  let d = c - 0x30;
  while (true) {
    if (nd < 19) {
      if ((w | <u64>d) != 0) {
        w = w * 10 + <u64>d;
        nd++;
      }
    } else {
      ex++;
      if (c2 < 19) {
        w2 = w2 * 10 + <u64>d;
        c2++;
      }
    }
    p++;
    if (p >= e) break;
    d = <u32>load<u8>(p) - 0x30;
    if (d >= 10) break;
  }
  if (p < e && <u32>load<u8>(p) == CH_DOT) {
    p++;
    d = <u32>load<u8>(p) - 0x30;
    while (true) {
      if (nd < 19) {
        if ((w | <u64>d) != 0) {
          w = w * 10 + <u64>d;
          nd++;
        }
        ex--;
      } else if (c2 < 19) {
        w2 = w2 * 10 + <u64>d;
        c2++;
      }
      p++;
      if (p >= e) break;
      d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
    }
  }
  if (p < e && (<u32>load<u8>(p) | 0x20) == 0x65) {
    p++;
    c = load<u8>(p);
    let eneg = false;
    if (c == 0x2b || c == CH_MINUS) {
      eneg = c == CH_MINUS;
      p++;
      c = load<u8>(p);
    }
    d = c - 0x30;
    let x: i32 = 0;
    while (true) {
      if (x < 100000) x = x * 10 + <i32>d;
      p++;
      if (p >= e) break;
      d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
    }
    ex += eneg ? -x : x;
  }
  nW = w;
  nE = ex;
  nNd = nd;
  nW2 = w2;
  nC2 = c2;
  nNeg = neg;
  return p;
}

/** Whether the last number scanned is finite as a double, converting only near the limit. */
@inline function numberFinite(): bool {
  if (nW == 0 || nE <= 308 - 19) return true;
  const k = (nLong ? nNd : digitCount(nW)) + nE; // 10^(k-1) <= |value| < 10^k
  if (k <= 308) return true;
  if (k > 309) return false;
  return isFinite(numberValue());
}

/** The last number scanned as a double (±Infinity on overflow). */
@inline function numberValue(): f64 {
  const w = nW;
  const ex = nE;
  let v: f64;
  if (!nLong && w <= 9007199254740992 && <u32>(ex + 22) <= 44) {
    // Clinger's fast path: both operands exact, one correctly rounded operation (w = 0: +0)
    v = <f64><i64>w; // w <= 2^53: the signed conversion is exact and cheaper
    v = ex >= 0 ? v * load<f64>(POW10 + (<usize>ex << 3)) : v / load<f64>(POW10 + (<usize>-ex << 3));
  } else {
    v = w == 0 ? 0.0 : nLong ? slowValue(w, ex, nNd, nW2, nC2) : slowValue(w, ex, digitCount(w), 0, 0);
  }
  return nNeg ? -v : v;
}

/** Rounding error of the product p = fl(a*b) (Dekker's TwoProduct, no FMA). */
@inline function prodErr(a: f64, b: f64, p: f64): f64 {
  let t = 134217729.0 * a; // 2^27 + 1
  const ah = t - (t - a);
  const al = a - ah;
  t = 134217729.0 * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/**
 * (w + w2 / 10^c2) * 10^ex (w > 0 with nd digits; w2: the c2 digits that follow w's, if
 * any). Double-double products, one rounding at the end; see the header for the accuracy.
 */
function slowValue(w: u64, ex: i32, nd: i32, w2: u64, c2: i32): f64 {
  const k = nd + ex; // 10^(k-1) <= value < 10^k
  if (k > 309) return Infinity;
  if (k < -323) return 0.0; // value < 1e-324 < 2^-1075: rounds to zero
  // ex in [-342, 308]: ex = 16j + r, 0 <= r < 16, j in [-22, 19]
  const j = ex >> 4;
  const r = ex & 15;
  // m = w (+ 1/2) as a double-double, times the exact 10^r
  let hi = <f64>w;
  let lo = <f64>(<i64>(w - <u64>hi));
  if (w2 != 0) lo += <f64>w2 / load<f64>(POW10 + (<usize>c2 << 3)); // |lo| < 2^11: stays exact to ~2^-42
  if (ex >= -22 && ex <= 22) {
    // one exact power of ten, all rounding errors carried: exact halfway cases stay exact
    const p = load<f64>(POW10 + (<usize>(ex >= 0 ? ex : -ex) << 3));
    if (ex >= 0) {
      const t1 = hi * p;
      const t2 = prodErr(hi, p, t1);
      const u1 = lo * p;
      const u2 = prodErr(lo, p, u1);
      const s1 = t2 + u1; // TwoSum(t2, u1)
      const bv = s1 - t2;
      const e1 = t2 - (s1 - bv) + (u1 - bv);
      return t1 + (s1 + (e1 + u2));
    }
    const q1 = hi / p;
    const t1 = q1 * p;
    const t2 = prodErr(q1, p, t1);
    const q2 = (hi - t1 - t2 + lo) / p;
    return q1 + q2;
  }
  const p10 = load<f64>(POW10 + (<usize>r << 3));
  let ph = hi * p10;
  let pl = prodErr(hi, p10, ph) + lo * p10;
  hi = ph + pl;
  lo = pl - (hi - ph);
  // normalise m to [1,2) * 2^e2 (exact power-of-two scaling)
  const e2 = <i32>((reinterpret<u64>(hi) >>> 52) & 0x7ff) - 1023;
  const scale = reinterpret<f64>(<u64>(1023 - e2) << 52);
  hi *= scale;
  lo *= scale;
  // times 10^(16j)
  const t = POW16 + (<usize>(j + 22) << 4);
  const th = load<f64>(t);
  const tl = load<f64>(t + 8);
  ph = hi * th;
  pl = prodErr(hi, th, ph) + (hi * tl + lo * th);
  const E = e2 + load<i32>(POW16_EXP + (<usize>(j + 22) << 2));
  // value = (ph + pl) * 2^E, ph + pl in [1, 4)
  const s = ph + pl; // correctly rounded to 53 bits
  const field = <i32>((reinterpret<u64>(s) >>> 52) & 0x7ff) + E;
  if (field >= 0x7ff) return Infinity;
  if (field >= 1) return reinterpret<f64>(reinterpret<u64>(s) + (<u64>(<i64>E) << 52));
  // subnormal: round (ph + pl) * 2^(E + 1074) to an integer, ties to even
  const sh = E + 1074;
  if (sh < -2) return 0.0;
  const f = reinterpret<f64>(<u64>(sh + 1023) << 52);
  const H = ph * f;
  const L = pl * f;
  let n = nearest<f64>(H);
  const d = H - n + L;
  if (d > 0.5) n += 1.0;
  else if (d < -0.5) n -= 1.0;
  else if ((d == 0.5 || d == -0.5) && n - 2.0 * Math.floor(n * 0.5) != 0) n += d > 0 ? 1.0 : -1.0;
  return n * reinterpret<f64>(1); // n * 2^-1074, exact
}

/** An integral value in [0, max]: the value (+0 for -0), else -1. */
@inline function integral(v: f64, max: f64): f64 {
  if (v >= 0 && v <= max && Math.floor(v) == v) return v + 0.0;
  return -1;
}

// ---------------------------------------------------------------------------------------
// Generic values

/** Scan true/false/null at p; returns its end or 0. */
@inline function literal(p: usize, e: usize, c: u32): usize {
  if (c == 0x74) {
    if (p + 4 <= e && load<u32>(p) == 0x65757274) return p + 4; // true
  } else if (c == 0x6e) {
    if (p + 4 <= e && load<u32>(p) == 0x6c6c756e) return p + 4; // null
  } else if (c == 0x66) {
    if (p + 5 <= e && load<u32>(p) == 0x736c6166 && load<u8>(p + 4) == 0x65) return p + 5; // false
  }
  return fail(BAD_NOT_JSON);
}

/** A member key and its colon at p; returns the (whitespace-skipped) value position or 0. */
function keyColon(p: usize, e: usize): usize {
  if (p >= e || <u32>load<u8>(p) != CH_QUOTE) return fail(BAD_NOT_JSON);
  p = scanString(p, e);
  if (p == 0) return 0;
  p = skipWs(p, e);
  if (p >= e || <u32>load<u8>(p) != CH_COLON) return fail(BAD_NOT_JSON);
  return skipWs(p + 1, e);
}

/**
 * Validate one JSON value of any kind at p (no whitespace before it), held in a
 * container at nesting `depth` (0: the top level). Returns its end or 0 with `fault`.
 */
function skipValue(p: usize, e: usize, depth: u32): usize {
  let lvl: u32 = 0; // containers opened here; STACK[lvl] = 1 for an array
  while (true) {
    // a value starts at p
    if (p >= e) return fail(BAD_NOT_JSON);
    let c = <u32>load<u8>(p);
    if (c == CH_LBRACE || c == CH_LBRACKET) {
      if (depth + lvl >= depthLimit) return fail(BAD_TOO_DEEP);
      lvl++;
      const isArr = c == CH_LBRACKET;
      store<u8>(STACK + <usize>lvl, <u8>isArr);
      p = skipWs(p + 1, e);
      if (p >= e) return fail(BAD_NOT_JSON);
      c = load<u8>(p);
      if (c == (isArr ? CH_RBRACKET : CH_RBRACE)) {
        p++;
        lvl--;
      } else {
        if (!isArr) {
          p = keyColon(p, e);
          if (p == 0) return 0;
        }
        continue;
      }
    } else if (c == CH_QUOTE) {
      p = scanString(p, e);
      if (p == 0) return 0;
    } else if (c == CH_MINUS || c - 0x30 < 10) {
      p = scanNumber(p, e);
      if (p == 0) return 0;
      if (!numberFinite() && !lenient) return fail(BAD_NON_FINITE);
    } else {
      p = literal(p, e, c);
      if (p == 0) return 0;
    }
    // after a value: close containers, or find the next element
    while (true) {
      if (lvl == 0) return p;
      p = skipWs(p, e);
      if (p >= e) return fail(BAD_NOT_JSON);
      c = load<u8>(p);
      const isArr = load<u8>(STACK + <usize>lvl) != 0;
      if (c == CH_COMMA) {
        p = skipWs(p + 1, e);
        if (!isArr) {
          p = keyColon(p, e);
          if (p == 0) return 0;
        }
        break;
      }
      if (c != (isArr ? CH_RBRACKET : CH_RBRACE)) return fail(BAD_NOT_JSON);
      p++;
      lvl--;
    }
  }
}

/** Grammar alone over the whole message (no depth/length/surrogate/overflow faults). */
function grammarOk(p: usize, e: usize): bool {
  lenient = true;
  depthLimit = STACK_LEVELS;
  fault = 0;
  p = skipWs(p, e);
  let ok = p < e;
  if (ok) {
    p = skipValue(p, e, 0);
    if (p == 0) ok = fault == BAD_TOO_DEEP; // deeper than the re-check can follow: no verdict
    else ok = skipWs(p, e) == e;
  }
  lenient = false;
  depthLimit = MAX_DEPTH;
  return ok;
}

// ---------------------------------------------------------------------------------------
// Known fields

@inline const F_UNKNOWN: u32 = 0;
@inline const F_DEVICE: u32 = 1;
@inline const F_TS: u32 = 2;
@inline const F_SEQ: u32 = 3;
@inline const F_SOURCE: u32 = 4;
@inline const F_CRED: u32 = 5;
@inline const F_FIRMWARE: u32 = 6;
@inline const F_BYTES: u32 = 7;
@inline const F_ARRIVAL: u32 = 8;
@inline const F_METRICS: u32 = 9;

/** Which known field the decoded key at k (len bytes) names. */
@inline function fieldOf(k: usize, len: u32): u32 {
  switch (len) {
    case 2:
      return load<u16>(k) == 0x7374 ? F_TS : F_UNKNOWN;
    case 3:
      return load<u16>(k) == 0x6573 && load<u8>(k + 2) == 0x71 ? F_SEQ : F_UNKNOWN;
    case 5:
      return load<u32>(k) == 0x65747962 && load<u8>(k + 4) == 0x73 ? F_BYTES : F_UNKNOWN;
    case 6:
      return load<u32>(k) == 0x72756f73 && load<u16>(k + 4) == 0x6563 ? F_SOURCE : F_UNKNOWN;
    case 7:
      return load<u32>(k) == 0x7274656d && load<u16>(k + 4) == 0x6369 && load<u8>(k + 6) == 0x73
        ? F_METRICS
        : F_UNKNOWN;
    case 8: {
      const x = load<u64>(k);
      if (x == 0x6449656369766564) return F_DEVICE;
      if (x == 0x657261776d726966) return F_FIRMWARE;
      return F_UNKNOWN;
    }
    case 9:
      return load<u64>(k) == 0x546c617669727261 && load<u8>(k + 8) == 0x73 ? F_ARRIVAL : F_UNKNOWN;
    case 10:
      return load<u64>(k) == 0x69746e6564657263 && load<u16>(k + 8) == 0x6c61 ? F_CRED : F_UNKNOWN;
  }
  return F_UNKNOWN;
}

let knownField: u32 = F_UNKNOWN;

/**
 * Fast path for the usual keys: the known field names spelled plainly, matched with a
 * few wide loads from the opening quote at p (caller checked p + 12 <= e). Returns the
 * position after the closing quote and sets knownField, or 0 (then scan the key).
 */
@inline function knownKey(p: usize): usize {
  const w = load<u64>(p + 1);
  switch (<u32>w & 0xff) {
    case 0x64: // d
      if (w == 0x6449656369766564 && load<u8>(p + 9) == CH_QUOTE) { knownField = F_DEVICE; return p + 10; }
      break;
    case 0x74: // t
      if ((w & 0xffffff) == 0x227374) { knownField = F_TS; return p + 4; }
      break;
    case 0x73: // s
      if ((w & 0xffffffff) == 0x22716573) { knownField = F_SEQ; return p + 5; }
      if ((w & 0xffffffffffffff) == 0x22656372756f73) { knownField = F_SOURCE; return p + 8; }
      break;
    case 0x63: // c
      if (w == 0x69746e6564657263 && load<u16>(p + 9) == 0x6c61 && load<u8>(p + 11) == CH_QUOTE) { knownField = F_CRED; return p + 12; }
      break;
    case 0x66: // f
      if (w == 0x657261776d726966 && load<u8>(p + 9) == CH_QUOTE) { knownField = F_FIRMWARE; return p + 10; }
      break;
    case 0x62: // b
      if ((w & 0xffffffffffff) == 0x227365747962) { knownField = F_BYTES; return p + 7; }
      break;
    case 0x61: // a
      if (w == 0x546c617669727261 && load<u16>(p + 9) == 0x2273) { knownField = F_ARRIVAL; return p + 11; }
      break;
    case 0x6d: // m
      if (w == 0x227363697274656d) { knownField = F_METRICS; return p + 9; }
      break;
  }
  return 0;
}

// Field states: absent, valid, present but bad.
@inline const ABSENT: u32 = 0;
@inline const OK: u32 = 1;
@inline const BAD: u32 = 2;

let devState: u32 = 0;
let devHash: u64 = 0;
let devSpan: u64 = 0;
let devEsc = false;
let tsState: u32 = 0;
let tsVal: f64 = 0;
let seqState: u32 = 0;
let seqVal: f64 = 0;
let srcState: u32 = 0;
let srcHash: u64 = 0;
let srcSpan: u64 = 0;
let credState: u32 = 0;
let credHash: u64 = 0;
let credSpan: u64 = 0;
let fwState: u32 = 0;
let fwVal: f64 = 0;
let bytesState: u32 = 0;
let bytesVal: f64 = 0;
let arrState: u32 = 0;
let arrVal: f64 = 0;
let mState: u32 = 0;
let mCount: u32 = 0;
let mExtra: u32 = 0;
/**
 * Metric slots of the record that may hold non-zero bytes. A successful parse clears the
 * slots past METRIC_COUNT that earlier parses wrote (all eight the first time), so they
 * read as zeros without rewriting all eight every time. This assumes one `out` record (as
 * in index.ts); a caller alternating records gets unspecified bytes past METRIC_COUNT.
 */
let mDirty: u32 = MAX_METRICS;

/** The span (offset from base, length) of the contents of the string [q, end) (quotes included). */
@inline function span(q: usize, end: usize, base: usize): u64 {
  return (<u64>(end - q - 2) << 32) | <u64>(q + 1 - base);
}

@inline function digit2(p: usize): i32 {
  const a = <u32>load<u8>(p) - 0x30;
  const b = <u32>load<u8>(p + 1) - 0x30;
  if (a > 9 || b > 9) return -1;
  return <i32>(a * 10 + b);
}

/** Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard Hinnant's days_from_civil). */
@inline function daysFromCivil(y: i32, m: i32, d: i32): i32 {
  if (m <= 2) y -= 1;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/**
 * ISO-8601 `YYYY-MM-DD[T|t| ]HH:MM:SS[.f{1,9}][Z|z|±HH:MM]` at p (len bytes) to ms since
 * the epoch (fraction truncated to ms, no offset = UTC), or -1 when malformed or < 0.
 */
function isoTime(p: usize, len: u32): f64 {
  if (len < 19) return -1;
  const y1 = digit2(p);
  const y2 = digit2(p + 2);
  const mo = digit2(p + 5);
  const d = digit2(p + 8);
  const h = digit2(p + 11);
  const mi = digit2(p + 14);
  const s = digit2(p + 17);
  const sep = <u32>load<u8>(p + 10);
  if (
    (y1 | y2 | mo | d | h | mi | s) < 0 ||
    load<u8>(p + 4) != CH_MINUS || load<u8>(p + 7) != CH_MINUS ||
    (sep != 0x54 && sep != 0x74 && sep != 0x20) ||
    load<u8>(p + 13) != CH_COLON || load<u8>(p + 16) != CH_COLON
  ) return -1;
  const y = y1 * 100 + y2;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return -1;
  let dim = 31;
  if (mo == 4 || mo == 6 || mo == 9 || mo == 11) dim = 30;
  else if (mo == 2) dim = (y & 3) == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : 28;
  if (d > dim) return -1;
  let i: u32 = 19;
  let ms: i32 = 0;
  if (i < len && load<u8>(p + i) == CH_DOT) {
    i++;
    let n: u32 = 0;
    while (i < len) {
      const dg = <u32>load<u8>(p + i) - 0x30;
      if (dg > 9) break;
      if (n < 3) ms = ms * 10 + <i32>dg;
      n++;
      i++;
    }
    if (n == 0 || n > 9) return -1;
    if (n == 1) ms *= 100;
    else if (n == 2) ms *= 10;
  }
  let off: i32 = 0;
  if (i < len) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x5a || c == 0x7a) {
      if (i + 1 != len) return -1;
    } else if (c == 0x2b || c == CH_MINUS) {
      if (len - i != 6 || load<u8>(p + i + 3) != CH_COLON) return -1;
      const oh = digit2(p + i + 1);
      const om = digit2(p + i + 4);
      if (oh < 0 || om < 0 || oh > 23 || om > 59) return -1;
      off = oh * 60 + om;
      if (c == CH_MINUS) off = -off;
    } else {
      return -1;
    }
  }
  const days = daysFromCivil(y, mo, d);
  const t =
    <f64>days * 86400000.0 + <f64>(h * 3600000 + mi * 60000 + s * 1000 + ms) - <f64>off * 60000.0;
  return t >= 0 ? t : -1;
}

/** `MAJOR.MINOR.PATCH` (1-5 digits each, <= 65535) with an optional `-`/`+` suffix, or -1. */
function firmwareOf(p: usize, len: u32): f64 {
  const e = p + <usize>len;
  let v: f64 = 0;
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      if (p >= e || load<u8>(p) != CH_DOT) return -1;
      p++;
    }
    let x: u32 = 0;
    let n = 0;
    while (p < e && n < 5) {
      const dg = <u32>load<u8>(p) - 0x30;
      if (dg > 9) break;
      x = x * 10 + dg;
      p++;
      n++;
    }
    if (n == 0 || x > 65535) return -1;
    v = v * 65536 + <f64>x;
  }
  if (p < e) {
    const c = load<u8>(p);
    if (c != CH_MINUS && c != 0x2b) return -1;
  }
  return v;
}

@inline const MAX_SAFE: f64 = 9007199254740991; // 2^53 - 1

/**
 * One member of the metrics object: its name's hash and span (when nameOk) and its finite
 * number value v. The first MAX_METRICS distinct names take a slot in document order, a
 * repeated name overwrites its slot's value, later ones are counted in mExtra.
 */
@inline function addMetric(nameOk: bool, h: u64, nameSpan: u64, v: f64, out: usize): void {
  if (!nameOk) {
    mState = BAD;
    return;
  }
  let i: u32 = 0;
  while (i < mCount && load<u64>(METRIC_KEYS + (<usize>i << 3)) != h) i++;
  if (i < mCount) {
    store<f64>(out + P.METRIC_VALUE + (<usize>i << 3), v);
  } else if (mCount < MAX_METRICS) {
    store<u64>(METRIC_KEYS + (<usize>i << 3), h);
    const lo = <u32>h;
    store<u32>(out + P.METRIC_HASH + (<usize>i << 2), lo == 0 ? 1 : lo);
    store<f64>(out + P.METRIC_VALUE + (<usize>i << 3), v);
    store<u64>(out + P.METRIC_SPAN + (<usize>i << 3), nameSpan);
    mCount++;
    if (mCount > mDirty) mDirty = mCount;
  } else {
    mExtra++;
  }
}

/** The metrics object at p (its '{'); fills the metric slots of the record. */
function metricsObject(p: usize, e: usize, base: usize, out: usize): usize {
  mState = OK;
  mCount = 0;
  mExtra = 0;
  p = skipWs(p + 1, e);
  if (p < e && <u32>load<u8>(p) == CH_RBRACE) return p + 1;
  while (true) {
    if (p >= e || <u32>load<u8>(p) != CH_QUOTE) return fail(BAD_NOT_JSON);
    const k0 = p;
    p = scanString(p, e);
    if (p == 0) return 0;
    const nameOk = sDec >= 1 && sDec <= MAX_METRIC_NAME_BYTES;
    let h: u64 = 0;
    let nameSpan: u64 = 0;
    if (nameOk) {
      nameSpan = span(k0, p, base);
      h = hash64(stringBytes(k0, p), sDec);
    }
    p = skipWs(p, e);
    if (p >= e || <u32>load<u8>(p) != CH_COLON) return fail(BAD_NOT_JSON);
    p = skipWs(p + 1, e);
    if (p >= e) return fail(BAD_NOT_JSON);
    const c = <u32>load<u8>(p);
    if (c == CH_MINUS || c - 0x30 < 10) {
      p = scanNumber(p, e);
      if (p == 0) return 0;
      const v = numberValue();
      if (!isFinite(v)) return fail(BAD_NON_FINITE);
      addMetric(nameOk, h, nameSpan, v, out);
    } else {
      p = skipValue(p, e, 2);
      if (p == 0) return 0;
      mState = BAD;
    }
    p = skipWs(p, e);
    if (p >= e) return fail(BAD_NOT_JSON);
    const d = <u32>load<u8>(p);
    if (d == CH_COMMA) {
      p = skipWs(p + 1, e);
      continue;
    }
    if (d != CH_RBRACE) return fail(BAD_NOT_JSON);
    return p + 1;
  }
}

// The value of a known field, by kind. Both scans below call these, so that a field means
// the same whichever scan read it.

/** A string value of field f, quotes at q and end - 1 (sDec and sEsc from its scan). */
@inline function fieldString(f: u32, q: usize, end: usize, base: usize): void {
  switch (f) {
    case F_DEVICE: {
      devSpan = span(q, end, base);
      devEsc = sEsc;
      if (sDec >= 1 && sDec <= MAX_DEVICE_ID_BYTES) {
        devState = OK;
        devHash = hash64(stringBytes(q, end), sDec);
      } else {
        devState = BAD;
      }
      break;
    }
    case F_TS: {
      tsVal = isoTime(stringBytes(q, end), sDec);
      tsState = tsVal >= 0 ? OK : BAD;
      break;
    }
    case F_SEQ: {
      seqState = BAD;
      break;
    }
    case F_BYTES: {
      bytesState = BAD;
      break;
    }
    case F_ARRIVAL: {
      arrState = BAD;
      break;
    }
    case F_SOURCE: {
      if (sDec == 0) {
        srcState = ABSENT;
      } else {
        srcState = OK;
        srcSpan = span(q, end, base);
        srcHash = sourceCode(stringBytes(q, end), sDec);
      }
      break;
    }
    case F_CRED: {
      if (sDec == 0) {
        credState = ABSENT;
      } else {
        credState = OK;
        credSpan = span(q, end, base);
        credHash = hash64(stringBytes(q, end), sDec);
      }
      break;
    }
    case F_FIRMWARE: {
      fwVal = firmwareOf(stringBytes(q, end), sDec);
      fwState = fwVal >= 0 ? OK : BAD;
      break;
    }
    case F_METRICS: {
      mState = BAD;
      mCount = 0;
      mExtra = 0;
      break;
    }
  }
}

/** A finite number value v of field f. */
@inline function fieldNumber(f: u32, v: f64): void {
  switch (f) {
    case F_DEVICE: {
      devState = BAD;
      break;
    }
    case F_TS: {
      tsVal = integral(v, MAX_SAFE);
      tsState = tsVal >= 0 ? OK : BAD;
      break;
    }
    case F_SEQ: {
      seqVal = integral(v, MAX_SAFE);
      seqState = seqVal >= 0 ? OK : BAD;
      break;
    }
    case F_BYTES: {
      bytesVal = integral(v, 2147483647);
      bytesState = bytesVal >= 0 ? OK : BAD;
      break;
    }
    case F_ARRIVAL: {
      arrVal = integral(v, MAX_SAFE);
      arrState = arrVal >= 0 ? OK : BAD;
      break;
    }
    case F_SOURCE: {
      srcState = BAD;
      break;
    }
    case F_CRED: {
      credState = BAD;
      break;
    }
    case F_FIRMWARE: {
      fwState = BAD;
      break;
    }
    case F_METRICS: {
      mState = BAD;
      mCount = 0;
      mExtra = 0;
      break;
    }
  }
}

/** Any other value of field f (a literal, an array, an object other than metrics'). */
@inline function fieldOther(f: u32, isNull: bool): void {
  const s = isNull ? ABSENT : BAD;
  switch (f) {
    case F_DEVICE: {
      devState = BAD;
      break;
    }
    case F_TS: {
      tsState = BAD;
      break;
    }
    case F_SEQ: {
      seqState = s;
      break;
    }
    case F_BYTES: {
      bytesState = s;
      break;
    }
    case F_ARRIVAL: {
      arrState = s;
      break;
    }
    case F_SOURCE: {
      srcState = s;
      break;
    }
    case F_CRED: {
      credState = s;
      break;
    }
    case F_FIRMWARE: {
      fwState = s;
      break;
    }
    case F_METRICS: {
      mState = s;
      mCount = 0;
      mExtra = 0;
      break;
    }
  }
}

@inline function resetFields(): void {
  devState = ABSENT;
  devEsc = false;
  tsState = ABSENT;
  seqState = ABSENT;
  srcState = ABSENT;
  credState = ABSENT;
  fwState = ABSENT;
  bytesState = ABSENT;
  arrState = ABSENT;
  mState = ABSENT;
  mCount = 0;
  mExtra = 0;
}

/** After a whole, well-formed object: the field faults in their fixed order, or 0 and the record. */
@inline function finishRecord(ptr: usize, e: usize, out: usize): u32 {
  if (devState == ABSENT) return BAD_MISSING_DEVICE_ID;
  if (devState == BAD) return BAD_BAD_DEVICE_ID;
  if (tsState == ABSENT) return BAD_MISSING_TS;
  if (tsState == BAD) return BAD_BAD_TS;
  if ((seqState | srcState | credState | fwState | bytesState | arrState) & BAD) return BAD_BAD_FIELD;
  if (mState == BAD) return BAD_BAD_METRIC;

  // the record (every byte, so that records compare byte for byte)
  let flags: u32 = 0;
  if (seqState == OK) flags |= Has.SEQ;
  if (srcState == OK) flags |= Has.SOURCE;
  if (credState == OK) flags |= Has.CREDENTIAL;
  if (fwState == OK) flags |= Has.FIRMWARE;
  if (bytesState == OK) flags |= Has.BYTES;
  if (arrState == OK) flags |= Has.ARRIVAL;
  if (devEsc) flags |= Has.DEVICE_ESCAPED;
  store<u32>(out + P.FLAGS, flags);
  store<u64>(out + P.DEVICE_HASH, devHash);
  store<u64>(out + P.SOURCE_HASH, srcState == OK ? srcHash : 0);
  store<u64>(out + P.CRED_HASH, credState == OK ? credHash : 0);
  store<f64>(out + P.TS, tsVal);
  store<f64>(out + P.SEQ, seqState == OK ? seqVal : 0);
  store<f64>(out + P.FIRMWARE, fwState == OK ? fwVal : 0);
  store<f64>(out + P.BYTES, bytesState == OK ? bytesVal : <f64>(<u32>(e - ptr)));
  store<f64>(out + P.ARRIVAL, arrState == OK ? arrVal : 0);
  store<u64>(out + P.DEVICE_SPAN, devSpan);
  store<u64>(out + P.SOURCE_SPAN, srcState == OK ? srcSpan : 0);
  store<u64>(out + P.CRED_SPAN, credState == OK ? credSpan : 0);
  const n = mState == OK ? mCount : 0;
  store<u32>(out + P.METRIC_COUNT, n);
  store<u32>(out + P.METRIC_EXTRA, mState == OK ? mExtra : 0);
  // metric slots past n: zero those written since they were last cleared (usually none)
  for (let i = n; i < mDirty; i++) {
    store<u32>(out + P.METRIC_HASH + (<usize>i << 2), 0);
    store<f64>(out + P.METRIC_VALUE + (<usize>i << 3), 0);
    store<u64>(out + P.METRIC_SPAN + (<usize>i << 3), 0);
  }
  mDirty = n;
  return 0;
}

/**
 * Parse the whole message [ptr, e). Returns 0 or the bad reason; scanner faults (2, 3, 4,
 * 12, 13) are returned as found, before the precedence fix-ups of parseMessage.
 */
function parseTop(ptr: usize, e: usize, out: usize): u32 {
  fault = 0;
  let p = skipWs(ptr, e);
  if (p >= e) return BAD_NOT_JSON;
  let c = <u32>load<u8>(p);
  if (c != CH_LBRACE) {
    p = skipValue(p, e, 0);
    if (p == 0) return fault;
    if (skipWs(p, e) != e) return BAD_NOT_JSON;
    return BAD_NOT_OBJECT;
  }
  resetFields();

  p = skipWs(p + 1, e);
  if (p < e && <u32>load<u8>(p) == CH_RBRACE) {
    p++;
  } else {
    while (true) {
      // key
      if (p >= e || <u32>load<u8>(p) != CH_QUOTE) return BAD_NOT_JSON;
      let f: u32;
      const q = p + 12 <= e ? knownKey(p) : 0;
      if (q != 0) {
        f = knownField;
        p = q;
      } else {
        const k0 = p;
        p = scanString(p, e);
        if (p == 0) return fault;
        f = fieldOf(stringBytes(k0, p), sDec);
      }
      p = skipWs(p, e);
      if (p >= e || <u32>load<u8>(p) != CH_COLON) return BAD_NOT_JSON;
      p = skipWs(p + 1, e);
      if (p >= e) return BAD_NOT_JSON;
      c = load<u8>(p);
      // value
      if (f == F_UNKNOWN) {
        p = skipValue(p, e, 1);
      } else if (c == CH_QUOTE) {
        const v0 = p;
        p = scanString(p, e);
        if (p == 0) return fault;
        fieldString(f, v0, p, ptr);
      } else if (c == CH_MINUS || c - 0x30 < 10) {
        p = scanNumber(p, e);
        if (p == 0) return fault;
        const v = numberValue();
        if (!isFinite(v)) return BAD_NON_FINITE;
        fieldNumber(f, v);
      } else if (c == CH_LBRACE && f == F_METRICS) {
        p = metricsObject(p, e, ptr, out);
      } else {
        p = skipValue(p, e, 1);
        fieldOther(f, c == 0x6e);
      }
      if (p == 0) return fault;
      // next member
      p = skipWs(p, e);
      if (p >= e) return BAD_NOT_JSON;
      c = load<u8>(p);
      if (c == CH_COMMA) {
        p = skipWs(p + 1, e);
        continue;
      }
      if (c != CH_RBRACE) return BAD_NOT_JSON;
      p++;
      break;
    }
  }
  if (skipWs(p, e) != e) return BAD_NOT_JSON;
  return finishRecord(ptr, e, out);
}

// ---------------------------------------------------------------------------------------
// The fast scan: compact, ASCII messages without escapes (what devices send)
//
// Finding each token by scanning from the end of the one before makes every position
// wait for the load and the search before it: a chain through the whole message, which
// alone cost about as much as all the rest of the parse. The fast scan cuts it in two
// passes (after simdjson's stages):
//   1. quoteBitmap: one pass over the message in 16-byte blocks (WASM SIMD: a compare and
//      a bitmask per block), with no dependence between blocks, gives a bitmap of its '"' bytes and checks that no byte is a control byte, a
//      backslash or >= 0x80. Without escapes the quotes pair up: each string is two
//      consecutive set bits, so every string's place is known before any is read.
//   2. fastTop walks the members taking keys and string values from the bitmap and
//      checking that everything between them is exactly `:`, a number or a literal, and
//      `,` or `}`. Only the number scans read forward from a position.
// It accepts only what it fully checked: anything else (whitespace between tokens,
// escapes, non-ASCII, nested values outside metrics, long or exponent numbers, any fault)
// returns FAST_NO and the message is parsed again by parseTop, from the start. So for
// every message it accepts, the result is the one parseTop gives: the same field
// functions fill the same state, and finishRecord writes it.

/** Messages longer than this take parseTop (bounds the bitmap; every string is < MAX_STRING_BYTES). */
@inline const FAST_MAX_BYTES: u32 = 2048;
/** The '"' bitmap of a message, one u64 per 64 bytes (bit i = byte i). */
const QUOTES: usize = memory.data(FAST_MAX_BYTES / 8 + 8, 8);
/** "Not for the fast scan": parse with parseTop. */
@inline const FAST_NO: u32 = 0xffffffff;

/** The '"' bytes of 16 bytes as 16 bits, byte 0 lowest. */
@inline function quoteBits(x: v128): u64 {
  return <u64>i8x16.bitmask(i8x16.eq(x, i8x16.splat(0x22)));
}

/** Lanes of 16 bytes that are < 0x20, >= 0x80 or `\` (all bits set in those lanes). */
@inline function unusualLanes(x: v128): v128 {
  // printable ASCII is [0x20, 0x7f]: minus 0x20 it is [0, 0x5f]
  return v128.or(i8x16.gt_u(i8x16.sub(x, i8x16.splat(0x20)), i8x16.splat(0x5f)), i8x16.eq(x, i8x16.splat(0x5c)));
}

/**
 * Stage 1 over [ptr, ptr + len) (16 <= len <= FAST_MAX_BYTES): QUOTES, and whether every
 * byte is printable ASCII other than `\`. 16 bytes at a time (WASM SIMD), four to a
 * bitmap word; the last 1..15 bytes from the load that ends at the message end, moved
 * down to the first lanes and padded with 'A'.
 */
function quoteBitmap(ptr: usize, len: u32): bool {
  let acc = i8x16.splat(0);
  let at = ptr;
  const end = ptr + <usize>len;
  let out = QUOTES;
  while (at + 64 <= end) {
    const x0 = v128.load(at);
    const x1 = v128.load(at, 16);
    const x2 = v128.load(at, 32);
    const x3 = v128.load(at, 48);
    acc = v128.or(acc, v128.or(v128.or(unusualLanes(x0), unusualLanes(x1)), v128.or(unusualLanes(x2), unusualLanes(x3))));
    store<u64>(out, quoteBits(x0) | (quoteBits(x1) << 16) | (quoteBits(x2) << 32) | (quoteBits(x3) << 48));
    at += 64;
    out += 8;
  }
  let bits: u64 = 0;
  let sh: u64 = 0;
  while (at + 16 <= end) {
    const x = v128.load(at);
    acc = v128.or(acc, unusualLanes(x));
    bits |= quoteBits(x) << sh;
    sh += 16;
    at += 16;
  }
  if (at < end) {
    const r = <i8>(end - at); // 1..15 bytes
    const lanes = v128(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // lane i takes byte 16 - r + i of the last 16; indices past 15 give 0, then 'A'
    const moved = i8x16.swizzle(v128.load(end - 16), i8x16.add(lanes, i8x16.splat(16 - r)));
    const x = v128.or(moved, v128.and(i8x16.ge_u(lanes, i8x16.splat(r)), i8x16.splat(0x41)));
    acc = v128.or(acc, unusualLanes(x));
    bits |= quoteBits(x) << sh;
    sh += 16;
  }
  if (sh != 0) store<u64>(out, bits);
  return !v128.any_true(acc);
}

/** The block quoteBlock found. */
let nextBlock: usize = 0;

/**
 * The quotes of the first block after the one at qb that has any (its address in
 * nextBlock), or 0 when none does. Out of line: most strings open and close in one block.
 */
function quoteBlock(qb: usize, e: usize, ptr: usize): u64 {
  while (true) {
    qb += 64;
    if (qb >= e) return 0;
    const m = load<u64>(QUOTES + ((qb - ptr) >> 3));
    if (m != 0) {
      nextBlock = qb;
      return m;
    }
  }
}

/**
 * Stage 2: the members of the object [ptr, e) (ptr at '{', stage 1 passed). Returns the
 * result of finishRecord, or FAST_NO.
 */
function fastTop(ptr: usize, e: usize, out: usize): u32 {
  resetFields();
  // the quote cursor: qm = quotes of the 64-byte block at qb not yet taken
  let qb = ptr;
  let qm = load<u64>(QUOTES);
  let p = ptr + 1; // where the next key must open
  while (true) {
    // the key: the next two quotes, the first one at p
    if (qm == 0) {
      qm = quoteBlock(qb, e, ptr);
      if (qm == 0) return FAST_NO;
      qb = nextBlock;
    }
    const ks = qb + <usize>ctz<u64>(qm);
    qm &= qm - 1;
    if (ks != p) return FAST_NO;
    if (qm == 0) {
      qm = quoteBlock(qb, e, ptr);
      if (qm == 0) return FAST_NO;
      qb = nextBlock;
    }
    const ke = qb + <usize>ctz<u64>(qm);
    qm &= qm - 1;
    const v = ke + 2;
    if (v >= e || <u32>load<u8>(ke + 1) != CH_COLON) return FAST_NO;
    const f = fieldOf(ks + 1, <u32>(ke - ks - 1));
    // the value
    let c = <u32>load<u8>(v);
    let a: usize; // just after the value
    if (c == CH_QUOTE) {
      // its quotes are the next two (the first after ke is v itself)
      if (qm == 0) {
        qm = quoteBlock(qb, e, ptr);
        if (qm == 0) return FAST_NO;
        qb = nextBlock;
      }
      qm &= qm - 1;
      if (qm == 0) {
        qm = quoteBlock(qb, e, ptr);
        if (qm == 0) return FAST_NO;
        qb = nextBlock;
      }
      const ve = qb + <usize>ctz<u64>(qm);
      qm &= qm - 1;
      a = ve + 1;
      sDec = <u32>(ve - v - 1);
      sEsc = false;
      fieldString(f, v, a, ptr);
    } else if (c == CH_MINUS || c - 0x30 < 10) {
      a = scanNumber(v, e);
      if (a == 0) return FAST_NO;
      const x = numberValue();
      if (!isFinite(x)) return FAST_NO;
      fieldNumber(f, x);
    } else if (c == CH_LBRACE && f == F_METRICS) {
      // the metrics object, its names from the bitmap as well
      mState = OK;
      mCount = 0;
      mExtra = 0;
      let r = v + 1;
      if (r >= e) return FAST_NO;
      if (<u32>load<u8>(r) == CH_RBRACE) {
        a = r + 1;
      } else {
        while (true) {
          // the name: the next two quotes, the first one at r
          if (qm == 0) {
            qm = quoteBlock(qb, e, ptr);
            if (qm == 0) return FAST_NO;
            qb = nextBlock;
          }
          const ns = qb + <usize>ctz<u64>(qm);
          qm &= qm - 1;
          if (ns != r) return FAST_NO;
          if (qm == 0) {
            qm = quoteBlock(qb, e, ptr);
            if (qm == 0) return FAST_NO;
            qb = nextBlock;
          }
          const ne = qb + <usize>ctz<u64>(qm);
          qm &= qm - 1;
          const mv = ne + 2;
          if (mv >= e || <u32>load<u8>(ne + 1) != CH_COLON) return FAST_NO;
          const nlen = <u32>(ne - ns - 1);
          c = load<u8>(mv);
          let a2: usize;
          if (c == CH_MINUS || c - 0x30 < 10) {
            a2 = scanNumber(mv, e);
            if (a2 == 0) return FAST_NO;
            const x = numberValue();
            if (!isFinite(x)) return FAST_NO;
            const nameOk = nlen >= 1 && nlen <= MAX_METRIC_NAME_BYTES;
            addMetric(nameOk, nameOk ? hash64(ns + 1, nlen) : 0, nameOk ? span(ns, ne + 1, ptr) : 0, x, out);
          } else if (c == CH_QUOTE) {
            if (qm == 0) {
              qm = quoteBlock(qb, e, ptr);
              if (qm == 0) return FAST_NO;
              qb = nextBlock;
            }
            qm &= qm - 1;
            if (qm == 0) {
              qm = quoteBlock(qb, e, ptr);
              if (qm == 0) return FAST_NO;
              qb = nextBlock;
            }
            a2 = qb + <usize>ctz<u64>(qm) + 1;
            qm &= qm - 1;
            mState = BAD;
          } else if (c == 0x74 || c == 0x66 || c == 0x6e) {
            a2 = literal(mv, e, c);
            if (a2 == 0) return FAST_NO;
            mState = BAD;
          } else {
            return FAST_NO;
          }
          if (a2 >= e) return FAST_NO;
          const d = <u32>load<u8>(a2);
          if (d == CH_COMMA) {
            r = a2 + 1;
            continue;
          }
          if (d != CH_RBRACE) return FAST_NO;
          a = a2 + 1;
          break;
        }
      }
    } else if (c == 0x74 || c == 0x66 || c == 0x6e) {
      a = literal(v, e, c);
      if (a == 0) return FAST_NO;
      fieldOther(f, c == 0x6e);
    } else {
      return FAST_NO;
    }
    // after the value: the next key, or the end of the message
    if (a >= e) return FAST_NO;
    const d = <u32>load<u8>(a);
    if (d == CH_COMMA) {
      p = a + 1;
      continue;
    }
    if (d != CH_RBRACE || a + 1 != e) return FAST_NO;
    return finishRecord(ptr, e, out);
  }
}

/**
 * Parse one message of `len` bytes at `ptr` into the P record at `out` (P.SIZE bytes).
 * Returns the bad reason (0 = ok), also stored at P.STATUS; on failure the other fields
 * of the record are unspecified. Never reads outside [ptr, ptr + len), never traps,
 * allocates nothing. maxMessageBytes: longer messages are too_large.
 */
export function parseMessage(ptr: usize, len: u32, out: usize, maxMessageBytes: u32): u32 {
  let r: u32;
  if (len > maxMessageBytes) {
    r = BAD_TOO_LARGE;
  } else {
    const e = ptr + <usize>len;
    r = FAST_NO;
    if (len >= 16 && len <= FAST_MAX_BYTES && <u32>load<u8>(ptr) == CH_LBRACE && quoteBitmap(ptr, len)) {
      r = fastTop(ptr, e, out);
    }
    if (r == FAST_NO) r = parseTop(ptr, e, out);
    if (r == BAD_INVALID_UTF8 || r == BAD_NOT_JSON || r == BAD_TOO_DEEP || r == BAD_NON_FINITE || r == BAD_STRING_TOO_LONG) {
      // the scan stopped early: raw UTF-8 first, then grammar, decide over the whole message
      if (!utf8Valid(ptr, e)) r = BAD_INVALID_UTF8;
      else if (r != BAD_NOT_JSON && !grammarOk(ptr, e)) r = BAD_NOT_JSON;
    }
  }
  store<u32>(out + P.STATUS, r);
  return r;
}
