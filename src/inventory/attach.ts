// Wiring an inventory into a running detector, the same for run, start and replay: load
// at start (problems fail the start), reload on change, and report through health and
// metrics.

import type { Health } from '../health';
import type { Log } from '../log';
import type { Metrics } from '../metrics';
import type { Inventory } from './model';
import { InventoryFiles, InventoryState, InventoryWatcher, InventoryWatchOptions } from './watch';

/**
 * What takes the inventory (a Detector satisfies it). It must score what it holds before
 * taking a new one, so that messages read before a reload are judged by the inventory
 * that was current when they arrived.
 */
export interface InventoryTarget {
  setInventory(inventory: Inventory | undefined): void;
}

export interface AttachOptions {
  target: InventoryTarget;
  log: Log;
  metrics?: Metrics;
  health?: Health;
  /** After the target took an inventory (at start and on each reload). */
  onApplied?: (inventory: Inventory) => void;
  watch?: Partial<Pick<InventoryWatchOptions, 'pollMs' | 'debounceMs' | 'watchEvents'>>;
}

/** Undefined when neither file is configured. Throws InventoryError when a file is invalid. */
export async function attachInventory(files: InventoryFiles, o: AttachOptions): Promise<InventoryWatcher | undefined> {
  if (!files.inventory && !files.revoked) return undefined;
  const watcher = await InventoryWatcher.start(files, {
    ...o.watch,
    log: o.log,
    apply: (inv) => {
      o.target.setInventory(inv);
      o.onApplied?.(inv);
    },
    onChange: (s) => o.health?.ok('inventory', healthNote(s)),
  });
  const s = watcher.state;
  o.log.info(
    `inventory: ${[files.inventory, files.revoked].filter(Boolean).join(' and ')} loaded ` +
      `(${s.devices === null ? 'no device list: no device is "unknown", ' : `${s.devices} devices, ${s.credentials} credentials, `}${s.revoked} revoked); watching for changes`,
  );
  o.metrics?.trackInventory(() => watcher.state);
  // a rejected file is a note, not unreadiness: the detector keeps working on the old one
  o.health?.register('inventory', 'ok', healthNote(s));
  return watcher;
}

function healthNote(s: InventoryState): string {
  const loaded = `loaded ${new Date(s.loadedAt).toISOString()}`;
  if (s.inSync || !s.lastError) return loaded;
  return `${loaded}; a change to ${s.lastError.file} was rejected (${s.lastError.problems[0]}${s.lastError.problems.length > 1 ? ` and ${s.lastError.problems.length - 1} more` : ''})`;
}
