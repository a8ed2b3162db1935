// 64-bit hashes of byte ranges in linear memory (message bytes or scratch), the twin of
// src/core/reference/hash.ts (same numbers, bit for bit). A hash is two 32-bit halves:
// lo = MurmurHash3_x86_32(bytes, 0x9747b28c), hi = MurmurHash3_x86_32(bytes, 0x5bd1e995),
// computed in one pass over little-endian 4-byte words (the block mixing is shared by both
// seeds). 0:0 marks an empty table slot, so it is never returned: lo becomes 1 instead.
// MurmurHash3 is Austin Appleby's (public domain). Nothing here allocates.

@inline const SEED_LO: u32 = 0x9747b28c;
@inline const SEED_HI: u32 = 0x5bd1e995;
@inline const C1: u32 = 0xcc9e2d51;
@inline const C2: u32 = 0x1b873593;

@inline function fmix(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

@inline function mixK(k: u32): u32 {
  k *= C1;
  k = rotl<u32>(k, 15);
  return k * C2;
}

@inline function mixH(h: u32, k: u32): u32 {
  h ^= k;
  h = rotl<u32>(h, 13);
  return h * 5 + 0xe6546b64;
}

/**
 * hash64 of `len` bytes at `ptr`: (hi << 32) | lo, never 0. Two blocks per step from one
 * 8-byte load (device ids and credentials are mostly 8 to 32 bytes).
 */
export function hash64(ptr: usize, len: u32): u64 {
  let h1 = SEED_LO;
  let h2 = SEED_HI;
  let p = ptr;
  const end8 = ptr + (<usize>(len & ~7));
  while (p < end8) {
    const w = load<u64>(p);
    const k0 = mixK(<u32>w);
    const k1 = mixK(<u32>(w >>> 32));
    h1 = mixH(mixH(h1, k0), k1);
    h2 = mixH(mixH(h2, k0), k1);
    p += 8;
  }
  if (len & 4) {
    const k = mixK(load<u32>(p));
    h1 = mixH(h1, k);
    h2 = mixH(h2, k);
    p += 4;
  }
  const rem = len & 3;
  if (rem != 0) {
    let k = <u32>load<u8>(p);
    if (rem >= 2) k |= <u32>load<u8>(p + 1) << 8;
    if (rem == 3) k |= <u32>load<u8>(p + 2) << 16;
    k = mixK(k);
    h1 ^= k;
    h2 ^= k;
  }
  h1 = fmix(h1 ^ len);
  h2 = fmix(h2 ^ len);
  if ((h1 | h2) == 0) h1 = 1;
  return (<u64>h2 << 32) | <u64>h1;
}

/** hash64 of the bytes in [start, end) of any memory (message, scratch): the same function by range. */
@inline export function hashRange(start: usize, end: usize): u64 {
  return hash64(start, <u32>(end - start));
}

/** Upper 32 bits of a hash64 / sourceCode result. */
@inline export function hashHi(h: u64): u32 {
  return <u32>(h >>> 32);
}
/** Lower 32 bits of a hash64 / sourceCode result. */
@inline export function hashLo(h: u64): u32 {
  return <u32>h;
}

/** The value of a 1..3 digit run at p (length l, digits checked): shifted up, '0's below. */
@inline function octet(p: usize, l: u32): u32 {
  const sh = (3 - l) << 3;
  const w = ((load<u32>(p) << sh) | (0x303030 & ((<u32>1 << sh) - 1))) - 0x303030;
  return (w & 0xff) * 100 + ((w >>> 8) & 0xff) * 10 + ((w >>> 16) & 0xff);
}

/**
 * The IPv4 code of [p, end) (see sourceCode; 7 <= end - p <= 21), or 0 when it is not a
 * strict dotted quad with an optional port. The address is found from one 16-byte load:
 * its first four bytes that are not digits (the string's end counting as one) must be
 * three dots and then ':' or the end, with 1..3 digits between each. Byte loops over
 * variable-length parts mispredicted their branches on every message. The load may read
 * up to 9 bytes past the string: never past the input region (64 spare bytes) nor past
 * the decoding scratch (16 spare bytes); those lanes are masked off.
 */
function ipv4(p: usize, end: usize): u64 {
  const len = <u32>(end - p);
  const x = v128.load(p);
  const inside: u32 = len >= 16 ? 0xffff : (<u32>1 << len) - 1;
  const dots = <u32>i8x16.bitmask(i8x16.eq(x, i8x16.splat(0x2e))) & inside;
  const other = (~<u32>i8x16.bitmask(i8x16.lt_u(i8x16.sub(x, i8x16.splat(0x30)), i8x16.splat(10))) & inside) | (<u32>1 << (len >= 16 ? 16 : len));
  const d1 = ctz(other);
  const m1 = other & (other - 1);
  const d2 = ctz(m1);
  const m2 = m1 & (m1 - 1);
  const d3 = ctz(m2);
  const a = ctz(m2 & (m2 - 1)); // where the address ends: ':' or the end
  if (((dots >>> d1) & (dots >>> d2) & (dots >>> d3) & 1) == 0) return 0;
  const l1 = d2 - d1 - 1;
  const l2 = d3 - d2 - 1;
  const l3 = a - d3 - 1;
  // with parts of 1..3 digits, d3 <= 11 and a <= 15: the ':' was in the loaded 16 bytes
  if (d1 - 1 > 2 || l1 - 1 > 2 || l2 - 1 > 2 || l3 - 1 > 2) return 0;
  const b0 = octet(p, d1);
  const b1 = octet(p + <usize>d1 + 1, l1);
  const b2 = octet(p + <usize>d2 + 1, l2);
  const b3 = octet(p + <usize>d3 + 1, l3);
  if ((b0 | b1 | b2 | b3) > 255) return 0;
  const addr = (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
  let hi: u32 = 0x80000000;
  if (a < len) {
    if (load<u8>(p + <usize>a) != 0x3a) return 0;
    let q = p + <usize>a + 1;
    const n = <u32>(end - q);
    if (n < 1 || n > 5) return 0;
    let port: u32 = 0;
    while (q < end) {
      const d = <u32>load<u8>(q) - 0x30;
      if (d > 9) return 0;
      port = port * 10 + d;
      q++;
    }
    if (port > 65535) return 0;
    hi |= 0x10000 | port;
  }
  return (<u64>hi << 32) | <u64>addr;
}

/**
 * The code of a `source` string's decoded UTF-8 bytes. A strict IPv4 dotted quad `a.b.c.d`
 * (1-3 digits each, <= 255), optionally followed by `:port` (1-5 digits, <= 65535), is
 * encoded so that the previous address can be shown and /24 networks compared:
 *   hi = 0x80000000 | (port present ? 0x10000 : 0) | port,  lo = a<<24 | b<<16 | c<<8 | d.
 * Anything else is hash64 with the top bit of hi cleared (lo = 1 if both halves are 0).
 */
export function sourceCode(ptr: usize, len: u32): u64 {
  if (len >= 7 && len <= 21) {
    const code = ipv4(ptr, ptr + <usize>len);
    if (code != 0) return code;
  }
  let h = hash64(ptr, len) & 0x7fffffff_ffffffff;
  if (h == 0) h = 1;
  return h;
}

/** The 32-bit hash of a metric name: the lo half of hash64, never 0. */
export function metricNameHash(ptr: usize, len: u32): u32 {
  const lo = <u32>hash64(ptr, len);
  return lo == 0 ? 1 : lo;
}
