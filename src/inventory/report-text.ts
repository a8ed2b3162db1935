// The inventory report as plain aligned tables, for a terminal.

import type { InventoryReport, SectionName } from './report';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));
const n = (x: number) => x.toLocaleString('en');

/** Columns padded to their widest cell; numbers (right: true) aligned right. */
export function table(header: string[], rows: string[][], right: boolean[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatReport(r: InventoryReport, source: string | undefined): string {
  const out: string[] = [];
  out.push(`Inventory report at ${iso(r.now)}, rotation age ${r.rotationAgeDays} days${source ? `, sightings from ${source}` : ', no sightings (give --input to compare with telemetry)'}`);
  const t = r.totals;
  out.push(
    `${t.devices === null ? 'no device list' : `${n(t.devices)} devices enrolled`}, ${n(t.credentials)} credentials, ${n(t.revoked)} revoked` +
      (t.seenDevices === null ? '' : `; ${n(t.seenDevices)} devices seen`),
  );
  const section = (name: SectionName, title: string, header: string[], rows: string[][] | null, right: boolean[] = [], why = 'needs --input') => {
    out.push('');
    const count = r.counts[name];
    if (rows === null || count === null) {
      out.push(`${title}: - (${why})`);
      return;
    }
    out.push(`${title}: ${count === 0 ? 'none' : n(count)}`);
    if (count === 0) return;
    out.push(...table(header, rows, right).map((l) => `  ${l}`));
    if (count > rows.length) out.push(`  … and ${n(count - rows.length)} more (--json lists all)`);
  };
  const ids = (l: string[]) => (l.length <= 4 ? l.join(', ') : `${l.slice(0, 4).join(', ')} +${l.length - 4}`);
  section(
    'pastRotation',
    `Credentials past rotation age (issued over ${r.rotationAgeDays} days ago)`,
    ['DEVICE', 'CREDENTIAL', 'ISSUED', 'AGE (DAYS)'],
    r.pastRotation.map((x) => [x.deviceId, x.credential, iso(x.issuedAt), n(x.ageDays)]),
    [false, false, false, true],
  );
  section(
    'expired',
    'Expired credentials',
    ['DEVICE', 'CREDENTIAL', 'EXPIRED', 'IN USE'],
    r.expired.map((x) => [x.deviceId, x.credential, iso(x.expiresAt), x.inUse === null ? '?' : x.inUse ? 'yes' : 'no']),
  );
  section('sharedEnrolled', 'Credentials enrolled for several devices', ['CREDENTIAL', 'DEVICES', 'DEVICE IDS'], r.sharedEnrolled.map((x) => [x.credential, n(x.deviceIds.length), ids(x.deviceIds)]), [false, true]);
  section('sharedObserved', 'Credentials seen used by several devices', ['CREDENTIAL', 'DEVICES', 'DEVICE IDS'], r.sharedObserved?.map((x) => [x.credential, n(x.deviceIds.length), ids(x.deviceIds)]) ?? null, [false, true]);
  section('revokedEnrolled', 'Revoked credentials still enrolled', ['CREDENTIAL', 'ENROLLED FOR'], r.revokedEnrolled.map((x) => [x.credential, ids(x.deviceIds)]));
  section('revokedInUse', 'Revoked credentials in use', ['CREDENTIAL', 'USED BY'], r.revokedInUse?.map((x) => [x.credential, ids(x.deviceIds)]) ?? null);
  section('credentialNotEnrolled', 'Credentials in use but not enrolled for their device', ['DEVICE', 'CREDENTIAL'], r.credentialNotEnrolled?.map((x) => [x.deviceId, x.credential]) ?? null);
  const noList = t.devices === null ? 'needs a device list' : 'needs --input';
  section(
    'unenrolled',
    'Devices seen but not enrolled',
    ['DEVICE', 'FIRST SEEN', 'LAST SEEN', 'MESSAGES'],
    r.unenrolled?.map((x) => [x.deviceId, iso(x.firstSeen), iso(x.lastSeen), x.messages === null ? '-' : n(x.messages)]) ?? null,
    [false, false, false, true],
    noList,
  );
  section('neverSeen', 'Enrolled devices never seen', ['DEVICE', 'CREDENTIALS'], r.neverSeen?.map((x) => [x.deviceId, n(x.credentials)]) ?? null, [false, true], noList);
  return out.join('\n') + '\n';
}
