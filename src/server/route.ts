import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import type { Principal } from '../identity/index.js';
import type { EventActor } from '../ledger/index.js';
import type { EntityRef, PolicyDecision, RequestFacts } from '../policy/index.js';

/** Who is calling, resolved by the guard before any handler runs. */
export interface CallContext {
  readonly principal: Principal;
  readonly actor: EventActor;
  readonly requestId: string;
  /** The decision that allowed this call (its policies go into the call's events). */
  readonly decision: PolicyDecision;
}

/** Request facts a route derives from its resource; the guard adds the caller's own (IP, purpose, MFA). */
export type ResourceFacts = Pick<RequestFacts, 'environment'>;

/** The parsed, validated parts of a request. */
export interface RouteInput<Q, B, P> {
  readonly query: Q;
  readonly body: B;
  readonly params: P;
}

/**
 * One API operation. `action` names what the guard authorizes; `public` routes (health, the
 * OpenAPI document, read-only ledger tiles) are the only ones that skip authentication.
 */
export interface RouteSpec<Q = unknown, B = unknown, P = unknown> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly access:
    | { readonly public: true }
    | {
        readonly action: string;
        /** The resource to authorize; async when it must be looked up (e.g. a request's model version). */
        readonly resource: (input: RouteInput<Q, B, P>) => EntityRef | Promise<EntityRef>;
        /** Facts about the resource the policies see in `context` (e.g. an endpoint's environment). */
        readonly facts?: (input: RouteInput<Q, B, P>) => ResourceFacts | Promise<ResourceFacts>;
      };
  readonly query?: ZodType<Q>;
  readonly body?: ZodType<B>;
  readonly params?: ZodType<P>;
  /** The body is not parsed: the handler streams `request.raw` itself (after the guard has run). */
  readonly raw?: boolean;
  /**
   * Media types of a body the handler streams itself (`request.body` is then the unread request
   * stream, after authorization; Fastify's body limit does not apply, the handler's own limits do).
   */
  readonly streamedBody?: readonly string[];
  /** Response media type for the OpenAPI document (JSON unless said). */
  readonly produces?: string;
  readonly handler: (
    ctx: CallContext | undefined,
    input: RouteInput<Q, B, P>,
    request: FastifyRequest,
    reply: FastifyReply,
  ) => Promise<unknown>;
}

/** Helper that keeps a spec's type parameters inferred. */
export function route<Q = undefined, B = undefined, P = undefined>(
  spec: RouteSpec<Q, B, P>,
): RouteSpec<Q, B, P> {
  return spec;
}

/** A route of any input types, as the route table holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the table mixes routes whose input types differ; each spec is checked where written.
export type AnyRoute = RouteSpec<any, any, any>;
