// The production metric model on NAB: each NAB series is fed, row by row, as the messages
// of one device with one metric through the real scoring core (src/core: the WASM core or
// the TypeScript reference), exactly as production would see them —
//   {"deviceId":"nab-series","ts":<row time, ms>,"metrics":{"value":<x>}}
// with the row's time as the arrival time too — and the row's anomaly score is that
// event's metric_anomaly score from its verdict record (0 when the metric is not flagged).
// The core runs with its production parameters (warm-up, the step stretched by the time
// since the last message, the alert line), so this measures the model the fleet runs, not
// a variant of it. One of them was chosen with NAB in view: metricRepeatReadings (a
// repeated flag scores at most the alert line), on the dev half of the corpus
// (bench/nab.ts); the rest were set for the fleet.

import { createCore, Engine } from '../core';
import { EV, Reason, SWEEP_MESSAGE, V } from '../core/layout';
import type { CoreParams } from '../core/params';

/** The device id every series is fed as (a fresh core per series). */
export const STEP_DEVICE_ID = 'nab-series';

/** Reason bit index of metric_anomaly in a verdict's evidence slots. */
const METRIC_BIT = Math.log2(Reason.METRIC_ANOMALY);

/** The message the core receives for one NAB row. */
export function stepMessage(timestampMs: number, value: number): string {
  return JSON.stringify({ deviceId: STEP_DEVICE_ID, ts: timestampMs, metrics: { value } });
}

/**
 * Where the metric_anomaly evidence of a verdict record (at byte `at` of `v`) starts —
 * whichever of its two evidence blocks holds the finding (read its fields at EV offsets)
 * — or undefined when the verdict has no metric finding, or keeps two stronger ones.
 */
export function metricEvidenceAt(v: DataView, at: number): number | undefined {
  if ((v.getUint32(at + V.REASONS, true) & Reason.METRIC_ANOMALY) === 0) return undefined;
  if (v.getUint32(at + V.EV1_REASON, true) === METRIC_BIT) return at + V.EV1_SCORE;
  if (v.getUint32(at + V.EV2_REASON, true) === METRIC_BIT) return at + V.EV2_SCORE;
  return undefined;
}

/** The metric_anomaly score a verdict record carries (see metricEvidenceAt). */
export function metricScoreOf(v: DataView, at: number): number | undefined {
  const ev = metricEvidenceAt(v, at);
  return ev === undefined ? undefined : v.getFloat64(ev + EV.SCORE, true);
}

export interface StepSeriesResult {
  /** One score per row: the metric_anomaly score of the row's verdict, 0 when not flagged. */
  readonly scores: Float64Array;
  /** Rows the core rejected (a non-finite value cannot be written as JSON): scored 0. */
  readonly rejected: number;
  /**
   * Rows whose verdict had the metric_anomaly bit set but listed two stronger findings
   * as its evidence (the verdict keeps only two), so their metric score is not known: scored 0.
   */
  readonly unscoredFlags: number;
}

/**
 * Scores one series through a fresh core: one device, one metric, rows in order, no
 * look-ahead. `engine` picks the WASM core or the TypeScript reference.
 */
export function scoreSeriesWithCore(
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  engine: Engine = 'wasm',
  params: Partial<CoreParams> = {},
): StepSeriesResult {
  const n = values.length;
  if (timestamps.length !== n) throw new Error(`${timestamps.length} timestamps for ${n} values`);
  const core = createCore(engine, { capacity: 64, ...params });
  const scores = new Float64Array(n);
  const encoder = new TextEncoder();
  let rejected = 0;
  let unscoredFlags = 0;
  let first = 0; // row of the first message of the pending batch
  const flush = () => {
    const count = core.score();
    const v = core.verdicts;
    for (let k = 0; k < count; k++) {
      const at = k * V.SIZE;
      const message = v.getUint32(at + V.MESSAGE, true);
      if (message === SWEEP_MESSAGE) continue; // a silence found by the sweep, not a row
      const row = first + message;
      if (v.getUint32(at + V.STATUS, true) !== 0) {
        rejected++;
        continue;
      }
      if ((v.getUint32(at + V.REASONS, true) & Reason.METRIC_ANOMALY) === 0) continue;
      const score = metricScoreOf(v, at);
      if (score === undefined) unscoredFlags++;
      else scores[row] = score;
    }
  };
  try {
    for (let i = 0; i < n; i++) {
      const bytes = encoder.encode(stepMessage(timestamps[i], values[i]));
      if (!core.add(bytes, timestamps[i])) {
        const pending = core.pending;
        flush();
        first += pending;
        if (!core.add(bytes, timestamps[i])) throw new Error('a NAB row does not fit an empty batch');
      }
    }
    if (core.pending > 0) flush();
  } finally {
    core.destroy();
  }
  return { scores, rejected, unscoredFlags };
}
