// Detector tuning, written by JS into an f64 array (order: PARAM_NAMES in
// src/core/params.ts; test/core/layout.test.ts checks the two agree).

export const PRM_CAPACITY: u32 = 0;
export const PRM_MAX_MESSAGE_BYTES: u32 = 1;
export const PRM_WARMUP_EVENTS: u32 = 2;
export const PRM_METRIC_WARMUP: u32 = 3;
export const PRM_REPLAY_TOLERANCE_MS: u32 = 4;
export const PRM_REBOOT_SEQ_MAX: u32 = 5;
export const PRM_SEQ_GAP_MAX: u32 = 6;
export const PRM_CLONE_WINDOW_MS: u32 = 7;
export const PRM_SHARE_WINDOW_MS: u32 = 8;
export const PRM_SKEW_TOLERANCE_MS: u32 = 9;
export const PRM_SKEW_ABSOLUTE_MS: u32 = 10;
export const PRM_RATE_SPIKE_FACTOR: u32 = 11;
export const PRM_SILENCE_FACTOR: u32 = 12;
export const PRM_SILENCE_MIN_MS: u32 = 13;
export const PRM_SWEEP_PERIOD_MS: u32 = 14;
export const PRM_SIZE_Z: u32 = 15;
export const PRM_SIZE_MIN_RATIO: u32 = 16;
export const PRM_METRIC_Z: u32 = 17;
export const PRM_BASELINE_ALPHA: u32 = 18;
export const PRM_CLAIM_REFRESH_MS: u32 = 19;
export const PRM_METRIC_REPEAT_READINGS: u32 = 20;
export const PARAM_COUNT: u32 = 21;

export let paramsBase: usize = 0;

export function initParams(): void {
  paramsBase = heap.alloc(PARAM_COUNT << 3);
  memory.fill(paramsBase, 0, PARAM_COUNT << 3);
}

@inline export function param(i: u32): f64 {
  return load<f64>(paramsBase + (<usize>i << 3));
}
