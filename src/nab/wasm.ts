// The metric detector in the WASM core (assembly/metric.ts), behind the interface of the
// TypeScript reference (src/nab/detector.ts; src/nab/engine.ts). Each detector has its
// own instance of the compiled core module, hence its own memory, with one state block
// (the layout of detector.ts, byte for byte) and input / output regions of `batch`
// values. Values go in by batches: one boundary crossing per batch, not per point.
// The export table is looked up once; `abort` becomes a JS error; the typed-array views
// are made after metricInit, when the memory has reached its final size.

import { coreModule } from '../core/wasm';
import { COMPACT_LAYOUT, DetectorOptions, STANDARD_LAYOUT, StateLayout } from './detector';

interface MetricExports {
  memory: WebAssembly.Memory;
  metricInit(series: number, layout: number, batchMax: number): void;
  metricInputPtr(): number;
  metricOutputPtr(): number;
  metricBatchMax(): number;
  metricStateBytes(): number;
  metricStatePtr(series: number): number;
  metricReset(series: number): void;
  metricScore(series: number, n: number): number;
  metricLn(x: number): number;
}

/** metricInit's layout numbers (assembly/metric.ts). */
const LAYOUT_IDS = { standard: 0, compact: 1 } as const;

/** Values per boundary crossing: 4096 (32 KiB in, 32 KiB out, within L1/L2). */
export const DEFAULT_METRIC_BATCH = 4096;

export interface WasmDetectorOptions extends DetectorOptions {
  /** Values per call into the WASM core (default DEFAULT_METRIC_BATCH). */
  readonly batch?: number;
}

/** A fresh instance of the core module, its metric exports looked up once. */
export function metricInstance(): MetricExports {
  const instance = new WebAssembly.Instance(coreModule(), {
    env: {
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`WASM metric detector aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as MetricExports;
}

/** The metric detector for one series, run in the WASM core. */
export class WasmMetricDetector {
  readonly engine = 'wasm' as const;
  readonly layout: StateLayout;
  readonly batch: number;
  private readonly x: MetricExports;
  private readonly input: Float64Array;
  private readonly output: Float64Array;

  constructor(options: WasmDetectorOptions = {}) {
    this.layout = options.layout === 'compact' ? COMPACT_LAYOUT : STANDARD_LAYOUT;
    const batch = options.batch ?? DEFAULT_METRIC_BATCH;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1 << 24) throw new RangeError(`batch must be an integer in [1, 2^24], not ${batch}`);
    this.batch = batch;
    this.x = metricInstance();
    this.x.metricInit(1, LAYOUT_IDS[this.layout.name], batch);
    if (this.x.metricStateBytes() !== this.layout.bytes) throw new Error('the WASM core and detector.ts disagree on the state size');
    const buf = this.x.memory.buffer;
    this.input = new Float64Array(buf, this.x.metricInputPtr(), batch);
    this.output = new Float64Array(buf, this.x.metricOutputPtr(), batch);
  }

  /** Back to the state of a series never seen. */
  reset(): void {
    this.x.metricReset(0);
  }

  /** Scores the next point (one call into the core; scoreValues is the fast way). */
  score(timestampMs: number, x: number): number {
    void timestampMs;
    this.input[0] = x;
    this.x.metricScore(0, 1);
    return this.output[0];
  }

  /** Scores values[0..n) into out[0..n) in order, continuing the current state. */
  scoreValues(values: ArrayLike<number>, out: Float64Array): void {
    const n = values.length;
    if (out.length < n) throw new RangeError(`scoreValues: ${n} values, room for ${out.length} scores`);
    const B = this.batch;
    const input = this.input;
    const output = this.output;
    const typed = values instanceof Float64Array;
    for (let i = 0; i < n; i += B) {
      const m = n - i < B ? n - i : B;
      if (typed) input.set((values as Float64Array).subarray(i, i + m));
      else for (let j = 0; j < m; j++) input[j] = values[i + j];
      this.x.metricScore(0, m);
      out.set(m === B ? output : output.subarray(0, m), i);
    }
  }

  /** The series' state block as detector.ts lays it out (a view into the core's memory). */
  state(): DataView {
    return new DataView(this.x.memory.buffer, this.x.metricStatePtr(0), this.layout.bytes);
  }
}
