// Credential claims between the instances of one consumer group. Telemetry partitions
// are keyed by device id, so a credential used by two device ids may be scored by two
// instances, and neither would see it shared. Each instance tells the others which of
// its devices hold which credential (and, once per refresh period of arrival time, that
// they still do) on a compacted topic (`<topic>.credentials`, key `<credential>/<owner>`,
// both 64-bit hashes in hex); every instance reads the whole topic and gives the claims
// of the others to its core between batches (Core.importClaim). A device presenting a
// credential whose holder another instance saw within the sharing window is then
// credential_shared, as on a single instance.
//
// What it costs: one small message per credential holder per refresh period (5 min of
// arrival time by default); what it cannot promise: an instance that runs far behind the
// others in fleet time tells them late, so a claim may arrive after the thief's first
// message has been scored (the thief is then caught on its next credential check, i.e.
// a new device id or a credential change, or not at all).

import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Core, CredentialClaim } from '../core/core';
import { Reason, V } from '../core/layout';
import { hashOut, hashString } from '../core/reference/hash';
import type { OutMessage } from '../pipeline';
import { ensureCompactedTopic } from './topics';

/** Claim refresh period (ms of arrival time) when the exchange is on. */
export const CLAIM_REFRESH_MS = 300_000;
/** Claims waiting for the next batch, at most (older ones are dropped and counted). */
const MAX_PENDING = 100_000;
/** Owners remembered for explanations (credential → device id), at most. */
const MAX_OWNERS = 100_000;

export interface ClaimsLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface ClaimTotals {
  published: number;
  received: number;
  taken: number;
  kept: number;
  dropped: number;
  malformed: number;
}

const hex = (hi: number, lo: number): string => (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');

function unhex(s: string): [number, number] | undefined {
  if (!/^[0-9a-f]{16}$/.test(s)) return undefined;
  return [Number.parseInt(s.slice(0, 8), 16), Number.parseInt(s.slice(8), 16)];
}

export class ClaimExchange {
  /** Identifies this process's claims, so that it skips its own when they come back. */
  readonly instance = randomUUID();
  readonly totals: ClaimTotals = { published: 0, received: 0, taken: 0, kept: 0, dropped: 0, malformed: 0 };
  private readonly pending = new Map<string, CredentialClaim>();
  private readonly owners = new Map<string, string>();
  private consumer?: Consumer;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    private readonly groupId: string,
    private readonly log: ClaimsLog,
  ) {}

  /** Follow the claims topic from its start (every instance reads all of it). */
  async start(producer: Producer): Promise<void> {
    await ensureCompactedTopic(this.kafka, producer, this.topic, this.log);
    // a group of its own, never committed: each start reads the compacted topic again
    const consumer = this.kafka.consumer({ groupId: `${this.groupId}.claims.${this.instance}`, maxWaitTimeInMs: 500 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) this.receive(m.key?.toString() ?? '', m.value);
      },
    });
    this.log.info(`credential claims: following ${this.topic} (instance ${this.instance.slice(0, 8)})`);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /** One message of the claims topic; another instance's claim waits for the next batch. */
  receive(key: string, value: Buffer | null | undefined): void {
    if (!value) return; // a tombstone (or the probe that created the topic)
    const [credHex, ownerHex] = key.split('/');
    const cred = unhex(credHex ?? '');
    const owner = unhex(ownerHex ?? '');
    let body: { deviceId?: unknown; seen?: unknown; instance?: unknown } | undefined;
    try {
      body = JSON.parse(value.toString()) as typeof body;
    } catch {
      body = undefined;
    }
    if (!cred || !owner || !body || typeof body.seen !== 'number' || !Number.isFinite(body.seen) || typeof body.deviceId !== 'string') {
      this.totals.malformed++;
      return;
    }
    if (body.instance === this.instance) return;
    this.totals.received++;
    if (this.pending.size >= MAX_PENDING && !this.pending.has(key)) {
      this.pending.delete(this.pending.keys().next().value as string);
      this.totals.dropped++;
    }
    this.pending.set(key, { credHi: cred[0], credLo: cred[1], ownerHi: owner[0], ownerLo: owner[1], seen: body.seen });
    this.owners.delete(credHex);
    this.owners.set(credHex, body.deviceId);
    if (this.owners.size > MAX_OWNERS) this.owners.delete(this.owners.keys().next().value as string);
  }

  /** Give the claims received since the last batch to the core (before it scores the next). */
  apply(core: Core): void {
    for (const claim of this.pending.values()) {
      if (core.importClaim(claim)) this.totals.taken++;
      else this.totals.kept++;
    }
    this.pending.clear();
  }

  /** The claims a scored batch makes (CLAIM verdicts), as messages for the claims topic. */
  collect(core: Core, verdicts: number): OutMessage[] {
    const v = core.verdicts;
    const out = new Map<string, OutMessage>();
    for (let k = 0; k < verdicts; k++) {
      const at = k * V.SIZE;
      if ((v.getUint32(at + V.REASONS, true) & Reason.CLAIM) === 0 || v.getUint32(at + V.STATUS, true) !== 0) continue;
      const slot = v.getUint32(at + V.SLOT, true);
      const c = core.claimOf(slot);
      const key = `${hex(c.credHi, c.credLo)}/${hex(c.ownerHi, c.ownerLo)}`;
      out.set(key, { key, value: JSON.stringify({ deviceId: core.deviceId(slot), seen: c.seen, instance: this.instance }) });
    }
    this.totals.published += out.size;
    return [...out.values()];
  }

  /** The device id another instance named as the holder of this credential, if any. */
  ownerOf(credential: string): string | undefined {
    hashString(credential);
    return this.owners.get(hex(hashOut.hi, hashOut.lo));
  }
}
