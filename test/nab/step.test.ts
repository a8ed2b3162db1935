// `nab --model step`: the production metric step model on NAB-shaped series. The scores
// written must be the production core's own verdict scores — checked against the same rows
// sent straight through a core (both engines), message by message — and the results files
// must have NAB's layout and columns. Hand-made series in a temporary directory; no NAB
// corpus needed.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { prng, runNab } from '../support/nab';
import { createCore, Engine } from '../../src/core';
import { ALERT_KINDS, V } from '../../src/core/layout';
import { DEFAULT_PARAMS } from '../../src/core/params';
import { formatNabTimestamp } from '../../src/nab/corpus';

const STEP_MS = 300_000; // NAB's usual 5-minute rows
const T0 = Date.UTC(2015, 0, 1);

interface Series {
  rel: string;
  timestamps: number[];
  values: number[];
  windows: [number, number][];
}

/**
 * A daily cycle with noise, a 2-hour gap in the rows (the step model stretches its usual
 * step by the time since the last message) and a spike far outside the usual step.
 */
function cycleWithSpike(): Series & { spike: number } {
  const r = prng(7);
  const timestamps: number[] = [];
  const values: number[] = [];
  const spike = 260;
  for (let i = 0; i < 320; i++) {
    const t = T0 + i * STEP_MS + (i >= 150 ? 2 * 3_600_000 : 0);
    timestamps.push(t);
    values.push(20 + 5 * Math.sin((2 * Math.PI * (t - T0)) / 86_400_000) + 0.2 * (r() - 0.5) + (i === spike ? 40 : 0));
  }
  return { rel: 'realHandMade/cycle_spike.csv', timestamps, values, windows: [[timestamps[spike - 5], timestamps[spike + 5]]], spike };
}

/** A noisy level that shifts once, and one row that repeats the previous value. */
function levelShift(): Series {
  const r = prng(11);
  const timestamps: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < 240; i++) {
    timestamps.push(T0 + i * STEP_MS);
    values.push(i === 100 ? values[99] : 3 + r() + (i >= 180 ? 30 : 0));
  }
  return { rel: 'artificialHandMade/level_shift.csv', timestamps, values, windows: [] };
}

function writeCorpus(dir: string, series: Series[]): { data: string; labels: string } {
  const data = path.join(dir, 'data');
  const labels: Record<string, string[][]> = {};
  for (const s of series) {
    const file = path.join(data, ...s.rel.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    const rows = s.timestamps.map((t, i) => `${formatNabTimestamp(t)},${s.values[i]}`);
    writeFileSync(file, ['timestamp,value', ...rows].join('\n') + '\n');
    labels[s.rel] = s.windows.map(([a, b]) => [`${formatNabTimestamp(a)}.000000`, `${formatNabTimestamp(b)}.000000`]);
  }
  const labelsFile = path.join(dir, 'combined_windows.json');
  writeFileSync(labelsFile, JSON.stringify(labels));
  return { data, labels: labelsFile };
}

/** The same rows sent straight through a fresh core, one message each, read from the verdicts. */
function coreScores(s: Series, engine: Engine): number[] {
  const core = createCore(engine);
  const metricBit = ALERT_KINDS.indexOf('metric_anomaly');
  const out: number[] = [];
  for (let i = 0; i < s.values.length; i++) {
    const msg = `{"deviceId":"hand-made","ts":${s.timestamps[i]},"metrics":{"value":${s.values[i]}}}`;
    assert.ok(core.add(new TextEncoder().encode(msg), s.timestamps[i]));
    const n = core.score();
    let score = 0;
    for (let k = 0; k < n; k++) {
      const at = k * V.SIZE;
      if (v(core.verdicts, at + V.MESSAGE) !== 0) continue; // a sweep verdict
      assert.equal(v(core.verdicts, at + V.STATUS), 0, `row ${i} rejected`);
      if (v(core.verdicts, at + V.EV1_REASON) === metricBit) score = core.verdicts.getFloat64(at + V.EV1_SCORE, true);
      else if (v(core.verdicts, at + V.EV2_REASON) === metricBit) score = core.verdicts.getFloat64(at + V.EV2_SCORE, true);
    }
    out.push(score);
  }
  core.destroy();
  return out;
}

function v(view: DataView, at: number): number {
  return view.getUint32(at, true);
}

describe('nab --model step: the production step model, through the core', () => {
  const spiked = cycleWithSpike();
  const shifted = levelShift();
  const series = [spiked, shifted];

  test('results hold the core verdicts\' metric scores, in NAB\'s results format, the same in both engines', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nab-step-'));
    try {
      const { data, labels } = writeCorpus(dir, series);
      const results = path.join(dir, 'results');
      const files: Record<string, Record<string, string>> = {};
      for (const engine of ['wasm', 'ts'] as const) {
        const { code, stdout: out } = await runNab(['--model', 'step', '--engine', engine, '--data', data, '--labels', labels, '--results', results, '--json']);
        assert.equal(code, 0);
        const report = JSON.parse(out) as { model: string; detector: string; files: number; points: number; atAlertLine: unknown[] };
        assert.equal(report.model, 'step');
        assert.equal(report.detector, 'edge-sentinel-step');
        assert.equal(report.files, 2);
        assert.equal(report.points, spiked.values.length + shifted.values.length);
        assert.equal(report.atAlertLine.length, 3);
        files[engine] = {};
        for (const s of series) {
          const [category, name] = s.rel.split('/');
          const file = path.join(results, 'edge-sentinel-step', category, `edge-sentinel-step_${name}`);
          files[engine][s.rel] = readFileSync(file, 'utf8');
        }
      }
      assert.deepEqual(files.ts, files.wasm, 'the WASM core and the reference write the same results');

      for (const s of series) {
        const lines = files.wasm[s.rel].trimEnd().split('\n');
        assert.equal(lines[0], 'timestamp,value,anomaly_score,label');
        assert.equal(lines.length, s.values.length + 1);
        const direct = coreScores(s, 'reference');
        assert.deepEqual(coreScores(s, 'wasm'), direct);
        for (let i = 0; i < s.values.length; i++) {
          const cells = lines[i + 1].split(',');
          assert.equal(cells.length, 4, `row ${i}`);
          assert.equal(cells[0], formatNabTimestamp(s.timestamps[i]));
          assert.equal(Number(cells[1]), s.values[i]);
          assert.ok(Object.is(Number(cells[2]), direct[i]), `${s.rel} row ${i}: ${cells[2]} written, the core scored ${direct[i]}`);
          const inside = s.windows.some(([a, b]) => s.timestamps[i] >= a && s.timestamps[i] <= b);
          assert.equal(cells[3], inside ? '1' : '0');
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the scores are the production model\'s: silent in its warm-up, an alert on a far spike', () => {
    const scores = coreScores(spiked, 'wasm');
    // the first reading is the baseline; the next metricWarmup steps are only learnt
    assert.ok(scores.slice(0, DEFAULT_PARAMS.metricWarmup + 1).every((x) => x === 0));
    assert.ok(scores[spiked.spike] >= 0.5, `spike scored ${scores[spiked.spike]}`);
    assert.ok(scores.some((x) => x === 0) && scores.every((x) => x >= 0 && x <= 1));
  });

  test('--model takes nab or step only', async () => {
    const { code, stderr } = await runNab(['--data', 'd', '--labels', 'l', '--results', 'r', '--model', 'htm']);
    assert.equal(code, 2);
    assert.match(stderr, /--model must be one of nab, step/);
  });
});
