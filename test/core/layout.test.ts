// The contract has two copies: src/core/layout.ts (TypeScript) and assembly/layout.ts
// (AssemblyScript). Every number exported by the first must have an equal twin in the
// second: objects of numbers as namespaces of the same name and members, BAD_REASONS as
// BAD_<NAME> constants, plain numbers as constants of the same name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as layout from '../../src/core/layout';

const AS_FILE = join(__dirname, '..', '..', 'assembly', 'layout.ts');

/** Evaluate the constant expressions the AS file uses: integers, hex, <<, |, parentheses. */
function evaluate(expr: string, where: string): number {
  const clean = expr.replace(/_/g, '').trim();
  assert.match(clean, /^[0-9a-fA-FxX\s<>|()]+$/, `unsupported expression in ${where}: ${expr}`);
  // eslint-disable-next-line no-new-func
  return (new Function(`return (${clean}) >>> 0;`) as () => number)();
}

/** namespace → name → value ('' for top-level constants). */
function readMirror(): Map<string, Map<string, number>> {
  const text = readFileSync(AS_FILE, 'utf8');
  const out = new Map<string, Map<string, number>>([['', new Map()]]);
  let ns = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const open = /^export\s+namespace\s+(\w+)\s*\{$/.exec(line);
    if (open) {
      ns = open[1];
      assert.ok(!out.has(ns), `namespace ${ns} declared twice`);
      out.set(ns, new Map());
      continue;
    }
    if (line === '}') {
      ns = '';
      continue;
    }
    const c = /^(?:@inline\s+)?export\s+const\s+(\w+)\s*(?::\s*\w+)?\s*=\s*([^;]+);$/.exec(line);
    if (c) {
      const members = out.get(ns)!;
      assert.ok(!members.has(c[1]), `${ns}.${c[1]} declared twice`);
      members.set(c[1], evaluate(c[2], `${ns || 'top level'}.${c[1]}`));
    }
  }
  return out;
}

const mirror = readMirror();
const top = mirror.get('')!;

test('the AssemblyScript layout parses into namespaces and constants', () => {
  for (const ns of ['Reason', 'P', 'Has', 'V', 'EV']) assert.ok(mirror.has(ns), `namespace ${ns}`);
  assert.ok(top.size > 20);
});

test('every object of numbers in src/core/layout.ts has an identical namespace', () => {
  let checked = 0;
  for (const [name, value] of Object.entries(layout)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || name === 'Bad') continue;
    const twin = mirror.get(name);
    assert.ok(twin, `assembly/layout.ts lacks namespace ${name}`);
    const entries = Object.entries(value as Record<string, unknown>);
    for (const [k, v] of entries) {
      assert.equal(typeof v, 'number', `${name}.${k} is a number`);
      assert.equal(twin.get(k), (v as number) >>> 0, `${name}.${k}`);
    }
    assert.deepEqual([...twin.keys()].sort(), entries.map(([k]) => k).sort(), `members of ${name}`);
    checked++;
  }
  assert.ok(checked >= 5);
});

test('every bad-input code has a BAD_<NAME> twin', () => {
  layout.BAD_REASONS.forEach((reason, i) => {
    assert.equal(top.get(`BAD_${reason.toUpperCase()}`), i, reason);
    assert.equal(layout.Bad[reason], i);
  });
  assert.equal(top.get('BAD_COUNT'), layout.BAD_REASONS.length);
  const extra = [...top.keys()].filter((k) => k.startsWith('BAD_') && k !== 'BAD_COUNT');
  assert.equal(extra.length, layout.BAD_REASONS.length, 'no stray BAD_ constant');
});

test('every plain number has a constant of the same name', () => {
  let checked = 0;
  for (const [name, value] of Object.entries(layout)) {
    if (typeof value !== 'number') continue;
    assert.equal(top.get(name), value >>> 0, name);
    checked++;
  }
  assert.ok(checked >= 8);
  // alert kind i is the alerting reason bit 1 << i, by name
  const alerting = Object.entries(layout.Reason).filter(([, bit]) => (bit & layout.ALERTING_REASONS) !== 0);
  assert.equal(layout.ALERT_KINDS.length, alerting.length, 'one alert kind per alerting reason bit');
  for (const [name, bit] of alerting) assert.equal(layout.ALERT_KINDS[Math.log2(bit)], name.toLowerCase(), name);
});

test('the device record offsets src/core/wasm.ts reads are those of assembly/state.ts', async () => {
  const { REC } = await import('../../src/core/record');
  const text = readFileSync(join(__dirname, '..', '..', 'assembly', 'state.ts'), 'utf8');
  const as: Record<string, number> = {};
  for (const m of text.matchAll(/export const (R_[A-Z_]+|METRIC_STRIDE|METRIC_QUIET_MAX|RECORD_SIZE): u32 = (\d+);/g)) as[m[1]] = Number(m[2]);
  const names: Record<string, string> = { SIZE: 'RECORD_SIZE', METRIC_STRIDE: 'METRIC_STRIDE' };
  for (const [k, v] of Object.entries(REC)) assert.equal(v, as[names[k] ?? `R_${k}`], `REC.${k}`);
});

test('the metric quiet count has the same width in both cores', async () => {
  const { METRIC_QUIET_MAX, METRIC_NAME_MASK } = await import('../../src/core/record');
  const text = readFileSync(join(__dirname, '..', '..', 'assembly', 'state.ts'), 'utf8');
  const m = /export const METRIC_QUIET_MAX: u32 = (\d+);/.exec(text);
  assert.ok(m, 'assembly/state.ts declares METRIC_QUIET_MAX');
  assert.equal(METRIC_QUIET_MAX, Number(m[1]));
  assert.match(text, /export const METRIC_NAME_MASK: u32 = ~METRIC_QUIET_MAX;/);
  // a count from 0 to the max fits the bits the mask leaves to it
  assert.equal((METRIC_NAME_MASK & METRIC_QUIET_MAX) >>> 0, 0);
  assert.equal((METRIC_NAME_MASK | METRIC_QUIET_MAX) >>> 0, 0xffffffff);
});

test('the parameter indices of assembly/params.ts follow PARAM_NAMES', async () => {
  const { PARAM_NAMES } = await import('../../src/core/params');
  const text = readFileSync(join(__dirname, '..', '..', 'assembly', 'params.ts'), 'utf8');
  const indices = new Map<string, number>();
  for (const m of text.matchAll(/export const PRM_([A-Z_]+): u32 = (\d+);/g)) indices.set(m[1], Number(m[2]));
  const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
  assert.deepEqual([...indices.keys()], PARAM_NAMES.map(snake));
  PARAM_NAMES.forEach((name, i) => assert.equal(indices.get(snake(name)), i, name));
  assert.equal(Number(/export const PARAM_COUNT: u32 = (\d+);/.exec(text)?.[1]), PARAM_NAMES.length);
});

test('a metric repeat window is refused beyond what the record can count', async () => {
  const { resolveParams } = await import('../../src/core/params');
  const { METRIC_QUIET_MAX } = await import('../../src/core/record');
  assert.equal(resolveParams({ metricRepeatReadings: METRIC_QUIET_MAX }).metricRepeatReadings, METRIC_QUIET_MAX);
  assert.throws(() => resolveParams({ metricRepeatReadings: METRIC_QUIET_MAX + 1 }), RangeError);
  assert.throws(() => resolveParams({ metricRepeatReadings: 2.5 }), RangeError);
});
