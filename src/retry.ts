// Whether and when to retry, decided in one place: exponential backoff with full jitter
// and a cap; an HTTP status table (429 and 5xx retry, honouring Retry-After; other 4xx
// do not); network errors retry.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 10_000, factor: 2 };

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof HttpError) return err.status === 429 || err.status >= 500 || err.status === 408;
  const status = (err as { statusCode?: number })?.statusCode;
  if (typeof status === 'number') return status === 429 || status >= 500 || status === 408;
  return true; // connection refused, reset, timeout
}

/** Delay before attempt `attempt` (1 = first retry). */
export function backoffDelay(attempt: number, o: BackoffOptions = DEFAULT_BACKOFF, err?: unknown, random = Math.random): number {
  const hinted = err instanceof HttpError ? err.retryAfterMs : undefined;
  const cap = Math.min(o.maxMs, o.initialMs * o.factor ** (attempt - 1));
  const jittered = cap / 2 + random() * (cap / 2);
  return hinted !== undefined ? Math.min(Math.max(hinted, jittered), o.maxMs * 6) : jittered;
}

export function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}
