import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors, Pool } from 'undici';
import { type Clock, WardenError } from '../core/index.js';
import type { EventActor, EventDecision, EventInput, EventOutcome } from '../ledger/index.js';
import type { AuditQueue } from './audit-queue.js';
import type { GatewayEndpoint } from './endpoint-directory.js';
import { upstreamRequestHeaders } from './headers.js';
import { type BodyFacts, BufferedBody, RequestMeter, readWhole, tooLarge } from './meter.js';
import { classifyCall, modelFromOpenAiBody } from './protocol.js';
import { redactJson } from './redact.js';
import { Relay } from './relay.js';
import { ResponseMeter } from './response-meter.js';
import type { RateLimit, Take, TokenBuckets } from './token-buckets.js';

/** Deployment-wide gateway limits (endpoints may tighten them). */
export interface GatewayLimits {
  readonly principalRate: RateLimit;
  readonly maxPayloadBytes: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** One authorized call, as the HTTP layer hands it over. */
export interface GatewayCall {
  readonly endpoint: GatewayEndpoint;
  readonly actor: EventActor;
  readonly decision: EventDecision;
  readonly requestId: string;
  readonly method: string;
  /** Path and query below `/gw/{project}/{endpoint}`, starting with `/`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable | undefined;
  readonly clientIp: string;
  readonly purpose: string | undefined;
  /** The caller's response: watched for the caller going away, written once the upstream answers. */
  readonly response: ServerResponse;
  /**
   * Takes the response over from the web framework once the upstream's headers are in (the gateway
   * then writes status, headers and body itself). Until then, refusals are thrown.
   */
  takeOver(): void;
}

/** Per-call observations the gateway reports (for metrics). */
export interface GatewayObserver {
  call(endpoint: GatewayEndpoint, status: number, seconds: number): void;
  rateLimited(scope: 'principal' | 'endpoint'): void;
  /** A call served without its event (the ledger was unavailable and the endpoint fails open). */
  unrecorded(endpoint: GatewayEndpoint): void;
}

// Request bodies up to this size are kept to read the model name (OpenAI) or log redacted payloads.
const KEEP_BYTES = 1 << 20;
// Recorded as the status of a call whose caller left before the answer started (nginx's convention).
const CLIENT_CLOSED = 499;
// Bodies of declared length up to this size are read whole before the upstream call (as a buffering
// proxy does); longer or chunked ones stream through.
const READ_WHOLE_BYTES = 64 * 1024;

/**
 * The request path for model calls: rate limits, payload cap, a pooled upstream call with bodies
 * streamed both ways, and one ledger event per call written through the batched audit queue.
 */
export class Gateway {
  readonly #audit: AuditQueue;
  readonly #buckets: TokenBuckets;
  readonly #clock: Clock;
  readonly #limits: GatewayLimits;
  readonly #observer: GatewayObserver;
  readonly #pools = new Map<string, Pool>();

  constructor(deps: {
    audit: AuditQueue;
    buckets: TokenBuckets;
    clock: Clock;
    limits: GatewayLimits;
    observer: GatewayObserver;
  }) {
    this.#audit = deps.audit;
    this.#buckets = deps.buckets;
    this.#clock = deps.clock;
    this.#limits = deps.limits;
    this.#observer = deps.observer;
  }

  /**
   * Forwards one call. Resolves once the upstream's headers have been written to the caller (the body
   * follows, and the call's event is queued when it ends); refusals and failures before that reject
   * with a WardenError after their event is queued.
   */
  async forward(call: GatewayCall): Promise<void> {
    const started = this.#clock.now();
    const ep = call.endpoint;
    const settings = ep.settings;
    const health = this.#audit.health();
    // A fail-open endpoint serves while the ledger cannot take events; its calls are counted instead.
    const unrecorded = !health.accepting;
    if (unrecorded && settings.onLedgerUnavailable !== 'fail-open') {
      throw new WardenError('WARDEN_LEDGER_UNAVAILABLE', 'the audit ledger cannot record calls right now', {
        retryAfter: health.retryAfter,
      });
    }
    const record = (outcome: EventOutcome, details: Record<string, unknown>, payloadSha256?: string) => {
      const event = eventOf(
        call,
        outcome,
        { startedAt: new Date(started).toISOString(), ...details },
        payloadSha256,
      );
      if (unrecorded) this.#audit.skip(event);
      if (unrecorded || !this.#audit.push(event)) this.#observer.unrecorded(ep);
    };
    await this.#limit(
      call,
      `p\u0000${ep.id}\u0000${call.actor.id}`,
      settings.principalRateLimit ?? this.#limits.principalRate,
      'principal',
      record,
    );
    if (settings.rateLimit !== undefined)
      await this.#limit(call, `e\u0000${ep.id}`, settings.rateLimit, 'endpoint', record);

    const cap = Math.min(settings.maxPayloadBytes ?? Number.POSITIVE_INFINITY, this.#limits.maxPayloadBytes);
    const declared = Number(call.headers['content-length'] ?? 0);
    if (declared > cap) {
      record('denied', { status: 413, reason: 'payload too large', bytesIn: declared });
      throw tooLarge(cap);
    }

    const shape = classifyCall(ep.protocol, call.method, call.path);
    const keep = ep.protocol === 'openai' || settings.redactFields !== undefined ? KEEP_BYTES : 0;
    const body = await this.#body(call, declared, cap, keep, record);
    const timeout = settings.timeoutMs ?? this.#limits.timeoutMs;
    const facts = () => requestFacts(body, ep.protocol === 'openai', settings.redactFields);
    const finish = (outcome: EventOutcome, status: number, details: Record<string, unknown>) => {
      const f = facts();
      const latency = this.#clock.now() - started;
      record(
        outcome,
        {
          status,
          latencyMs: latency,
          bytesIn: body?.bytes ?? 0,
          ...details,
          ...shapeDetails(shape, f.model),
          ...(f.payload !== undefined ? { payload: f.payload } : {}),
        },
        outcome === 'denied' ? undefined : f.sha256,
      );
      this.#observer.call(ep, status, latency / 1000);
    };

    return new Promise<void>((resolve, reject) => {
      let status = 0;
      const relay = new Relay(
        call.response,
        {
          takeOver: call.takeOver,
          started: (s) => {
            status = s;
            resolve();
          },
          failed: (err) => {
            const failure = upstreamFailure(err, body, cap);
            finish(failure.status === 413 ? 'denied' : 'failed', failure.status, { reason: failure.reason });
            reject(failure.error);
          },
          ended: (how) => {
            const usage = how === 'complete' ? relay.meter?.usage() : undefined;
            // A caller that left before the answer started gets nothing; 499 as nginx logs it.
            finish(how === 'complete' ? 'succeeded' : 'failed', relay.started ? status : CLIENT_CLOSED, {
              bytesOut: relay.meter?.bytes ?? 0,
              ...(usage !== undefined ? { tokens: usage } : {}),
              ...(how !== 'complete' ? { ended: how } : {}),
            });
            if (!relay.started) resolve(); // the caller left first: the relay took the response over
          },
        },
        (contentType) => new ResponseMeter(contentType, ep.protocol === 'openai'),
      );
      this.#pool(ep.upstream).dispatch(
        {
          method: call.method as 'GET',
          path: joinPath(ep.upstream, call.path),
          headers: upstreamRequestHeaders(call.headers, {
            clientIp: call.clientIp,
            requestId: call.requestId,
            authorization: ep.upstreamAuthorization,
          }),
          body: body instanceof BufferedBody ? body.body : (body ?? null),
          headersTimeout: timeout,
          bodyTimeout: timeout,
        },
        relay,
      );
    });
  }

  /**
   * The request body: read whole when its declared length is small (cheaper than a stream, and a
   * model server gets it at once), otherwise metered as it streams through, 413 past the cap.
   */
  async #body(
    call: GatewayCall,
    declared: number,
    cap: number,
    keep: number,
    record: (outcome: EventOutcome, details: Record<string, unknown>) => void,
  ): Promise<BufferedBody | RequestMeter | undefined> {
    if (call.body === undefined) return undefined;
    if (call.headers['transfer-encoding'] === undefined && declared <= READ_WHOLE_BYTES) {
      try {
        return new BufferedBody(await readWhole(call.body, declared), keep);
      } catch (err) {
        record('failed', { status: 400, reason: 'request body incomplete', ended: 'client-aborted' });
        throw new WardenError('WARDEN_BAD_REQUEST', (err as Error).message, {
          issues: [{ field: 'body', message: 'incomplete' }],
        });
      }
    }
    const meter = new RequestMeter(cap, keep);
    pipeline(call.body, meter).catch(() => {}); // its failure surfaces through the upstream request
    return meter;
  }

  /** Closes the upstream connection pools (after the HTTP server has drained its calls). */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }

  async #limit(
    call: GatewayCall,
    key: string,
    limit: RateLimit,
    scope: 'principal' | 'endpoint',
    record: (outcome: EventOutcome, details: Record<string, unknown>) => void,
  ): Promise<void> {
    let take: Take;
    try {
      const taking = this.#buckets.take(key, limit);
      take = taking instanceof Promise ? await taking : taking;
    } catch (err) {
      // The shared counters are out of reach: refuse rather than serve unlimited (fail closed).
      const retryAfter = err instanceof WardenError ? err.retryAfter : undefined;
      record('denied', { status: 503, reason: 'rate limiter unavailable', retryAfter });
      throw err;
    }
    if (take.allowed) return;
    this.#observer.rateLimited(scope);
    record('denied', { status: 429, reason: `${scope} rate limit`, retryAfter: take.retryAfter });
    throw new WardenError(
      'WARDEN_RATE_LIMITED',
      `rate limit of ${limit.perSecond}/s (burst ${limit.burst}) per ${scope} exceeded on ${call.endpoint.project}/${call.endpoint.name}`,
      { retryAfter: take.retryAfter },
    );
  }

  #pool(upstream: URL): Pool {
    let pool = this.#pools.get(upstream.origin);
    if (pool === undefined) {
      pool = new Pool(upstream.origin, {
        connections: 256,
        connectTimeout: this.#limits.connectTimeoutMs,
        keepAliveTimeout: 30_000,
      });
      this.#pools.set(upstream.origin, pool);
    }
    return pool;
  }
}

function eventOf(
  call: GatewayCall,
  outcome: EventOutcome,
  details: Record<string, unknown>,
  payloadSha256: string | undefined,
): EventInput {
  const ep = call.endpoint;
  return {
    actor: { ...call.actor, via: 'gateway' },
    action: 'endpoint.invoke',
    resource: {
      type: 'Endpoint',
      id: ep.id,
      ...(ep.modelVersion !== undefined ? { version: ep.modelVersion } : {}),
    },
    outcome,
    decision: call.decision,
    context: {
      project: ep.project,
      environment: ep.environment,
      ...(call.purpose !== undefined ? { purpose: call.purpose } : {}),
    },
    details: { endpoint: `${ep.project}/${ep.name}`, method: call.method, ...details },
    request: { id: call.requestId, ...(payloadSha256 !== undefined ? { payloadSha256 } : {}) },
  };
}

function shapeDetails(shape: ReturnType<typeof classifyCall>, bodyModel: string | undefined) {
  const model = shape.model ?? bodyModel;
  return {
    operation: shape.operation,
    ...(model !== undefined ? { model } : {}),
    ...(shape.modelVersion !== undefined ? { modelVersion: shape.modelVersion } : {}),
  };
}

/** The request body's digest, model name and redacted copy, once it has been read. */
function requestFacts(
  body: BodyFacts | undefined,
  openai: boolean,
  redactFields: readonly string[] | undefined,
): { sha256: string | undefined; model: string | undefined; payload: unknown } {
  if (body === undefined) return { sha256: undefined, model: undefined, payload: undefined };
  const kept = body.kept();
  let json: unknown;
  if (kept !== undefined && (openai || redactFields !== undefined)) {
    try {
      json = JSON.parse(kept.toString('utf8'));
    } catch {
      json = undefined;
    }
  }
  const payload =
    redactFields === undefined
      ? undefined
      : json !== undefined
        ? redactJson(json, redactFields)
        : { omitted: kept === undefined ? 'larger than 1 MiB' : 'not JSON' };
  return { sha256: body.digest(), model: openai ? modelFromOpenAiBody(json) : undefined, payload };
}

function upstreamFailure(
  err: unknown,
  body: BodyFacts | undefined,
  cap: number,
): { status: number; reason: string; error: WardenError } {
  if (body !== undefined && body.bytes > cap) {
    return { status: 413, reason: 'payload too large', error: tooLarge(cap) };
  }
  if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
    return {
      status: 504,
      reason: 'upstream timed out',
      error: new WardenError('WARDEN_TIMEOUT', 'the model server did not answer in time'),
    };
  }
  const why =
    err instanceof errors.ConnectTimeoutError ? 'connect timeout' : ((err as Error).message ?? 'error');
  return {
    status: 502,
    reason: `upstream unreachable: ${why}`,
    error: new WardenError('WARDEN_BAD_GATEWAY', `the model server could not be reached: ${why}`),
  };
}

function joinPath(upstream: URL, path: string): string {
  const base = upstream.pathname.endsWith('/') ? upstream.pathname.slice(0, -1) : upstream.pathname;
  return `${base}${path}`;
}
