import { Counter, Histogram, Registry } from 'prom-client';

/** Warden's Prometheus metrics, in a registry of their own (served at /metrics). */
export class Metrics {
  readonly registry = new Registry();
  /** Decisions by outcome. */
  readonly decisions = new Counter({
    name: 'warden_decisions_total',
    help: 'Authorization decisions',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  /** Failed authentications by reason. */
  readonly authFailures = new Counter({
    name: 'warden_auth_failures_total',
    help: 'Failed authentications',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** Seconds from a deactivation or revocation to the first request it refused (per replica). */
  readonly revocationSeconds = new Histogram({
    name: 'warden_revocation_seconds',
    help: 'Time from deactivating a principal (e.g. by SCIM) or revoking a credential to the first request refused because of it',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  /** Gateway calls by endpoint and status. */
  readonly gatewayRequests = new Counter({
    name: 'warden_gateway_requests_total',
    help: 'Gateway calls answered, by endpoint (project/name) and status',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  /** Gateway latency (Warden plus upstream) by endpoint. */
  readonly gatewaySeconds = new Histogram({
    name: 'warden_gateway_request_seconds',
    help: 'Time from a gateway call arriving to its response ending, by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** Gateway calls refused by a rate limit. */
  readonly rateLimited = new Counter({
    name: 'warden_gateway_rate_limited_total',
    help: 'Gateway calls refused by a rate limit, by scope (principal or endpoint)',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  /** Alerts raised by the misuse detectors, by kind and severity. */
  readonly alerts = new Counter({
    name: 'warden_alerts_total',
    help: 'Alerts raised by the misuse detectors, by kind and severity',
    labelNames: ['kind', 'severity'] as const,
    registers: [this.registry],
  });
  readonly #seen = new Set<string>();

  /** The gateway's per-call observations, as metrics. */
  readonly gateway = {
    call: (endpoint: { project: string; name: string }, status: number, seconds: number): void => {
      const label = `${endpoint.project}/${endpoint.name}`;
      this.gatewayRequests.inc({ endpoint: label, status: String(status) });
      this.gatewaySeconds.observe({ endpoint: label }, seconds);
    },
    rateLimited: (scope: 'principal' | 'endpoint'): void => {
      this.rateLimited.inc({ scope });
    },
  };

  /** Observes a refusal caused by a revocation at `revokedAt`, once per revoked subject. */
  observeRevocation(subject: string, revokedAt: number, now: number): void {
    if (this.#seen.has(subject)) return;
    if (this.#seen.size > 100_000) this.#seen.clear();
    this.#seen.add(subject);
    this.revocationSeconds.observe(Math.max(0, now - revokedAt) / 1000);
  }
}
