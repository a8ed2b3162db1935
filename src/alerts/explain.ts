// Turns a finding's numbers into a sentence an analyst can act on and an evidence
// object (expected vs observed). The numbers come from the verdict record (their meaning
// per kind is fixed by the detectors: see src/core/reference/detectors.ts); strings
// (source, credential, metric names) come from the message itself, parsed only here,
// for the few events that raise or update an alert.

import type { AlertKind } from '../core/layout';
import type { Evidence } from './alert';
import type { InventoryDevice } from '../inventory/model';
import { CLONE_BY_SOURCES } from '../core/reference/detectors';

/** One finding as the verdict record carries it. */
export interface Finding {
  kind: AlertKind;
  score: number;
  expected: number;
  observed: number;
  spread: number;
  aux: number;
}

/** What explanations may use besides the numbers. */
export interface ExplainContext {
  deviceId: string;
  /** The raising message, parsed (undefined for silence, which has no message). */
  message?: Record<string, unknown>;
  /** Device id held in another table slot (credential_shared names the owner). */
  deviceIdOf(slot: number): string;
  /** The holder of a credential that another instance holds (credential_shared with no slot here). */
  remoteOwnerOf?: (credential: string) => string | undefined;
  /** The device's inventory record, when an inventory is loaded and lists it. */
  enrolled?: InventoryDevice;
}

export interface Explanation {
  summary: string;
  evidence: Evidence;
}

export function formatDuration(ms: number): string {
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(a)} ms`;
  if (a < 60_000) return `${round(a / 1000)} s`;
  if (a < 3_600_000) return `${round(a / 60_000)} min`;
  if (a < 86_400_000) return `${round(a / 3_600_000)} h`;
  return `${round(a / 86_400_000)} d`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${round(n / 1024)} kB`;
  return `${round(n / 1024 / 1024)} MB`;
}

function round(x: number): string {
  return x >= 100 ? String(Math.round(x)) : x >= 10 ? x.toFixed(1).replace(/\.0$/, '') : x.toFixed(2).replace(/\.?0+$/, '');
}

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toPrecision(4);
  return String(Number(x.toPrecision(4)));
}

/** An IPv4-coded source number (port·2^32 + address) back to text; −1 unknown. */
export function sourceText(code: number): string | undefined {
  if (code < 0) return undefined;
  const ip = code % 4294967296;
  const port = Math.floor(code / 4294967296) & 0xffff;
  const hasPort = code >= 4294967296 * 65536;
  const addr = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
  return hasPort ? `${addr}:${port}` : addr;
}

/** Packed firmware (major·2^32 + minor·2^16 + patch) back to text. */
export function firmwareText(v: number): string {
  const major = Math.floor(v / 4294967296);
  const rest = v - major * 4294967296;
  return `${major}.${Math.floor(rest / 65536)}.${rest % 65536}`;
}

function str(m: Record<string, unknown> | undefined, k: string): string | undefined {
  const v = m?.[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function shortCredential(c: string | undefined): string {
  if (!c) return 'a different credential';
  return c.length > 20 ? `${c.slice(0, 18)}…` : c;
}

export function explain(f: Finding, ctx: ExplainContext): Explanation {
  const m = ctx.message;
  const source = str(m, 'source');
  const fromSource = source ? ` from source ${source}` : '';
  switch (f.kind) {
    case 'replay': {
      // expected = last device time, observed = this one, spread = seq the device was
      // at (−1 without seq), aux = this seq
      const back = f.expected - f.observed;
      const evidence: Evidence = {
        expected: { tsAtLeast: f.expected, seqAfter: f.spread >= 0 ? f.spread : undefined },
        observed: { ts: f.observed, seq: f.aux >= 0 ? f.aux : undefined, source },
        timeBackMs: back,
      };
      if (f.aux >= 0 && f.aux === f.spread) {
        return { summary: `seq ${f.aux} repeated with a different device time (${formatDuration(back)} earlier)${fromSource}`, evidence };
      }
      const seqPart = f.aux >= 0 && f.spread >= 0 ? `seq ${f.aux} after ${f.spread}, ` : '';
      return { summary: `${seqPart}device time ${formatDuration(back)} in the past${fromSource}: an old message sent again`, evidence };
    }
    case 'clone': {
      if (f.spread === CLONE_BY_SOURCES) {
        const a = sourceText(f.expected) ?? 'one source';
        const b = sourceText(f.observed) ?? source ?? 'another';
        return {
          summary: `identity active from two places: messages alternate between ${a} and ${b} (${f.aux} switches within the clone window)`,
          evidence: { expected: { source: a }, observed: { sources: [a, b], switches: f.aux } },
        };
      }
      const other = f.aux >= 0 ? `; another stream is at seq ${f.aux}` : '';
      return {
        summary: `two seq streams for one identity: seq ${f.observed} while the device is at ${f.expected - 1}${other}${fromSource}`,
        evidence: { expected: { seq: f.expected }, observed: { seq: f.observed, otherStreamSeq: f.aux >= 0 ? f.aux : undefined, source } },
      };
    }
    case 'credential_change': {
      const cred = shortCredential(str(m, 'credential'));
      const why =
        f.score >= 0.9
          ? ` together with a move to another network${source ? ` (${source})` : ''}: the identity may be hijacked`
          : f.aux >= 2
            ? `, alternating with the previous one (${f.aux} switches): two senders`
            : ' (a one-off rotation)';
      return {
        summary: `credential changed to ${cred}${why}`,
        evidence: { expected: 'the credential in use so far', observed: { credential: str(m, 'credential'), source }, switches: f.aux },
      };
    }
    case 'credential_shared': {
      const cred = str(m, 'credential');
      const owner = (f.aux >= 0 ? ctx.deviceIdOf(f.aux) : cred !== undefined ? ctx.remoteOwnerOf?.(cred) : undefined) || 'another device';
      return {
        summary: `credential ${shortCredential(str(m, 'credential'))} is also in use by ${owner} (seen ${formatDuration(f.expected)} ago)${fromSource}`,
        evidence: { expected: { credentialOwner: owner }, observed: { deviceId: ctx.deviceId, credential: str(m, 'credential'), source }, ownerSeenAgoMs: f.expected },
      };
    }
    case 'source_change': {
      const was = sourceText(f.expected) ?? 'the previous source';
      const now = sourceText(f.observed) ?? source ?? 'a new source';
      return {
        summary: `source changed from ${was} to ${now}`,
        evidence: { expected: { source: sourceText(f.expected) }, observed: { source: now } },
      };
    }
    case 'firmware_downgrade':
      return {
        summary: `firmware went back from ${firmwareText(f.expected)} to ${firmwareText(f.observed)}`,
        evidence: { expected: { firmwareAtLeast: firmwareText(f.expected) }, observed: { firmware: str(m, 'firmware') ?? firmwareText(f.observed) } },
      };
    case 'clock_skew': {
      const dir = f.observed >= f.expected ? 'ahead of' : 'behind';
      return {
        summary: `device clock ${formatDuration(f.observed - f.expected)} ${dir} its usual offset (now ${f.observed >= 0 ? '+' : '−'}${formatDuration(f.observed)} vs arrival, usual ${f.expected >= 0 ? '+' : '−'}${formatDuration(f.expected)}, tolerance ${formatDuration(f.spread)})`,
        evidence: { expected: { offsetMs: f.expected, toleranceMs: f.spread }, observed: { offsetMs: f.observed } },
      };
    }
    case 'rate_spike': {
      const ratio = f.expected / Math.max(f.observed, 1);
      return {
        summary: `sending every ${formatDuration(f.observed)} instead of every ${formatDuration(f.expected)} (${round(ratio)}× the usual rate)`,
        evidence: { expected: { intervalMs: f.expected }, observed: { intervalMs: f.observed }, ratio },
      };
    }
    case 'silence':
      return {
        summary: `no message for ${formatDuration(f.observed)}; usually every ${formatDuration(f.expected)} (limit ${formatDuration(f.spread)})`,
        evidence: { expected: { intervalMs: f.expected, limitMs: f.spread }, observed: { quietMs: f.observed, lastArrival: f.aux } },
      };
    case 'size_anomaly':
      return {
        summary: `payload ${formatBytes(f.observed)}, usual ${formatBytes(f.expected)} ± ${formatBytes(f.spread)} (${round(f.observed / Math.max(f.expected, 1))}×)`,
        evidence: { expected: { bytes: f.expected, sd: f.spread }, observed: { bytes: f.observed } },
      };
    case 'metric_anomaly': {
      // expected: the last accepted reading; spread: the step the device usually makes in
      // the time since it (the core judges the step, not the distance from a mean)
      const metrics = m?.metrics as Record<string, unknown> | undefined;
      const name = metrics ? Object.keys(metrics)[f.aux] ?? `metric #${f.aux}` : `metric #${f.aux}`;
      const ratio = f.spread > 0 ? Math.abs(f.observed - f.expected) / f.spread : Infinity;
      return {
        summary: `${name} ${num(f.observed)}, usual step ± ${num(f.spread)} from ${num(f.expected)}${Number.isFinite(ratio) ? ` (${round(ratio)}×)` : ''}`,
        evidence: { expected: { [name]: f.expected, step: f.spread }, observed: { [name]: f.observed }, metric: name },
      };
    }
    // Inventory checks: what the inventory says against what the message shows.
    case 'unknown_device':
      return {
        summary: `device ${ctx.deviceId} is not in the inventory (${f.spread} devices enrolled)${fromSource}`,
        evidence: { expected: 'an enrolled device id', observed: { deviceId: ctx.deviceId, credential: str(m, 'credential'), source } },
      };
    case 'revoked_credential':
      return {
        summary: `revoked credential ${shortCredential(str(m, 'credential'))} used by ${ctx.deviceId}${fromSource}`,
        evidence: { expected: 'a credential not on the revocation list', observed: { credential: str(m, 'credential'), source } },
      };
    case 'credential_not_enrolled': {
      const listed = ctx.enrolled?.credentials.map((c) => c.id) ?? [];
      const enrolledText = listed.length ? `enrolled: ${listed.map((c) => shortCredential(c)).join(', ')}` : `${f.spread} enrolled`;
      const what = f.observed === 0 ? 'no credential' : `credential ${shortCredential(str(m, 'credential'))}`;
      return {
        summary: `${what} for ${ctx.deviceId}, which the inventory does not list (${enrolledText})${fromSource}`,
        evidence: { expected: { credentials: listed.length ? listed : f.spread }, observed: { credential: str(m, 'credential') ?? null, source } },
      };
    }
    case 'credential_expired':
      return {
        summary: `credential ${shortCredential(str(m, 'credential'))} expired ${formatDuration(f.observed - f.expected)} ago (at ${new Date(f.expected).toISOString()})`,
        evidence: { expected: { expiresAt: f.expected, issuedAt: f.spread >= 0 ? f.spread : undefined }, observed: { credential: str(m, 'credential'), at: f.observed } },
      };
    case 'source_out_of_range': {
      const allowed = ctx.enrolled?.sources.map((r) => r.text) ?? [];
      const now = source ?? sourceText(f.observed) ?? 'an unlisted source';
      return {
        summary: `source ${now} is outside the networks allowed for ${ctx.deviceId}${allowed.length ? ` (${allowed.join(', ')})` : ''}`,
        evidence: { expected: { sources: allowed.length ? allowed : f.spread }, observed: { source: now } },
      };
    }
    case 'firmware_below_minimum':
      return {
        summary: `firmware ${str(m, 'firmware') ?? firmwareText(f.observed)} is below the minimum ${firmwareText(f.expected)} the inventory requires`,
        evidence: { expected: { firmwareAtLeast: firmwareText(f.expected) }, observed: { firmware: str(m, 'firmware') ?? firmwareText(f.observed) } },
      };
  }
}
