// Picks the implementation: the WASM core by default, the TypeScript reference on
// request (benchmarks and differential tests run both).

import type { Core } from './core';
import type { CoreParams } from './params';
import { ReferenceCore } from './reference/core';
import { WasmCore } from './wasm';

export type Engine = 'wasm' | 'reference';
export const ENGINES: readonly Engine[] = ['wasm', 'reference'];

export function createCore(engine: Engine = 'wasm', params: Partial<CoreParams> = {}, maxBatch?: number, inputBytes?: number): Core {
  return engine === 'reference' ? new ReferenceCore(params, maxBatch, inputBytes) : new WasmCore(params, maxBatch, inputBytes);
}

export type { Core, CoreStats } from './core';
