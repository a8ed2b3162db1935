// Recent score and metric values of a few watched devices, for the dashboard's device
// view (sparklines), and the names of metrics (the core keeps only their hashes). Fed by
// the detector's onBatch hook: it reads the verdict records of the batch just scored and
// parses only the messages of watched devices, plus a couple per batch to learn metric
// names, so the hot path is untouched.
//
// Watched: devices that raised an alert (from the raising event on) and devices looked
// at through the API (from then on), at most `devices`, least recently watched dropped.

import type { Core } from '../core/core';
import { SWEEP_MESSAGE, V } from '../core/layout';
import { metricNameHashString } from '../core/reference/hash';
import { metricNameBits } from '../core/record';
import type { AlertListener } from '../alerts/policy';

export interface HistoryOptions {
  /** Devices watched at most. */
  devices: number;
  /** Points kept per device. */
  points: number;
  /** Metric names remembered at most. */
  names: number;
  /** Messages parsed per batch to learn metric names. */
  samplesPerBatch: number;
}

export const DEFAULT_HISTORY: Readonly<HistoryOptions> = Object.freeze({ devices: 1024, points: 120, names: 4096, samplesPerBatch: 2 });

export interface DevicePoint {
  /** Arrival time (ms, fleet clock). */
  t: number;
  score: number;
  /** Metric values of the message (none for a silence verdict). */
  metrics: Record<string, number>;
}

interface Watch {
  deviceId: string;
  slot: number; // −1 until the core knows the device
  points: DevicePoint[];
  next: number; // ring position once full
}

const decoder = new TextDecoder();

export class DeviceHistory {
  readonly options: HistoryOptions;
  private readonly watched = new Map<string, Watch>();
  private readonly bySlot = new Map<number, Watch>();
  private readonly pending = new Set<Watch>();
  private readonly names = new Map<number, string>();
  private batches = 0;

  /** Compose into the Detector's onAlert: a device that raises an alert is watched. */
  readonly listener: AlertListener = (e) => {
    if (e.type === 'raised') this.watch(e.alert.deviceId);
  };

  constructor(options: Partial<HistoryOptions> = {}) {
    this.options = { ...DEFAULT_HISTORY, ...options };
  }

  /** Keep this device's points from now on (refreshes its place in the LRU). */
  watch(deviceId: string): void {
    let w = this.watched.get(deviceId);
    if (w) {
      this.watched.delete(deviceId);
      this.watched.set(deviceId, w);
      return;
    }
    w = { deviceId, slot: -1, points: [], next: 0 };
    this.watched.set(deviceId, w);
    this.pending.add(w);
    if (this.watched.size > this.options.devices) {
      const oldest = this.watched.values().next().value as Watch;
      this.unwatch(oldest);
    }
  }

  /** Points oldest first, or undefined when the device is not watched. */
  points(deviceId: string): DevicePoint[] | undefined {
    const w = this.watched.get(deviceId);
    if (!w) return undefined;
    return w.points.length < this.options.points ? w.points.slice() : [...w.points.slice(w.next), ...w.points.slice(0, w.next)];
  }

  /** The name of a metric hash (as the core keeps it: its upper 28 bits), when a message carrying it has been seen. */
  metricName(hash: number): string | undefined {
    return this.names.get(metricNameBits(hash));
  }

  /** Remember metric names (e.g. from an inventory or a configuration). */
  learnNames(names: Iterable<string>): void {
    for (const n of names) this.learn(n);
  }

  /** The Detector's onBatch hook: `onBatch: (core, n) => history.record(core, n)`. */
  record(core: Core, count: number): void {
    this.batches++;
    if (this.pending.size > 0) {
      for (const w of this.pending) {
        const slot = core.findDevice(w.deviceId);
        if (slot < 0) continue;
        this.bySlot.set(slot, w);
        w.slot = slot;
        this.pending.delete(w);
      }
    }
    const v = core.verdicts;
    // learn metric names from a few messages per batch, at positions that move along
    const samples = Math.min(this.options.samplesPerBatch, count);
    for (let j = 0; j < samples && this.names.size < this.options.names; j++) {
      const k = (this.batches * 7919 + j * 104729) % count;
      const message = v.getUint32(k * V.SIZE + V.MESSAGE, true);
      if (v.getUint32(k * V.SIZE + V.STATUS, true) === 0 && message !== SWEEP_MESSAGE) this.parse(core.message(message));
    }
    if (this.bySlot.size === 0) return;
    for (let k = 0; k < count; k++) {
      const at = k * V.SIZE;
      if (v.getUint32(at + V.STATUS, true) !== 0) continue;
      const w = this.bySlot.get(v.getUint32(at + V.SLOT, true));
      if (!w) continue;
      const message = v.getUint32(at + V.MESSAGE, true);
      let metrics: Record<string, number> = {};
      if (message !== SWEEP_MESSAGE) {
        const m = this.parse(core.message(message));
        if (m && m.deviceId !== w.deviceId) {
          // the slot now holds another device (evicted, re-added elsewhere): look it up again
          this.bySlot.delete(w.slot);
          w.slot = -1;
          this.pending.add(w);
          continue;
        }
        metrics = m?.metrics ?? {};
      }
      this.push(w, { t: v.getFloat64(at + V.ARRIVAL, true), score: v.getFloat64(at + V.SCORE, true), metrics });
    }
  }

  private push(w: Watch, p: DevicePoint): void {
    if (w.points.length < this.options.points) w.points.push(p);
    else {
      w.points[w.next] = p;
      w.next = (w.next + 1) % this.options.points;
    }
  }

  private unwatch(w: Watch): void {
    this.watched.delete(w.deviceId);
    this.pending.delete(w);
    if (w.slot >= 0 && this.bySlot.get(w.slot) === w) this.bySlot.delete(w.slot);
  }

  private learn(name: string): void {
    if (this.names.size >= this.options.names) return;
    const h = metricNameBits(metricNameHashString(name));
    if (!this.names.has(h)) this.names.set(h, name);
  }

  private parse(bytes: Uint8Array): { deviceId: unknown; metrics: Record<string, number> } | undefined {
    let o: { deviceId?: unknown; metrics?: unknown };
    try {
      o = JSON.parse(decoder.decode(bytes)) as typeof o;
    } catch {
      return undefined;
    }
    const metrics: Record<string, number> = {};
    if (o.metrics && typeof o.metrics === 'object') {
      for (const [name, value] of Object.entries(o.metrics as Record<string, unknown>)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) continue;
        metrics[name] = value;
        this.learn(name);
      }
    }
    return { deviceId: o.deviceId, metrics };
  }
}
