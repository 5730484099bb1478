import type { FastifyRequest } from 'fastify';
import { type Clock, WardenError } from '../core/index.js';
import { type AuthFailure, authenticateBearer, type Principal } from '../identity/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import { authorize, type ResourceRef } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { CallContext } from './route.js';

/**
 * The one path every non-public route takes: authenticate the bearer credential, then authorize the
 * route's action on its resource. Both refusals are recorded in the ledger before the caller hears of them.
 */
export class Guard {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /** Resolves the caller or throws 401 after recording the failed attempt. */
  async authenticate(request: FastifyRequest, routeId: string): Promise<Principal> {
    const result = await authenticateBearer(this.#store.db, request.headers.authorization, this.#clock.now());
    if ('principal' in result) return result.principal;
    await this.#ledger.recordAlone({
      actor: { type: 'anonymous', id: 'anonymous', ...clientFacts(request) },
      action: 'auth.authenticate',
      resource: { type: 'Route', id: routeId },
      outcome: 'denied',
      decision: { policies: [], reason: failureReason(result.failure) },
      request: { id: request.id },
    });
    throw new WardenError('WARDEN_UNAUTHENTICATED', failureReason(result.failure));
  }

  /** Authorizes `action` on `resource` or throws 403 after recording the denial. */
  async authorize(
    request: FastifyRequest,
    principal: Principal,
    action: string,
    resource: ResourceRef,
  ): Promise<CallContext> {
    const actor = actorOf(principal, request);
    const decision = authorize(principal, action, resource);
    if (!decision.allowed) {
      await this.#ledger.recordAlone({
        actor,
        action,
        resource,
        outcome: 'denied',
        decision: { policies: decision.policies, reason: decision.reason },
        request: { id: request.id },
      });
      throw new WardenError('WARDEN_FORBIDDEN', `forbidden: ${decision.reason}`);
    }
    return { principal, actor, requestId: request.id };
  }
}

function actorOf(principal: Principal, request: FastifyRequest): EventActor {
  return { type: principal.type, id: principal.id, ...clientFacts(request) };
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
  }
}
