// The credential-hygiene report: what in the inventory needs an operator's attention
// (credentials past their rotation age, expired, shared, revoked but still enrolled) and,
// given sightings, where the inventory and the fleet disagree (devices seen but not
// enrolled, enrolled but never seen, revoked or expired credentials in use). The same
// computation serves `inventory report` (sightings from a telemetry file) and
// GET /api/inventory/report (sightings from the running detector).

import type { Inventory, InventoryDevice } from './model';

const DAY_MS = 86_400_000;

/** What was seen of the fleet. */
export interface Sightings {
  /** Where they come from: a telemetry file, or the running detector. */
  kind: 'telemetry' | 'live';
  /** How many devices were seen, when devices() lists only some of them. */
  seenCount?: number;
  /** Whether a device id was seen. */
  seen(deviceId: string): boolean;
  /** Devices seen (all of them, or at least every one that is not enrolled). */
  devices(): Iterable<{ deviceId: string; firstSeen?: number; lastSeen?: number; messages?: number }>;
  /** Credential → device ids seen using it (as much of it as is known). */
  credentialUse(): Map<string, Set<string>>;
}

export interface ReportOptions {
  /** ms since the epoch: the instant ages and expiry are judged at. */
  now: number;
  rotationAgeDays: number;
  /** Longest list per section (the counts stay exact). */
  limit?: number;
}

export interface CredentialRow {
  deviceId: string;
  credential: string;
}
export interface SharedRow {
  credential: string;
  deviceIds: string[];
}

export interface InventoryReport {
  now: number;
  rotationAgeDays: number;
  /** 'none': no sightings, so the sections that need them are null. */
  observed: 'none' | 'telemetry' | 'live';
  totals: { devices: number | null; credentials: number; revoked: number; seenDevices: number | null };
  /** Exact sizes of every section (the lists may be cut at `limit`). */
  counts: Record<SectionName, number | null>;
  /** issuedAt older than rotationAgeDays at `now`. */
  pastRotation: (CredentialRow & { issuedAt: number; ageDays: number })[];
  /** expiresAt at or before `now`; inUse null without sightings. */
  expired: (CredentialRow & { expiresAt: number; inUse: boolean | null })[];
  /** One credential enrolled for several device ids. */
  sharedEnrolled: SharedRow[];
  /** One credential seen in use by several device ids. */
  sharedObserved: SharedRow[] | null;
  /** Revoked but still enrolled for these devices. */
  revokedEnrolled: SharedRow[];
  /** Revoked and seen in use, by these devices. */
  revokedInUse: SharedRow[] | null;
  /** Enrolled devices seen with a credential the inventory does not list for them. */
  credentialNotEnrolled: CredentialRow[] | null;
  /** Seen but not in the inventory (null without a device list or sightings). */
  unenrolled: { deviceId: string; firstSeen: number | null; lastSeen: number | null; messages: number | null }[] | null;
  /** In the inventory but never seen. */
  neverSeen: { deviceId: string; credentials: number }[] | null;
}

export const SECTIONS = ['pastRotation', 'expired', 'sharedEnrolled', 'sharedObserved', 'revokedEnrolled', 'revokedInUse', 'credentialNotEnrolled', 'unenrolled', 'neverSeen'] as const;
export type SectionName = (typeof SECTIONS)[number];

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function inventoryReport(inv: Inventory, sightings: Sightings | undefined, o: ReportOptions): InventoryReport {
  const devices = inv.devices ?? new Map<string, InventoryDevice>();
  const ageLimit = o.now - o.rotationAgeDays * DAY_MS;
  const use = sightings?.credentialUse();
  const enrolledFor = new Map<string, string[]>(); // credential → device ids
  let credentials = 0;

  const pastRotation: InventoryReport['pastRotation'] = [];
  const expired: InventoryReport['expired'] = [];
  for (const d of [...devices.values()].sort((a, b) => byText(a.deviceId, b.deviceId))) {
    for (const c of d.credentials) {
      credentials++;
      const list = enrolledFor.get(c.id);
      if (list) list.push(d.deviceId);
      else enrolledFor.set(c.id, [d.deviceId]);
      if (c.issuedAt !== undefined && c.issuedAt < ageLimit) {
        pastRotation.push({ deviceId: d.deviceId, credential: c.id, issuedAt: c.issuedAt, ageDays: Math.floor((o.now - c.issuedAt) / DAY_MS) });
      }
      if (c.expiresAt !== undefined && c.expiresAt <= o.now) {
        expired.push({ deviceId: d.deviceId, credential: c.id, expiresAt: c.expiresAt, inUse: use ? (use.get(c.id)?.has(d.deviceId) ?? false) : null });
      }
    }
  }
  pastRotation.sort((a, b) => a.issuedAt - b.issuedAt || byText(a.deviceId, b.deviceId));

  const sharedEnrolled = [...enrolledFor].filter(([, ids]) => ids.length > 1).map(([credential, deviceIds]) => ({ credential, deviceIds }));
  const revokedEnrolled = [...enrolledFor].filter(([c]) => inv.revoked.has(c)).map(([credential, deviceIds]) => ({ credential, deviceIds }));

  let sharedObserved: SharedRow[] | null = null;
  let revokedInUse: SharedRow[] | null = null;
  let credentialNotEnrolled: CredentialRow[] | null = null;
  let unenrolled: InventoryReport['unenrolled'] = null;
  let neverSeen: InventoryReport['neverSeen'] = null;
  let seenDevices: number | null = null;
  if (sightings && use) {
    sharedObserved = [];
    revokedInUse = [];
    credentialNotEnrolled = [];
    for (const [credential, users] of use) {
      const deviceIds = [...users].sort(byText);
      if (deviceIds.length > 1) sharedObserved.push({ credential, deviceIds });
      if (inv.revoked.has(credential)) revokedInUse.push({ credential, deviceIds });
      for (const id of deviceIds) {
        const d = devices.get(id);
        if (d && d.credentials.length > 0 && !d.credentials.some((c) => c.id === credential)) credentialNotEnrolled.push({ deviceId: id, credential });
      }
    }
    credentialNotEnrolled.sort((a, b) => byText(a.deviceId, b.deviceId) || byText(a.credential, b.credential));
    seenDevices = 0;
    if (inv.devices) {
      unenrolled = [];
      for (const s of sightings.devices()) {
        seenDevices++;
        if (!devices.has(s.deviceId)) unenrolled.push({ deviceId: s.deviceId, firstSeen: s.firstSeen ?? null, lastSeen: s.lastSeen ?? null, messages: s.messages ?? null });
      }
      unenrolled.sort((a, b) => byText(a.deviceId, b.deviceId));
      neverSeen = [...devices.values()].filter((d) => !sightings.seen(d.deviceId)).map((d) => ({ deviceId: d.deviceId, credentials: d.credentials.length }));
      neverSeen.sort((a, b) => byText(a.deviceId, b.deviceId));
    } else for (const _ of sightings.devices()) seenDevices++;
    if (sightings.seenCount !== undefined) seenDevices = sightings.seenCount;
  }
  for (const list of [sharedEnrolled, revokedEnrolled, sharedObserved, revokedInUse]) list?.sort((a, b) => byText(a.credential, b.credential));

  const sections = { pastRotation, expired, sharedEnrolled, sharedObserved, revokedEnrolled, revokedInUse, credentialNotEnrolled, unenrolled, neverSeen };
  const counts = Object.fromEntries(SECTIONS.map((k) => [k, sections[k]?.length ?? null])) as InventoryReport['counts'];
  const limit = o.limit ?? Infinity;
  const cut = <T>(l: T[] | null): T[] | null => (l && l.length > limit ? l.slice(0, limit) : l);
  return {
    now: o.now,
    rotationAgeDays: o.rotationAgeDays,
    observed: sightings?.kind ?? 'none',
    totals: { devices: inv.devices ? devices.size : null, credentials, revoked: inv.revoked.size, seenDevices },
    counts,
    pastRotation: cut(pastRotation)!,
    expired: cut(expired)!,
    sharedEnrolled: cut(sharedEnrolled)!,
    sharedObserved: cut(sharedObserved),
    revokedEnrolled: cut(revokedEnrolled)!,
    revokedInUse: cut(revokedInUse),
    credentialNotEnrolled: cut(credentialNotEnrolled),
    unenrolled: cut(unenrolled),
    neverSeen: cut(neverSeen),
  };
}

/** Sightings from a telemetry file read by Observations. */
export function telemetrySightings(obs: {
  devices: Map<string, { deviceId: string; firstSeen: number; lastSeen: number; messages: number }>;
  credentialUse(): Map<string, Set<string>>;
}): Sightings {
  return {
    kind: 'telemetry',
    seen: (id) => obs.devices.has(id),
    devices: () => obs.devices.values(),
    credentialUse: () => obs.credentialUse(),
  };
}
