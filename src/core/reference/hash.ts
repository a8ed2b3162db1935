// 64-bit hashes of byte strings, the TypeScript twin of assembly/hash.ts (same numbers, bit
// for bit). A hash is two 32-bit halves: lo = MurmurHash3_x86_32(bytes, 0x9747b28c) and
// hi = MurmurHash3_x86_32(bytes, 0x5bd1e995), computed in one pass (the block mixing is
// the same for both seeds). 0:0 marks an empty table slot, so it is never returned: lo
// becomes 1 instead. MurmurHash3 is Austin Appleby's (public domain).
//
// Nothing here allocates: results land in `hashOut` (hi, lo) and the lo half is returned.

import { MAX_STRING_BYTES } from '../layout';

const SEED_LO = 0x9747b28c;
const SEED_HI = 0x5bd1e995;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The last result of hash64 / sourceCode / hashString (unsigned 32-bit halves). */
export const hashOut = { hi: 0, lo: 0 };

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash `len` bytes of `buf` from `off`; sets hashOut.hi/lo and returns lo.
 * Never 0:0 (lo is forced to 1 then).
 */
export function hash64(buf: Uint8Array, len: number = buf.length, off = 0): number {
  let h1 = SEED_LO;
  let h2 = SEED_HI;
  const end = off + (len & ~3);
  let i = off;
  for (; i < end; i += 4) {
    const k = scramble(buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 ^= k;
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
  }
  const rem = len & 3;
  let k = 0;
  if (rem !== 0) {
    k = buf[i];
    if (rem >= 2) k |= buf[i + 1] << 8;
    if (rem === 3) k |= buf[i + 2] << 16;
  }
  return finish(h1, h2, k, len);
}

/** One 4-byte block's scramble (MurmurHash3's k1 step). */
function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/**
 * Tail block and finalisation of both halves; sets hashOut, returns lo. A tail of zero
 * bytes scrambles to 0 and leaves the halves unchanged, so no length test is needed.
 */
function finish(h1: number, h2: number, tail: number, len: number): number {
  const k = scramble(tail);
  h1 = fmix((h1 ^ k) ^ len);
  h2 = fmix((h2 ^ k) ^ len);
  if ((h1 | h2) === 0) h1 = 1;
  hashOut.hi = h2;
  hashOut.lo = h1;
  return h1;
}

/** Digits of a decimal field of 1..maxDigits digits at buf[i..], or -1; sets fieldEnd. */
let fieldEnd = 0;
function decimal(buf: Uint8Array, i: number, end: number, maxDigits: number): number {
  let v = 0;
  let n = 0;
  while (i < end && n < maxDigits) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    i++;
    n++;
  }
  fieldEnd = i;
  return n === 0 ? -1 : v;
}

/**
 * The code of a `source` string (its UTF-8 bytes). A strict IPv4 dotted quad `a.b.c.d`
 * (1-3 digits each, <= 255), optionally `:port` (1-5 digits, <= 65535), is encoded so that
 * the address can be shown and /24 networks compared:
 *   hi = 0x80000000 | (port present ? 0x10000 : 0) | port,  lo = a<<24 | b<<16 | c<<8 | d.
 * Anything else is hash64 with the top bit of hi cleared (lo = 1 if both halves are 0).
 * Sets hashOut and returns lo.
 */
export function sourceCode(buf: Uint8Array, len: number = buf.length, off = 0): number {
  const end = off + len;
  let i = off;
  let addr = 0;
  let ok = true;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= end || buf[i] !== 0x2e) {
        ok = false;
        break;
      }
      i++;
    }
    const v = decimal(buf, i, end, 3);
    if (v < 0 || v > 255) {
      ok = false;
      break;
    }
    i = fieldEnd;
    addr = (addr << 8) | v;
  }
  if (ok) {
    let hi = 0x80000000;
    if (i < end) {
      if (buf[i] !== 0x3a) ok = false;
      else {
        const port = decimal(buf, i + 1, end, 5);
        if (port < 0 || port > 65535 || fieldEnd !== end) ok = false;
        else hi = (hi | 0x10000 | port) >>> 0;
      }
    }
    if (ok) {
      hashOut.hi = hi;
      hashOut.lo = addr >>> 0;
      return hashOut.lo;
    }
  }
  hash64(buf, len, off);
  hashOut.hi = (hashOut.hi & 0x7fffffff) >>> 0;
  if ((hashOut.hi | hashOut.lo) === 0) hashOut.lo = 1;
  return hashOut.lo;
}

/** The 32-bit hash of a metric name: the lo half of hash64, never 0. */
export function metricNameHash(buf: Uint8Array, len: number = buf.length, off = 0): number {
  const lo = hash64(buf, len, off);
  return lo === 0 ? 1 : lo;
}

/** Scratch for hashing JS strings: large enough for any string the parser accepts. */
const scratch = Buffer.allocUnsafe(MAX_STRING_BYTES * 3 + 16);

/** UTF-8 encode `s` into the module scratch (strings up to MAX_STRING_BYTES bytes); returns the byte length. */
export function encodeScratch(s: string): number {
  const n = s.length;
  if (n <= 64) {
    // short ASCII strings (the usual ids and names): a plain copy beats the Buffer call
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      scratch[i] = c;
    }
    if (i === n) return n;
  }
  return scratch.write(s, 0, scratch.length, 'utf8');
}
/** The scratch buffer written by encodeScratch (valid until the next call). */
export function scratchBytes(): Uint8Array {
  return scratch;
}

/** hash64 of a string's UTF-8 bytes; sets hashOut, returns lo. ASCII strings are hashed from their char codes, without a copy. */
export function hashString(s: string): number {
  const len = s.length;
  let h1 = SEED_LO;
  let h2 = SEED_HI;
  const end = len & ~3;
  let i = 0;
  let ascii = 0;
  for (; i < end; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    ascii |= c0 | c1 | c2 | c3;
    const k = scramble(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 ^= k;
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
  }
  const rem = len & 3;
  let k = 0;
  if (rem !== 0) {
    const t0 = s.charCodeAt(i);
    const t1 = rem >= 2 ? s.charCodeAt(i + 1) : 0;
    const t2 = rem === 3 ? s.charCodeAt(i + 2) : 0;
    ascii |= t0 | t1 | t2;
    k = t0 | (t1 << 8) | (t2 << 16);
  }
  if (ascii >= 0x80) return hash64(scratch, encodeScratch(s), 0); // not ASCII: hash the UTF-8 bytes
  return finish(h1, h2, k, len);
}

/** sourceCode of a string's UTF-8 bytes; sets hashOut, returns lo. */
export function sourceCodeString(s: string): number {
  return sourceCode(scratch, encodeScratch(s), 0);
}
/** metricNameHash of a string's UTF-8 bytes. */
export function metricNameHashString(s: string): number {
  const lo = hashString(s);
  return lo === 0 ? 1 : lo;
}
