// JSON schemas of every route: Ajv validates requests with them, fast-json-stringify
// serialises responses with them, @fastify/swagger turns them into the OpenAPI document.

import { ALERT_KINDS } from '../core/layout';
import { SEVERITIES } from '../alerts/alert';
import { VERDICT_VALUES } from '../alerts/store';
import { COMPONENT_STATUSES } from '../health';

export const MAX_LIMIT = 1000;

/** Milliseconds since the epoch, or an ISO-8601 date-time. */
const TIME = {
  type: 'string',
  pattern: '^(\\d{1,15}|\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?)?)$',
  description: 'ms since the epoch, or an ISO-8601 date-time (2024-11-25T08:00:00Z)',
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    field: { type: 'string', description: 'the request field at fault (400 only)' },
  },
} as const;

const verdictObject = {
  type: 'object',
  nullable: true,
  description: "an analyst's verdict",
  properties: {
    verdict: { type: 'string', enum: VERDICT_VALUES },
    note: { type: 'string', nullable: true },
    by: { type: 'string' },
    at: { type: 'number', description: 'wall time (ms) the verdict was given' },
    suppressedUntil: { type: 'number', nullable: true, description: 'fleet time (ms) until which this device × kind raises nothing' },
  },
} as const;

export const alertSchema = {
  $id: 'Alert',
  type: 'object',
  description: 'One incident (DESIGN.md §4): further findings update count and lastSeen.',
  properties: {
    id: { type: 'string' },
    deviceId: { type: 'string' },
    kind: { type: 'string', enum: ALERT_KINDS },
    severity: { type: 'string', enum: SEVERITIES },
    score: { type: 'number' },
    ts: { type: 'number', description: 'device time (ms) of the event that raised it' },
    detectedAt: { type: 'number', description: 'arrival time (ms) at which it was raised' },
    firstSeen: { type: 'number' },
    lastSeen: { type: 'number' },
    count: { type: 'integer' },
    summary: { type: 'string' },
    evidence: { type: 'object', additionalProperties: true, description: 'expected vs observed, and details' },
    reasons: { type: 'array', items: { type: 'string' } },
    origin: {
      type: 'object',
      properties: {
        topic: { type: 'string' },
        partition: { type: 'integer' },
        offset: { type: 'string' },
        file: { type: 'string' },
        line: { type: 'integer' },
      },
    },
    status: { type: 'string', enum: ['open', 'closed'] },
    verdict: verdictObject,
  },
} as const;

const alertRef = { $ref: 'Alert#' } as const;
const errorRef = { $ref: 'Error#' } as const;

/** Errors every /api route can answer with. */
const apiErrors = { 400: errorRef, 401: errorRef, 429: errorRef } as const;

export const listAlertsSchema = {
  summary: 'Recent alerts, newest first',
  tags: ['alerts'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      deviceId: { type: 'string', minLength: 1, maxLength: 128 },
      kind: { type: 'string', enum: ALERT_KINDS },
      severity: { type: 'string', enum: SEVERITIES, description: 'minimum severity' },
      status: { type: 'string', enum: ['open', 'closed'] },
      since: { ...TIME, description: `detectedAt ≥ since: ${TIME.description}` },
      until: { ...TIME, description: `detectedAt < until: ${TIME.description}` },
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
      cursor: { type: 'string', pattern: '^\\d{1,15}$', description: "a previous page's nextCursor" },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        alerts: { type: 'array', items: alertRef },
        nextCursor: { type: 'string', nullable: true, description: 'cursor of the next (older) page; null on the last one' },
        seq: { type: 'number', description: 'the last stream event id: /api/stream with Last-Event-ID = seq continues from this list' },
      },
    },
    ...apiErrors,
  },
} as const;

const alertIdParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
  required: ['id'],
} as const;

export const getAlertSchema = {
  summary: 'One alert',
  tags: ['alerts'],
  params: alertIdParams,
  response: { 200: alertRef, 404: errorRef, ...apiErrors },
} as const;

export const postVerdictSchema = {
  summary: "Record an analyst's verdict",
  description:
    'false_positive and benign suppress the same device × kind for the configured fleet time (24 h by default) and close the alert; ' +
    'true_positive after one of them lifts the suppression it set. The verdict is handed to the sinks (InfluxDB) with the alert.',
  tags: ['alerts'],
  params: alertIdParams,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['verdict'],
    properties: {
      verdict: { type: 'string', enum: VERDICT_VALUES },
      note: { type: 'string', maxLength: 2000 },
      by: { type: 'string', minLength: 1, maxLength: 128, description: "the analyst (default: the API key's label)" },
    },
  },
  response: { 200: alertRef, 404: errorRef, 413: errorRef, 415: errorRef, ...apiErrors },
} as const;

const metricSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', nullable: true, description: 'null until a message naming it has been seen' },
    nameHash: { type: 'integer', description: "the metric name's 32-bit hash with its low 4 bits cleared (the core keeps 28)" },
    last: { type: 'number', description: 'last accepted reading' },
    step: { type: 'number', description: 'usual step between two readings one usual interval apart' },
    mean: { type: 'number', description: 'long-run mean (running mean, then an EWMA of ~4096 readings)' },
    samples: { type: 'integer' },
  },
} as const;

export const deviceSchema = {
  summary: 'What the detector knows about a device',
  tags: ['devices'],
  params: {
    type: 'object',
    properties: { deviceId: { type: 'string', minLength: 1, maxLength: 128 } },
    required: ['deviceId'],
  },
  response: {
    200: {
      type: 'object',
      properties: {
        deviceId: { type: 'string' },
        device: {
          type: 'object',
          nullable: true,
          description: "the core's state for the device (null: evicted or never seen)",
          properties: {
            slot: { type: 'integer' },
            deviceId: { type: 'string' },
            events: { type: 'integer' },
            lastArrival: { type: 'number' },
            lastTs: { type: 'number' },
            seq: { type: 'number' },
            source: { type: 'string', nullable: true },
            previousSource: { type: 'string', nullable: true },
            sourceChangedAt: { type: 'number', nullable: true },
            credentialHash: { type: 'string', nullable: true },
            credentialChangedAt: { type: 'number', nullable: true },
            firmware: { type: 'string', nullable: true },
            usualIntervalMs: { type: 'number' },
            recentIntervalMs: { type: 'number' },
            payloadBytes: { type: 'object', properties: { mean: { type: 'number' }, sd: { type: 'number' } } },
            clockOffsetMs: { type: 'number' },
            silenced: { type: 'boolean' },
            partition: { type: 'integer', description: 'Kafka partition its events came from last' },
            metrics: { type: 'array', items: metricSchema },
          },
        },
        instance: {
          type: 'object',
          description: 'this detector instance',
          properties: {
            ownedPartitions: { type: 'array', items: { type: 'integer' }, nullable: true, description: 'telemetry partitions this instance owns (null: not consuming Kafka)' },
          },
        },
        openAlerts: { type: 'array', items: alertRef },
        recentAlerts: { type: 'array', items: alertRef, description: 'stored alerts of the device, newest first (≤ 50)' },
        history: {
          type: 'array',
          description: 'recent scores and metric values (kept from its first alert or first look through the API on)',
          items: {
            type: 'object',
            properties: {
              t: { type: 'number' },
              score: { type: 'number' },
              metrics: { type: 'object', additionalProperties: { type: 'number' } },
            },
          },
        },
      },
    },
    404: errorRef,
    ...apiErrors,
  },
} as const;

export const streamSchema = {
  summary: 'Server-Sent Events: alerts as they are raised, updated, closed or given a verdict',
  description:
    'Each event: `id` (resume point), `event` (raised | updated | closed | verdict), `data` (the alert JSON). ' +
    'Reconnect with the `Last-Event-ID` header (EventSource does it) to receive what was missed from the in-memory store: ' +
    'each alert changed since, once, in its current state.',
  tags: ['alerts'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      severity: { type: 'string', enum: SEVERITIES, description: 'minimum severity' },
      lastEventId: { type: 'string', pattern: '^\\d{1,16}$', description: 'as the Last-Event-ID header, for clients that cannot set headers' },
    },
  },
  headers: {
    type: 'object',
    properties: { 'last-event-id': { type: 'string', pattern: '^\\d{1,16}$' } },
  },
  response: { 200: { type: 'string', description: 'text/event-stream' }, 503: errorRef, ...apiErrors },
} as const;

const componentSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: COMPONENT_STATUSES },
    reason: { type: 'string', nullable: true },
    since: { type: 'number' },
  },
} as const;

const readySchemaBody = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: COMPONENT_STATUSES },
    ready: { type: 'boolean' },
    components: { type: 'object', additionalProperties: componentSchema },
  },
} as const;

export const readyzSchema = {
  summary: 'Readiness: 200 when every registered component (Kafka, InfluxDB…) is ok, else 503',
  tags: ['operations'],
  response: { 200: readySchemaBody, 503: readySchemaBody },
} as const;

export const healthzSchema = {
  summary: 'Liveness: 200 while the process serves requests',
  tags: ['operations'],
  response: {
    200: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['ok'] }, uptimeSeconds: { type: 'number' } },
    },
  },
} as const;

export const metricsSchema = {
  summary: 'Prometheus metrics (text exposition format)',
  tags: ['operations'],
  response: { 200: { type: 'string' } },
} as const;

export const staticSchema = {
  hide: true,
  response: { 200: { type: 'string' } },
} as const;
