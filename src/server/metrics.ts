import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Ledger } from '../ledger/index.js';

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
  /** Gateway calls served without their ledger event (fail-open endpoints while the ledger was unavailable). */
  readonly unrecorded = new Counter({
    name: 'warden_gateway_unrecorded_calls_total',
    help: 'Gateway calls served without a ledger event because the ledger was unavailable and the endpoint fails open, by endpoint',
    labelNames: ['endpoint'] as const,
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
  // Labelled children by endpoint and status, so a call costs no label lookup.
  readonly #callSeries = new Map<
    string,
    { requests: { inc(): void }; seconds: { observe(v: number): void } }
  >();

  /** The gateway's per-call observations, as metrics. */
  readonly gateway = {
    call: (endpoint: { project: string; name: string }, status: number, seconds: number): void => {
      const key = `${endpoint.project}/${endpoint.name}\u0000${status}`;
      let series = this.#callSeries.get(key);
      if (series === undefined) {
        const label = `${endpoint.project}/${endpoint.name}`;
        series = {
          requests: this.gatewayRequests.labels(label, String(status)),
          seconds: this.gatewaySeconds.labels(label),
        };
        if (this.#callSeries.size > 10_000) this.#callSeries.clear();
        this.#callSeries.set(key, series);
      }
      series.requests.inc();
      series.seconds.observe(seconds);
    },
    rateLimited: (scope: 'principal' | 'endpoint'): void => {
      this.rateLimited.inc({ scope });
    },
    unrecorded: (endpoint: { project: string; name: string }): void => {
      this.unrecorded.inc({ endpoint: `${endpoint.project}/${endpoint.name}` });
    },
  };

  /** Ledger size and integration lag, read from the ledger's public API at each scrape. */
  watchLedger(ledger: Pick<Ledger, 'info' | 'backlog'>): void {
    new Gauge({
      name: 'warden_ledger_size',
      help: 'Entries in the ledger under its latest signed checkpoint',
      registers: [this.registry],
      async collect() {
        this.set((await ledger.info()).size);
      },
    });
    new Gauge({
      name: 'warden_ledger_pending_events',
      help: 'Events recorded but not yet integrated into the Merkle tree',
      registers: [this.registry],
      async collect() {
        this.set((await ledger.backlog()).events);
      },
    });
    new Gauge({
      name: 'warden_ledger_integration_lag_seconds',
      help: 'Age of the oldest event not yet integrated (0 when none is waiting)',
      registers: [this.registry],
      async collect() {
        const { oldestMs } = await ledger.backlog();
        this.set(oldestMs === undefined ? 0 : Math.max(0, Date.now() - oldestMs) / 1000);
      },
    });
  }

  /** Observes a refusal caused by a revocation at `revokedAt`, once per revoked subject. */
  observeRevocation(subject: string, revokedAt: number, now: number): void {
    if (this.#seen.has(subject)) return;
    if (this.#seen.size > 100_000) this.#seen.clear();
    this.#seen.add(subject);
    this.revocationSeconds.observe(Math.max(0, now - revokedAt) / 1000);
  }
}
