// A draft inventory from observed traffic: what the fleet really does, for an operator
// to review and adopt. Everything observed is allowed by the draft (replaying the same
// traffic against it raises no inventory alert); what deserves a second look before
// adopting it is counted in LearnNotes and printed by the command.

import { ipv4Text, parseSourceRule, SourceRule } from './model';
import type { InventoryDevice } from './model';
import type { Observations } from './observe';

export interface LearnOptions {
  /** Leave out devices seen fewer times (a forged id tends to appear briefly). */
  minMessages: number;
}

export interface LearnNotes {
  devices: number;
  credentials: number;
  /** Devices left out for having fewer than minMessages messages. */
  skipped: number;
  /** Credentials seen with several device ids (each is enrolled for all of them). */
  sharedCredentials: number;
  /** Devices seen with more than one credential (a rotation, or a stolen one in use). */
  multiCredential: number;
  /** Devices with too many sources to list, or one no rule can express: no source rule (any source). */
  anySource: number;
  /** Devices seen with more than one firmware version (minFirmware is the lowest). */
  firmwareVaried: number;
}

export function learnInventory(obs: Observations, opts: LearnOptions): { devices: Map<string, InventoryDevice>; notes: LearnNotes } {
  const devices = new Map<string, InventoryDevice>();
  const notes: LearnNotes = { devices: 0, credentials: 0, skipped: 0, sharedCredentials: 0, multiCredential: 0, anySource: 0, firmwareVaried: 0 };
  const ids = [...obs.devices.keys()].sort();
  for (const id of ids) {
    const d = obs.devices.get(id)!;
    if (d.messages < opts.minMessages) {
      notes.skipped++;
      continue;
    }
    const credentials = [...d.credentials].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([cid, first]) => ({ id: cid, issuedAt: Math.floor(first) }));
    const sources = d.sourcesOverflow ? undefined : summariseSources(d.sources);
    const device: InventoryDevice = { deviceId: id, credentials, sources: sources ?? [] };
    if (d.minFirmware) device.minFirmware = d.minFirmware.text.replace(/[-+].*$/, '');
    devices.set(id, device);
    notes.devices++;
    notes.credentials += credentials.length;
    if (credentials.length > 1) notes.multiCredential++;
    if (!sources) notes.anySource++;
    if (d.firmwareVersions.size > 1) notes.firmwareVaried++;
  }
  for (const users of obs.credentialUse().values()) if ([...users].filter((u) => devices.has(u)).length > 1) notes.sharedCredentials++;
  return { devices, notes };
}

/**
 * Sources as rules: IPv4 addresses that share a /24 with another address of the same
 * device become that /24 (DHCP moves a device around its subnet); a lone address stays
 * exact (a /32); anything that is not an IPv4 address (a gateway name) stays as it is.
 * Undefined when a source cannot be written as a rule (then no rule would allow it).
 */
export function summariseSources(sources: Iterable<string>): SourceRule[] | undefined {
  const byNet = new Map<number, string[]>();
  const exact: SourceRule[] = [];
  for (const s of sources) {
    let rule: SourceRule;
    try {
      rule = parseSourceRule(s);
    } catch {
      return undefined; // an IPv6 prefix, say
    }
    if (rule.kind === 'ipv4' && rule.prefix === 32) {
      const net = (rule.network & 0xffffff00) >>> 0;
      const list = byNet.get(net);
      if (list) list.push(rule.text);
      else byNet.set(net, [rule.text]);
    } else exact.push(rule);
  }
  const out: SourceRule[] = [];
  for (const [net, addrs] of [...byNet].sort((a, b) => a[0] - b[0])) {
    if (addrs.length > 1) out.push(parseSourceRule(`${ipv4Text(net)}/24`));
    else out.push(parseSourceRule(addrs[0]));
  }
  exact.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return [...out, ...exact];
}
