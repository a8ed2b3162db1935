// The SOC-facing HTTP API (DESIGN.md §7) over Fastify: alerts, verdicts, device views
// and a live stream under /api (API keys, rate limits), Prometheus metrics, health and
// readiness, the OpenAPI document at /docs, and the dashboard at /.
//
// Handlers only read the alert store and the core between batches: the detector is
// single-threaded and scores a batch in one synchronous call, so the event loop runs a
// request either before or after a batch, never in the middle of one.

import Fastify, { FastifyError, FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { AlertStore } from '../alerts/store';
import type { Core } from '../core/core';
import type { Health } from '../health';
import type { Metrics } from '../metrics';
import { matchKey, presentedKey } from './auth';
import type { DeviceHistory } from './history';
import { ApiOptions, resolveApiOptions } from './options';
import { alertSchema, errorSchema } from './schemas';
import { StreamHub } from './stream';
import { registerAlertRoutes } from './routes/alerts';
import { registerOpsRoutes } from './routes/ops';
import { registerDashboard } from './routes/dashboard';
import { InventoryApiSource, registerInventoryRoutes } from './routes/inventory';

declare module 'fastify' {
  interface FastifyRequest {
    /** Label of the API key the request presented (undefined: none or a wrong one). */
    apiKeyLabel: string | undefined;
  }
}

/** What the API reads from the detector (a Detector satisfies it). */
export interface DetectorView {
  core: Pick<Core, 'findDevice' | 'describe' | 'stats'>;
}

export interface ApiServerDeps {
  detector: DetectorView;
  store: AlertStore;
  metrics: Metrics;
  health: Health;
  /** Scores and metric values of watched devices, and metric names (device view). */
  history?: DeviceHistory;
  /** The inventory in use, for /api/inventory/report (absent: the route answers 404). */
  inventory?: InventoryApiSource;
  /** Telemetry partitions this instance owns (absent or undefined: not consuming Kafka). */
  partitions?: () => number[] | undefined;
  options?: Partial<ApiOptions>;
}

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly options: ApiOptions;
  readonly hub: StreamHub;
  /** Start listening; resolves to the base URL (http://host:port). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Log paths that could carry a key; the default serializers log none of them, this is a second lock. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'request.headers.authorization',
  'request.headers["x-api-key"]',
];

export function createApiServer(deps: ApiServerDeps): ApiServer {
  const options = resolveApiOptions(deps.options ?? {});
  const { store, metrics } = deps;
  const app = Fastify({
    logger:
      options.logLevel === false
        ? false
        : { level: options.logLevel, stream: options.logStream, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    bodyLimit: options.bodyLimit,
    // unknown query fields are errors (a misspelt filter must not silently match everything)
    ajv: { customOptions: { removeAdditional: false } },
    forceCloseConnections: true,
  });
  app.decorateRequest('apiKeyLabel', undefined);

  const hub = new StreamHub(store, {
    maxClients: options.maxStreamClients,
    heartbeatMs: options.heartbeatMs,
    bufferBytes: options.streamBufferBytes,
    slowMs: options.streamSlowMs,
    onClients: (n) => metrics.streamClients.set(n),
  });
  metrics.storedAlerts.set(store.size);
  store.subscribe(() => metrics.storedAlerts.set(store.size));

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation && err.validation.length > 0) {
      const { field, message } = describeValidation(err);
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message, field });
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send({ statusCode: status, error: 'Internal Server Error', message: 'internal error (see the server log)' });
    }
    return reply.code(status).send({ statusCode: status, error: httpError(status), message: err.message });
  });

  app.addSchema(errorSchema);
  app.addSchema(alertSchema);

  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'edge-sentinel API',
        description: 'Alerts, verdicts, device state and a live alert stream from the edge-sentinel IoT telemetry detector.',
        version: '0.1.0',
      },
      tags: [
        { name: 'alerts', description: 'Alerts and analyst verdicts (API key required when keys are configured)' },
        { name: 'devices', description: 'What the detector knows about a device' },
        { name: 'inventory', description: 'The device inventory against what the detector sees (API key required when keys are configured)' },
        { name: 'operations', description: 'Metrics, liveness, readiness' },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });

  // /api: key check, rate limit per key, then the routes
  app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      request.apiKeyLabel = matchKey(options.keys, presentedKey(request.headers));
    });
    await api.register(rateLimit, {
      max: options.rateLimit,
      timeWindow: options.rateWindowMs,
      keyGenerator: (request) => (request.apiKeyLabel !== undefined ? `key:${request.apiKeyLabel}` : `ip:${request.ip}`),
      errorResponseBuilder: (_request, ctx) => {
        const err = new Error(`rate limit exceeded, retry in ${ctx.after}`) as Error & { statusCode: number };
        err.statusCode = ctx.statusCode;
        return err;
      },
    });
    // after the rate limit (onRequest), before anything reads the request
    api.addHook('preParsing', async (request, reply, payload) => {
      if (options.keys.length > 0 && request.apiKeyLabel === undefined) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ statusCode: 401, error: 'Unauthorized' });
      }
      return payload;
    });
    registerAlertRoutes(api, { ...deps, hub, secured: options.keys.length > 0 });
    registerInventoryRoutes(api, deps, options.keys.length > 0 ? [{ apiKey: [] }, { bearer: [] }] : []);
  });

  // in a plugin, so that @fastify/swagger (loaded by then) sees the routes
  app.register(async (ops) => {
    registerOpsRoutes(ops, deps);
    registerDashboard(ops);
  });
  app.addHook('preClose', async () => hub.close());

  return {
    app,
    options,
    hub,
    async listen() {
      return app.listen({ host: options.host, port: options.port });
    },
    async close() {
      await app.close();
    },
  };
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** "querystring.limit must be <= 1000", field "limit". */
export function describeValidation(err: FastifyError): { field: string; message: string } {
  const e = err.validation![0] as unknown as AjvError;
  const where = err.validationContext ?? 'request';
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') {
    const field = path ? `${path}.${e.params.missingProperty}` : String(e.params.missingProperty);
    return { field, message: `${where}.${field} is required` };
  }
  if (e.keyword === 'additionalProperties') {
    const field = path ? `${path}.${e.params.additionalProperty}` : String(e.params.additionalProperty);
    return { field, message: `${where}.${field} is not a known field` };
  }
  const field = path || where;
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) message = `must be one of ${e.params.allowedValues.join(', ')}`;
  return { field, message: path ? `${where}.${field} ${message}` : `${where} ${message}` };
}

function httpError(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 503: 'Service Unavailable' }[
      status
    ] ?? 'Error'
  );
}
