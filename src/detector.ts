// The detector as every front end uses it (replay, the embedded fleet, the Kafka loop):
// messages in, batched through the core, verdicts through the alert policy. It keeps
// the per-batch bookkeeping (where each message came from) and the running totals.

import { AlertKind, BAD_REASONS } from './core/layout';
import { Core, createCore, Engine } from './core';
import type { CoreParams } from './core/params';
import type { Origin } from './alerts/alert';
import { AlertListener, AlertPolicy, PolicyOptions } from './alerts/policy';
import type { Inventory } from './inventory/model';
import { buildInventoryImage } from './inventory/image';

export interface DetectorOptions {
  engine: Engine;
  params: Partial<CoreParams>;
  policy: Partial<PolicyOptions>;
  /** Called for every alert raised, updated or closed. */
  onAlert: AlertListener;
  /** Called after each batch with the core holding its verdicts (e.g. to write scores). */
  onBatch?: (core: Core, verdicts: number, tags: readonly number[]) => void;
  /** Where message `tag` came from (a line number, an offset…). */
  originOf: (tag: number) => Origin;
  maxBatch?: number;
}

export interface DetectorTotals {
  messages: number;
  events: number;
  bad: Record<string, number>;
  devices: number;
  evictions: number;
  alerts: Record<AlertKind, number>;
  openAlerts: number;
  clock: number;
}

export class Detector {
  readonly core: Core;
  readonly policy: AlertPolicy;
  private tags: number[] = [];
  private messages = 0;

  constructor(private readonly opts: DetectorOptions) {
    this.core = createCore(opts.engine, opts.params, opts.maxBatch);
    this.policy = new AlertPolicy(opts.onAlert, opts.policy);
  }

  /** Add one message; scores the pending batch first when it is full. */
  add(bytes: Uint8Array, arrival: number, tag: number): void {
    if (!this.core.add(bytes, arrival)) {
      this.flush();
      if (!this.core.add(bytes, arrival)) throw new Error('a message does not fit an empty batch');
    }
    this.tags.push(tag);
    this.messages++;
  }

  /** Score what is pending. Returns the number of verdicts. */
  flush(): number {
    if (this.core.pending === 0) return 0;
    const n = this.core.score();
    const tags = this.tags;
    this.tags = [];
    this.policy.apply(this.core, n, (i) => this.opts.originOf(tags[i]));
    this.opts.onBatch?.(this.core, n, tags);
    return n;
  }

  /**
   * Check events against this inventory from the next batch on (undefined: stop). What is
   * pending is scored first, so every message is judged by the inventory of its time.
   */
  setInventory(inv: Inventory | undefined): void {
    const image = inv ? buildInventoryImage(inv) : undefined;
    this.flush();
    this.core.setInventory(image);
    this.policy.inventory = inv;
  }

  /** Flush and close every open alert. */
  finish(): void {
    this.flush();
    this.policy.closeAll();
  }

  totals(): DetectorTotals {
    const s = this.core.stats();
    const bad: Record<string, number> = {};
    s.bad.forEach((n, code) => {
      if (code > 0 && n > 0) bad[BAD_REASONS[code]] = n;
    });
    return {
      messages: this.messages,
      events: s.events,
      bad,
      devices: s.devices,
      evictions: s.evictions,
      alerts: { ...this.policy.raised },
      openAlerts: this.policy.openCount,
      clock: s.clock,
    };
  }
}

/** "replay 3, clone 1" — the non-zero alert counts. */
export function formatCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

export function sumCounts(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

