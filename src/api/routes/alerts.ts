// /api routes: alerts (list, one, verdict), a device's view, the live stream.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Severity } from '../../alerts/alert';
import type { AlertStatus, VerdictValue } from '../../alerts/store';
import type { AlertKind } from '../../core/layout';
import type { ApiServerDeps } from '../server';
import type { StreamHub } from '../stream';
import { deviceSchema, getAlertSchema, listAlertsSchema, postVerdictSchema, streamSchema } from '../schemas';

interface Ctx extends ApiServerDeps {
  hub: StreamHub;
  secured: boolean;
}

interface ListQuery {
  deviceId?: string;
  kind?: AlertKind;
  severity?: Severity;
  status?: AlertStatus;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

/** ms or ISO-8601 → ms; undefined when absent; NaN when it is no time. */
function parseTime(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  return /^\d+$/.test(s) ? Number(s) : Date.parse(s);
}

function badField(reply: FastifyReply, where: string, field: string, message: string) {
  return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `${where}.${field} ${message}`, field });
}

function notFound(reply: FastifyReply, what: string) {
  return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `${what} not found` });
}

export function registerAlertRoutes(api: FastifyInstance, ctx: Ctx): void {
  const { store, detector, history, hub } = ctx;
  const security: Record<string, string[]>[] = ctx.secured ? [{ apiKey: [] }, { bearer: [] }] : [];

  // Serialised pages by query, valid until the store publishes its next event: dashboards
  // poll the same few queries, and alerts are rare next to reads. (An alert the policy
  // updated in place is published — and so invalidates — at the end of the batch's
  // event-loop turn; until then a page is exactly what its `seq` says.)
  const pages = new Map<string, string>();
  let pagesSeq = -1;
  api.get<{ Querystring: ListQuery }>('/api/alerts', { schema: { ...listAlertsSchema, security } }, async (request, reply) => {
    if (pagesSeq !== store.lastSeq) {
      pages.clear();
      pagesSeq = store.lastSeq;
    }
    let body = pages.get(request.url);
    if (body === undefined) {
      const q = request.query;
      const since = parseTime(q.since);
      const until = parseTime(q.until);
      if (since !== undefined && Number.isNaN(since)) return badField(reply, 'querystring', 'since', 'is not a valid time');
      if (until !== undefined && Number.isNaN(until)) return badField(reply, 'querystring', 'until', 'is not a valid time');
      const page = store.list({ deviceId: q.deviceId, kind: q.kind, severity: q.severity, status: q.status, since, until, limit: q.limit, cursor: q.cursor });
      body = reply.getSerializationFunction('200')!({ ...page, seq: store.lastSeq });
      if (pages.size >= 256) pages.clear();
      pages.set(request.url, body);
    }
    return reply.type('application/json; charset=utf-8').send(body);
  });

  api.get<{ Params: { id: string } }>('/api/alerts/:id', { schema: { ...getAlertSchema, security } }, async (request, reply) => {
    return store.get(request.params.id) ?? notFound(reply, 'alert');
  });

  api.post<{ Params: { id: string }; Body: { verdict: VerdictValue; note?: string; by?: string } }>(
    '/api/alerts/:id/verdict',
    { schema: { ...postVerdictSchema, security } },
    async (request, reply) => {
      const { verdict, note, by } = request.body;
      const result = await store.setVerdict(request.params.id, { verdict, note, by: by ?? request.apiKeyLabel ?? 'anonymous' });
      if (!result) return notFound(reply, 'alert');
      ctx.metrics.verdicts.inc({ verdict });
      for (const err of result.sinkErrors) request.log.warn({ err, alertId: result.alert.id }, 'a sink could not store the verdict (it is applied in memory)');
      request.log.info({ alertId: result.alert.id, verdict, by: result.alert.verdict?.by }, 'verdict');
      return result.alert;
    },
  );

  api.get<{ Params: { deviceId: string } }>('/api/devices/:deviceId', { schema: { ...deviceSchema, security } }, async (request, reply) => {
    const { deviceId } = request.params;
    const slot = detector.core.findDevice(deviceId);
    const record = slot >= 0 ? detector.core.describe(slot) : undefined;
    const recentAlerts = store.forDevice(deviceId, 50);
    if (!record && recentAlerts.length === 0) return notFound(reply, 'device');
    history?.watch(deviceId);
    const device = record && {
      ...record,
      metrics: record.metrics.map((m) => ({ name: history?.metricName(m.nameHash) ?? null, ...m })),
    };
    return {
      deviceId,
      device: device ?? null,
      openAlerts: recentAlerts.filter((a) => a.status === 'open'),
      recentAlerts,
      history: history?.points(deviceId) ?? [],
      instance: { ownedPartitions: ctx.partitions?.() ?? null },
    };
  });

  api.get<{ Querystring: { severity?: Severity; lastEventId?: string } }>('/api/stream', { schema: { ...streamSchema, security } }, async (request, reply) => {
    if (hub.full) return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'too many stream clients' });
    const header = request.headers['last-event-id'];
    const last = typeof header === 'string' ? header : request.query.lastEventId;
    reply.hijack();
    hub.open(reply.raw, request.query.severity, last !== undefined ? Number(last) : undefined);
  });
}
