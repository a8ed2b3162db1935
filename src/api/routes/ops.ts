// Operations routes, open without a key: Prometheus metrics, liveness, readiness.

import type { FastifyInstance } from 'fastify';
import type { ApiServerDeps } from '../server';
import { healthzSchema, metricsSchema, readyzSchema } from '../schemas';

export function registerOpsRoutes(app: FastifyInstance, deps: Pick<ApiServerDeps, 'metrics' | 'health'>): void {
  const { metrics, health } = deps;

  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });

  app.get('/healthz', { schema: healthzSchema }, async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }));

  app.get('/readyz', { schema: readyzSchema }, async (_request, reply) => {
    const report = health.report();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
}
