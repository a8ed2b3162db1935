// Write a simulated run to a directory: telemetry.ndjson (streamed, honouring
// backpressure) and labels.json (written when the stream is complete).

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type SimLabels, formatLabels } from './labels';
import type { FleetOptions } from './options';
import { createFleet } from './scheduler';

export const TELEMETRY_FILE = 'telemetry.ndjson';
export const LABELS_FILE = 'labels.json';

export interface SimProgress {
  lines: number;
  bytes: number;
  /** Arrival time of the last line written, ms epoch. */
  clock: number;
  /** Simulated hours done, and in total. */
  hour: number;
  hours: number;
}

export interface SimulateToDirOptions {
  /** Called after every chunk written (every ~256 KB): keep it cheap. */
  onProgress?: (p: SimProgress) => void;
}

export interface SimSummary {
  telemetryPath: string;
  labelsPath: string;
  lines: number;
  bytes: number;
  devices: number;
  hours: number;
  attacks: number;
  benign: number;
  elapsedMs: number;
  linesPerSecond: number;
  labels: SimLabels;
}

const CHUNK_BYTES = 256 * 1024;

export async function simulateToDir(opts: FleetOptions, dir: string, w: SimulateToDirOptions = {}): Promise<SimSummary> {
  const fleet = createFleet(opts); // validates before anything is created on disk
  const o = fleet.options;
  await mkdir(dir, { recursive: true });
  const telemetryPath = join(dir, TELEMETRY_FILE);
  const labelsPath = join(dir, LABELS_FILE);
  const t0 = performance.now();
  const out = createWriteStream(telemetryPath);
  let failure: Error | null = null;
  out.on('error', (e) => {
    failure = e;
  });
  let bytes = 0;
  try {
    let chunk = '';
    for (;;) {
      const ev = fleet.next();
      if (ev !== null) chunk += ev.line + '\n';
      if (chunk.length >= CHUNK_BYTES || (ev === null && chunk.length > 0)) {
        if (failure) throw failure;
        bytes += chunk.length; // lines are ASCII: one byte per character
        const ok = out.write(chunk);
        chunk = '';
        if (!ok) await once(out, 'drain');
        w.onProgress?.({ lines: fleet.lines, bytes, clock: fleet.clock, hour: (fleet.clock - o.start) / 3_600_000, hours: o.hours });
      }
      if (ev === null) break;
    }
    out.end();
    await once(out, 'finish');
  } catch (e) {
    out.destroy();
    throw e;
  }
  if (failure) throw failure;
  const labels = fleet.labels();
  await writeFile(labelsPath, formatLabels(labels));
  const elapsedMs = performance.now() - t0;
  return {
    telemetryPath,
    labelsPath,
    lines: fleet.lines,
    bytes,
    devices: o.devices,
    hours: o.hours,
    attacks: labels.attacks.length,
    benign: labels.benign.length,
    elapsedMs,
    linesPerSecond: elapsedMs > 0 ? Math.round((fleet.lines * 1000) / elapsedMs) : 0,
    labels,
  };
}
