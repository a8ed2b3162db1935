// Security of the API: keys on /api/* and the stream (401 without detail), open
// operations routes, refusing a non-loopback address without keys, key files and
// labels, rate limiting per key (429), and no key in the logs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertStore } from '../../src/alerts/store';
import { ApiConfigError, apiOptionsFromEnv, isLoopback, parseApiKeys } from '../../src/api/options';
import { createApiServer } from '../../src/api/server';
import { Health } from '../../src/health';
import { Metrics } from '../../src/metrics';
import { captureLog, fakeAlert, Harness, request, SseClient, startHarness } from './support';

const KEY_A = 'ka-5f1d0c9e7b3a46e2a1d8';
const KEY_B = 'kb-0e4b77c1d2f9a8b6c5e3';
const WRONG = 'kx-00000000000000000000';

describe('with API keys', () => {
  let h: Harness;
  const log = captureLog();

  before(async () => {
    h = await startHarness({ api: { keys: parseApiKeys(`soc-a:${KEY_A},${KEY_B}`, undefined), rateLimit: 8, logLevel: 'trace', logStream: log.stream } });
    for (let i = 0; i < 5; i++) h.store.listener({ type: 'raised', alert: fakeAlert(i) });
  });
  after(() => h.close());

  test('no key or a wrong key: 401 with no detail, the same for both', async () => {
    const none = await request(`${h.url}/api/alerts`);
    const wrong = await request(`${h.url}/api/alerts`, { headers: { 'x-api-key': WRONG } });
    const wrongBearer = await request(`${h.url}/api/alerts/a00001`, { headers: { authorization: `Bearer ${WRONG}` } });
    for (const r of [none, wrong, wrongBearer]) {
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, { statusCode: 401, error: 'Unauthorized' });
      assert.equal(r.headers['www-authenticate'], 'Bearer');
    }
    // a 401 comes before validation: nothing is said about the request either
    const invalid = await request(`${h.url}/api/alerts?limit=99999`, { headers: { 'x-api-key': WRONG } });
    assert.equal(invalid.status, 401);
    const post = await request(`${h.url}/api/alerts/a00001/verdict`, { method: 'POST', body: { verdict: 'benign' } });
    assert.equal(post.status, 401);
    assert.equal(h.store.get('a00001')!.verdict, null);
    const stream = await SseClient.connect(`${h.url}/api/stream`);
    assert.equal(stream.status, 401);
    stream.close();
  });

  test('the right key, as X-API-Key or Bearer: served, and named in verdicts', async () => {
    const a = await request(`${h.url}/api/alerts`, { headers: { 'x-api-key': KEY_A } });
    assert.equal(a.status, 200);
    assert.equal(a.body.alerts.length, 5);
    const b = await request(`${h.url}/api/alerts/a00002`, { headers: { authorization: `Bearer ${KEY_B}` } });
    assert.equal(b.status, 200);
    const v = await request(`${h.url}/api/alerts/a00003/verdict`, { method: 'POST', headers: { 'x-api-key': KEY_A }, body: { verdict: 'true_positive' } });
    assert.equal(v.status, 200);
    assert.equal(v.body.verdict.by, 'soc-a', "the key's label");
    const s = await SseClient.connect(`${h.url}/api/stream`, { 'x-api-key': KEY_B });
    assert.equal(s.status, 200);
    s.close();
  });

  test('operations routes, docs and the dashboard need no key', async () => {
    for (const p of ['/metrics', '/healthz', '/readyz', '/', '/docs/json']) assert.equal((await request(`${h.url}${p}`)).status, 200, p);
    const doc = (await request(`${h.url}/docs/json`)).body;
    assert.ok(doc.components.securitySchemes.apiKey);
    assert.deepEqual(doc.paths['/api/alerts'].get.security, [{ apiKey: [] }, { bearer: [] }]);
  });

  test('rate limit per key: 429 past the limit for that key only', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push((await request(`${h.url}/api/alerts/a00001`, { headers: { authorization: `Bearer ${KEY_B}` } })).status);
    assert.ok(codes.includes(429), `codes ${codes}`);
    const limited = await request(`${h.url}/api/alerts/a00001`, { headers: { authorization: `Bearer ${KEY_B}` } });
    assert.equal(limited.status, 429);
    assert.match(limited.body.message, /rate limit/);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // unauthenticated guessing is limited too (per address)
    const guesses: number[] = [];
    for (let i = 0; i < 10; i++) guesses.push((await request(`${h.url}/api/alerts`, { headers: { 'x-api-key': `${WRONG}${i}` } })).status);
    assert.equal(guesses.at(-1), 429);
    // the first key has its own budget (it used 2 requests + 1 verdict + 1 stream above)
    assert.equal((await request(`${h.url}/api/alerts`, { headers: { 'x-api-key': KEY_A } })).status, 200);
  });

  test('no key appears in the logs', async () => {
    await request(`${h.url}/api/alerts?deviceId=d-1`, { headers: { 'x-api-key': KEY_A } });
    await request(`${h.url}/api/alerts`, { headers: { authorization: `Bearer ${WRONG}` } });
    await request(`${h.url}/api/alerts/a00004/verdict`, { method: 'POST', headers: { 'x-api-key': KEY_A }, body: { verdict: 'benign' } });
    const text = log.lines.join('\n');
    assert.ok(log.lines.length > 20, 'requests are logged');
    assert.match(text, /"url":"\/api\/alerts\?deviceId=d-1"/);
    assert.match(text, /"statusCode":401/);
    assert.match(text, /"by":"soc-a"/);
    for (const secret of [KEY_A, KEY_B, WRONG]) assert.ok(!text.includes(secret), 'a key was logged');
  });
});

describe('settings', () => {
  const deps = () => ({ detector: { core: { findDevice: () => -1, describe: () => undefined, stats: () => ({}) as never } }, store: new AlertStore(), metrics: new Metrics({ processMetrics: false }), health: new Health() });

  test('refuses a non-loopback address without keys, with a clear error', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'edge-01.example']) {
      assert.throws(() => createApiServer({ ...deps(), options: { host, logLevel: false } }), (err: Error) => {
        assert.ok(err instanceof ApiConfigError);
        assert.match(err.message, new RegExp(`refusing to serve the API on ${host.replace(/\./g, '\\.')} without API keys.*API_KEYS`));
        return true;
      });
    }
    const withKeys = createApiServer({ ...deps(), options: { host: '0.0.0.0', keys: parseApiKeys(KEY_A, undefined), logLevel: false } });
    assert.equal(withKeys.options.host, '0.0.0.0');
    void withKeys.close();
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]']) assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '192.168.1.1', '128.0.0.1', 'example.com']) assert.ok(!isLoopback(host), host);
  });

  test('keys from API_KEYS and a file; labels; short keys refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'es-keys-'));
    try {
      const file = join(dir, 'keys');
      writeFileSync(file, `# SOC keys\nsoc-b:${KEY_B}\n\n${KEY_A}\n${WRONG}\n`);
      const keys = parseApiKeys(`soc-a:${KEY_A}`, file);
      assert.deepEqual(keys.map((k) => k.label), ['soc-a', 'soc-b', 'key3'], 'a key listed twice counts once');
      assert.ok(keys.every((k) => k.digest.length === 32));
      assert.throws(() => parseApiKeys('short', undefined), /API_KEYS entry 1: an API key must be at least 16 characters/);
      assert.throws(() => parseApiKeys(`a:${KEY_A},a:${KEY_B}`, undefined), /label "a" is used twice/);
      assert.throws(() => parseApiKeys(undefined, join(dir, 'missing')), /cannot read the API keys file .*missing: ENOENT/);
      const o = apiOptionsFromEnv({ API_HOST: '0.0.0.0', API_PORT: '9090', API_KEYS: KEY_A, API_KEYS_FILE: file }, { port: 0 });
      assert.equal(o.host, '0.0.0.0');
      assert.equal(o.port, 0, 'flags win over the environment');
      assert.equal(o.keys!.length, 3);
      assert.throws(() => apiOptionsFromEnv({ API_PORT: 'http' }), /API_PORT must be a whole number between 0 and 65535, got "http"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
