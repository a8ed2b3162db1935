// What the core knows about one device, decoded from its state (the WASM record or the
// reference's arrays) for the API and for tools. Not on the hot path.

import { firmwareText, sourceText } from '../alerts/explain';
import { fromBf16 } from './reference/detectors';
import { metricNameBits } from './record';

export interface DeviceMetricBaseline {
  /** metricNameHash of the metric's name with its low 4 bits cleared (the core keeps the other 28; names are not kept). */
  nameHash: number;
  /** Last accepted reading. */
  last: number;
  /** Usual step between two readings one usual interval apart (root mean square). */
  step: number;
  /** Long-run mean (a running mean, then an EWMA of ~4096 readings). */
  mean: number;
  samples: number;
}

export interface DeviceRecord {
  slot: number;
  deviceId: string;
  events: number;
  lastArrival: number;
  lastTs: number;
  /** Current seq (−1: the device sends none). */
  seq: number;
  /** IPv4 source as text; otherwise the source's 64-bit hash, hex. */
  source: string | null;
  previousSource: string | null;
  sourceChangedAt: number | null;
  /** The credential's 64-bit hash, hex (credentials are not kept in the clear). */
  credentialHash: string | null;
  credentialChangedAt: number | null;
  firmware: string | null;
  usualIntervalMs: number;
  recentIntervalMs: number;
  payloadBytes: { mean: number; sd: number };
  clockOffsetMs: number;
  silenced: boolean;
  /** Kafka partition its events came from last (0 outside Kafka). */
  partition: number;
  metrics: DeviceMetricBaseline[];
}

/** Raw fields, as both implementations hold them. */
export interface RawDevice {
  slot: number;
  deviceId: string;
  events: number;
  lastArrival: number;
  lastTs: number;
  seqMain: number;
  sourceHi: number;
  sourceLo: number;
  prevSourceHi: number;
  prevSourceLo: number;
  sourceChangedAt: number;
  credHi: number;
  credLo: number;
  credChangedAt: number;
  firmware: number;
  gapFast: number;
  gapSlow: number;
  sizeMean: number;
  sizeVar: number;
  skewMean: number;
  flags: number;
  partition: number;
  /** Metric state as stored: name hash and quiet count (one u32), last accepted reading (f32), usual squared step and offset from the long-run mean (bfloat16 bits). */
  metrics: { hash: number; last: number; step: number; dev: number; n: number }[];
}

const hex = (hi: number, lo: number) => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');

function sourceOf(hi: number, lo: number): string | null {
  if (hi === 0 && lo === 0) return null;
  if (hi >= 0x80000000) return sourceText((hi & 0x1ffff) * 4294967296 + lo) ?? null;
  return `hash:${hex(hi, lo)}`;
}

export function decodeDevice(r: RawDevice): DeviceRecord {
  return {
    slot: r.slot,
    deviceId: r.deviceId,
    events: r.events,
    lastArrival: r.lastArrival,
    lastTs: r.lastTs,
    seq: r.seqMain,
    source: sourceOf(r.sourceHi, r.sourceLo),
    previousSource: sourceOf(r.prevSourceHi, r.prevSourceLo),
    sourceChangedAt: r.sourceChangedAt || null,
    credentialHash: r.credHi || r.credLo ? hex(r.credHi, r.credLo) : null,
    credentialChangedAt: r.credChangedAt || null,
    firmware: r.firmware ? firmwareText(r.firmware) : null,
    usualIntervalMs: r.gapSlow,
    recentIntervalMs: r.gapFast,
    payloadBytes: { mean: r.sizeMean, sd: Math.sqrt(r.sizeVar) },
    clockOffsetMs: r.skewMean,
    silenced: (r.flags & 1) !== 0,
    partition: r.partition,
    metrics: r.metrics.map((m) => ({ nameHash: metricNameBits(m.hash), last: m.last, step: Math.sqrt(fromBf16(m.step)), mean: m.last - fromBf16(m.dev), samples: m.n })),
  };
}
