// API settings: where to listen, who may call, how much. Read once from the environment
// (API_HOST, API_PORT, API_KEYS, API_KEYS_FILE, API_RATE_LIMIT) and flags, merged over
// DEFAULT_API_OPTIONS, checked with errors that say what to change.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Writable } from 'node:stream';
import { hashKey, type ApiKey } from './auth';

export interface ApiOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Accepted keys (empty: no key needed, allowed on loopback addresses only). */
  keys: ApiKey[];
  /** Requests per key (per client address without a key) per window. */
  rateLimit: number;
  rateWindowMs: number;
  /** Largest request body accepted (bytes); more is a 413. */
  bodyLimit: number;
  /** Stream clients at once; more get a 503. */
  maxStreamClients: number;
  /** A comment line to each stream client this often, to keep proxies from closing it. */
  heartbeatMs: number;
  /** Bytes queued for a slow stream client before it is dropped (it resumes with Last-Event-ID). */
  streamBufferBytes: number;
  /** …and has not drained for this long (ms). */
  streamSlowMs: number;
  /** Pino level, or false for no log. */
  logLevel: string | false;
  /** Where the log goes (default stdout). */
  logStream?: Writable;
}

export const DEFAULT_API_OPTIONS: Readonly<ApiOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  keys: [],
  rateLimit: 600,
  rateWindowMs: 60_000,
  bodyLimit: 16 * 1024,
  maxStreamClients: 1000,
  heartbeatMs: 15_000,
  streamBufferBytes: 1 << 20,
  streamSlowMs: 5000,
  logLevel: 'info',
});

/** A setting that cannot work; the message says which and what to do. */
export class ApiConfigError extends Error {
  readonly code = 'API_CONFIG';
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/**
 * Keys from a comma list (API_KEYS) and/or a file (one per line, # comments). Each entry
 * is `key` or `label:key`; the label names the key in verdicts and logs (the key itself
 * is never logged). Keys must be at least 16 characters.
 */
export function parseApiKeys(list: string | undefined, file: string | undefined): ApiKey[] {
  const entries: { text: string; where: string }[] = [];
  if (list) list.split(',').forEach((t, i) => entries.push({ text: t.trim(), where: `API_KEYS entry ${i + 1}` }));
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ApiConfigError(`cannot read the API keys file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    text.split(/\r?\n/).forEach((t, i) => entries.push({ text: t.trim(), where: `${file} line ${i + 1}` }));
  }
  const keys: ApiKey[] = [];
  for (const { text, where } of entries) {
    if (text === '' || text.startsWith('#')) continue;
    const colon = text.indexOf(':');
    const label = colon > 0 ? text.slice(0, colon).trim() : `key${keys.length + 1}`;
    const secret = colon > 0 ? text.slice(colon + 1).trim() : text;
    if (!/^[\w.@-]{1,64}$/.test(label)) throw new ApiConfigError(`${where}: the label before ":" must be 1-64 letters, digits, _ . @ or -`);
    if (secret.length < 16) throw new ApiConfigError(`${where}: an API key must be at least 16 characters (e.g. \`openssl rand -hex 24\`)`);
    if (keys.some((k) => k.label === label)) throw new ApiConfigError(`${where}: the label "${label}" is used twice`);
    const digest = hashKey(secret);
    if (keys.some((k) => k.digest.equals(digest))) continue; // the same key listed twice (env and file)
    keys.push({ label, digest });
  }
  return keys;
}

function intSetting(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new ApiConfigError(`${name} must be a whole number between ${min} and ${max}, got "${value}"`);
  return Number(value);
}

/** Settings from the environment, then explicit ones (flags) over them. */
export function apiOptionsFromEnv(env: NodeJS.ProcessEnv, explicit: Partial<ApiOptions> & { keysFile?: string } = {}): Partial<ApiOptions> {
  const { keysFile, ...rest } = explicit;
  const out: Partial<ApiOptions> = {};
  if (env.API_HOST) out.host = env.API_HOST;
  const port = intSetting('API_PORT', env.API_PORT, 0, 65535);
  if (port !== undefined) out.port = port;
  const rate = intSetting('API_RATE_LIMIT', env.API_RATE_LIMIT, 1, 1_000_000);
  if (rate !== undefined) out.rateLimit = rate;
  out.keys = parseApiKeys(env.API_KEYS, keysFile ?? env.API_KEYS_FILE);
  if (env.LOG_LEVEL) out.logLevel = env.LOG_LEVEL;
  return { ...out, ...rest };
}

/** Merge over the defaults and refuse what would be unsafe or cannot work. */
export function resolveApiOptions(options: Partial<ApiOptions>): ApiOptions {
  const o: ApiOptions = { ...DEFAULT_API_OPTIONS, ...options, keys: options.keys ?? [] };
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new ApiConfigError(`API port must be 0-65535, got ${o.port}`);
  if (o.keys.length === 0 && !isLoopback(o.host)) {
    throw new ApiConfigError(
      `refusing to serve the API on ${o.host} without API keys: anyone who can reach it could read alerts and silence them. ` +
        'Set API_KEYS (comma list) or API_KEYS_FILE, or listen on 127.0.0.1.',
    );
  }
  return o;
}
