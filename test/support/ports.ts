// Free loopback ports, and the hygiene every test server needs: its process is killed
// (and its temp dir removed) when the test process ends, whether the tests passed,
// failed, threw, or the runner sent a signal (reapOnExit); and even when the test process
// is SIGKILLed (a runner timeout, `| head` closing the pipe): withParentDeathSignal runs
// servers under util-linux's setpriv --pdeathsig, so the kernel kills them. Tests still
// stop their servers in `after` hooks; this is the net under them.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago (asked of the OS, not guessed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** True when `port` can be bound on 127.0.0.1 right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

interface Tracked {
  child?: ChildProcess;
  dir?: string;
}

const tracked = new Set<Tracked>();
let installed = false;

function reapAll(): void {
  for (const t of tracked) {
    if (t.child && t.child.exitCode === null && t.child.signalCode === null) {
      try {
        t.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (t.dir) {
      try {
        rmSync(t.dir, { recursive: true, force: true });
      } catch {
        /* best effort: the process may still hold files */
      }
    }
  }
  tracked.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', reapAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      reapAll();
      process.off(sig, onSignal);
      // with our listener gone, the signal's default action (or the runner's own
      // handler) applies as if we had never caught it
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Kill `child` with SIGKILL (and remove `dir`) if the test process ends before
 * `release()` is called. Returns `release`, to call once the server was stopped cleanly.
 */
export function reapOnExit(child: ChildProcess | undefined, dir?: string): () => void {
  install();
  const t: Tracked = { child, dir };
  tracked.add(t);
  return () => {
    tracked.delete(t);
  };
}

/** Resolves when `child` has exited; SIGKILLs it if it is still there after `graceMs`. */
export async function waitExit(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

let setpriv: boolean | undefined;

/**
 * [command, args] that run `cmd` so that the kernel SIGKILLs it when this process dies
 * (prctl PR_SET_PDEATHSIG through `setpriv`, which execs: the pid stays the server's).
 * Without setpriv (not Linux, no util-linux) the command is returned as it is.
 */
export function withParentDeathSignal(cmd: string, args: string[]): [string, string[]] {
  setpriv ??= process.platform === 'linux' && spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  return setpriv ? ['setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
}

/**
 * A fresh temp dir `<tmp>/edge-sentinel-<name>-XXXXXX` owned by this process (its pid is
 * written in it). Dirs of the same name whose owner is dead (a test process that was
 * SIGKILLed had no chance to clean up) are removed first.
 */
export function ownedTempDir(name: string): string {
  const prefix = `edge-sentinel-${name}-`;
  try {
    for (const entry of readdirSync(tmpdir())) {
      if (!entry.startsWith(prefix)) continue;
      const dir = join(tmpdir(), entry);
      let owner: number;
      try {
        owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      } catch {
        continue; // not ours, or still being set up
      }
      if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
    }
  } catch {
    /* sweeping is best effort */
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
