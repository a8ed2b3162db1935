// What goes to InfluxDB (DESIGN.md §6). Point identity is measurement + tags + time and
// is deterministic, so re-processing after a crash overwrites instead of duplicating:
// - `alert` (tags device, kind, severity-at-raise; time: the raising event's device
//   time), rewritten as the alert is updated (count, lastSeen, score);
// - `device_score` (tag device; time: start of the window) per device per window, written
//   when the window is over, so the write volume follows devices, not events.

import type { Alert } from '../alerts/alert';
import type { Core } from '../core/core';
import { SWEEP_MESSAGE, V } from '../core/layout';
import { escapeTag, floatField, intField, stringField } from './line-protocol';

export function alertLine(a: Alert, severityTag: string, origin?: string): string {
  const fields = [
    `id=${stringField(a.id)}`,
    `score=${floatField(a.score)}`,
    `severity_now=${stringField(a.severity)}`,
    `summary=${stringField(a.summary)}`,
    `count=${intField(a.count)}`,
    `first_seen=${intField(a.firstSeen)}`,
    `last_seen=${intField(a.lastSeen)}`,
  ];
  if (origin !== undefined) fields.push(`offset=${stringField(origin)}`);
  return `alert,device=${escapeTag(a.deviceId)},kind=${escapeTag(a.kind)},severity=${escapeTag(severityTag)} ${fields.join(',')} ${Math.trunc(a.ts)}`;
}

export function verdictLine(a: Alert, severityTag: string, verdict: string, note?: string): string {
  const fields = [`id=${stringField(a.id)}`, `verdict=${stringField(verdict)}`];
  if (note) fields.push(`verdict_note=${stringField(note)}`);
  return `alert,device=${escapeTag(a.deviceId)},kind=${escapeTag(a.kind)},severity=${escapeTag(severityTag)} ${fields.join(',')} ${Math.trunc(a.ts)}`;
}

/**
 * Per-device, per-window aggregates of the verdicts (max score, events), kept in typed
 * arrays indexed by table slot. A window is written once the device moves to a later
 * window, or once the fleet clock is two windows past it (a device gone quiet). A window
 * that receives events after it was written (partitions consumed unevenly) is written
 * again, whole, over the same point. Pending windows are queued as (slot, window)
 * entries in order; an entry whose slot has moved on is stale and skipped.
 */
export class DeviceScoreWindows {
  private readonly start: Float64Array;
  private readonly max: Float64Array;
  private readonly events: Uint32Array;
  /** 1 while the slot's window has events not yet written. */
  private readonly dirty: Uint8Array;
  private readonly ids: string[];
  private readonly qSlot: Int32Array;
  private readonly qStart: Float64Array;
  private head = 0;
  private size = 0;

  constructor(
    slots: number,
    private readonly windowMs: number,
  ) {
    this.start = new Float64Array(slots).fill(-1);
    this.max = new Float64Array(slots);
    this.events = new Uint32Array(slots);
    this.dirty = new Uint8Array(slots);
    this.ids = new Array(slots);
    this.qSlot = new Int32Array(4 * slots);
    this.qStart = new Float64Array(4 * slots);
  }

  /** Fold a scored batch in; appends the lines of the windows that ended to `out`. */
  add(core: Core, count: number, clock: number, out: string[] = []): string[] {
    const v = core.verdicts;
    for (let k = 0; k < count; k++) {
      const at = k * V.SIZE;
      if (v.getUint32(at + V.STATUS, true) !== 0 || v.getUint32(at + V.MESSAGE, true) === SWEEP_MESSAGE) continue;
      const slot = v.getUint32(at + V.SLOT, true);
      const w = Math.floor(v.getFloat64(at + V.ARRIVAL, true) / this.windowMs) * this.windowMs;
      const score = v.getFloat64(at + V.SCORE, true);
      if (this.start[slot] !== w) {
        if (this.dirty[slot]) out.push(this.line(slot));
        this.start[slot] = w;
        this.max[slot] = score;
        this.events[slot] = 1;
        this.ids[slot] = core.deviceId(slot);
      } else {
        if (score > this.max[slot]) this.max[slot] = score;
        this.events[slot]++;
        if (this.dirty[slot]) continue; // already queued
      }
      this.dirty[slot] = 1;
      if (this.size === this.qSlot.length) this.pop(out);
      const i = (this.head + this.size) % this.qSlot.length;
      this.qSlot[i] = slot;
      this.qStart[i] = w;
      this.size++;
    }
    while (this.size > 0 && this.qStart[this.head] + 2 * this.windowMs <= clock) this.pop(out);
    return out;
  }

  /** Every window with unwritten events (shutdown). */
  drain(): string[] {
    const out: string[] = [];
    while (this.size > 0) this.pop(out);
    return out;
  }

  /** Drop the front entry; write its window if it is the slot's and has news. */
  private pop(out: string[]): void {
    const slot = this.qSlot[this.head];
    const w = this.qStart[this.head];
    this.head = (this.head + 1) % this.qSlot.length;
    this.size--;
    if (this.start[slot] === w && this.dirty[slot]) out.push(this.line(slot));
  }

  private line(slot: number): string {
    this.dirty[slot] = 0;
    return `device_score,device=${escapeTag(this.ids[slot])} score_max=${floatField(this.max[slot])},events=${intField(this.events[slot])} ${this.start[slot]}`;
  }
}
