// The message parser twice: assembly/parse.ts (WASM, debug and release builds) and
// src/core/reference/parse.ts (TextDecoder + JSON.parse). Table-driven cases give the
// expected reason of every fault alone and compare every field of valid messages;
// fast-check properties cover arbitrary bytes, mutations of valid messages, generated
// telemetry and random JSON values.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { Bad, BAD_REASONS, BadReason, DEFAULT_MAX_MESSAGE_BYTES, Has, P } from '../../src/core/layout';
import { parseReference, ParsedMessage } from '../../src/core/reference/parse';
import { hashOut, hashString, metricNameHashString, sourceCodeString } from '../../src/core/reference/hash';

const ROOT = join(__dirname, '..', '..');
const ASC = join(ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const INPUT_BYTES = 2 << 20; // room for the 1 MB string case
const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------
// The WASM parser

interface WasmParser {
  name: string;
  parse(bytes: Uint8Array, maxMessageBytes?: number): number;
  record(bytes: Uint8Array): Rec;
}

function loadParser(name: string, file: string): WasmParser {
  const mod = new WebAssembly.Module(readFileSync(file));
  const inst = new WebAssembly.Instance(mod, {
    env: {
      abort() {
        throw new Error('abort');
      },
    },
  });
  const x = inst.exports as unknown as {
    memory: WebAssembly.Memory;
    init?(slots: number, batch: number, inputBytes: number): void;
    initParser?(maxBytes: number): void;
    inputPtr(): number;
    parsedPtr(): number;
    parseOne(len: number, maxMessageBytes: number): number;
  };
  if (x.initParser) x.initParser(INPUT_BYTES);
  else x.init!(64, 4, INPUT_BYTES);
  const input = x.inputPtr();
  const parsed = x.parsedPtr();
  return {
    name,
    parse(bytes, max = DEFAULT_MAX_MESSAGE_BYTES) {
      new Uint8Array(x.memory.buffer).set(bytes, input);
      return x.parseOne(bytes.length, max);
    },
    record(bytes) {
      return readRecord(new DataView(x.memory.buffer, parsed, P.SIZE), bytes);
    },
  };
}

/** Everything a parse gives, in one comparable shape (strings decoded from spans for WASM). */
interface Rec {
  status: number;
  flags: number;
  deviceHi: number;
  deviceLo: number;
  deviceId: string;
  sourceHi: number;
  sourceLo: number;
  source: string;
  credHi: number;
  credLo: number;
  credential: string;
  ts: number;
  seq: number;
  firmware: number;
  bytes: number;
  arrival: number;
  metricCount: number;
  metricExtra: number;
  metricHash: number[];
  metricValue: number[];
  metricNames: string[];
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true }); // a span's leading U+FEFF is content
function spanText(v: DataView, at: number, bytes: Uint8Array): string {
  const off = v.getUint32(at, true);
  const len = v.getUint32(at + 4, true);
  return JSON.parse(`"${utf8.decode(bytes.subarray(off, off + len))}"`);
}

function readRecord(v: DataView, bytes: Uint8Array): Rec {
  const flags = v.getUint32(P.FLAGS, true);
  const n = v.getUint32(P.METRIC_COUNT, true);
  const r: Rec = {
    status: v.getUint32(P.STATUS, true),
    flags,
    deviceHi: v.getUint32(P.DEVICE_HASH + 4, true),
    deviceLo: v.getUint32(P.DEVICE_HASH, true),
    deviceId: spanText(v, P.DEVICE_SPAN, bytes),
    sourceHi: v.getUint32(P.SOURCE_HASH + 4, true),
    sourceLo: v.getUint32(P.SOURCE_HASH, true),
    source: flags & Has.SOURCE ? spanText(v, P.SOURCE_SPAN, bytes) : '',
    credHi: v.getUint32(P.CRED_HASH + 4, true),
    credLo: v.getUint32(P.CRED_HASH, true),
    credential: flags & Has.CREDENTIAL ? spanText(v, P.CRED_SPAN, bytes) : '',
    ts: v.getFloat64(P.TS, true),
    seq: v.getFloat64(P.SEQ, true),
    firmware: v.getFloat64(P.FIRMWARE, true),
    bytes: v.getFloat64(P.BYTES, true),
    arrival: v.getFloat64(P.ARRIVAL, true),
    metricCount: n,
    metricExtra: v.getUint32(P.METRIC_EXTRA, true),
    metricHash: [],
    metricValue: [],
    metricNames: [],
  };
  for (let i = 0; i < n; i++) {
    r.metricHash.push(v.getUint32(P.METRIC_HASH + 4 * i, true));
    r.metricValue.push(v.getFloat64(P.METRIC_VALUE + 8 * i, true));
    r.metricNames.push(spanText(v, P.METRIC_SPAN + 8 * i, bytes));
  }
  // unused slots are zeroed, so that records compare byte for byte
  for (let i = n; i < 8; i++) {
    assert.equal(v.getUint32(P.METRIC_HASH + 4 * i, true), 0);
    assert.equal(v.getFloat64(P.METRIC_VALUE + 8 * i, true), 0);
    assert.equal(v.getBigUint64(P.METRIC_SPAN + 8 * i, true), 0n);
  }
  return r;
}

function fromReference(p: ParsedMessage): Rec {
  const n = p.metricCount;
  return {
    status: p.status,
    flags: p.flags,
    deviceHi: p.deviceHi,
    deviceLo: p.deviceLo,
    deviceId: p.deviceId,
    sourceHi: p.sourceHi,
    sourceLo: p.sourceLo,
    source: p.source,
    credHi: p.credHi,
    credLo: p.credLo,
    credential: p.credential,
    ts: p.ts,
    seq: p.seq,
    firmware: p.firmware,
    bytes: p.bytes,
    arrival: p.arrival,
    metricCount: n,
    metricExtra: p.metricExtra,
    metricHash: Array.from(p.metricHash.subarray(0, n)),
    metricValue: Array.from(p.metricValue.subarray(0, n)),
    metricNames: p.metricNames.slice(0, n),
  };
}

// ---------------------------------------------------------------------------------------
// Build both targets (asconfig.json's debug and release) into a private directory, not
// build/ (other test files may be building there). The builds are cached in the temp
// directory under a hash of the sources and the compiler, so only the first run compiles.

let parsers: WasmParser[] = [];

function sourceKey(): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(ROOT, 'node_modules', 'assemblyscript', 'package.json')));
  h.update(readFileSync(join(ROOT, 'asconfig.json')));
  for (const f of readdirSync(join(ROOT, 'assembly')).sort()) {
    if (f.endsWith('.ts') || f.endsWith('.json')) h.update(f).update(readFileSync(join(ROOT, 'assembly', f)));
  }
  return h.digest('hex').slice(0, 16);
}

before(async () => {
  const cache = join(tmpdir(), `edge-sentinel-parse-${sourceKey()}`);
  const files = [join(cache, 'core.debug.wasm'), join(cache, 'core.wasm')];
  if (!files.every((f) => existsSync(f))) {
    const work = mkdtempSync(join(tmpdir(), 'edge-sentinel-build-'));
    const run = promisify(execFile);
    const build = (target: string, file: string) =>
      run(process.execPath, [ASC, 'assembly/index.ts', '--target', target, '--outFile', join(work, file), '--textFile', join(work, `${file}.wat`)], { cwd: ROOT });
    await Promise.all([build('debug', 'core.debug.wasm'), build('release', 'core.wasm')]);
    mkdirSync(cache, { recursive: true });
    for (const f of files) renameSync(join(work, basename(f)), f); // atomic: a concurrent run sees whole files
    rmSync(work, { recursive: true, force: true });
  }
  parsers = [loadParser('debug', files[0]), loadParser('release', files[1])];
});

const bytesOf = (m: string | Uint8Array): Uint8Array => (typeof m === 'string' ? enc.encode(m) : m);

/**
 * Structural faults: with two of them in one message, WASM reports the first in document
 * order and the reference the first in JS property order (integer-like keys first).
 */
const STRUCTURAL = new Set<number>([Bad.too_deep, Bad.string_too_long, Bad.invalid_utf8, Bad.non_finite]);

/**
 * Parse with every implementation; returns the reference record and asserts that the
 * WASM builds give the same reason and, for valid messages, the same record.
 * `anyFaults`: the input may hold several faults, so two different structural reasons
 * are allowed (both non-zero).
 */
function both(message: string | Uint8Array, max = DEFAULT_MAX_MESSAGE_BYTES, anyFaults = false): Rec {
  const bytes = bytesOf(message);
  const ref = fromReference(parseReference(bytes, max));
  for (const w of parsers) {
    const status = w.parse(bytes, max);
    assert.ok(Number.isInteger(status) && status >= 0 && status < BAD_REASONS.length, `${w.name}: code in range`);
    if (status !== ref.status && !(anyFaults && STRUCTURAL.has(status) && STRUCTURAL.has(ref.status))) {
      assert.equal(BAD_REASONS[status], BAD_REASONS[ref.status], `${w.name} vs reference on ${show(bytes)}`);
    }
    if (status === 0) assert.deepEqual(w.record(bytes), ref, `${w.name} record vs reference on ${show(bytes)}`);
  }
  return ref;
}
const anyOf = (message: string | Uint8Array) => both(message, DEFAULT_MAX_MESSAGE_BYTES, true);

function show(bytes: Uint8Array): string {
  const s = JSON.stringify(Buffer.from(bytes).toString('latin1'));
  return s.length > 160 ? `${s.slice(0, 160)}… (${bytes.length} bytes)` : s;
}

const msg = (fields: string) => `{"deviceId":"d-1","ts":1732500000123${fields ? ',' : ''}${fields}}`;

// ---------------------------------------------------------------------------------------
// Valid messages

describe('valid messages', () => {
  test('every field (the DESIGN.md example)', () => {
    const m =
      '{"deviceId":"thermo-0042","ts":1732500000123,"seq":18231,"source":"10.20.0.17",' +
      '"credential":"sha256:9f2c","firmware":"2.4.1","bytes":212,"arrivalTs":1732500000150,' +
      '"metrics":{"temp":21.5,"rh":40.1}}';
    const r = both(m);
    assert.equal(r.status, 0);
    assert.equal(r.flags, Has.SEQ | Has.SOURCE | Has.CREDENTIAL | Has.FIRMWARE | Has.BYTES | Has.ARRIVAL);
    hashString('thermo-0042');
    assert.deepEqual([r.deviceHi, r.deviceLo], [hashOut.hi, hashOut.lo]);
    assert.deepEqual([r.sourceHi, r.sourceLo], [0x80000000, (10 << 24) | (20 << 16) | 17]);
    hashString('sha256:9f2c');
    assert.deepEqual([r.credHi, r.credLo], [hashOut.hi, hashOut.lo]);
    assert.equal(r.ts, 1732500000123);
    assert.equal(r.seq, 18231);
    assert.equal(r.firmware, 2 * 2 ** 32 + 4 * 2 ** 16 + 1);
    assert.equal(r.bytes, 212);
    assert.equal(r.arrival, 1732500000150);
    assert.deepEqual(r.metricNames, ['temp', 'rh']);
    assert.deepEqual(r.metricValue, [21.5, 40.1]);
    assert.deepEqual(r.metricHash, [metricNameHashString('temp'), metricNameHashString('rh')]);
  });

  test('minimal message: bytes defaults to the message length', () => {
    const m = '{"deviceId":"d","ts":0}';
    const r = both(m);
    assert.equal(r.status, 0);
    assert.equal(r.flags, 0);
    assert.equal(r.bytes, m.length);
    assert.equal(r.ts, 0);
    assert.equal(r.metricCount, 0);
  });

  test('whitespace everywhere, CRLF line ends, keys in any order, unknown fields', () => {
    const m = '\r\n { "metrics" : { "a" : 1 } ,\t"ts"\r\n:\n12 , "x":[1,{"y":[true,false,null]},"z",-0.5e-3],"deviceId" : "d" } \r\n';
    const r = both(m);
    assert.equal(r.status, 0);
    assert.equal(r.ts, 12);
    assert.deepEqual(r.metricValue, [1]);
  });

  test('ISO-8601 device times', () => {
    const cases: [string, number][] = [
      ['1970-01-01T00:00:00Z', 0],
      ['2024-11-25T09:46:24Z', Date.UTC(2024, 10, 25, 9, 46, 24)],
      ['2024-11-25t09:46:24z', Date.UTC(2024, 10, 25, 9, 46, 24)],
      ['2024-11-25 09:46:24', Date.UTC(2024, 10, 25, 9, 46, 24)],
      ['2024-11-25T09:46:24.1Z', Date.UTC(2024, 10, 25, 9, 46, 24, 100)],
      ['2024-11-25T09:46:24.12Z', Date.UTC(2024, 10, 25, 9, 46, 24, 120)],
      ['2024-11-25T09:46:24.123456789Z', Date.UTC(2024, 10, 25, 9, 46, 24, 123)],
      ['2024-11-25T09:46:24.999+05:30', Date.UTC(2024, 10, 25, 4, 16, 24, 999)],
      ['2024-11-25T09:46:24-08:00', Date.UTC(2024, 10, 25, 17, 46, 24)],
      ['2024-02-29T23:59:59+00:00', Date.UTC(2024, 1, 29, 23, 59, 59)],
      ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
      ['1970-01-01T01:00:00+01:00', 0],
      ['9999-12-31T23:59:59.999Z', Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
    ];
    for (const [iso, ms] of cases) {
      const r = both(`{"deviceId":"d","ts":"${iso}"}`);
      assert.equal(r.status, 0, iso);
      assert.equal(r.ts, ms, iso);
    }
    assert.equal(both('{"deviceId":"d","ts":"2024-11-25T09:46:24\\u005a"}').ts, Date.UTC(2024, 10, 25, 9, 46, 24));
  });

  test('numeric device times: integral values of any spelling', () => {
    for (const [t, v] of [['1.7e12', 1.7e12], ['0', 0], ['-0', 0], ['9007199254740991', 2 ** 53 - 1], ['1732500000123.0', 1732500000123], ['17325000001230e-1', 1732500000123]] as const) {
      const r = both(`{"deviceId":"d","ts":${t}}`);
      assert.equal(r.status, 0, t);
      assert.ok(Object.is(r.ts, v), t);
    }
  });

  test('escapes in deviceId are decoded for the hash and flagged', () => {
    const m = '{"deviceId":"th\\u00e9rmo\\n\\"42\\"\\/\\ud83d\\ude00\\\\","ts":1}';
    const r = both(m);
    assert.equal(r.status, 0);
    assert.equal(r.deviceId, 'thérmo\n"42"/😀\\');
    assert.equal(r.flags & Has.DEVICE_ESCAPED, Has.DEVICE_ESCAPED);
    hashString('thérmo\n"42"/😀\\');
    assert.deepEqual([r.deviceHi, r.deviceLo], [hashOut.hi, hashOut.lo]);
    // raw UTF-8 is not an escape
    const raw = both('{"deviceId":"thérmo-😀","ts":1,"note":"a\\tb"}');
    assert.equal(raw.flags & Has.DEVICE_ESCAPED, 0);
    assert.equal(raw.deviceId, 'thérmo-😀');
    // escapes elsewhere in the message do not flag the deviceId, nor an escaped one replaced by a later key
    assert.equal(both('{"deviceId":"a","ts":1,"x":"\\n"}').flags, 0);
    assert.equal(both('{"deviceId":"a\\n","ts":1,"deviceId":"b"}').flags, 0);
    assert.equal(both('{"deviceId":"a","ts":1,"deviceId":"\\u0062"}').flags, Has.DEVICE_ESCAPED);
  });

  test('deviceId of exactly 128 bytes, strings of exactly 4096 decoded bytes', () => {
    assert.equal(both(`{"deviceId":"${'é'.repeat(64)}","ts":1}`).status, 0);
    assert.equal(both(msg(`"x":"${'a'.repeat(4096)}"`)).status, 0);
    assert.equal(both(msg(`"x":"${'\\n'.repeat(4096)}"`)).status, 0, 'raw 8192 bytes, decoded 4096');
    assert.equal(both(msg(`"${'k'.repeat(4096)}":1`)).status, 0);
  });

  test('more than 8 metrics, repeated names, names with escapes', () => {
    const names = 'abcdefghijkl'.split('');
    const m = msg(`"metrics":{${names.map((n, i) => `"${n}":${i}`).join(',')},"c":99,"k":5,"\\u0061":-1}`);
    const r = both(m);
    assert.equal(r.status, 0);
    assert.equal(r.metricCount, 8);
    assert.deepEqual(r.metricNames, names.slice(0, 8));
    assert.deepEqual(r.metricValue, [-1, 1, 99, 3, 4, 5, 6, 7]);
    assert.equal(r.metricExtra, 5, 'i j k l and k again (repeats among extras count twice)');
    const esc = both(msg('"metrics":{"t\\u00e9mp":1,"r\\nh":2}'));
    assert.deepEqual(esc.metricNames, ['témp', 'r\nh']);
    assert.deepEqual(esc.metricHash, [metricNameHashString('témp'), metricNameHashString('r\nh')]);
  });

  test('metric names in document order, integer-like ones included', () => {
    const r = both(msg('"metrics":{"b":1,"2":2,"1":3,"a":4}'));
    assert.deepEqual(r.metricNames, ['b', '2', '1', 'a']);
    assert.deepEqual(r.metricValue, [1, 2, 3, 4]);
  });

  test('metric values of every kind of number', () => {
    const values = ['0', '-0', '21.5', '-40.125', '1e-7', '6.02214076e23', '0.30000000000000004', '5e-324', '2.2250738585072014e-308', '1.7976931348623157e308', '123456789012345678901234567890', '4887506426020080.5', '9007199254740993'];
    const r = both(msg(`"metrics":{${values.map((v, i) => `"m${i}":${v}`).join(',')}}`));
    assert.equal(r.status, 0);
    const all = both(msg(`"metrics":{${values.slice(8).map((v, i) => `"m${i}":${v}`).join(',')}}`));
    assert.deepEqual([...r.metricValue, ...all.metricValue], values.map((v) => JSON.parse(v)));
  });

  test('null optionals are absent; empty source and credential are absent', () => {
    const r = both(msg('"seq":null,"source":null,"credential":null,"firmware":null,"bytes":null,"arrivalTs":null,"metrics":null'));
    assert.equal(r.status, 0);
    assert.equal(r.flags, 0);
    assert.equal(r.bytes, msg('"seq":null,"source":null,"credential":null,"firmware":null,"bytes":null,"arrivalTs":null,"metrics":null').length);
    assert.equal(both(msg('"source":"","credential":""')).flags, 0);
  });

  test('repeated keys: the last occurrence wins', () => {
    const r = both('{"deviceId":"a","ts":"nope","seq":"x","deviceId":"b","ts":5,"seq":7,"source":"1.2.3.4","source":""}');
    assert.equal(r.status, 0);
    assert.equal(r.deviceId, 'b');
    assert.equal(r.ts, 5);
    assert.equal(r.flags, Has.SEQ);
    const m = both(msg('"metrics":5,"metrics":{"a":1}'));
    assert.deepEqual(m.metricValue, [1]);
    assert.equal(both(msg('"metrics":{"a":1},"metrics":null')).metricCount, 0);
  });

  test('keys: escaped spellings of known fields count, near-misses are unknown fields', () => {
    const r = both('{"devic\\u0065Id":"a","\\u0074s":7,"s\\u0065q":3}');
    assert.equal(r.status, 0);
    assert.equal(r.ts, 7);
    assert.equal(r.seq, 3);
    const near =
      '{"deviceId":"a","ts":1,"tsx":"x","seqs":"x","sourceX":1,"bytesy":"q","metricsz":1,"firmwareq":2,' +
      '"credentials":1,"arrivalTsZ":"x","deviceIdd":3,"Ts":"x","t":1,"s":2,"":3,"metric":4}';
    assert.equal(both(near).flags, 0);
    // the last known key of a message, where the fast key match lacks room
    assert.equal(both('{"ts":1,"deviceId":"ab"}').deviceId, 'ab');
    assert.equal(both('{"deviceId":"ab","ts":1,"seq":2}').seq, 2);
  });

  test('sources: IPv4 (with port) encoded, anything else hashed with the top bit clear', () => {
    const ip = both(msg('"source":"192.168.1.20:8443"'));
    assert.deepEqual([ip.sourceHi, ip.sourceLo], [(0x80000000 | 0x10000 | 8443) >>> 0, 0xc0a80114]);
    for (const s of ['gw-7', '256.1.1.1', '1.2.3', '1.2.3.4:', '1.2.3.4:65536', '1.2.3.4.5', '::1', '1.2.3.4 ']) {
      const r = both(msg(`"source":"${s}"`));
      sourceCodeString(s);
      assert.deepEqual([r.sourceHi, r.sourceLo], [hashOut.hi, hashOut.lo], s);
      assert.ok(r.sourceHi < 0x80000000, s);
    }
  });

  test('firmware versions', () => {
    for (const [f, v] of [['0.0.0', 0], ['65535.65535.65535', 65535 * 2 ** 32 + 65535 * 65536 + 65535], ['1.2.3-beta.1', 2 ** 32 + 2 * 65536 + 3], ['01.002.00003+build', 2 ** 32 + 2 * 65536 + 3], ['1.2.3-', 2 ** 32 + 2 * 65536 + 3]] as const) {
      const r = both(msg(`"firmware":"${f}"`));
      assert.equal(r.status, 0, f);
      assert.equal(r.firmware, v, f);
    }
  });

  test('sources and firmware versions of every short shape, near misses included', () => {
    // every part length and value at and around its limits, and the shapes just beside
    const parts = ['0', '7', '00', '42', '255', '256', '999', '010', '1234', ''];
    const sources = new Set<string>();
    for (const a of parts) for (const b of parts) for (const c of ['1', '255', '256', '']) for (const d of ['0', '99', '300', '1a'])
      sources.add(`${a}.${b}.${c}.${d}`);
    for (const s of ['1.2.3.4.', '.1.2.3', '1..2.3', '1.2.3.4:80', '10.0.0.1x', 'x10.0.0.1', '1.2.3', '1.2.3.4.5', '1-2.3.4', '1.2.3.é']) sources.add(s);
    // ports at their limits, addresses reaching past the first 16 bytes
    for (const s of ['1.2.3.4:0', '1.2.3.4:65535', '1.2.3.4:65536', '1.2.3.4:123456', '255.255.255.255:65535', '255.255.255.255:', '1.2.3.4::1', '1.2.3.4:8a', '100.100.100.1000', '100.100.100.100x', '1111.1.1.1', '1.2.3.4:99999', '12345678901234567']) sources.add(s);
    for (const s of sources) {
      const r = both(msg(`"source":"${s}"`));
      if (r.status !== 0) continue;
      const ip = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
      if (ip && ip.slice(1).every((x) => Number(x) <= 255)) assert.ok(r.sourceHi >= 0x80000000, s);
    }
    const fparts = ['0', '1', '12', '123', '1234', '12345', '65535', '65536', '01', ''];
    for (const a of fparts) for (const b of fparts) for (const c of fparts.concat(['3-x', '3+b', '3.4', 'x'])) both(msg(`"firmware":"${a}.${b}.${c}"`));
    for (const f of ['1.2', '1.2.3.', '.1.2', '1..2', '1.2.3 ', 'a.b.c', '1.2.\\u0033', '1.2.3\\n']) both(msg(`"firmware":"${f}"`));
  });

  test('nesting of exactly 32 levels is fine', () => {
    assert.equal(both(msg(`"x":${'['.repeat(31)}${']'.repeat(31)}`)).status, 0);
    assert.equal(both(msg(`"x":${'{"a":'.repeat(31)}1${'}'.repeat(31)}`)).status, 0);
  });
});

// ---------------------------------------------------------------------------------------
// The fast scan (compact printable ASCII, no escapes, up to 2 KiB) and its hand-over to the
// general scan: every case must give what the reference gives, whichever scan took it.

const FULL =
  '"deviceId":"cam-001460","ts":1732492799984,"seq":121187,"source":"10.47.96.11",' +
  '"credential":"sha256:90e0fc8e91f7f6bb","firmware":"7.3.0","bytes":1512,"arrivalTs":1732492800001,' +
  '"metrics":{"fps":24.6,"bitrate":1789}';

describe('the fast scan and the general scan agree', () => {
  test('every alignment of every token against 8- and 64-byte boundaries', () => {
    for (let pad = 0; pad <= 140; pad++) {
      const x = 'x'.repeat(pad);
      for (const m of [`{"p":"${x}",${FULL}}`, `{${FULL},"p":"${x}"}`, `{"${x}":1,${FULL}}`, `{"p":${'1'.repeat(1 + (pad % 15))},${FULL},"q":"${x}"}`]) {
        const r = both(m);
        assert.equal(r.status, 0, m);
        assert.equal(r.metricCount, 2, m);
      }
    }
  });

  test('numbers of every length, at every distance from the message end', () => {
    const nums = ['0', '-0', '7', '-7', '12345678', '123456789', '123456789012345', '1234567890123456', '12345678901234567',
      '1234567890123456789', '12345678901234567890', '9007199254740993', '0.5', '-0.5', '24.6', '1.2345678', '1.23456789',
      '12345678901234.5678', '123456789012345.1234', '1e5', '1E5', '2.5e-3', '100.0', '2147483647', '2147483648', '1732492799984'];
    for (const n of nums) {
      for (let pad = 0; pad <= 24; pad++) {
        const id = 'd'.repeat(1 + pad);
        both(`{"deviceId":"${id}","ts":${n}}`);
        both(`{"deviceId":"${id}","ts":1,"seq":${n}}`);
        both(`{"deviceId":"${id}","ts":1,"bytes":${n}}`);
        both(`{"deviceId":"${id}","ts":1,"arrivalTs":${n}}`);
        both(`{"deviceId":"${id}","ts":1,"metrics":{"m":${n}}}`);
        both(`{"deviceId":"${id}","ts":1,"metrics":{"m":${n},"n":${n}},"x":${n}}`);
      }
    }
  });

  test('keys that share a prefix with a known key, or split at a word boundary', () => {
    const keys = ['deviceI', 'deviceIdx', 'ts', 'tsx', 't', 'seq', 'se', 'seqq', 'sourc', 'sources', 'credentia', 'credentials',
      'firmwar', 'firmwares', 'byte', 'bytess', 'arrivalT', 'arrivalTss', 'metric', 'metricss', 'x#', '#'];
    for (const k of keys) {
      for (let pad = 0; pad < 8; pad++) {
        const id = 'd'.repeat(1 + pad);
        for (const v of ['1', '"a"', 'null', 'true', 'false', '"10.0.0.1"', '"1.2.3"', '{"m":1}']) {
          both(`{"deviceId":"${id}","ts":1,"${k}":${v}}`);
          both(`{"${k}":${v},"deviceId":"${id}","ts":1}`);
        }
      }
    }
  });

  test('a quote next to a `#` (the byte a borrowing quote test would mistake for one)', () => {
    for (const m of [msg('"x":"#"'), msg('"#":1'), msg('"a#":"#b#"'), msg('"metrics":{"#":1,"a#":2}'), `{"deviceId":"#","ts":1}`]) {
      assert.equal(both(m).status, 0, m);
    }
    assert.deepEqual(both(msg('"metrics":{"#":1,"a#":2}')).metricNames, ['#', 'a#']);
  });

  test('what the fast scan leaves to the general scan', () => {
    const compact = `{${FULL}}`;
    const variants = [
      compact.replace('"ts":', '"ts": '), // whitespace between tokens
      compact.replace(',"seq"', ' ,"seq"'),
      compact.replace('{"deviceId"', '{ "deviceId"'),
      compact + '\n',
      compact + ' ',
      compact.replace('"source"', '\t"source"'),
      compact.replace('cam-001460', 'cam-\\u0030001460'), // an escape
      compact.replace('cam-001460', 'cam-ü'), // non-ASCII
      compact.replace('"metrics"', '"x":[1,{"y":null}],"metrics"'), // a nested unknown value
      compact.replace('"metrics":{"fps":24.6', '"metrics":{"fps":[24.6]'),
      compact.replace('"metrics":{"fps":24.6,"bitrate":1789}', '"metrics":{}'),
      compact.replace('1732492799984', '1.732492799984e12'),
      '{}',
      '{"deviceId":"a","ts":1}',
    ];
    for (const m of variants) both(m);
    // the size limit of the fast scan: 2048 bytes in, 2049 bytes out
    for (const total of [2047, 2048, 2049, 2050]) {
      const m = `{${FULL},"p":"${'x'.repeat(total - FULL.length - 9)}"}`;
      assert.equal(enc.encode(m).length, total);
      assert.equal(both(m).status, 0);
    }
  });

  test('every truncation and every one-byte change of a compact message', () => {
    const compact = enc.encode(`{${FULL},"p":"xy"}`);
    for (let n = 0; n <= compact.length; n++) anyOf(compact.subarray(0, n));
    for (let i = 0; i < compact.length; i++) {
      for (const b of enc.encode('"\\:,{}[] 0.-eE#a\u0000')) {
        const m = compact.slice();
        m[i] = b;
        anyOf(m);
      }
    }
  });

  test('a byte the fast scan must not take, anywhere, whatever the length of the last 16-byte block', () => {
    // backslash, control bytes, DEL (printable for JSON), non-ASCII: each at every position,
    // in messages whose lengths cover every remainder modulo 16 (and 64)
    for (let pad = 0; pad < 64; pad += pad < 16 ? 1 : 7) {
      const compact = enc.encode(`{${FULL},"p":"${'x'.repeat(pad)}"}`);
      for (let i = 0; i < compact.length; i++) {
        for (const b of [0x5c, 0x1f, 0x00, 0x7f, 0x80, 0xc3, 0xff]) {
          const m = compact.slice();
          m[i] = b;
          anyOf(m);
        }
      }
    }
  });

  test('literals and every kind of value in every field, compact', () => {
    const fields = ['deviceId', 'ts', 'seq', 'source', 'credential', 'firmware', 'bytes', 'arrivalTs', 'metrics', 'other'];
    const values = ['null', 'true', 'false', '0', '-1', '1.5', '""', '"a"', '"1.2.3"', '"10.1.2.3:80"', '"2024-11-25T09:46:24Z"', '{}', '{"a":1}', '{"a":"b"}', '{"a":null}', '[]'];
    for (const f of fields) for (const v of values) both(`{"deviceId":"d","ts":1,"${f}":${v}}`);
  });
});

// ---------------------------------------------------------------------------------------
// Each fault alone

const faults: [BadReason, (string | Uint8Array)[]][] = [
  ['too_large', []], // below, with a small maxMessageBytes
  [
    'invalid_utf8',
    [
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xc3, 0x28, ...enc.encode('","ts":1}')),
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xc0, 0xaf, ...enc.encode('","ts":1}')), // overlong /
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xe0, 0x80, 0xaf, ...enc.encode('","ts":1}')), // overlong
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xf0, 0x80, 0x80, 0xaf, ...enc.encode('","ts":1}')), // overlong
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xed, 0xa0, 0x80, ...enc.encode('","ts":1}')), // surrogate D800 in UTF-8
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xed, 0xbf, 0xbf, ...enc.encode('","ts":1}')), // surrogate DFFF
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xf4, 0x90, 0x80, 0x80, ...enc.encode('","ts":1}')), // > U+10FFFF
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0x80, ...enc.encode('","ts":1}')), // lone continuation
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xe2, 0x82, ...enc.encode('","ts":1}')), // truncated sequence
      Uint8Array.of(...enc.encode('{"deviceId":"a'), 0xff, ...enc.encode('","ts":1}')),
      Uint8Array.of(...enc.encode('{"deviceId":"d-1","ts":1,"x":"abcdefghijklmnop'), 0xfe, ...enc.encode('qrstuvwxyz"}')), // in the 8-byte loop
      Uint8Array.of(...enc.encode(msg('')), 0xff), // outside any string
      Uint8Array.of(...enc.encode('{"deviceId":"a","ts":1'), 0xc3), // and truncated
      '{"deviceId":"\\ud800","ts":1}', // lone surrogates from escapes
      '{"deviceId":"a\\udc00b","ts":1}',
      msg('"x":"\\ud800\\u0041"'),
      msg('"x":"\\ud800x"'),
      msg('"\\udfff":1'),
      msg('"x":"\\udc00\\ud800"'),
      msg('"x":"\\ud800","x":1'), // hidden by a repeated key, still bad
    ],
  ],
  [
    'not_json',
    [
      '',
      ' \r\n\t',
      '\ufeff{"deviceId":"a","ts":1}',
      '{"deviceId":"a","ts":1',
      '{"deviceId":"a","ts":1}x',
      '{"deviceId":"a","ts":1}{}',
      '{"deviceId":"a","ts":1},',
      '{"deviceId":"a","ts":NaN}',
      '{"deviceId":"a","ts":Infinity}',
      '{"deviceId":"a","ts":-Infinity}',
      msg('"x":01'),
      msg('"x":1.'),
      msg('"x":.5'),
      msg('"x":+1'),
      msg('"x":1e'),
      msg('"x":1e+'),
      msg('"x":-'),
      msg('"x":--1'),
      msg('"x":0x10'),
      msg('"x":"\\x"'),
      msg('"x":"\\u12G4"'),
      msg('"x":"\\u12"'),
      msg('"x":"a\tb"'),
      msg('"x":"a\nb"'),
      msg('"x":"\u0000"'),
      "{'deviceId':'a','ts':1}",
      msg('"x":1,'),
      msg('"x":[1,]'),
      msg('"x":[1 2]'),
      msg('"x" 1'),
      msg('x:1'),
      msg('"x":tru'),
      msg('"x":nul'),
      msg('"x":True'),
      msg('"x":undefined'),
      '{"deviceId":"a","ts":1,"x":"\\ud83d',
      '{"deviceId":"a","ts":1,"x":[[[[',
      '{"deviceId":"' + 'a'.repeat(5000),
      '{"deviceId":"a","ts":1,"x":1e400',
      '{"deviceId":"a","ts":1,"x":' + '['.repeat(40),
    ],
  ],
  ['too_deep', [msg(`"x":${'['.repeat(32)}${']'.repeat(32)},"x":1`), msg(`"x":${'['.repeat(32)}${']'.repeat(32)}`), msg(`"x":${'{"a":'.repeat(32)}1${'}'.repeat(32)}`), msg(`"metrics":{"a":1,"b":${'['.repeat(31)}${']'.repeat(31)}}`), `[${'['.repeat(40)}${']'.repeat(40)}]`, msg(`"x":[{},{},{},${'['.repeat(32)}1${']'.repeat(32)}]`)]],
  ['not_object', ['[]', '[{"deviceId":"a","ts":1}]', '1', '"x"', 'null', 'true', ' -0.5 ']],
  ['missing_device_id', ['{}', '{"ts":1}', '{"deviceid":"a","ts":1}', '{"x":{"deviceId":"a"},"ts":1}']],
  ['bad_device_id', ['{"deviceId":1,"ts":1}', '{"deviceId":null,"ts":1}', '{"deviceId":"","ts":1}', `{"deviceId":"${'a'.repeat(129)}","ts":1}`, `{"deviceId":"${'é'.repeat(65)}","ts":1}`, '{"deviceId":{"a":1},"ts":1}', '{"deviceId":["a"],"ts":1}', '{"deviceId":true,"ts":1}']],
  ['missing_ts', ['{"deviceId":"a"}', '{"deviceId":"a","TS":1}', '{"deviceId":"a","time":1}']],
  [
    'bad_ts',
    [
      ...['-1', '1.5', '9007199254740992', '1e300', '-0.5', 'null', 'true', '{}', '[]', '"yesterday"', '""', '"1732500000123"'].map((t) => `{"deviceId":"a","ts":${t}}`),
      ...[
        '2024-02-30T00:00:00Z',
        '2023-02-29T00:00:00Z',
        '1900-02-29T00:00:00Z',
        '2024-04-31T00:00:00Z',
        '2024-13-01T00:00:00Z',
        '2024-00-01T00:00:00Z',
        '2024-01-00T00:00:00Z',
        '2024-01-01T24:00:00Z',
        '2024-01-01T00:60:00Z',
        '2024-01-01T00:00:60Z',
        '2024-01-01T00:00:00+24:00',
        '2024-01-01T00:00:00+01:60',
        '2024-01-01T00:00:00.1234567890Z',
        '2024-01-01T00:00:00.Z',
        '2024-01-01T00:00:00ZZ',
        '2024-01-01T00:00:00+0100',
        '2024-01-01T00:00:00+01',
        '2024-01-01X00:00:00Z',
        '2024-01-01T00:00Z',
        '2024-1-01T00:00:00Z',
        '2024-01-01',
        '1969-12-31T23:59:59Z',
        '1970-01-01T00:00:00+00:01',
        '0000-01-01T00:00:00Z',
        '２024-01-01T00:00:00Z',
        '2024-01-01T00:00:00 ',
        '2024-01-01T00:00:00Z\\u0000',
      ].map((t) => `{"deviceId":"a","ts":"${t}"}`),
    ],
  ],
  [
    'bad_field',
    [
      ...['-1', '1.5', '"1"', '9007199254740992', 'true', '{}', '[]'].map((v) => msg(`"seq":${v}`)),
      ...['5', '{}', '[]', 'true'].map((v) => msg(`"source":${v}`)),
      ...['5', '{"a":1}', 'false'].map((v) => msg(`"credential":${v}`)),
      ...['"1.2"', '"1.2.3.4"', '"1.2.65536"', '"1.2.3x"', '""', '"v1.2.3"', '"1..3"', '"123456.1.1"', '"1.2. 3"', '123', 'true'].map((v) => msg(`"firmware":${v}`)),
      ...['-1', '2147483648', '1.5', '"5"', '[]'].map((v) => msg(`"bytes":${v}`)),
      ...['-1', '1.5', '"1732500000150"', '9007199254740992', '{}'].map((v) => msg(`"arrivalTs":${v}`)),
    ],
  ],
  [
    'bad_metric',
    [
      ...['[]', '5', '"x"', 'true', '[{"a":1}]'].map((v) => msg(`"metrics":${v}`)),
      ...['"1"', 'null', 'true', '{}', '[1]', '{"v":1}'].map((v) => msg(`"metrics":{"a":1,"b":${v}}`)),
      msg('"metrics":{"":1}'),
      msg(`"metrics":{"${'n'.repeat(65)}":1}`),
      msg(`"metrics":{"${'é'.repeat(33)}":1}`),
      msg('"metrics":{"a":"x","a":1}'),
      msg(`"metrics":{${'abcdefghij'.split('').map((n) => `"${n}":1`).join(',')},"k":"x"}`),
    ],
  ],
  [
    'non_finite',
    [
      '{"deviceId":"a","ts":1e400}',
      msg('"metrics":{"a":1e400}'),
      msg('"metrics":{"a":-1e400}'),
      msg('"seq":1e309'),
      msg('"x":[1,{"y":-2e308}]'),
      msg(`"x":1${'0'.repeat(400)}`),
      msg('"x":1.7976931348623159e308'),
      msg('"x":0.1e310'),
      msg('"x":1e400,"x":1'), // hidden by a repeated key, still bad
      '[1e999]',
    ],
  ],
  [
    'string_too_long',
    [
      msg(`"x":"${'a'.repeat(4097)}"`),
      msg(`"${'k'.repeat(4097)}":1`),
      msg(`"x":"${'é'.repeat(2049)}"`),
      msg(`"x":"${'\\u00e9'.repeat(2049)}"`),
      `{"deviceId":"${'a'.repeat(4097)}","ts":1}`,
      msg(`"metrics":{"${'m'.repeat(5000)}":1}`),
      msg(`"x":["${'a'.repeat(4097)}"],"x":1`), // hidden by a repeated key, still bad
    ],
  ],
];

describe('each fault alone gets its reason in both implementations', () => {
  for (const [reason, inputs] of faults) {
    if (inputs.length === 0) continue;
    test(reason, () => {
      for (const input of inputs) {
        const r = both(input);
        assert.equal(BAD_REASONS[r.status], reason, `reference on ${show(bytesOf(input))}`);
      }
    });
  }

  test('too_large: by length alone, before anything else', () => {
    const m = msg('"metrics":{"a":1}');
    assert.equal(both(m, m.length).status, 0);
    assert.equal(BAD_REASONS[both(m, m.length - 1).status], 'too_large');
    assert.equal(BAD_REASONS[both('garbage\xff', 3).status], 'too_large');
  });

  test('a 1 MB string with a large maxMessageBytes is string_too_long', () => {
    const m = msg(`"blob":"${'x'.repeat(1 << 20)}"`);
    assert.equal(BAD_REASONS[both(m, 2 << 20).status], 'string_too_long');
    assert.equal(BAD_REASONS[both(m).status], 'too_large');
  });

  test('precedence between faults: bytes, then grammar, then the rest', () => {
    const cases: [string | Uint8Array, BadReason][] = [
      [Uint8Array.of(...enc.encode('{"ts":1e400,"x":"'), 0xff, 0x22, 0x7d), 'invalid_utf8'], // UTF-8 beats everything
      ['{"deviceId":"a","ts":1e400,"x":[', 'not_json'], // grammar beats overflow
      [`{"x":"${'a'.repeat(5000)}","y":}`, 'not_json'],
      [`{"x":${'['.repeat(40)}1${']'.repeat(39)}`, 'not_json'],
      ['{"x":"\\ud800","ts":1e400', 'not_json'],
      ['[1e400]', 'non_finite'], // structural beats not_object
      ['{"ts":1e400}', 'non_finite'], // structural beats field faults
      ['{"deviceId":5}', 'bad_device_id'],
      ['{"ts":"x"}', 'missing_device_id'],
      ['{"deviceId":"a","ts":"x","seq":-1}', 'bad_ts'],
      ['{"deviceId":"a","ts":1,"seq":-1,"metrics":5}', 'bad_field'],
    ];
    for (const [m, reason] of cases) assert.equal(BAD_REASONS[both(m).status], reason, show(bytesOf(m)));
  });
});

// ---------------------------------------------------------------------------------------
// Properties

const name = fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }).filter((s) => Buffer.byteLength(s) <= 64);
const fewDigits = fc.tuple(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 6 })).map(([m, k]) => m / 10 ** k);
const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const isoTs = fc
  .tuple(fc.date({ min: new Date('1970-01-02T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), fc.constantFrom('T', 't', ' '), fc.integer({ min: 0, max: 9 }), fc.constantFrom('Z', 'z', '', '+05:30', '-08:00', '+00:00'))
  .map(([d, sep, digits, zone]) => {
    const frac = digits === 0 ? '' : '.' + (pad(d.getUTCMilliseconds(), 3) + '123456').slice(0, digits);
    const s = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}${sep}${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${frac}${zone}`;
    return s;
  });
const ipv4 = fc.tuple(fc.ipV4(), fc.option(fc.integer({ min: 0, max: 65535 }))).map(([ip, port]) => (port === null ? ip : `${ip}:${port}`));
const telemetry = fc.record(
  {
    deviceId: fc.string({ minLength: 1, maxLength: 24, unit: 'binary' }),
    ts: fc.oneof(fc.maxSafeNat(), isoTs),
    seq: fc.oneof(fc.maxSafeNat(), fc.constant(null)),
    source: fc.oneof(ipv4, fc.string({ maxLength: 30, unit: 'binary' }), fc.constant(null)),
    credential: fc.oneof(fc.string({ maxLength: 40, unit: 'binary' }), fc.constant(null)),
    firmware: fc.tuple(fc.nat(65535), fc.nat(65535), fc.nat(65535), fc.constantFrom('', '-rc.1', '+b7')).map(([a, b, c, s]) => `${a}.${b}.${c}${s}`),
    bytes: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    arrivalTs: fc.maxSafeNat(),
    metrics: fc.dictionary(name, fc.oneof(fewDigits, fewDigits, anyDouble), { maxKeys: 12 }),
    extra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: ['deviceId', 'ts'] },
);
const telemetryBytes = telemetry.map((t) => enc.encode(JSON.stringify(t)));

/** FC_SEED=n replays the properties from the seed fast-check printed for a failure. */
if (process.env.FC_SEED) fc.configureGlobal({ seed: Number(process.env.FC_SEED) });

/** PARSE_FUZZ=10 runs the properties ten times longer (default 1: a few seconds). */
const FUZZ = Math.max(1, Number(process.env.PARSE_FUZZ) || 1);
const runs = (n: number) => Math.round(n * FUZZ);

describe('properties', () => {
  test('generated valid telemetry: both parsers agree on every field', () => {
    fc.assert(
      fc.property(telemetry, (t) => {
        const r = both(JSON.stringify(t));
        assert.equal(r.status, 0);
        assert.equal(r.deviceId, t.deviceId);
        if (typeof t.ts === 'number') assert.equal(r.ts, t.ts);
        const names = Object.keys(t.metrics ?? {});
        assert.equal(r.metricCount + r.metricExtra, names.length);
      }),
      { numRuns: runs(600) },
    );
  });

  test('arbitrary bytes never trap and give a code in range, the same ok-ness in both', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        anyOf(b);
      }),
      { numRuns: runs(2000) },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 100, unit: fc.constantFrom(...'{}[]",:0123456789.eE-+ \\u tnrfalse'.split('')) }), (s) => {
        anyOf(`{"deviceId":"a","ts":1,"x":${s}}`);
        anyOf(s);
      }),
      { numRuns: runs(2000) },
    );
  });

  test('mutations of valid messages never trap, and the parsers agree', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(...enc.encode('{}[]":,\\ 0-.eEu\x00\x7f')), ...{} }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 30 }) }),
    );
    fc.assert(
      fc.property(telemetryBytes, fc.array(mutation, { minLength: 1, maxLength: 3 }), (b, ms) => {
        let m = Buffer.from(b);
        for (const x of ms) {
          const at = m.length === 0 ? 0 : x.at % m.length;
          if (x.kind === 'set') {
            if (m.length > 0) m[at] = x.byte;
          } else if (x.kind === 'delete') m = Buffer.concat([m.subarray(0, at), m.subarray(at + x.n)]);
          else if (x.kind === 'insert') m = Buffer.concat([m.subarray(0, at), x.bytes, m.subarray(at)]);
          else if (x.kind === 'truncate') m = m.subarray(0, at);
          else m = Buffer.concat([m.subarray(0, at + x.n), m.subarray(at)]);
        }
        anyOf(new Uint8Array(m));
      }),
      { numRuns: runs(2500) },
    );
  });

  test('random JSON values: the same reason from both (ok or not)', () => {
    const values = fc.jsonValue({ maxDepth: 6 });
    const unicode = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
    const surrogates = fc.jsonValue({ maxDepth: 3, stringUnit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) });
    const deep = fc.integer({ min: 28, max: 36 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)));
    fc.assert(
      fc.property(fc.oneof(values, unicode, surrogates, deep), fc.nat(3), (v, how) => {
        if (how === 0) anyOf(JSON.stringify(v));
        else if (how === 1) anyOf(JSON.stringify({ deviceId: 'd', ts: 1, x: v }));
        else if (how === 2) anyOf(JSON.stringify({ deviceId: 'd', ts: 1, metrics: v }));
        else anyOf(JSON.stringify(typeof v === 'object' && v !== null && !Array.isArray(v) ? { deviceId: 'd', ts: 1, ...v } : { v }));
      }),
      { numRuns: runs(2500) },
    );
  });
});
