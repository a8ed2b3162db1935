// The feeder of bench:pipeline's latency run, in a process of its own so that producing
// does not take the event loop (or the CPU accounting) of the pipeline being measured:
// the bench fleet's messages sent at a fixed rate, one producer request every linger
// period with everything due by then. The parent says when to hold back (the pipeline
// lags too far for the broker's bounded log) and when to stop; the feeder reports what
// it sent.
//
//   (forked by bench/pipeline.ts) argv: brokers topic rate lingerMs messages

import { Kafka, logLevel } from 'kafkajs';
import { createFleet } from '../src/ingest/simulator';

const [brokers, topic, rateArg, lingerArg, countArg] = process.argv.slice(2);
const RATE = Number(rateArg);
const LINGER_MS = Number(lingerArg);
const COUNT = Number(countArg);
const send = (m: object) => process.send?.(m);

async function main() {
  const fleet = createFleet({ devices: 2000, hours: 48, seed: 'bench-pipeline', arrivalField: true });
  const all: { key: string; value: Buffer }[] = [];
  for (let ev = fleet.next(); ev && all.length < COUNT; ev = fleet.next()) all.push({ key: ev.deviceId, value: Buffer.from(ev.line) });
  const kafka = new Kafka({ clientId: 'bench-feed', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ retry: { retries: 3 } });
  await producer.connect();
  let hold = false;
  let stop = false;
  process.on('message', (m: { hold?: boolean; stop?: boolean }) => {
    if (m.hold !== undefined) hold = m.hold;
    if (m.stop) stop = true;
  });
  send({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve())); // "go"
  const t0 = Date.now();
  let sent = 0;
  let heldMs = 0;
  /** schedule time the feeder dropped because it could not send fast enough */
  let behindMs = 0;
  let requests = 0;
  let next = t0;
  const perRequest = Math.ceil((RATE * LINGER_MS) / 1000);
  let holdingSince = -1;
  while (!stop) {
    // one request per linger period (later when a request took longer than that)
    next = Math.max(next + LINGER_MS, Date.now());
    await new Promise((res) => setTimeout(res, next - Date.now()));
    if (hold) {
      if (holdingSince < 0) holdingSince = Date.now();
      continue;
    }
    if (holdingSince >= 0) {
      heldMs += Date.now() - holdingSince;
      holdingSince = -1;
    }
    const due = Math.floor(((Date.now() - t0 - heldMs) / 1000) * RATE);
    // at most two linger periods' worth a request: a feeder that fell behind its schedule
    // (its own CPU, on shared cores) drops the debt instead of sending it in one burst
    // (the achieved rate says so)
    const n = Math.min(due - sent, 2 * perRequest);
    if (due - sent > n) {
      const debt = ((due - sent - n) / RATE) * 1000;
      behindMs += debt;
      heldMs += debt;
    }
    if (n <= 0) continue;
    const messages = Array.from({ length: n }, (_, i) => all[(sent + i) % all.length]);
    await producer.send({ topic, messages });
    requests++;
    sent += n;
    send({ sent });
  }
  if (holdingSince >= 0) heldMs += Date.now() - holdingSince;
  await producer.disconnect();
  const c = process.cpuUsage();
  send({ done: true, sent, heldMs: heldMs - behindMs, behindMs, requests, seconds: (Date.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 });
}

main().catch((e) => {
  process.stderr.write(`bench feeder: ${(e as Error).stack}\n`);
  process.exit(1);
});
