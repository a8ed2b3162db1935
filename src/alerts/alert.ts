// The alert contract (DESIGN.md §4): what replay writes as NDJSON, the API serves and
// the alert topic carries (OCSF-shaped there).

import type { AlertKind } from '../core/layout';

export type Severity = 'low' | 'medium' | 'high';
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high'];

export interface Evidence {
  /** What the device's own history predicted. */
  expected: unknown;
  /** What this event showed. */
  observed: unknown;
  [detail: string]: unknown;
}

/** Where the event that raised the alert came from. */
export interface Origin {
  topic?: string;
  partition?: number;
  offset?: string;
  file?: string;
  /** 0-based line of the file. */
  line?: number;
}

export interface Alert {
  id: string;
  deviceId: string;
  kind: AlertKind;
  severity: Severity;
  score: number;
  /** Device time of the event that raised it. */
  ts: number;
  /** Arrival time at which it was raised. */
  detectedAt: number;
  firstSeen: number;
  lastSeen: number;
  /** Events of this kind for this device while the alert was open. */
  count: number;
  summary: string;
  evidence: Evidence;
  /** Every alerting reason on the raising event, strongest first. */
  reasons: string[];
  origin: Origin;
}
