// What a telemetry file shows about identities, for `inventory learn` (a draft inventory)
// and `inventory report --input` (seen vs enrolled): per device its credentials, sources
// and lowest firmware, first and last device time. Offline tooling, so JSON.parse per
// line is fine here; lines the detector would reject are counted and skipped.

import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { MAX_DEVICE_ID_BYTES } from '../core/layout';
import { firmwareOf } from '../core/reference/parse';

/** Distinct sources kept per device; a device past this roams and gets no source rule. */
export const MAX_SOURCES_PER_DEVICE = 256;

export interface DeviceSeen {
  deviceId: string;
  messages: number;
  /** Device time (ms) of its first and last message. */
  firstSeen: number;
  lastSeen: number;
  /** Credential → device time it was first seen with. */
  credentials: Map<string, number>;
  sources: Set<string>;
  /** More than MAX_SOURCES_PER_DEVICE distinct sources: `sources` is incomplete. */
  sourcesOverflow: boolean;
  /** Lowest firmware seen. */
  minFirmware?: { text: string; packed: number };
  /** Distinct firmware versions seen (packed), up to a few. */
  firmwareVersions: Set<number>;
}

export class Observations {
  readonly devices = new Map<string, DeviceSeen>();
  lines = 0;
  malformed = 0;
  /** Latest device time in the input (ms), −Infinity before any. */
  latestTs = -Infinity;

  /** One NDJSON line. Returns false (and counts it) when it is not valid telemetry. */
  add(line: string): boolean {
    if (line.trim() === '') return true;
    this.lines++;
    const m = telemetry(line);
    if (!m) {
      this.malformed++;
      return false;
    }
    let d = this.devices.get(m.deviceId);
    if (!d) {
      d = { deviceId: m.deviceId, messages: 0, firstSeen: m.ts, lastSeen: m.ts, credentials: new Map(), sources: new Set(), sourcesOverflow: false, firmwareVersions: new Set() };
      this.devices.set(m.deviceId, d);
    }
    d.messages++;
    if (m.ts < d.firstSeen) d.firstSeen = m.ts;
    if (m.ts > d.lastSeen) d.lastSeen = m.ts;
    if (m.ts > this.latestTs) this.latestTs = m.ts;
    if (m.credential !== undefined) {
      const first = d.credentials.get(m.credential);
      if (first === undefined || m.ts < first) d.credentials.set(m.credential, m.ts);
    }
    if (m.source !== undefined && !d.sources.has(m.source)) {
      if (d.sources.size < MAX_SOURCES_PER_DEVICE) d.sources.add(m.source);
      else d.sourcesOverflow = true;
    }
    if (m.firmware) {
      if (!d.minFirmware || m.firmware.packed < d.minFirmware.packed) d.minFirmware = m.firmware;
      if (d.firmwareVersions.size < 8) d.firmwareVersions.add(m.firmware.packed);
    }
    return true;
  }

  /** Credential → the device ids seen using it. */
  credentialUse(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const d of this.devices.values()) {
      for (const c of d.credentials.keys()) {
        let s = out.get(c);
        if (!s) out.set(c, (s = new Set()));
        s.add(d.deviceId);
      }
    }
    return out;
  }

  /** Read NDJSON to the end; `progress` is called about every `every` lines. */
  static async read(input: Readable, progress?: (o: Observations) => void, every = 250_000): Promise<Observations> {
    const o = new Observations();
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) {
      o.add(line);
      if (progress && o.lines % every === 0) progress(o);
    }
    return o;
  }
}

interface Telemetry {
  deviceId: string;
  ts: number;
  credential?: string;
  source?: string;
  firmware?: { text: string; packed: number };
}

/** The identity fields of a telemetry line (DESIGN.md §3), or undefined when the detector would reject it. */
function telemetry(line: string): Telemetry | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  const id = r.deviceId;
  if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > MAX_DEVICE_ID_BYTES) return undefined;
  const ts = typeof r.ts === 'number' ? r.ts : typeof r.ts === 'string' ? Date.parse(r.ts) : NaN;
  if (!Number.isFinite(ts)) return undefined;
  const out: Telemetry = { deviceId: id, ts };
  for (const f of ['credential', 'source'] as const) {
    const v = r[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return undefined;
    if (v !== '') out[f] = v;
  }
  if (r.firmware !== undefined && r.firmware !== null) {
    if (typeof r.firmware !== 'string') return undefined;
    const packed = firmwareOf(r.firmware);
    if (packed < 0) return undefined;
    out.firmware = { text: r.firmware, packed };
  }
  return out;
}
