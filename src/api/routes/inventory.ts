// GET /api/inventory/report: the credential-hygiene report (src/inventory/report.ts) of
// the inventory in use, against what the running detector has seen: a device counts as
// seen while the core holds it (evicted devices look unseen), and credentials in use come
// from the stored inventory and credential_shared alerts (the core keeps only hashes).
// Without an inventory the route answers 404 with what to configure: an empty report
// would read as "nothing to fix".

import type { FastifyInstance } from 'fastify';
import type { AlertKind } from '../../core/layout';
import { inventoryReport, SECTIONS, Sightings } from '../../inventory/report';
import type { Inventory } from '../../inventory/model';
import type { ApiServerDeps } from '../server';

/** What the route reads the inventory from (an InventoryWatcher satisfies `watcher`). */
export interface InventoryApiSource {
  watcher: { readonly inventory: Inventory };
  rotationAgeDays: number;
}

const errorRef = { $ref: 'Error#' } as const;

const credentialRow = { deviceId: { type: 'string' }, credential: { type: 'string' } } as const;
const sharedRow = { type: 'object', properties: { credential: { type: 'string' }, deviceIds: { type: 'array', items: { type: 'string' } } } } as const;
const list = (items: object, description: string, nullable = false) => ({ type: 'array', items, description, ...(nullable && { nullable: true }) });

export const inventoryReportSchema = {
  summary: 'Credential hygiene of the inventory in use, against what the detector has seen',
  description:
    'Credentials past the rotation age, expired, enrolled for several devices, revoked but still enrolled; revoked, expired or unenrolled ' +
    'credentials in use and shared credentials (from stored alerts); devices seen but not enrolled (unknown_device alerts) and enrolled devices ' +
    'the detector does not hold (never seen, or evicted). 404 when no inventory or revocation list is configured.',
  tags: ['inventory'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      rotationAgeDays: { type: 'integer', minimum: 1, maximum: 36500, description: 'default: ROTATION_AGE_DAYS (90)' },
      limit: { type: 'integer', minimum: 1, maximum: 100000, default: 1000, description: 'longest list per section (counts stay exact)' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        now: { type: 'number', description: "the instant ages and expiry are judged at: the detector's fleet clock (ms), the wall clock before any event" },
        rotationAgeDays: { type: 'integer' },
        observed: { type: 'string', enum: ['live'] },
        totals: {
          type: 'object',
          properties: {
            devices: { type: 'integer', nullable: true, description: 'enrolled devices (null: only a revocation list is configured)' },
            credentials: { type: 'integer' },
            revoked: { type: 'integer' },
            seenDevices: { type: 'integer', nullable: true, description: 'devices the detector holds now' },
          },
        },
        counts: { type: 'object', properties: Object.fromEntries(SECTIONS.map((s) => [s, { type: 'integer', nullable: true }])) },
        pastRotation: list({ type: 'object', properties: { ...credentialRow, issuedAt: { type: 'number' }, ageDays: { type: 'integer' } } }, 'issuedAt older than rotationAgeDays'),
        expired: list({ type: 'object', properties: { ...credentialRow, expiresAt: { type: 'number' }, inUse: { type: 'boolean', nullable: true } } }, 'expiresAt passed'),
        sharedEnrolled: list(sharedRow, 'one credential enrolled for several devices'),
        sharedObserved: list(sharedRow, 'one credential seen in use by several devices (credential_shared alerts)', true),
        revokedEnrolled: list(sharedRow, 'revoked but still enrolled'),
        revokedInUse: list(sharedRow, 'revoked and in use (revoked_credential alerts)', true),
        credentialNotEnrolled: list({ type: 'object', properties: credentialRow }, 'in use by an enrolled device that does not list it', true),
        unenrolled: list(
          {
            type: 'object',
            properties: { deviceId: { type: 'string' }, firstSeen: { type: 'number', nullable: true }, lastSeen: { type: 'number', nullable: true }, messages: { type: 'integer', nullable: true } },
          },
          'seen but not enrolled (unknown_device alerts; null without a device list)',
          true,
        ),
        neverSeen: list({ type: 'object', properties: { deviceId: { type: 'string' }, credentials: { type: 'integer' } } }, 'enrolled, not held by the detector (null without a device list)', true),
      },
    },
    400: errorRef,
    401: errorRef,
    404: errorRef,
    429: errorRef,
  },
} as const;

/** Credential use the alert store knows of: the kinds whose evidence names the credential. */
const CREDENTIAL_KINDS = ['credential_shared', 'revoked_credential', 'credential_expired', 'credential_not_enrolled'] as const satisfies readonly AlertKind[];

function liveSightings(deps: Pick<ApiServerDeps, 'detector' | 'store'>): Sightings {
  const { detector, store } = deps;
  const all = (kind: AlertKind) => store.list({ kind, limit: Math.max(1, store.size) }).alerts;
  return {
    kind: 'live',
    seenCount: detector.core.stats().devices,
    seen: (id) => detector.core.findDevice(id) >= 0,
    devices: () => {
      const byId = new Map<string, { deviceId: string; firstSeen: number; lastSeen: number; messages: number }>();
      for (const a of all('unknown_device')) {
        const d = byId.get(a.deviceId);
        if (!d) byId.set(a.deviceId, { deviceId: a.deviceId, firstSeen: a.firstSeen, lastSeen: a.lastSeen, messages: a.count });
        else {
          d.firstSeen = Math.min(d.firstSeen, a.firstSeen);
          d.lastSeen = Math.max(d.lastSeen, a.lastSeen);
          d.messages += a.count;
        }
      }
      return byId.values();
    },
    credentialUse: () => {
      const use = new Map<string, Set<string>>();
      const add = (credential: unknown, deviceId: unknown) => {
        if (typeof credential !== 'string' || typeof deviceId !== 'string') return;
        let s = use.get(credential);
        if (!s) use.set(credential, (s = new Set()));
        s.add(deviceId);
      };
      for (const kind of CREDENTIAL_KINDS) {
        for (const a of all(kind)) {
          const ev = a.evidence as { expected?: { credentialOwner?: unknown }; observed?: { credential?: unknown } };
          add(ev.observed?.credential, a.deviceId);
          if (kind === 'credential_shared') add(ev.observed?.credential, ev.expected?.credentialOwner);
        }
      }
      return use;
    },
  };
}

export function registerInventoryRoutes(api: FastifyInstance, deps: ApiServerDeps, security: Record<string, string[]>[]): void {
  api.get<{ Querystring: { rotationAgeDays?: number; limit: number } }>('/api/inventory/report', { schema: { ...inventoryReportSchema, security } }, async (request, reply) => {
    const source = deps.inventory;
    if (!source) {
      return reply.code(404).send({
        statusCode: 404,
        error: 'Not Found',
        message: 'no inventory is configured: start the detector with --inventory <file> (INVENTORY_FILE) and/or --revoked <file> (REVOKED_FILE)',
      });
    }
    const clock = deps.detector.core.stats().clock;
    const report = inventoryReport(source.watcher.inventory, liveSightings(deps), {
      now: clock >= 0 ? clock : Date.now(),
      rotationAgeDays: request.query.rotationAgeDays ?? source.rotationAgeDays,
      limit: request.query.limit,
    });
    return report;
  });
}
