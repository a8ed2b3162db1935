// Senders: the things the scheduler pops from its heap. A DeviceSim is one stream of
// telemetry under one identity: a fleet device (with the benign changes it makes and the
// attack done to it, if any), or an attacker that behaves like a device (clone, credential
// thief). A ReplaySim re-sends lines captured from its victim.
//
// Time model: `sendAt` is when the device sends (true time); the message arrives at
// sendAt + network delay (3 ms … 2 s) and carries ts = sendAt + the device's constant clock
// offset. The heap key is the arrival, never earlier than the current arrival, so the
// stream is in arrival order.

import type { AttackPlan } from './attacks';
import type { BenignPlan } from './benign';
import { type DeviceClass, type MetricSpec, extraMetric, upgradeFirmware } from './classes';
import type { AttackLabel } from './labels';
import { net24 } from './plan';
import type { Prng } from './prng';

/** What the scheduler hands out: one telemetry line and where it came from. */
export interface SimEvent {
  /** One JSON telemetry message, no newline. */
  line: string;
  /** Arrival time, ms epoch (non-decreasing along the stream). */
  arrivalTs: number;
  deviceId: string;
  /** Set on every line an attack produced (the attacker's messages, or the victim's altered ones). */
  attackId?: string;
}

/** Run-wide settings the senders share. */
export interface SimContext {
  readonly runStart: number;
  readonly runEnd: number;
  readonly arrivalField: boolean;
  readonly messageBytes: number | null;
}

const DAY = 86_400_000;
/** cos over one day in COS_STEPS steps (21 s each): daily cycles without a Math.cos per reading. */
const COS_STEPS = 4096;
const COS_MASK = COS_STEPS - 1;
const COS = new Float64Array(COS_STEPS).map((_, i) => Math.cos((2 * Math.PI * i) / COS_STEPS));
const HOUR = 3_600_000;
const MAX_DELAY = 2_000;
const PAD = 'x'.repeat(65_536);
const PAD_FIELD = ',"pad":""'.length;
const ARRIVAL_KEY = ',"arrivalTs":';

/** Shared, per metric: its spec, its JSON key and its decimal scale. */
interface MetricFormat {
  readonly spec: MetricSpec;
  readonly model: number; // index into MODELS
  readonly key: string; // '"temp":'
  readonly keyComma: string; // ',"temp":'
  readonly scale: number; // 10^decimals
}
const MODELS = ['cycle', 'counter', 'drain', 'walk'] as const;
const CYCLE = 0;
const COUNTER = 1;
const DRAIN = 2;

const formatCache = new Map<string, MetricFormat[]>();

/** The metric formats of a class with `count` metrics (or its own), shared between devices. */
function metricFormats(cls: DeviceClass, count: number | null): MetricFormat[] {
  const k = `${cls.name}/${count ?? ''}`;
  let f = formatCache.get(k);
  if (f === undefined) {
    const specs = cls.metrics.slice(0, count ?? cls.metrics.length);
    for (let i = specs.length; i < (count ?? 0); i++) specs.push(extraMetric(i));
    f = specs.map((spec) => ({
      spec,
      model: MODELS.indexOf(spec.model),
      key: `"${spec.name}":`,
      keyComma: `,"${spec.name}":`,
      scale: 10 ** spec.decimals,
    }));
    formatCache.set(k, f);
  }
  return f;
}

// Per-device reading state: R_FIELDS doubles per metric in one Float64Array.
const R_BASE = 0;
const R_AMP = 1;
const R_DRIFT = 2;
const R_PEAK = 3; // step of the daily maximum in COS
const R_VALUE = 4; // current value of stateful models
const R_FIELDS = 5;

function drawReadings(formats: readonly MetricFormat[], prng: Prng): Float64Array {
  const r = new Float64Array(formats.length * R_FIELDS);
  formats.forEach(({ spec }, i) => {
    const o = i * R_FIELDS;
    r[o + R_BASE] = prng.range(spec.base[0], spec.base[1]);
    r[o + R_AMP] = prng.range(spec.amp[0], spec.amp[1]);
    r[o + R_DRIFT] = prng.range(spec.drift[0], spec.drift[1]);
    r[o + R_PEAK] = Math.round(((spec.peakHour + prng.range(-1.5, 1.5)) / 24) * COS_STEPS) & COS_MASK;
    r[o + R_VALUE] = r[o + R_BASE];
  });
  return r;
}

export type SenderRole = 'device' | 'clone' | 'thief';

export interface DeviceSimInit {
  id: string;
  cls: DeviceClass;
  source: string;
  credential: string | null;
  firmware: string;
  seq: number;
  clockOffset: number;
  latencyMs: number;
  firstSend: number;
  bytesMean: number;
  /** Exactly this many metrics, or the class's own (null). */
  metrics: number | null;
  prng: Prng;
  role: SenderRole;
  /** Attackers: every line carries this attackId. */
  attackId?: string;
  /** Attackers: stop sending at this time. */
  activeUntil?: number;
  /** Clones: the victim whose readings they imitate. */
  template?: DeviceSim;
}

export class DeviceSim {
  readonly id: string;
  readonly cls: DeviceClass;
  readonly role: SenderRole;
  readonly prng: Prng;
  source: string;
  credential: string | null;
  firmware: string;
  seq: number;
  readonly clockOffset: number;
  private readonly latencyMs: number;
  private readonly bytesMean: number;
  private readonly formats: MetricFormat[];
  private readings: Float64Array;
  private template: DeviceSim | null;
  /** Attackers' attackId (every line). */
  readonly attackId: string | null;
  private readonly activeUntil: number;

  /** True time of the pending message, and its arrival (the heap key). */
  sendAt: number;
  nextArrival: number;
  private lastSend: number;

  private head: string;
  private mid = '';

  // benign changes
  private benign: BenignPlan[] | null = null;
  private benignIdx = 0;
  private nextBenignAt = Infinity;
  /** Changes applied, waiting for the next emitted line to be labelled (null: none). */
  pendingBenign: BenignPlan[] | null = null;
  /** A duplicate is due: the scheduler re-emits the next line and labels it. */
  dupPlan: BenignPlan | null = null;
  private gapUntil = -Infinity;
  private lostLeft = 0;

  // the attack done to this device (victims only)
  private attack: AttackPlan | null = null;
  private attackLabel: AttackLabel | null = null;
  private hijacked = false;
  private silenced = false;
  private downgraded = false;
  private injectLeft = -1;
  /** replay victims: where captured lines go. */
  capture: ReplaySim | null = null;

  /** Set by the scheduler on every emitted line. */
  lastLine = -1;
  lastArrival = -1;

  constructor(
    init: DeviceSimInit,
    private readonly ctx: SimContext,
  ) {
    this.id = init.id;
    this.cls = init.cls;
    this.role = init.role;
    this.prng = init.prng;
    this.source = init.source;
    this.credential = init.credential;
    this.firmware = init.firmware;
    this.seq = init.seq;
    this.clockOffset = init.clockOffset;
    this.latencyMs = init.latencyMs;
    this.bytesMean = init.bytesMean;
    this.template = init.template ?? null;
    this.attackId = init.attackId ?? null;
    this.activeUntil = init.activeUntil ?? Infinity;
    this.formats = metricFormats(init.cls, init.metrics);
    this.readings = drawReadings(this.formats, this.prng);
    this.head = `{"deviceId":"${this.id}","ts":`;
    this.rebuild();
    this.sendAt = init.firstSend;
    this.lastSend = init.firstSend - init.cls.intervalMs;
    this.nextArrival = init.firstSend + this.delay();
  }

  metricSpec(i: number): MetricSpec {
    return this.formats[i].spec;
  }

  setBenign(plans: BenignPlan[]): void {
    this.benign = plans.sort((a, b) => a.at - b.at);
    this.benignIdx = 0;
    this.nextBenignAt = plans.length > 0 ? plans[0].at : Infinity;
  }

  setAttack(a: AttackPlan, label: AttackLabel): void {
    this.attack = a;
    this.attackLabel = label;
  }

  /**
   * One reading at send time, in units of 10^-decimals. o: its offset in `readings`; tod:
   * time of day as a step of COS; days: since the run start; dtHours: since the last send.
   */
  private sample(f: MetricFormat, o: number, tod: number, days: number, dtHours: number): number {
    const s = f.spec;
    const r = this.readings;
    let v: number;
    if (f.model === CYCLE) {
      v = r[o + R_BASE] + r[o + R_DRIFT] * days + r[o + R_AMP] * COS[(tod - r[o + R_PEAK]) & COS_MASK] + s.noise * this.prng.normal();
    } else if (f.model === COUNTER) {
      const inc = r[o + R_AMP] * dtHours * (1 + 0.3 * this.prng.normal());
      v = r[o + R_VALUE] += inc > 0 ? inc : 0;
    } else if (f.model === DRAIN) {
      let x = r[o + R_VALUE] - r[o + R_AMP] * dtHours * (1 + 0.2 * this.prng.normal());
      if (x < s.min) x = s.max; // recharged
      r[o + R_VALUE] = x;
      v = x + s.noise * this.prng.normal();
    } else {
      // bounded random walk around the base
      let x = r[o + R_VALUE] + r[o + R_AMP] * this.prng.normal();
      const base = r[o + R_BASE];
      if (Math.abs(x - base) > 0.05) x = base + (x - base) * 0.9;
      r[o + R_VALUE] = x;
      v = x;
    }
    if (v < s.min) v = s.min;
    else if (v > s.max) v = s.max;
    return Math.round(v * f.scale);
  }

  /**
   * A reading the sensor could physically give but this device would not: `k` (the scaled
   * normal reading) moved well outside the device's own pattern, within the physical bounds.
   * A cycle leaves its daily range (4× its amplitude, at least 10 % of its level); a counter
   * jumps by 30 hours of consumption; a battery drops 30 points; a position jumps ~5 km.
   */
  private outOfPattern(f: MetricFormat, o: number, k: number, sign: number): number {
    const s = f.spec;
    const r = this.readings;
    const v = k / f.scale;
    let x: number;
    if (f.model === CYCLE) x = v + sign * Math.max(4 * Math.abs(r[o + R_AMP]), 0.1 * Math.abs(r[o + R_BASE]), 8 * s.noise);
    else if (f.model === COUNTER) x = v + Math.max(30 * r[o + R_AMP], 1);
    else if (f.model === DRAIN) x = v - 30;
    else x = v + sign * 0.05;
    if (x < s.min) x = s.min;
    else if (x > s.max) x = s.max;
    return Math.round(x * f.scale);
  }

  /** The fixed middle of the line: source, credential, firmware, up to `"bytes":`. */
  private rebuild(): void {
    this.mid =
      `,"source":"${this.source}"` +
      (this.credential !== null ? `,"credential":"${this.credential}"` : '') +
      `,"firmware":"${this.firmware}","bytes":`;
  }

  /** One-way network delay: a few ms typically, a heavy tail up to 2 s. */
  private delay(): number {
    const e = -Math.log(1 - this.prng.float());
    const d = 3 + Math.round(this.latencyMs * e * Math.sqrt(e));
    return d > MAX_DELAY ? MAX_DELAY : d;
  }

  /** Schedule the next send `gap` ms after t (or at an absolute time), arriving no earlier than now. */
  private scheduleAt(sendAt: number, now: number): void {
    this.sendAt = sendAt;
    if (sendAt >= this.activeUntil || sendAt >= this.ctx.runEnd) {
      this.nextArrival = Infinity;
      return;
    }
    const arrival = sendAt + this.delay();
    this.nextArrival = arrival > now ? arrival : now;
  }

  private advance(t: number, now: number): void {
    let iv = this.cls.intervalMs * (1 + this.cls.jitter * (2 * this.prng.float() - 1));
    const a = this.attack;
    if (a !== null && a.type === 'flood') {
      const f = a.factor ?? 1;
      if (t >= a.start && t < a.end) iv /= f;
      else if (t < a.start && t + iv > a.start) iv = a.start - t + this.prng.float() * (iv / f);
    }
    this.scheduleAt(t + Math.max(1, Math.round(iv)), now);
  }

  private labelNext(b: BenignPlan): void {
    if (this.pendingBenign === null) this.pendingBenign = [b];
    else this.pendingBenign.push(b);
  }

  /**
   * Apply a benign change due at t. Returns true when the device goes quiet (reboot): it
   * has been rescheduled and sends nothing now.
   */
  private applyBenign(b: BenignPlan, t: number, now: number): boolean {
    switch (b.type) {
      case 'reboot':
        b.detail = { silentMs: b.durationMs ?? 0, seq: b.seqRestart ?? 0 };
        this.labelNext(b);
        this.seq = b.seqRestart ?? 0;
        this.scheduleAt(t + (b.durationMs ?? 0), now);
        return true;
      case 'dhcp_change': {
        const to = `${net24(this.source)}.${b.host ?? 250}`;
        b.detail = { from: this.source, to };
        this.source = to;
        this.rebuild();
        this.labelNext(b);
        return false;
      }
      case 'credential_rotation':
        b.detail = { from: this.credential ?? '', to: b.credential ?? '' };
        this.credential = b.credential ?? this.credential;
        this.rebuild();
        this.labelNext(b);
        return false;
      case 'firmware_upgrade': {
        const to = upgradeFirmware(this.cls, this.firmware, b.pick ?? 0);
        b.detail = { from: this.firmware, to };
        this.firmware = to;
        this.rebuild();
        this.labelNext(b);
        return false;
      }
      case 'network_gap':
        b.detail = { gapMs: b.durationMs ?? 0 };
        this.gapUntil = t + (b.durationMs ?? 0);
        this.labelNext(b);
        return false;
      case 'lost_messages':
        b.detail = { lost: b.count ?? 1 };
        this.lostLeft = b.count ?? 1;
        this.labelNext(b);
        return false;
      case 'duplicate':
        this.dupPlan = b;
        return false;
    }
  }

  /**
   * Handle the pending send at arrival time `now`: the event to emit, or null when nothing
   * goes out (dropped, rebooting, silenced). Always leaves `nextArrival` set.
   */
  fire(now: number): SimEvent | null {
    const t = this.sendAt;
    if (t >= this.activeUntil) {
      this.nextArrival = Infinity;
      return null;
    }
    if (this.template !== null) {
      // a clone starts from what the real device reports now
      this.readings = this.template.readings.slice();
      this.template = null;
    }
    while (this.nextBenignAt <= t && this.benign !== null) {
      const b = this.benign[this.benignIdx++];
      this.nextBenignAt = this.benignIdx < this.benign.length ? this.benign[this.benignIdx].at : Infinity;
      if (this.applyBenign(b, t, now)) return null;
    }

    let attackId = this.attackId;
    let bytesFactor = 1;
    let skew = 0;
    let inject = -1;
    const a = this.attack;
    if (a !== null && t >= a.start) {
      switch (a.type) {
        case 'silence':
          if (!this.silenced) {
            this.silenced = true;
            const l = this.attackLabel;
            if (l !== null) {
              l.firstLine = this.lastLine + 1;
              l.start = this.lastArrival >= 0 ? this.lastArrival : a.start;
            }
            this.scheduleAt(a.end + Math.round(this.prng.float() * this.cls.intervalMs), now);
            return null;
          }
          break;
        case 'hijack':
          if (!this.hijacked) {
            // the real device goes away; the attacker takes the identity over after a pause
            this.hijacked = true;
            this.source = a.source ?? this.source;
            this.credential = a.credential ?? this.credential;
            if (a.seqMode === 'restart') this.seq = 0;
            this.rebuild();
            this.scheduleAt(t + (a.gapMs ?? 0), now);
            return null;
          }
          attackId = a.id;
          break;
        case 'firmware_downgrade':
          if (!this.downgraded) {
            this.downgraded = true;
            this.firmware = a.firmware ?? this.firmware;
            this.rebuild();
          }
          attackId = a.id;
          break;
        case 'exfiltration':
          if (t < a.end) {
            bytesFactor = a.factor ?? 1;
            attackId = a.id;
          }
          break;
        case 'flood':
          if (t < a.end) attackId = a.id;
          break;
        case 'value_injection':
          if (this.injectLeft < 0) this.injectLeft = a.count ?? 0;
          if (this.injectLeft > 0) {
            this.injectLeft--;
            inject = a.metric ?? 0;
            attackId = a.id;
          }
          break;
        case 'clock_skew':
          if (t < a.end) {
            skew = a.skewMs ?? 0;
            attackId = a.id;
          }
          break;
        default:
          break; // replay, clone, credential_theft: the victim itself behaves normally
      }
    }

    if (t < this.gapUntil || this.lostLeft > 0) {
      // sent but never delivered: the device's counter still moves on
      if (this.lostLeft > 0) this.lostLeft--;
      this.seq++;
      this.lastSend = t;
      this.advance(t, now);
      return null;
    }

    // the message
    const prng = this.prng;
    const dtHours = (t - this.lastSend) / HOUR;
    const tod = Math.floor(((t - Math.floor(t / DAY) * DAY) * COS_STEPS) / DAY);
    const days = (t - this.ctx.runStart) / DAY;
    let metrics = '';
    const fs = this.formats;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i];
      let k: number;
      if (i !== inject) k = this.sample(f, i * R_FIELDS, tod, days, dtHours);
      else if (a !== null && a.variant === 'implausible') k = Math.round(f.spec.implausible * (1 + 0.02 * prng.normal()) * f.scale);
      else k = this.outOfPattern(f, i * R_FIELDS, this.sample(f, i * R_FIELDS, tod, days, dtHours), a?.sign ?? 1);
      const v = formatScaled(k, f.spec.decimals, f.scale);
      metrics += i === 0 ? f.key + v : f.keyComma + v;
    }
    let bytes = Math.round(this.bytesMean * (1 + this.cls.bytesSpread * prng.normal()));
    if (bytes < 40) bytes = 40;
    bytes *= bytesFactor;
    let body = this.head + formatInt(t + this.clockOffset + skew);
    if (this.cls.hasSeq) body += ',"seq":' + this.seq;
    body += this.mid + bytes + ',"metrics":{' + metrics + '}';
    const line = finishLine(body, now, this.ctx);

    if (this.capture !== null) this.capture.offer(t, body, now);
    this.seq++;
    this.lastSend = t;
    this.advance(t, now);
    const ev: SimEvent = { line, arrivalTs: now, deviceId: this.id };
    if (attackId !== null) ev.attackId = attackId;
    return ev;
  }
}

// Number formatting. V8 turns a non-Smi number into a string through its shortest
// round-trip algorithm (~150 ns); epoch milliseconds and readings are integers or scaled
// integers, so they are printed from Smi parts (~40 ns). The text is the same JSON number.

const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000'];

/** A non-negative integer (ms timestamps); negative values are clamped to 0. */
export function formatInt(n: number): string {
  if (n < 1e9) return n < 0 ? '0' : '' + n;
  const hi = Math.floor(n / 1e6);
  const lo = n - hi * 1e6;
  return '' + hi + (lo >= 100_000 ? '' + lo : ZEROS[6 - ('' + lo).length] + lo);
}

/** k / 10^decimals as the shortest decimal text (k integer, decimals ≤ 6, scale = 10^decimals). */
export function formatScaled(k: number, decimals: number, scale: number): string {
  if (decimals === 0 || k === 0) return '' + k;
  let sign = '';
  if (k < 0) {
    sign = '-';
    k = -k;
  }
  const ip = Math.floor(k / scale);
  let fp = k - ip * scale;
  if (fp === 0) return sign + ip;
  let d = decimals;
  while (fp % 10 === 0) {
    fp /= 10;
    d--;
  }
  const f = '' + fp;
  return sign + ip + '.' + ZEROS[d - f.length] + f;
}

/** Close a message body: padding to the requested size, arrivalTs, closing brace. */
export function finishLine(body: string, arrival: number, ctx: SimContext): string {
  const tail = ctx.arrivalField ? ARRIVAL_KEY + formatInt(arrival) + '}' : '}';
  if (ctx.messageBytes !== null) {
    const need = ctx.messageBytes - body.length - tail.length - PAD_FIELD;
    if (need >= 0) return body + ',"pad":"' + PAD.slice(0, need) + '"' + tail;
  }
  return body + tail;
}

/**
 * The replay attacker: captures a run of the victim's messages (as the victim sends
 * them) and re-sends them verbatim from its own source later, with the original spacing
 * or in a burst.
 */
export class ReplaySim {
  readonly id: string;
  sendAt: number;
  nextArrival: number;
  private readonly bodies: string[] = [];
  private readonly arrivals: number[] = [];
  private closed = false;
  private i = 0;
  private readonly from: string;
  private readonly to: string;

  constructor(
    private readonly a: AttackPlan,
    victimId: string,
    victimSource: string,
    private readonly ctx: SimContext,
  ) {
    this.id = victimId;
    this.sendAt = a.start;
    this.nextArrival = a.start;
    this.from = `"source":"${victimSource}"`;
    this.to = `"source":"${a.source ?? victimSource}"`;
  }

  /** Called by the victim for each message it sends. */
  offer(t: number, body: string, arrival: number): void {
    if (this.closed || t < (this.a.captureFrom ?? 0) || this.bodies.length >= (this.a.count ?? 0)) return;
    this.bodies.push(body.replace(this.from, this.to));
    this.arrivals.push(arrival);
  }

  get captured(): number {
    return this.bodies.length;
  }

  fire(now: number): SimEvent | null {
    this.closed = true;
    if (this.i >= this.bodies.length) {
      this.nextArrival = Infinity;
      return null;
    }
    const line = finishLine(this.bodies[this.i], now, this.ctx);
    this.i++;
    if (this.i < this.bodies.length) {
      // a burst re-sends the capture as fast as the attacker's link allows
      const at = this.a.start + (this.a.burst ? this.i * 250 : this.arrivals[this.i] - this.arrivals[0]);
      this.nextArrival = at > now ? at : now;
      this.sendAt = this.nextArrival;
    } else this.nextArrival = Infinity;
    return { line, arrivalTs: now, deviceId: this.id, attackId: this.a.id };
  }
}
