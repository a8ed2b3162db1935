// API keys: held as SHA-256 digests, compared in constant time, presented as
// `Authorization: Bearer <key>` or `X-API-Key: <key>`. Never in a URL (URLs are logged).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface ApiKey {
  /** Names the key in verdicts, rate-limit buckets and logs. */
  label: string;
  digest: Buffer;
}

export function hashKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** The key presented in the request headers, if any. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x !== '') return x;
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim();
  return undefined;
}

/** The label of the matching key, or undefined. Every key is compared, in constant time. */
export function matchKey(keys: readonly ApiKey[], presented: string | undefined): string | undefined {
  if (presented === undefined || presented.length > 1024) return undefined;
  const digest = hashKey(presented);
  let found: string | undefined;
  for (const k of keys) if (timingSafeEqual(k.digest, digest) && found === undefined) found = k.label;
  return found;
}
