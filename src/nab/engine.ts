// One interface, two engines for the metric detector: the TypeScript reference
// (src/nab/detector.ts) and its port in the WASM core (assembly/metric.ts behind
// src/nab/wasm.ts). Both give the same scores to the last bit (test/nab/wasm.test.ts).

import { DetectorOptions, MetricDetector, StateLayout } from './detector';
import { WasmMetricDetector } from './wasm';

export const METRIC_ENGINES = ['wasm', 'ts'] as const;
export type MetricEngine = (typeof METRIC_ENGINES)[number];

/** The metric detector of one series, whichever engine runs it. */
export interface SeriesDetector {
  readonly layout: StateLayout;
  /** Back to the state of a series never seen. */
  reset(): void;
  /** Scores the next point (no look-ahead); `timestampMs` is not used. */
  score(timestampMs: number, x: number): number;
  /** Scores values[0..n) into out[0..n) in order, continuing the current state. */
  scoreValues(values: ArrayLike<number>, out: Float64Array): void;
}

/** A detector of the given engine ("wasm" unless told). */
export function createMetricDetector(engine: MetricEngine = 'wasm', options: DetectorOptions = {}): SeriesDetector {
  return engine === 'ts' ? new MetricDetector(options) : new WasmMetricDetector(options);
}
