// Keeps the inventory and revocation list current without a restart. Each file is
// watched two ways: fs.watch on its directory (which also sees an editor or a deploy
// tool replacing the file by rename) and a periodic stat poll (network filesystems and
// containers where change events never arrive). A change is debounced, then the new
// file is read and validated in full; only a valid file replaces the old one (atomic
// reload). An invalid or deleted file keeps what was loaded and says why.

import { createHash } from 'node:crypto';
import { FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Log } from '../log';
import { inventoryFormat, InventoryError, parseInventory, parseRevoked } from './load';
import type { Inventory, InventoryDevice } from './model';

export interface InventoryFiles {
  /** Enrolled devices (CSV or NDJSON). */
  inventory?: string;
  /** Revoked credential ids, one per line. */
  revoked?: string;
}

export interface InventoryWatchOptions {
  /** Receives every valid inventory: at start and after each successful reload. */
  apply: (inventory: Inventory) => void;
  log: Log;
  /** Stat poll period (ms); 0 turns the poll off. */
  pollMs: number;
  /** Quiet time after a change event before reading (editors write in bursts). */
  debounceMs: number;
  /** fs.watch the directories (off: rely on the poll). */
  watchEvents: boolean;
  /** After every reload and every rejected change (health, logs). */
  onChange?: (state: InventoryState) => void;
}

export const DEFAULT_WATCH_OPTIONS = Object.freeze({ pollMs: 2000, debounceMs: 250, watchEvents: true });

/** For metrics, health and the API. */
export interface InventoryState {
  files: InventoryFiles;
  /** Wall time (ms) the inventory in use was loaded or last reloaded. */
  loadedAt: number;
  /** Enrolled devices (null: no inventory file, only a revocation list). */
  devices: number | null;
  credentials: number;
  revoked: number;
  /** Successful reloads after the start. */
  reloads: number;
  /** Changed files that were rejected (invalid or removed); the previous one stayed in use. */
  failedReloads: number;
  /** The last rejected change (kept after a later success, as history). */
  lastError: { at: number; file: string; problems: string[] } | null;
  /** False while a file on disk differs from what is in use (it was rejected). */
  inSync: boolean;
}

interface Tracked<T> {
  kind: 'inventory' | 'revoked';
  path: string;
  value: T;
  /** ino:size:mtime of the file in use, and of the last one rejected. */
  sig: string;
  failedSig?: string;
  hash: string;
  parse: (text: string) => T;
}

type AnyTracked = Tracked<Map<string, InventoryDevice>> | Tracked<Set<string>>;

export class InventoryWatcher {
  private readonly opts: InventoryWatchOptions;
  private readonly tracked: AnyTracked[];
  private readonly watchers: FSWatcher[] = [];
  private readonly timers = new Map<AnyTracked, NodeJS.Timeout>();
  private poll: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly st: InventoryState;

  private constructor(files: InventoryFiles, tracked: AnyTracked[], opts: InventoryWatchOptions) {
    this.opts = opts;
    this.tracked = tracked;
    this.st = { files, loadedAt: Date.now(), devices: null, credentials: 0, revoked: 0, reloads: 0, failedReloads: 0, lastError: null, inSync: true };
  }

  /**
   * Load both files (every problem of both in one InventoryError), hand the inventory to
   * `apply`, then watch for changes.
   */
  static async start(files: InventoryFiles, options: Partial<InventoryWatchOptions> & Pick<InventoryWatchOptions, 'apply' | 'log'>): Promise<InventoryWatcher> {
    if (!files.inventory && !files.revoked) throw new Error('an inventory or a revocation list is needed');
    const opts: InventoryWatchOptions = { ...DEFAULT_WATCH_OPTIONS, ...options };
    const specs: { kind: AnyTracked['kind']; path: string; parse: (text: string) => unknown }[] = [];
    if (files.inventory) {
      const p = files.inventory;
      specs.push({ kind: 'inventory', path: resolve(p), parse: (text) => parseInventory(text, basename(p), inventoryFormat(p, text)) });
    }
    if (files.revoked) {
      const p = files.revoked;
      specs.push({ kind: 'revoked', path: resolve(p), parse: (text) => parseRevoked(text, basename(p)) });
    }
    const problems: string[] = [];
    const tracked: AnyTracked[] = [];
    for (const s of specs) {
      try {
        const { text, sig } = await readWithSig(s.path);
        tracked.push({ ...s, value: s.parse(text), sig, hash: digest(text) } as AnyTracked);
      } catch (e) {
        problems.push(...problemsOf(e, s.path));
      }
    }
    if (problems.length) throw new InventoryError([files.inventory, files.revoked].filter(Boolean).map((f) => basename(f!)).join(', '), problems);
    const w = new InventoryWatcher(files, tracked, opts);
    w.publish();
    w.watch();
    return w;
  }

  /** The inventory in use. */
  get inventory(): Inventory {
    const devices = this.tracked.find((t) => t.kind === 'inventory')?.value as Map<string, InventoryDevice> | undefined;
    const revoked = (this.tracked.find((t) => t.kind === 'revoked')?.value as Set<string> | undefined) ?? new Set<string>();
    return { devices, revoked };
  }

  get state(): InventoryState {
    return { ...this.st, files: { ...this.st.files }, inSync: this.tracked.every((t) => t.failedSig === undefined) };
  }

  /** Look at every file now (the poll and change events call this; so can SIGHUP or a test). */
  check(): Promise<void> {
    return this.serial(async () => {
      for (const t of this.tracked) await this.checkOne(t);
    });
  }

  /** One check at a time: a second request runs after the first, against what is on disk then. */
  private serial(fn: () => Promise<void>): Promise<void> {
    // a failure must not break the chain (every later check would be skipped)
    this.running = this.running.then(fn).catch((e) => this.opts.log.error(`inventory: checking the files failed: ${(e as Error).message}`));
    return this.running;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.poll) clearInterval(this.poll);
  }

  private watch(): void {
    if (this.opts.watchEvents) {
      for (const dir of new Set(this.tracked.map((t) => dirname(t.path)))) {
        try {
          const w = watch(dir, { persistent: false }, (_event, name) => {
            for (const t of this.tracked) if (dirname(t.path) === dir && (name === null || name === basename(t.path))) this.soon(t);
          });
          w.on('error', (e) => this.opts.log.warn(`inventory: cannot watch ${dir} (${e.message}); changes are still picked up by polling`));
          this.watchers.push(w);
        } catch (e) {
          this.opts.log.warn(`inventory: cannot watch ${dir} (${(e as Error).message}); changes are still picked up by polling`);
        }
      }
    }
    if (this.opts.pollMs > 0) {
      this.poll = setInterval(() => void this.check(), this.opts.pollMs);
      this.poll.unref();
    }
  }

  /** Debounce: read once the burst of events for this file is over. */
  private soon(t: AnyTracked): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(t));
    const timer = setTimeout(() => {
      this.timers.delete(t);
      void this.serial(() => this.checkOne(t));
    }, this.opts.debounceMs);
    timer.unref();
    this.timers.set(t, timer);
  }

  private async checkOne(t: AnyTracked): Promise<void> {
    if (this.closed) return;
    let text: string;
    let sig: string;
    try {
      ({ text, sig } = await readWithSig(t.path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const s = code === 'ENOENT' ? 'missing' : `error:${code}`;
      if (s === t.failedSig) return;
      return this.reject(t, s, [code === 'ENOENT' ? `${basename(t.path)} was removed` : `cannot read ${basename(t.path)}: ${code ?? (e as Error).message}`]);
    }
    if (sig === t.sig || sig === t.failedSig) return;
    const hash = digest(text);
    if (hash === t.hash) {
      // touched or rewritten with the same content: nothing to reload
      t.sig = sig;
      if (t.failedSig !== undefined) {
        t.failedSig = undefined;
        this.opts.onChange?.(this.state);
      }
      return;
    }
    let value: unknown;
    try {
      value = t.parse(text);
    } catch (e) {
      return this.reject(t, sig, problemsOf(e, t.path));
    }
    const before = { value: t.value, sig: t.sig, hash: t.hash };
    Object.assign(t, { value, sig, hash, failedSig: undefined });
    try {
      this.publish();
    } catch (e) {
      // the consumer refused it (e.g. it does not fit): keep what it had
      Object.assign(t, before);
      return this.reject(t, sig, [`${basename(t.path)} could not be applied: ${(e as Error).message}`]);
    }
    this.st.reloads++;
    const s = this.st;
    this.opts.log.info(`inventory: reloaded ${basename(t.path)} (${s.devices === null ? '' : `${s.devices} devices, ${s.credentials} credentials, `}${s.revoked} revoked)`);
    this.opts.onChange?.(this.state);
  }

  private reject(t: AnyTracked, sig: string, problems: string[]): void {
    t.failedSig = sig;
    this.st.failedReloads++;
    this.st.lastError = { at: Date.now(), file: basename(t.path), problems };
    const since = new Date(this.st.loadedAt).toISOString();
    this.opts.log.warn(`inventory: ${basename(t.path)} changed but cannot be used; keeping the inventory loaded at ${since}:`);
    for (const p of problems) this.opts.log.warn(`inventory:   ${p}`);
    this.opts.onChange?.(this.state);
  }

  private publish(): void {
    const inv = this.inventory;
    this.opts.apply(inv);
    this.st.loadedAt = Date.now();
    this.st.devices = inv.devices ? inv.devices.size : null;
    let credentials = 0;
    if (inv.devices) for (const d of inv.devices.values()) credentials += d.credentials.length;
    this.st.credentials = credentials;
    this.st.revoked = inv.revoked.size;
  }
}

async function readWithSig(path: string): Promise<{ text: string; sig: string }> {
  const s = await stat(path);
  // stat before reading: a write after the stat changes the signature and is read next time
  const text = await readFile(path, 'utf8');
  return { text, sig: `${s.ino}:${s.size}:${s.mtimeMs}` };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function problemsOf(e: unknown, path: string): string[] {
  if (e instanceof InventoryError) return e.problems;
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return [`${path} does not exist`];
  return [`cannot read ${path}: ${err.code ?? err.message}`];
}
