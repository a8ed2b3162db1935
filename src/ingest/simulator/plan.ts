// The static picture of a fleet, drawn once from the planner stream before any message:
// which class each device is, where it sits (site, address, NAT), its credential,
// firmware, clock offset and network latency. Everything later (attacks, benign changes,
// messages) builds on this plan.

import { DEVICE_CLASSES, DEVICE_CLASS_NAMES, type DeviceClass, type DeviceClassName } from './classes';
import type { SharedSourceLabel } from './labels';
import type { ResolvedFleetOptions } from './options';
import type { Prng } from './prng';

export interface DevicePlan {
  index: number;
  id: string;
  cls: DeviceClass;
  site: number;
  /** Network address the device's messages arrive from. */
  source: string;
  /** Behind a shared (NAT) address. */
  nat: boolean;
  credential: string | null;
  firmware: string;
  /** Constant device clock error, ms (|offset| ≤ 2 s). */
  clockOffset: number;
  /** Typical one-way network delay, ms. */
  latencyMs: number;
  /** seq of the first message (devices were running before the simulation starts). */
  seqStart: number;
  /** First send time, ms epoch. */
  firstSend: number;
  /** Mean `bytes` of the device's messages. */
  bytesMean: number;
}

export interface FleetPlan {
  devices: DevicePlan[];
  classCounts: Partial<Record<DeviceClassName, number>>;
  sharedSources: SharedSourceLabel[];
  /** Digits of the numeric part of device ids (≥ 5). */
  idDigits: number;
}

/** Unique `sha256:<16 hex>` credential identities. */
export class CredentialPool {
  private readonly used = new Set<string>();
  constructor(private readonly prng: Prng) {}
  next(): string {
    for (;;) {
      const c = 'sha256:' + this.prng.hex16();
      if (!this.used.has(c)) {
        this.used.add(c);
        return c;
      }
    }
  }
}

export function deviceId(cls: DeviceClass, n: number, digits: number): string {
  return `${cls.prefix}-${String(n).padStart(digits, '0')}`;
}

/** First three octets of a dotted IPv4 source ("10.3.0"), or the whole string. */
export function net24(source: string): string {
  const i = source.lastIndexOf('.');
  return i < 0 ? source : source.slice(0, i);
}

/**
 * An address in another network than `avoid`: documentation ranges, carrier-grade NAT,
 * or a 10.x subnet that no site uses (third octet 250–254).
 */
export function foreignSource(prng: Prng, avoid: string): string {
  for (;;) {
    let s: string;
    const r = prng.float();
    if (r < 0.4) s = `${prng.pick(['198.51.100', '203.0.113', '192.0.2'])}.${prng.int(2, 254)}`;
    else if (r < 0.65) s = `100.${prng.int(64, 127)}.${prng.int(0, 255)}.${prng.int(1, 254)}`;
    else s = `10.${prng.int(1, 250)}.${prng.int(250, 254)}.${prng.int(2, 254)}`;
    if (net24(s) !== net24(avoid)) return s;
  }
}

const SITE_SIZE = 40;
const MAX_SITES = 4000;
const NAT_SITE_SHARE = 0.2;
const NAT_SITE_DEVICE_SHARE = 0.85;

/** Class of each device: counts by largest remainder (each weighted class ≥ 1 when possible), then shuffled. */
function assignClasses(o: ResolvedFleetOptions, prng: Prng): DeviceClassName[] {
  const names = DEVICE_CLASS_NAMES.filter((n) => o.classWeights[n] > 0);
  const total = names.reduce((s, n) => s + o.classWeights[n], 0);
  const counts = names.map((n) => Math.floor((o.classWeights[n] / total) * o.devices));
  let left = o.devices - counts.reduce((s, c) => s + c, 0);
  const order = names
    .map((n, i) => ({ i, r: (o.classWeights[n] / total) * o.devices - counts[i] }))
    .sort((x, y) => y.r - x.r || x.i - y.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) counts[order[k].i]++;
  if (o.devices >= names.length) {
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] > 0) continue;
      let big = 0;
      for (let j = 1; j < counts.length; j++) if (counts[j] > counts[big]) big = j;
      counts[big]--;
      counts[i]++;
    }
  }
  const out: DeviceClassName[] = [];
  names.forEach((n, i) => {
    for (let k = 0; k < counts[i]; k++) out.push(n);
  });
  return prng.shuffle(out);
}

export function planFleet(o: ResolvedFleetOptions, prng: Prng, credentials: CredentialPool): FleetPlan {
  const classes = assignClasses(o, prng);
  const idDigits = Math.max(5, String(o.devices + o.attacks).length);
  const sites = Math.min(MAX_SITES, Math.max(1, Math.ceil(o.devices / SITE_SIZE)));
  const natSite = new Uint8Array(sites);
  let anyNat = false;
  for (let s = 0; s < sites; s++) {
    if (prng.chance(NAT_SITE_SHARE)) {
      natSite[s] = 1;
      anyNat = true;
    }
  }
  if (!anyNat && sites >= 2) natSite[1] = 1;
  const hosts = new Uint32Array(sites);
  const siteNet = (s: number): [number, number] => [1 + (s % 250), (Math.floor(s / 250) * 16) % 256];
  const natAddress = (s: number): string => {
    const [a, b] = siteNet(s);
    return `10.${a}.${b}.1`;
  };

  const devices: DevicePlan[] = new Array(o.devices);
  const classCounts: Partial<Record<DeviceClassName, number>> = {};
  for (const name of DEVICE_CLASS_NAMES) if (classes.includes(name)) classCounts[name] = 0;
  for (let i = 0; i < o.devices; i++) {
    const cls = DEVICE_CLASSES[classes[i]];
    classCounts[cls.name] = (classCounts[cls.name] ?? 0) + 1;
    const site = prng.int(0, sites - 1);
    const natChance = natSite[site] ? NAT_SITE_DEVICE_SHARE : sites === 1 ? Math.max(0.3, cls.natShare) : cls.natShare;
    const nat = prng.chance(natChance);
    let source: string;
    if (nat) source = natAddress(site);
    else {
      const [a, b] = siteNet(site);
      const k = hosts[site]++;
      source = `10.${a}.${b + (Math.floor(k / 200) % 16)}.${10 + (k % 200)}`;
    }
    const fw = cls.firmware;
    devices[i] = {
      index: i,
      id: deviceId(cls, i, idDigits),
      cls,
      site,
      source,
      nat,
      credential: cls.hasCredential ? credentials.next() : null,
      firmware: fw[prng.weighted(fw.map((_, k) => k + 1))],
      clockOffset: prng.int(-2000, 2000),
      latencyMs: prng.int(8, 60),
      seqStart: prng.int(0, 500_000),
      firstSend: o.start + prng.int(0, cls.intervalMs - 1),
      bytesMean: Math.round(prng.range(cls.bytes[0], cls.bytes[1])),
    };
  }

  // Several devices behind one address is part of every real fleet: make sure there is one.
  let shared = sharedSources(devices);
  if (shared.length === 0 && o.devices >= 4) {
    for (const d of [devices[0], devices[1]]) {
      d.site = devices[0].site;
      d.nat = true;
      d.source = natAddress(d.site);
    }
    shared = sharedSources(devices);
  }
  return { devices, classCounts, sharedSources: shared, idDigits };
}

function sharedSources(devices: readonly DevicePlan[]): SharedSourceLabel[] {
  const count = new Map<string, number>();
  for (const d of devices) count.set(d.source, (count.get(d.source) ?? 0) + 1);
  const out: SharedSourceLabel[] = [];
  for (const [source, n] of count) if (n > 1) out.push({ source, devices: n });
  return out.sort((a, b) => b.devices - a.devices || (a.source < b.source ? -1 : 1));
}
