// Alerts on the alert topic are shaped as OCSF 1.1 Detection Findings (class 2004), so
// SIEMs that speak OCSF take them as they are; the edge-sentinel alert itself travels in
// `unmapped` for consumers that want every field.

import type { Alert, Severity } from './alert';

const SEVERITY_ID: Record<Severity, number> = { low: 2, medium: 3, high: 4 };
const ACTIVITY = { raised: 1, updated: 2, closed: 3 } as const; // Create, Update, Close

export interface OcsfDetectionFinding {
  class_uid: 2004;
  class_name: 'Detection Finding';
  category_uid: 2;
  category_name: 'Findings';
  activity_id: number;
  type_uid: number;
  severity_id: number;
  severity: string;
  time: number;
  status_id: number;
  confidence_score: number;
  message: string;
  finding_info: {
    uid: string;
    title: string;
    desc: string;
    types: string[];
    created_time: number;
    first_seen_time: number;
    last_seen_time: number;
  };
  device: { uid: string; name: string };
  evidences: { data: unknown }[];
  metadata: { version: string; product: { name: string; vendor_name: string; version: string } };
  unmapped: Alert;
}

export function toOcsf(a: Alert, activity: keyof typeof ACTIVITY, version: string): OcsfDetectionFinding {
  const activityId = ACTIVITY[activity];
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activityId,
    type_uid: 2004 * 100 + activityId,
    severity_id: SEVERITY_ID[a.severity],
    severity: a.severity[0].toUpperCase() + a.severity.slice(1),
    time: a.lastSeen,
    status_id: activity === 'closed' ? 4 : 1, // New / Resolved
    confidence_score: Math.round(a.score * 100),
    message: a.summary,
    finding_info: {
      uid: a.id,
      title: `${a.kind.replace(/_/g, ' ')} on ${a.deviceId}`,
      desc: a.summary,
      types: [a.kind],
      created_time: a.detectedAt,
      first_seen_time: a.firstSeen,
      last_seen_time: a.lastSeen,
    },
    device: { uid: a.deviceId, name: a.deviceId },
    evidences: [{ data: a.evidence }],
    metadata: { version: '1.1.0', product: { name: 'edge-sentinel', vendor_name: 'edge-sentinel', version } },
    unmapped: a,
  };
}
