// The dashboard: three static files (src/api/dashboard/), read once at start. There is
// no build step for them, so they are found next to this module when running from
// src/, and in src/ from the package root when running the compiled dist/.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { staticSchema } from '../schemas';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

export function dashboardDir(): string {
  const candidates = [join(__dirname, '..', 'dashboard'), join(__dirname, '..', '..', '..', 'src', 'api', 'dashboard')];
  const dir = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!dir) throw new Error(`the dashboard files are missing (looked in ${candidates.join(' and ')})`);
  return dir;
}

export function registerDashboard(app: FastifyInstance): void {
  const dir = dashboardDir();
  const files = new Map(Object.entries(FILES).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }]));
  const serve = (name: string) => async (_request: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name)!;
    return reply
      .type(f.type)
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(f.body);
  };
  app.get('/', { schema: staticSchema }, serve('index.html'));
  app.get('/dashboard/app.js', { schema: staticSchema }, serve('app.js'));
  app.get('/dashboard/style.css', { schema: staticSchema }, serve('style.css'));
}
