// The three NAB scoring profiles (cost matrices), as numenta/NAB defines them in
// config/profiles.json. The values are embedded so that scoring works without the NAB
// data directory; `parseProfiles` / `readProfiles` read NAB's own file when one is at hand.

import { readFileSync } from 'node:fs';

/** One NAB cost matrix. `tnWeight` is carried for completeness: NAB's scorer never uses it. */
export interface CostMatrix {
  readonly tpWeight: number;
  readonly fnWeight: number;
  readonly fpWeight: number;
  readonly tnWeight: number;
}

export type ProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

/** The profile names in NAB's order (standard, reward low FP, reward low FN). */
export const PROFILE_NAMES: readonly ProfileName[] = Object.freeze([
  'standard',
  'reward_low_FP_rate',
  'reward_low_FN_rate',
] as const);

/** NAB's config/profiles.json. */
export const NAB_PROFILES: Readonly<Record<ProfileName, CostMatrix>> = Object.freeze({
  standard: Object.freeze({ tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 }),
  reward_low_FP_rate: Object.freeze({ tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 }),
  reward_low_FN_rate: Object.freeze({ tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 }),
});

function weight(obj: Record<string, unknown>, key: string, profile: string, required: boolean): number {
  const v = obj[key];
  if (v === undefined && !required) return 1.0;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`NAB profile "${profile}": CostMatrix.${key} must be a finite number`);
  }
  return v;
}

/**
 * Parses NAB's profiles format: `{ "<name>": { "CostMatrix": { tpWeight, fnWeight, fpWeight,
 * tnWeight } } }`. Names are kept as written (NAB's three, or custom ones).
 */
export function parseProfiles(json: unknown): Record<string, CostMatrix> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('NAB profiles: expected an object of profiles');
  }
  const out: Record<string, CostMatrix> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    const cm =
      entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>).CostMatrix : undefined;
    if (cm === null || typeof cm !== 'object') {
      throw new Error(`NAB profile "${name}": missing CostMatrix`);
    }
    const m = cm as Record<string, unknown>;
    out[name] = Object.freeze({
      tpWeight: weight(m, 'tpWeight', name, true),
      fnWeight: weight(m, 'fnWeight', name, true),
      fpWeight: weight(m, 'fpWeight', name, true),
      tnWeight: weight(m, 'tnWeight', name, false),
    });
  }
  return out;
}

/** Reads and parses a NAB profiles.json file. */
export function readProfiles(path: string): Record<string, CostMatrix> {
  return parseProfiles(JSON.parse(readFileSync(path, 'utf8')));
}
