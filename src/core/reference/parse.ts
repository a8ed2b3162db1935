// The message parser of the TypeScript reference: TextDecoder (fatal) + JSON.parse, then a
// walk of the parsed value for what JSON.parse lets through (depth, string lengths, lone
// surrogates, overflowed numbers) and the field checks. It gives the same information as
// the WASM parser's P record (assembly/parse.ts, whose header states the field semantics
// and the reason precedence followed here):
//   too_large > invalid_utf8 (bytes) > not_json > first of too_deep / string_too_long /
//   invalid_utf8 (lone surrogate) / non_finite > not_object > deviceId > ts > bad_field >
//   bad_metric.
// The walk visits members in JS property order, which is document order except that
// integer-like keys come first; only the choice between two structural faults in one
// message can differ from the WASM scan because of it.
//
// JSON.parse keeps the last of repeated keys and drops the others unseen, and puts
// integer-like keys first. Both matter only in rare messages, which take a slower path:
// when the raw text holds more strings than the parsed value (a repeated key was dropped),
// or a metric name starts with a digit, or the text has a backslash (is the deviceId
// escaped?), `rawScan` re-reads the text token by token in document order.
//
// Hot path cost: one decode, one JSON.parse, one walk of the value, one count of the quote
// bytes; no other allocation (ASCII strings are hashed from their char codes, others
// through a pre-sized scratch Buffer; the result object is reused). About twice the cost
// of decode + JSON.parse alone.

import {
  Bad,
  DEFAULT_MAX_MESSAGE_BYTES,
  Has,
  MAX_DEPTH,
  MAX_DEVICE_ID_BYTES,
  MAX_METRIC_NAME_BYTES,
  MAX_METRICS,
  MAX_STRING_BYTES,
} from '../layout';
import { encodeScratch, hashOut, hashString, scratchBytes, sourceCode } from './hash';

/** One parsed message: the reference's P record. Reused by every call: copy what you keep. */
export class ParsedMessage {
  /** Bad reason (0 = ok); when non-zero the other fields are unspecified. */
  status = 0;
  /** Has.* bits. */
  flags = 0;
  deviceHi = 0;
  deviceLo = 0;
  deviceId = '';
  sourceHi = 0;
  sourceLo = 0;
  source = '';
  credHi = 0;
  credLo = 0;
  credential = '';
  ts = 0;
  seq = 0;
  firmware = 0;
  /** The bytes field, else the message length. */
  bytes = 0;
  arrival = 0;
  metricCount = 0;
  metricExtra = 0;
  readonly metricHash = new Uint32Array(MAX_METRICS);
  readonly metricValue = new Float64Array(MAX_METRICS);
  readonly metricNames: string[] = new Array<string>(MAX_METRICS).fill('');

  reset(): void {
    this.status = 0;
    this.flags = 0;
    this.deviceHi = this.deviceLo = 0;
    this.sourceHi = this.sourceLo = 0;
    this.credHi = this.credLo = 0;
    this.deviceId = this.source = this.credential = '';
    this.ts = this.seq = this.firmware = this.bytes = this.arrival = 0;
    // metric slots beyond metricCount are unspecified; clear the ones last used
    for (let i = 0; i < this.metricCount; i++) {
      this.metricHash[i] = 0;
      this.metricValue[i] = 0;
      this.metricNames[i] = '';
    }
    this.metricCount = this.metricExtra = 0;
  }
}

// Imported constants copied into module constants: on the hot path they are read as
// locals, not through the module object (a getter per access under some loaders).
const BAD_TOO_LARGE = Bad.too_large;
const BAD_INVALID_UTF8 = Bad.invalid_utf8;
const BAD_NOT_JSON = Bad.not_json;
const BAD_TOO_DEEP = Bad.too_deep;
const BAD_NOT_OBJECT = Bad.not_object;
const BAD_MISSING_DEVICE_ID = Bad.missing_device_id;
const BAD_BAD_DEVICE_ID = Bad.bad_device_id;
const BAD_MISSING_TS = Bad.missing_ts;
const BAD_BAD_TS = Bad.bad_ts;
const BAD_BAD_FIELD = Bad.bad_field;
const BAD_BAD_METRIC = Bad.bad_metric;
const BAD_NON_FINITE = Bad.non_finite;
const BAD_STRING_TOO_LONG = Bad.string_too_long;
const HAS_SEQ = Has.SEQ;
const HAS_SOURCE = Has.SOURCE;
const HAS_CREDENTIAL = Has.CREDENTIAL;
const HAS_FIRMWARE = Has.FIRMWARE;
const HAS_BYTES = Has.BYTES;
const HAS_ARRIVAL = Has.ARRIVAL;
const HAS_DEVICE_ESCAPED = Has.DEVICE_ESCAPED;
const DEPTH_LIMIT = MAX_DEPTH;
const DEVICE_ID_BYTES = MAX_DEVICE_ID_BYTES;
const METRIC_NAME_BYTES = MAX_METRIC_NAME_BYTES;
const METRICS = MAX_METRICS;
const STRING_BYTES = MAX_STRING_BYTES;
const hashResult = hashOut;
const scratch = scratchBytes();
const encode = encodeScratch;
const hashStr = hashString;
const sourceBytes = sourceCode;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const result = new ParsedMessage();
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_BYTES_FIELD = 2147483647;

// ---------------------------------------------------------------------------------------
// The walk: structural checks on the parsed value

let wFault = 0;
let wStrings = 0; // keys and string values seen
let checkLengths = false; // the message is long enough to hold a too-long string
let checkSurrogates = false; // the text has a backslash, so \u escapes may leave lone surrogates

function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function checkString(s: string): void {
  if (checkSurrogates && !isWellFormed(s)) wFault = BAD_INVALID_UTF8;
  else if (checkLengths && s.length > STRING_BYTES / 3 && Buffer.byteLength(s, 'utf8') > STRING_BYTES)
    wFault = BAD_STRING_TOO_LONG;
}

/** Walk v, a value held at nesting `depth` if it is a container (top level: 1). */
function walk(v: unknown, depth: number): void {
  if (typeof v === 'string') {
    wStrings++;
    checkString(v);
    return;
  }
  if (typeof v === 'number') {
    if (v - v !== 0) wFault = BAD_NON_FINITE;
    return;
  }
  if (v === null || typeof v !== 'object') return;
  if (depth > DEPTH_LIMIT) {
    wFault = BAD_TOO_DEEP;
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      walk(v[i], depth + 1);
      if (wFault !== 0) return;
    }
    return;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    wStrings++;
    checkString(k);
    if (wFault !== 0) return;
    walk(o[k], depth + 1);
    if (wFault !== 0) return;
  }
}

/** String tokens in the message: unescaped quotes / 2. */
function rawStringCount(bytes: Uint8Array, text: string, hasBackslash: boolean): number {
  let n = 0;
  if (!hasBackslash) {
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x22) n++;
    return n >> 1;
  }
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i + 1)) {
    let b = 0;
    for (let j = i - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) b++;
    if ((b & 1) === 0) n++;
  }
  return n >> 1;
}

// ---------------------------------------------------------------------------------------
// The slow path: the raw text in document order (only for text JSON.parse accepted)

interface RawMember {
  name: string;
  isNumber: boolean;
}
let rawFault = 0;
let rawDeviceEscaped = false;
/** Members of the last top-level `metrics` value when it is an object, in document order. */
let rawMetrics: RawMember[] | null = null;

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

/** Re-read valid JSON text token by token: structural faults in document order, deviceId escapes, metric members. */
function rawScan(text: string): void {
  rawFault = 0;
  rawDeviceEscaped = false;
  rawMetrics = null;
  const n = text.length;
  const isArray: boolean[] = [false];
  let depth = 0; // open containers
  let expectKey = false;
  let topKey = '';
  let inMetrics = false; // inside the object of the current top-level `metrics` member
  let member = '';
  // a value (of kind number / string / other) starts at nesting `depth`
  const onValue = (isNumber: boolean, escapedString: boolean, opensObject: boolean): void => {
    if (depth === 1) {
      if (topKey === 'deviceId') rawDeviceEscaped = escapedString;
      else if (topKey === 'metrics') rawMetrics = opensObject ? [] : null;
    } else if (depth === 2 && inMetrics) {
      rawMetrics!.push({ name: member, isNumber });
    }
  };
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
    } else if (c === 0x2c) {
      expectKey = !isArray[depth];
      i++;
    } else if (c === 0x3a) {
      expectKey = false;
      i++;
    } else if (c === 0x7b || c === 0x5b) {
      onValue(false, false, c === 0x7b);
      const startsMetrics = depth === 1 && topKey === 'metrics' && c === 0x7b;
      depth++;
      if (depth > DEPTH_LIMIT) {
        rawFault = BAD_TOO_DEEP;
        return;
      }
      isArray[depth] = c === 0x5b;
      expectKey = c === 0x7b;
      if (startsMetrics) inMetrics = true;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 2) inMetrics = false;
      depth--;
      expectKey = false;
      i++;
    } else if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d === 0x22) break;
        if (d === 0x5c) {
          escaped = true;
          j += 2;
        } else j++;
      }
      const s: string = escaped ? JSON.parse(text.slice(i, j + 1)) : text.slice(i + 1, j);
      if (escaped && !isWellFormed(s)) rawFault = BAD_INVALID_UTF8;
      else if (Buffer.byteLength(s, 'utf8') > STRING_BYTES) rawFault = BAD_STRING_TOO_LONG;
      if (rawFault !== 0) return;
      if (expectKey) {
        if (depth === 1) topKey = s;
        else if (depth === 2 && inMetrics) member = s;
        expectKey = false;
      } else {
        onValue(false, escaped, false);
      }
      i = j + 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      if (!Number.isFinite(Number(text.slice(i, j)))) {
        rawFault = BAD_NON_FINITE;
        return;
      }
      onValue(true, false, false);
      i = j;
    } else {
      onValue(false, false, false); // true, false, null
      i += c === 0x66 ? 5 : 4;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Field formats (the same rules as assembly/parse.ts)

function digit2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 0x30;
  const b = s.charCodeAt(i + 1) - 0x30;
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1;
  return a * 10 + b;
}

/** Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y -= 1;
  const era = Math.trunc((y >= 0 ? y : y - 399) / 400);
  const yoe = y - era * 400;
  const doy = Math.trunc((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.trunc(yoe / 4) - Math.trunc(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** ISO-8601 `YYYY-MM-DD[T|t| ]HH:MM:SS[.f{1,9}][Z|z|±HH:MM]` to ms since the epoch, or -1. */
export function isoTime(s: string): number {
  const len = s.length;
  if (len < 19) return -1;
  const y1 = digit2(s, 0);
  const y2 = digit2(s, 2);
  const mo = digit2(s, 5);
  const d = digit2(s, 8);
  const h = digit2(s, 11);
  const mi = digit2(s, 14);
  const sec = digit2(s, 17);
  const sep = s.charCodeAt(10);
  if (
    (y1 | y2 | mo | d | h | mi | sec) < 0 ||
    s.charCodeAt(4) !== 0x2d ||
    s.charCodeAt(7) !== 0x2d ||
    (sep !== 0x54 && sep !== 0x74 && sep !== 0x20) ||
    s.charCodeAt(13) !== 0x3a ||
    s.charCodeAt(16) !== 0x3a
  )
    return -1;
  const y = y1 * 100 + y2;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return -1;
  let dim = 31;
  if (mo === 4 || mo === 6 || mo === 9 || mo === 11) dim = 30;
  else if (mo === 2) dim = (y & 3) === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  if (d > dim) return -1;
  let i = 19;
  let ms = 0;
  if (i < len && s.charCodeAt(i) === 0x2e) {
    i++;
    let n = 0;
    while (i < len) {
      const dg = s.charCodeAt(i) - 0x30;
      if (dg < 0 || dg > 9) break;
      if (n < 3) ms = ms * 10 + dg;
      n++;
      i++;
    }
    if (n === 0 || n > 9) return -1;
    if (n === 1) ms *= 100;
    else if (n === 2) ms *= 10;
  }
  let off = 0;
  if (i < len) {
    const c = s.charCodeAt(i);
    if (c === 0x5a || c === 0x7a) {
      if (i + 1 !== len) return -1;
    } else if (c === 0x2b || c === 0x2d) {
      if (len - i !== 6 || s.charCodeAt(i + 3) !== 0x3a) return -1;
      const oh = digit2(s, i + 1);
      const om = digit2(s, i + 4);
      if (oh < 0 || om < 0 || oh > 23 || om > 59) return -1;
      off = oh * 60 + om;
      if (c === 0x2d) off = -off;
    } else {
      return -1;
    }
  }
  const t = daysFromCivil(y, mo, d) * 86400000 + (h * 3600000 + mi * 60000 + sec * 1000 + ms) - off * 60000;
  return t >= 0 ? t : -1;
}

/** `MAJOR.MINOR.PATCH` (1-5 digits each, <= 65535) with an optional `-`/`+` suffix → major*2^32 + minor*2^16 + patch, or -1. */
export function firmwareOf(s: string): number {
  const len = s.length;
  let i = 0;
  let v = 0;
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      if (i >= len || s.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
    let x = 0;
    let n = 0;
    while (i < len && n < 5) {
      const dg = s.charCodeAt(i) - 0x30;
      if (dg < 0 || dg > 9) break;
      x = x * 10 + dg;
      i++;
      n++;
    }
    if (n === 0 || x > 65535) return -1;
    v = v * 65536 + x;
  }
  if (i < len) {
    const c = s.charCodeAt(i);
    if (c !== 0x2d && c !== 0x2b) return -1;
  }
  return v;
}

/** An integral number in [0, max] (+0 for -0), else -1. */
function integral(v: unknown, max: number): number {
  if (typeof v === 'number' && v >= 0 && v <= max && Math.floor(v) === v) return v + 0;
  return -1;
}

// ---------------------------------------------------------------------------------------

function fail(r: ParsedMessage, status: number): ParsedMessage {
  r.status = status;
  return r;
}

/**
 * Parse one message (its bytes) the reference way. Returns a result object that is
 * reused by the next call. maxMessageBytes: longer messages are too_large.
 */
export function parseReference(bytes: Uint8Array, maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES): ParsedMessage {
  const r = result;
  r.reset();
  const len = bytes.length;
  if (len > maxMessageBytes) return fail(r, BAD_TOO_LARGE);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return fail(r, BAD_INVALID_UTF8);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(r, BAD_NOT_JSON);
  }

  // structural checks
  const hasBackslash = text.indexOf('\\') >= 0;
  wFault = 0;
  wStrings = 0;
  checkLengths = len > STRING_BYTES + 2;
  checkSurrogates = hasBackslash;
  walk(value, 1);
  let raw = false;
  if (wFault !== 0) return fail(r, wFault);
  if (rawStringCount(bytes, text, hasBackslash) !== wStrings) {
    // a repeated key was dropped by JSON.parse: its value still had to be valid
    rawScan(text);
    raw = true;
    if (rawFault !== 0) return fail(r, rawFault);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(r, BAD_NOT_OBJECT);
  const o = value as Record<string, unknown>;

  // deviceId, ts
  const dev = o.deviceId;
  if (dev === undefined) return fail(r, BAD_MISSING_DEVICE_ID);
  if (typeof dev !== 'string') return fail(r, BAD_BAD_DEVICE_ID);
  const devBytes = Buffer.byteLength(dev, 'utf8');
  if (devBytes < 1 || devBytes > DEVICE_ID_BYTES) return fail(r, BAD_BAD_DEVICE_ID);
  const tsv = o.ts;
  if (tsv === undefined) return fail(r, BAD_MISSING_TS);
  const ts = typeof tsv === 'string' ? isoTime(tsv) : integral(tsv, MAX_SAFE);
  if (ts < 0) return fail(r, BAD_BAD_TS);

  // optional fields: absent (undefined, null, '' for source and credential), valid or bad
  let flags = 0;
  const seqv = o.seq;
  if (seqv != null) {
    r.seq = integral(seqv, MAX_SAFE);
    if (r.seq < 0) return fail(r, BAD_BAD_FIELD);
    flags |= HAS_SEQ;
  }
  const src = o.source;
  if (src != null && src !== '') {
    if (typeof src !== 'string') return fail(r, BAD_BAD_FIELD);
    flags |= HAS_SOURCE;
  }
  const cred = o.credential;
  if (cred != null && cred !== '') {
    if (typeof cred !== 'string') return fail(r, BAD_BAD_FIELD);
    flags |= HAS_CREDENTIAL;
  }
  const fw = o.firmware;
  if (fw != null) {
    r.firmware = typeof fw === 'string' ? firmwareOf(fw) : -1;
    if (r.firmware < 0) return fail(r, BAD_BAD_FIELD);
    flags |= HAS_FIRMWARE;
  }
  const bv = o.bytes;
  if (bv != null) {
    r.bytes = integral(bv, MAX_BYTES_FIELD);
    if (r.bytes < 0) return fail(r, BAD_BAD_FIELD);
    flags |= HAS_BYTES;
  } else {
    r.bytes = len;
  }
  const av = o.arrivalTs;
  if (av != null) {
    r.arrival = integral(av, MAX_SAFE);
    if (r.arrival < 0) return fail(r, BAD_BAD_FIELD);
    flags |= HAS_ARRIVAL;
  }

  // metrics
  const mv = o.metrics;
  if (mv != null) {
    if (typeof mv !== 'object' || Array.isArray(mv)) return fail(r, BAD_BAD_METRIC);
    const m = mv as Record<string, unknown>;
    if (!raw) {
      // property order is document order unless there are integer-like keys, which come
      // first: the first key tells
      for (const name in m) {
        const c = name.charCodeAt(0);
        if (c >= 0x30 && c <= 0x39) {
          rawScan(text);
          raw = true;
        }
        break;
      }
    }
    if (raw) {
      // document order, repeated names included
      const members = rawMetrics ?? [];
      for (let k = 0; k < members.length; k++) {
        const { name, isNumber } = members[k];
        if (!isNumber) return fail(r, BAD_BAD_METRIC);
        if (!addMetric(r, name, m[name] as number)) return fail(r, BAD_BAD_METRIC);
      }
    } else {
      for (const name in m) {
        const v = m[name];
        if (typeof v !== 'number') return fail(r, BAD_BAD_METRIC);
        if (!addMetric(r, name, v)) return fail(r, BAD_BAD_METRIC);
      }
    }
  }

  // the record
  if (hasBackslash) {
    if (!raw) rawScan(text);
    if (rawDeviceEscaped) flags |= HAS_DEVICE_ESCAPED;
  }
  r.flags = flags;
  r.ts = ts;
  r.deviceId = dev;
  hashStr(dev);
  r.deviceHi = hashResult.hi;
  r.deviceLo = hashResult.lo;
  if (flags & HAS_SOURCE) {
    r.source = src as string;
    sourceBytes(scratch, encode(r.source));
    r.sourceHi = hashResult.hi;
    r.sourceLo = hashResult.lo;
  }
  if (flags & HAS_CREDENTIAL) {
    r.credential = cred as string;
    hashStr(r.credential);
    r.credHi = hashResult.hi;
    r.credLo = hashResult.lo;
  }
  return r;
}

/** One metric member: false if its name is not 1..64 bytes. Models the first 8 distinct names, counts the rest. */
function addMetric(r: ParsedMessage, name: string, value: number): boolean {
  const n = Buffer.byteLength(name, 'utf8');
  if (n < 1 || n > METRIC_NAME_BYTES) return false;
  const count = r.metricCount;
  for (let i = 0; i < count; i++) {
    if (r.metricNames[i] === name) {
      r.metricValue[i] = value;
      return true;
    }
  }
  if (count < METRICS) {
    r.metricNames[count] = name;
    const lo = hashStr(name);
    r.metricHash[count] = lo === 0 ? 1 : lo;
    r.metricValue[count] = value;
    r.metricCount = count + 1;
  } else {
    r.metricExtra++;
  }
  return true;
}
