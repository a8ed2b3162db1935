// `edge-sentinel start` serves the API while the embedded fleet runs and, with
// --keep-running, after it has ended, until SIGTERM. The built CLI in a child process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { request } from './support';

const BIN = join(__dirname, '..', '..', 'bin', 'edge-sentinel.js');

test('start --keep-running: the fleet’s alerts over HTTP, readiness degraded once it ends, clean stop on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [BIN, 'start', '--devices', '60', '--hours', '3', '--speed', 'max', '--api-port', '0', '--keep-running'], {
    env: { ...process.env, API_KEYS: '', API_HOST: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no API line within 20 s:\n${out}\n${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /dashboard on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m && /still serving the API/.test(out)) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`start exited (${code}) early:\n${out}\n${err}`)));
  });
  const alerts = await request(`${url}/api/alerts?limit=1000`);
  assert.equal(alerts.status, 200);
  const summary = /(\d+) alerts \(/.exec(out.split('\n').find((l) => l.includes('done after'))!)!;
  assert.equal(alerts.body.alerts.length, Number(summary[1]), 'every alert the run raised is served');
  assert.ok(alerts.body.alerts.every((a: { status: string }) => a.status === 'closed'), 'closed at the end of the fleet');
  const ready = await request(`${url}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(ready.body.components.fleet.reason, /ended/);
  assert.match((await request(`${url}/metrics`)).text, /^edge_sentinel_events_total [1-9]\d*$/m);
  assert.equal((await request(`${url}/`)).status, 200);
  child.kill('SIGTERM');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
});
