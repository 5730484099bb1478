import type { FastifyRequest } from 'fastify';
import { type Clock, WardenError } from '../core/index.js';
import {
  type AuthFailure,
  authenticateBearer,
  type FederatedResolver,
  type JwtVerifier,
  type Principal,
  type Throttle,
  TokenCache,
} from '../identity/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import type { Authorizer, EntityRef } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { Metrics } from './metrics.js';
import type { CallContext, ResourceFacts } from './route.js';

/** Header naming why the caller wants the data (checked against datasets' allowed purposes). */
export const PURPOSE_HEADER = 'x-warden-purpose';

/**
 * The one path every non-public route takes: authenticate the bearer credential, then authorize the
 * route's action on its resource through the Authorizer. Both refusals are recorded in the ledger
 * before the caller hears of them; repeated failures from one source are slowed (429).
 */
export class Guard {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #authorizer: Authorizer;
  readonly #throttle: Throttle;
  readonly #verifyJwt: JwtVerifier | undefined;
  readonly #resolveFederated: FederatedResolver | undefined;
  readonly #metrics: Metrics;
  readonly #tokens = new TokenCache();

  constructor(deps: {
    metrics: Metrics;
    store: Store;
    ledger: Ledger;
    clock: Clock;
    authorizer: Authorizer;
    throttle: Throttle;
    verifyJwt?: JwtVerifier | undefined;
    resolveFederated?: FederatedResolver | undefined;
  }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#authorizer = deps.authorizer;
    this.#throttle = deps.throttle;
    this.#verifyJwt = deps.verifyJwt;
    this.#resolveFederated = deps.resolveFederated;
    this.#metrics = deps.metrics;
  }

  /** Resolves the caller or throws 401 (429 when its source keeps failing) after recording the attempt. */
  async authenticate(request: FastifyRequest, routeId: string): Promise<Principal> {
    const source = `ip:${request.ip}`;
    const wait = this.#throttle.retryAfter(source);
    if (wait > 0) {
      await this.#recordFailure(request, routeId, 'too many failed authentications from this source');
      throw new WardenError('WARDEN_RATE_LIMITED', 'too many failed authentications; try again later', {
        retryAfter: wait,
      });
    }
    const result = await authenticateBearer(
      {
        db: this.#store.db,
        now: this.#clock.now(),
        verifyJwt: this.#verifyJwt,
        resolveFederated: this.#resolveFederated,
        tokenCache: this.#tokens,
      },
      request.headers.authorization,
    );
    if ('principal' in result) {
      return result.principal;
    }
    this.#metrics.authFailures.inc({ reason: result.failure });
    if (result.revoked)
      this.#metrics.observeRevocation(result.revoked.subject, result.revoked.at, this.#clock.now());
    if (result.failure !== 'missing') this.#throttle.fail(source);
    await this.#recordFailure(request, routeId, failureReason(result.failure), result.detail);
    throw new WardenError('WARDEN_UNAUTHENTICATED', failureReason(result.failure));
  }

  /** Authorizes `action` on `resource` (with the route's `facts` about it) or throws 403 after recording the denial. */
  async authorize(
    request: FastifyRequest,
    principal: Principal,
    action: string,
    resource: EntityRef,
    facts?: ResourceFacts,
  ): Promise<CallContext> {
    const actor: EventActor = {
      type: principal.type,
      id: principal.id,
      ...clientFacts(request),
      // Which credential acted (e.g. `token:<id>`), so a detector can suspend just that token.
      session: `${principal.credential.kind}:${principal.credential.id}`,
      mfa: principal.mfa,
    };
    const purpose = request.headers[PURPOSE_HEADER];
    const decision = await this.#authorizer.decide(principal, action, resource, {
      ...(facts?.environment !== undefined ? { environment: facts.environment } : {}),
      sourceIp: request.ip,
      ...(typeof purpose === 'string' && purpose !== '' ? { purpose } : {}),
    });
    this.#metrics.decisions.inc({ outcome: decision.allowed ? 'allow' : 'deny' });
    if (!decision.allowed) {
      if (decision.errors.length > 0)
        request.log.warn({ action, resource, errors: decision.errors }, 'policy evaluation error: denied');
      await this.#ledger.recordAlone({
        actor,
        action,
        resource,
        outcome: 'denied',
        ...(facts?.environment !== undefined ? { context: { environment: facts.environment } } : {}),
        decision: { policies: decision.policies, reason: decision.reason, bundle: decision.bundle },
        request: { id: request.id },
      });
      throw new WardenError('WARDEN_FORBIDDEN', `forbidden: ${decision.reason}`);
    }
    return { principal, actor, requestId: request.id, decision };
  }

  async #recordFailure(
    request: FastifyRequest,
    routeId: string,
    reason: string,
    detail?: string,
  ): Promise<void> {
    await this.#ledger.recordAlone({
      actor: { type: 'anonymous', id: 'anonymous', ...clientFacts(request) },
      action: 'auth.authenticate',
      resource: { type: 'Route', id: routeId },
      outcome: 'denied',
      decision: { policies: [], reason },
      ...(detail ? { details: { detail } } : {}),
      request: { id: request.id },
    });
  }
}

function clientFacts(request: FastifyRequest): Pick<EventActor, 'ip' | 'userAgent' | 'via'> {
  const ua = request.headers['user-agent'];
  return {
    ip: request.ip,
    ...(ua ? { userAgent: ua.slice(0, 256) } : {}),
    via: request.headers['x-warden-client'] === 'cli' ? 'cli' : 'api',
  };
}

function failureReason(failure: AuthFailure): string {
  switch (failure) {
    case 'missing':
      return 'authentication required: send Authorization: Bearer <token>';
    case 'malformed':
      return 'the Authorization header is not a bearer token';
    case 'unknown':
      return 'the token is not recognised';
    case 'revoked':
      return 'the token was revoked';
    case 'expired':
      return 'the token has expired';
    case 'inactive':
      return 'the principal is not active';
    case 'suspended':
      return 'the credential or its principal is suspended for a while after a misuse alert';
    case 'invalid-jwt':
      return 'the JWT was not accepted';
  }
}
