// The Server-Sent Events hub behind GET /api/stream. One subscription to the alert
// store; each event is serialised once and written to every client whose minimum
// severity it meets. A client that stops reading is dropped once `bufferBytes` are
// queued for it and it has not drained for `slowMs` (a burst of alerts alone does not
// drop a client that reads); it reconnects with Last-Event-ID and loses nothing the
// store still holds; a comment line every `heartbeatMs` keeps idle connections open through proxies.

import type { ServerResponse } from 'node:http';
import type { Severity } from '../alerts/alert';
import { AlertStore, SEVERITY_RANK, StoreEvent } from '../alerts/store';

export interface StreamOptions {
  maxClients: number;
  heartbeatMs: number;
  bufferBytes: number;
  /** …and has not drained for this long (ms); past 8 × bufferBytes it is dropped at once. */
  slowMs: number;
  /** Told when the number of clients changes. */
  onClients?: (n: number) => void;
}

interface Client {
  res: ServerResponse;
  minRank: number;
  /** When a write last found the socket full (0: it has drained since). */
  blockedSince: number;
}

export function formatEvent(e: StoreEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e.alert)}\n\n`;
}

export class StreamHub {
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  /** Clients dropped for not reading. */
  dropped = 0;

  constructor(
    private readonly store: AlertStore,
    private readonly options: StreamOptions,
  ) {
    this.unsubscribe = store.subscribe((e) => this.broadcast(e));
    this.timer = setInterval(() => this.heartbeat(), options.heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= this.options.maxClients;
  }

  /**
   * Take over a response: headers, then what the client missed after `lastEventId`,
   * then live events. All of it synchronously, so nothing falls between the two.
   */
  open(res: ServerResponse, minSeverity: Severity | undefined, lastEventId: number | undefined): void {
    const client: Client = { res, minRank: minSeverity ? SEVERITY_RANK[minSeverity] : 0, blockedSince: 0 };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    let head = 'retry: 2000\n\n';
    if (lastEventId !== undefined) {
      for (const e of this.store.eventsAfter(lastEventId)) if (SEVERITY_RANK[e.alert.severity] >= client.minRank) head += formatEvent(e);
    }
    res.write(head);
    this.clients.add(client);
    this.options.onClients?.(this.clients.size);
    res.on('close', () => this.remove(client));
    res.on('drain', () => {
      client.blockedSince = 0;
    });
  }

  /** End every stream (server shutdown). */
  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.options.onClients?.(0);
  }

  private broadcast(e: StoreEvent): void {
    if (this.clients.size === 0) return;
    const rank = SEVERITY_RANK[e.alert.severity];
    let text: string | undefined;
    for (const c of this.clients) {
      if (rank < c.minRank) continue;
      text ??= formatEvent(e);
      this.write(c, text);
    }
  }

  private heartbeat(): void {
    for (const c of this.clients) this.write(c, ': keep-alive\n\n');
  }

  private write(c: Client, text: string): void {
    const queued = c.res.writableLength;
    if (queued > this.options.bufferBytes && c.blockedSince > 0) {
      if (queued > 8 * this.options.bufferBytes || Date.now() - c.blockedSince > this.options.slowMs) {
        this.dropped++;
        this.remove(c);
        c.res.destroy();
        return;
      }
    }
    if (!c.res.write(text) && c.blockedSince === 0) c.blockedSince = Date.now();
  }

  private remove(c: Client): void {
    if (this.clients.delete(c)) this.options.onClients?.(this.clients.size);
  }
}
