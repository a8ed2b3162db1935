// Inventory → file text, in the formats load.ts reads (what `inventory learn` writes).
// CSV has one row per credential, the device's other columns repeated on each, so that
// the rows can be sorted or filtered in a spreadsheet without losing anything.

import { csvRow } from './csv';
import { INVENTORY_COLUMNS, InventoryFormat } from './load';
import type { EnrolledCredential, InventoryDevice } from './model';

const iso = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString());

export function* inventoryLines(devices: Iterable<InventoryDevice>, format: InventoryFormat): Generator<string> {
  if (format === 'csv') {
    yield csvRow([...INVENTORY_COLUMNS]);
    for (const d of devices) {
      const rest = [d.sources.map((s) => s.text).join(';'), d.minFirmware ?? '', d.class ?? '', d.owner ?? '', d.site ?? ''];
      const creds: (EnrolledCredential | undefined)[] = d.credentials.length ? d.credentials : [undefined];
      for (const c of creds) yield csvRow([d.deviceId, c?.id ?? '', iso(c?.issuedAt), iso(c?.expiresAt), ...rest]);
    }
    return;
  }
  for (const d of devices) {
    yield JSON.stringify({
      deviceId: d.deviceId,
      credentials: d.credentials.map((c) => ({ id: c.id, ...(c.issuedAt !== undefined && { issuedAt: iso(c.issuedAt) }), ...(c.expiresAt !== undefined && { expiresAt: iso(c.expiresAt) }) })),
      sources: d.sources.map((s) => s.text),
      ...(d.minFirmware !== undefined && { minFirmware: d.minFirmware }),
      ...(d.class !== undefined && { class: d.class }),
      ...(d.owner !== undefined && { owner: d.owner }),
      ...(d.site !== undefined && { site: d.site }),
    });
  }
}
