// Readiness of the parts a detector depends on. Each component ('kafka', 'influx', the
// embedded fleet…) registers itself and reports ok / degraded / down with a reason;
// the process is ready only when every registered component is ok. Liveness (/healthz)
// does not depend on them: a live process with Kafka down is alive and not ready.

export type ComponentStatus = 'ok' | 'degraded' | 'down';
export const COMPONENT_STATUSES: readonly ComponentStatus[] = ['ok', 'degraded', 'down'];

export interface ComponentHealth {
  status: ComponentStatus;
  /** Why it is not ok (or a note when it is). */
  reason: string | null;
  /** Wall time (ms) of the last status change. */
  since: number;
}

export interface HealthReport {
  /** The worst status of any component ('ok' with none registered). */
  status: ComponentStatus;
  ready: boolean;
  components: Record<string, ComponentHealth>;
}

const RANK: Record<ComponentStatus, number> = { ok: 0, degraded: 1, down: 2 };

export class Health {
  private readonly components = new Map<string, ComponentHealth>();
  readonly startedAt = Date.now();

  constructor(private readonly now: () => number = Date.now) {}

  /** Add a component; it starts `down` (not yet connected) unless told otherwise. */
  register(name: string, status: ComponentStatus = 'down', reason: string | null = status === 'ok' ? null : 'starting'): void {
    this.components.set(name, { status, reason, since: this.now() });
  }

  /** Report a component's status (registers it if needed). */
  set(name: string, status: ComponentStatus, reason: string | null = null): void {
    const c = this.components.get(name);
    if (c && c.status === status && c.reason === reason) return;
    this.components.set(name, { status, reason, since: c && c.status === status ? c.since : this.now() });
  }

  ok(name: string, reason: string | null = null): void {
    this.set(name, 'ok', reason);
  }

  degraded(name: string, reason: string): void {
    this.set(name, 'degraded', reason);
  }

  down(name: string, reason: string): void {
    this.set(name, 'down', reason);
  }

  unregister(name: string): void {
    this.components.delete(name);
  }

  report(): HealthReport {
    let worst: ComponentStatus = 'ok';
    const components: Record<string, ComponentHealth> = {};
    for (const [name, c] of this.components) {
      components[name] = { ...c };
      if (RANK[c.status] > RANK[worst]) worst = c.status;
    }
    return { status: worst, ready: worst === 'ok', components };
  }
}
