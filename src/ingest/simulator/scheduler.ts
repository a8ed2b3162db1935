// The event scheduler: builds the senders from the plans and merges their streams in
// arrival order, lazily. Memory is O(devices + attacks + benign changes), independent of
// the simulated duration; each event costs one heap sift, O(log N).

import { EXPECTED_KINDS, type AttackPlan, planAttacks } from './attacks';
import { type BenignPlan, planBenign } from './benign';
import type { DeviceClassName } from './classes';
import { DeviceSim, ReplaySim, type SimContext, type SimEvent } from './device';
import { ArrivalHeap } from './heap';
import { type AttackLabel, type BenignLabel, LABELS_VERSION, type SimLabels } from './labels';
import { type FleetOptions, type ResolvedFleetOptions, resolveFleetOptions } from './options';
import { CredentialPool, type FleetPlan, planFleet } from './plan';
import { Prng, hashSeed } from './prng';

/** A fleet device as it is at the start of the run (an inventory for `unknown_device`). */
export interface DeviceInfo {
  deviceId: string;
  class: DeviceClassName;
  source: string;
  credential: string | null;
  firmware: string;
  /** Has a `seq` field. */
  seq: boolean;
  intervalMs: number;
}

export interface Fleet extends Iterable<SimEvent> {
  readonly options: ResolvedFleetOptions;
  /** The next event in arrival order, or null when the run is over. */
  next(): SimEvent | null;
  /** Ground truth; complete once next() has returned null (planned windows before that). */
  labels(): SimLabels;
  inventory(): DeviceInfo[];
  /** Lines emitted so far. */
  readonly lines: number;
  /** Arrival time of the last event emitted (the start before the first). */
  readonly clock: number;
  readonly done: boolean;
}

type Sender = DeviceSim | ReplaySim;

class SimFleet implements Fleet {
  readonly options: ResolvedFleetOptions;
  lines = 0;
  clock: number;
  done = false;
  private readonly plan: FleetPlan;
  private readonly senders: Sender[] = [];
  private readonly heap: ArrivalHeap;
  private readonly attackLabels: AttackLabel[] = [];
  private readonly labelById = new Map<string, AttackLabel>();
  private readonly benignLabels: BenignLabel[] = [];
  private pendingDup: SimEvent | null = null;
  private pendingDupPlan: BenignPlan | null = null;

  constructor(opts: FleetOptions) {
    const o = resolveFleetOptions(opts);
    this.options = o;
    this.clock = o.start;
    const seedHash = hashSeed(o.seed);
    const planner = new Prng(seedHash, 0);
    const credentials = new CredentialPool(planner);
    const plan = planFleet(o, planner, credentials);
    this.plan = plan;
    const attacks = planAttacks(o, plan, planner, credentials);
    const victims = new Uint8Array(o.devices);
    for (const a of attacks) victims[a.victim] = 1;
    const benign = planBenign(o, plan, victims, planner, credentials);

    const ctx: SimContext = {
      runStart: o.start,
      runEnd: o.end,
      arrivalField: o.arrivalField,
      messageBytes: o.messageBytes,
    };
    const devices = plan.devices.map(
      (d) =>
        new DeviceSim(
          {
            id: d.id,
            cls: d.cls,
            source: d.source,
            credential: d.credential,
            firmware: d.firmware,
            seq: d.seqStart,
            clockOffset: d.clockOffset,
            latencyMs: d.latencyMs,
            firstSend: d.firstSend,
            bytesMean: d.bytesMean,
            metrics: o.metricsPerDevice,
            prng: new Prng(seedHash, d.index + 1),
            role: 'device',
          },
          ctx,
        ),
    );
    this.senders.push(...devices);

    const byDevice = new Map<number, BenignPlan[]>();
    for (const b of benign) {
      const l = byDevice.get(b.device);
      if (l) l.push(b);
      else byDevice.set(b.device, [b]);
    }
    for (const [i, l] of byDevice) devices[i].setBenign(l);

    attacks.forEach((a, k) => this.addAttack(a, devices, new Prng(seedHash, o.devices + 1 + k), ctx));

    this.heap = new ArrivalHeap(this.senders.length);
    this.senders.forEach((s, id) => {
      if (s.nextArrival < o.end) this.heap.push(id, s.nextArrival);
    });
  }

  private addAttack(a: AttackPlan, devices: DeviceSim[], prng: Prng, ctx: SimContext): void {
    const victim = devices[a.victim];
    const d = this.plan.devices[a.victim];
    const label: AttackLabel = {
      id: a.id,
      type: a.type,
      deviceId: victim.id,
      start: a.start,
      end: a.end,
      firstLine: -1,
      lineCount: 0,
      expectedKinds: [...EXPECTED_KINDS[a.type]],
      detail: {},
    };
    victim.setAttack(a, label);
    const attacker = (id: string, credential: string | null, seq: number, role: 'clone' | 'thief'): DeviceSim =>
      new DeviceSim(
        {
          id,
          cls: d.cls,
          source: a.source ?? d.source,
          credential,
          firmware: role === 'clone' ? d.firmware : prng.pick(d.cls.firmware),
          seq,
          clockOffset: a.clockOffset ?? 0,
          latencyMs: prng.int(20, 90),
          firstSend: a.start + prng.int(0, d.cls.intervalMs - 1),
          bytesMean: role === 'clone' ? d.bytesMean : Math.round(prng.range(d.cls.bytes[0], d.cls.bytes[1])),
          metrics: this.options.metricsPerDevice,
          prng,
          role,
          attackId: a.id,
          activeUntil: a.end,
          template: role === 'clone' ? victim : undefined,
        },
        ctx,
      );
    switch (a.type) {
      case 'replay': {
        const r = new ReplaySim(a, victim.id, d.source, ctx);
        victim.capture = r;
        this.senders.push(r);
        label.detail = { source: a.source ?? '', count: a.count ?? 0, captureFrom: a.captureFrom ?? 0, spacing: a.burst ? 'burst' : 'original' };
        break;
      }
      case 'clone':
        this.senders.push(attacker(victim.id, d.credential, d.seqStart + (a.seqOffset ?? 0), 'clone'));
        label.detail = { source: a.source ?? '', seqOffset: a.seqOffset ?? 0 };
        break;
      case 'credential_theft':
        label.attackerDeviceId = a.attackerId;
        this.senders.push(attacker(a.attackerId ?? '', d.credential, prng.int(0, 5000), 'thief'));
        label.detail = { source: a.source ?? '', credential: d.credential ?? '' };
        break;
      case 'hijack':
        label.detail = { source: a.source ?? '', credential: a.credential ?? '', seqMode: a.seqMode ?? 'continue', gapMs: a.gapMs ?? 0 };
        break;
      case 'firmware_downgrade':
        label.detail = { from: d.firmware, to: a.firmware ?? '' };
        break;
      case 'exfiltration':
      case 'flood':
        label.detail = { factor: a.factor ?? 1 };
        break;
      case 'silence':
        label.detail = { plannedStart: a.start };
        break;
      case 'value_injection': {
        const spec = victim.metricSpec(a.metric ?? 0);
        label.detail =
          a.variant === 'implausible'
            ? { metric: spec.name, value: spec.implausible, count: a.count ?? 0 }
            : { metric: spec.name, direction: (a.sign ?? 1) > 0 ? 'above' : 'below', count: a.count ?? 0 };
        break;
      }
      case 'clock_skew':
        label.detail = { skewMs: a.skewMs ?? 0 };
        break;
    }
    label.detail.variant = a.variant;
    this.attackLabels.push(label);
    this.labelById.set(a.id, label);
  }

  next(): SimEvent | null {
    if (this.pendingDup !== null) {
      const ev = this.pendingDup;
      const b = this.pendingDupPlan;
      this.pendingDup = null;
      this.pendingDupPlan = null;
      if (b !== null) this.benignLabels.push({ type: b.type, deviceId: ev.deviceId, at: ev.arrivalTs, line: this.lines });
      this.lines++;
      return ev;
    }
    const heap = this.heap;
    const keys = heap.keys;
    const end = this.options.end;
    while (heap.size > 0) {
      const id = heap.peek();
      const now = keys[id];
      if (now >= end) {
        heap.clear();
        break;
      }
      const s = this.senders[id];
      const ev = s.fire(now);
      const k = s.nextArrival;
      if (k >= end) heap.pop();
      else heap.fixTop(k);
      if (ev !== null) {
        this.emitted(s, ev);
        return ev;
      }
    }
    this.done = true;
    return null;
  }

  private emitted(s: Sender, ev: SimEvent): void {
    const line = this.lines++;
    this.clock = ev.arrivalTs;
    if (ev.attackId !== undefined) {
      const l = this.labelById.get(ev.attackId);
      if (l !== undefined) {
        if (l.firstLine < 0) {
          l.firstLine = line;
          l.start = ev.arrivalTs;
        }
        l.end = ev.arrivalTs;
        l.lineCount++;
      }
    }
    if (s instanceof DeviceSim) {
      s.lastLine = line;
      s.lastArrival = ev.arrivalTs;
      const p = s.pendingBenign;
      if (p !== null) {
        for (const b of p) this.benignLabels.push(benignLabel(b, ev, line));
        s.pendingBenign = null;
      }
      if (s.dupPlan !== null) {
        this.pendingDup = { line: ev.line, arrivalTs: ev.arrivalTs, deviceId: ev.deviceId };
        this.pendingDupPlan = s.dupPlan;
        s.dupPlan = null;
      }
    }
  }

  labels(): SimLabels {
    const o = this.options;
    return {
      version: LABELS_VERSION,
      seed: o.seed,
      devices: o.devices,
      hours: o.hours,
      start: o.start,
      end: o.end,
      events: this.lines,
      classes: { ...this.plan.classCounts },
      attacks: this.attackLabels.map((l) => ({ ...l, expectedKinds: [...l.expectedKinds], detail: { ...l.detail } })),
      benign: this.benignLabels.slice(),
      sharedSources: this.plan.sharedSources.map((s) => ({ ...s })),
    };
  }

  inventory(): DeviceInfo[] {
    return this.plan.devices.map((d) => ({
      deviceId: d.id,
      class: d.cls.name,
      source: d.source,
      credential: d.credential,
      firmware: d.firmware,
      seq: d.cls.hasSeq,
      intervalMs: d.cls.intervalMs,
    }));
  }

  [Symbol.iterator](): Iterator<SimEvent> {
    return {
      next: (): IteratorResult<SimEvent> => {
        const ev = this.next();
        return ev === null ? { value: undefined, done: true } : { value: ev, done: false };
      },
    };
  }
}

function benignLabel(b: BenignPlan, ev: SimEvent, line: number): BenignLabel {
  const l: BenignLabel = { type: b.type, deviceId: ev.deviceId, at: ev.arrivalTs, line };
  if (b.detail !== undefined) l.detail = b.detail;
  return l;
}

/** A deterministic simulated fleet; events are generated lazily, in arrival order. */
export function createFleet(opts: FleetOptions): Fleet {
  return new SimFleet(opts);
}
