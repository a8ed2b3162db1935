// Ground truth of a simulated run (labels.json): which device was attacked, how, when,
// and where in telemetry.ndjson the attack's lines are; and every benign change the fleet
// made, so an evaluation can count false alarms against them.

import type { AlertKind } from '../../core/layout';
import type { AttackType } from './attacks';
import type { BenignType } from './benign';
import type { DeviceClassName } from './classes';

export const LABELS_VERSION = 1;

export interface AttackLabel {
  /** `atk-001`; also the `attackId` of the attacker's SimEvents. */
  id: string;
  type: AttackType;
  /** The victim: the identity that is attacked. */
  deviceId: string;
  /** credential_theft: the other device id that uses the victim's credential. */
  attackerDeviceId?: string;
  /**
   * Arrival time (ms) of the first and last attack line once the stream is exhausted (the
   * planned window before that). silence: the victim's last arrival before it fell silent,
   * and the planned resumption (capped at the run's end).
   */
  start: number;
  end: number;
  /** 0-based line index in telemetry.ndjson of the first attack line (silence: the first line after the victim's last message); -1 if the attack produced no line. */
  firstLine: number;
  /** Lines carrying this attackId (0 for silence). */
  lineCount: number;
  /** Alert kinds a detector should raise for this attack. */
  expectedKinds: AlertKind[];
  /** Parameters of the attack (source used, factor, offset, …), for explanations and tests. */
  detail: Record<string, string | number>;
}

export interface BenignLabel {
  type: BenignType;
  deviceId: string;
  /** Arrival time (ms) of the first line that shows the change (duplicate: of the repeated line). */
  at: number;
  /** 0-based line index of that line. */
  line: number;
  detail?: Record<string, string | number>;
}

/** A source address shared by several devices (NAT): benign. */
export interface SharedSourceLabel {
  source: string;
  devices: number;
}

export interface SimLabels {
  version: typeof LABELS_VERSION;
  seed: number | string;
  devices: number;
  hours: number;
  /** Run window, ms since epoch (arrival times). */
  start: number;
  end: number;
  /** Lines in telemetry.ndjson (so far, while streaming). */
  events: number;
  classes: Partial<Record<DeviceClassName, number>>;
  attacks: AttackLabel[];
  /** Benign changes in line order. */
  benign: BenignLabel[];
  /** Sources shared by several devices at the start of the run. */
  sharedSources: SharedSourceLabel[];
}

/** labels.json text: the header pretty-printed, one attack / benign change / shared source per line. */
export function formatLabels(l: SimLabels): string {
  const list = (items: readonly unknown[]): string =>
    items.length === 0 ? '[]' : '[\n' + items.map((x) => '    ' + JSON.stringify(x)).join(',\n') + '\n  ]';
  const head = Object.entries(l)
    .filter(([k]) => k !== 'attacks' && k !== 'benign' && k !== 'sharedSources')
    .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return (
    '{\n' +
    [...head, `  "attacks": ${list(l.attacks)}`, `  "benign": ${list(l.benign)}`, `  "sharedSources": ${list(l.sharedSources)}`].join(',\n') +
    '\n}\n'
  );
}
