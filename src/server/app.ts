import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import { type FieldIssue, invalidInput, newId, WardenError } from '../core/index.js';
import type { Principal } from '../identity/index.js';
import { withCallScope } from '../ledger/index.js';
import { sendError } from './errors.js';
import type { Guard } from './guard.js';
import { unsafeInput } from './input-safety.js';
import { openApiDocument } from './openapi.js';
import type { AnyRoute, CallContext } from './route.js';

export interface AppOptions {
  readonly guard: Guard;
  readonly routes: readonly AnyRoute[];
  readonly maxBodyBytes: number;
  readonly logLevel: string;
  /** Reverse proxies whose X-Forwarded-For is believed (so throttles and events see the real client). */
  readonly trustProxy: readonly string[];
}

const JSON_TYPES = [
  'application/cloudevents+json',
  'application/cloudevents-batch+json',
  'application/scim+json',
];

/** Builds the HTTP server: every route is validated, then authenticated and authorized by the guard. */
export function buildApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: { level: opts.logLevel, redact: ['req.headers.authorization'] },
    bodyLimit: opts.maxBodyBytes,
    genReqId: () => newId(),
    requestIdHeader: false,
    return503OnClosing: true,
    // Errors the router raises before any route runs (a bad percent-escape, a path parameter too long)
    // answer in Warden's shape, naming the path.
    frameworkErrors: (err, request, reply) => sendError(err, request, reply),
    ...(opts.trustProxy.length > 0 ? { trustProxy: [...opts.trustProxy] } : {}),
  });
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  const streamed = [...new Set(opts.routes.flatMap((r) => r.streamedBody ?? []))];
  // Streamed bodies (model uploads) reach the handler unread, so it authorizes before reading a byte;
  // a route that does not stream such a body refuses it (`parse`: 400 naming content-type).
  if (streamed.length > 0)
    app.addContentTypeParser(streamed, (_request, payload, done) => done(null, payload));
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: {
        code: 'WARDEN_NOT_FOUND',
        message: `no route ${request.method} ${request.url}`,
        requestId: request.id,
      },
    }),
  );
  const registered: string[] = [];
  registeredByApp.set(app, registered);
  // Added before any route, so every route Fastify ever holds (HEAD twins and plugins' too) is listed.
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) registered.push(`${method} ${r.url}`);
  });
  const document = openApiDocument(opts.routes);
  for (const spec of opts.routes.filter((r) => r.raw !== true))
    register(app, opts.guard, spec, spec.url === '/api/v1/openapi.json' ? document : undefined);
  // Raw routes live in a context of their own whose one parser leaves every body unread.
  const raw = opts.routes.filter((r) => r.raw === true);
  if (raw.length > 0) {
    app.register(async (child) => {
      child.removeAllContentTypeParsers();
      child.addContentTypeParser('*', (_request, _payload, done) => done(null));
      for (const spec of raw) register(child, opts.guard, spec, undefined);
    });
  }
  return app;
}

const registeredByApp = new WeakMap<FastifyInstance, readonly string[]>();

/** Every `METHOD /url` registered on an app built by buildApp, so tests can prove none skips the guard. */
export function registeredRoutes(app: FastifyInstance): readonly string[] {
  return registeredByApp.get(app) ?? [];
}

// Principals resolved in onRequest, before the body is read, for the handler to authorize.
const principals = new WeakMap<FastifyRequest, Principal>();

function register(app: FastifyInstance, guard: Guard, spec: AnyRoute, document: unknown): void {
  const routeId = `${spec.method} ${spec.url}`;
  const isPublic = 'public' in spec.access;
  app.route({
    method: spec.method,
    url: spec.url,
    config: { routeId, public: isPublic },
    // Authenticate before the body is read or validated: an anonymous caller learns nothing more.
    onRequest: isPublic
      ? []
      : [
          async (request) => {
            principals.set(request, await guard.authenticate(request, routeId));
          },
        ],
    handler: async (request, reply) => {
      const principal = principals.get(request);
      if (!isPublic && principal === undefined)
        throw new Error(`route ${routeId} reached its handler unauthenticated`);
      // One input object per request, the same one for the route's resource, facts and handler: routes
      // may key per-call work on it (the gateway looks its endpoint up once for all three).
      const input = {
        query: parse(spec.query, request.query, 'query'),
        body: parse(spec.body, request.body, 'body'),
        params: parse(spec.params, request.params, 'path'),
      };
      let ctx: CallContext | undefined;
      if (principal !== undefined && 'action' in spec.access) {
        const access = spec.access;
        ctx = await guard.authorize(
          request,
          principal,
          access.action,
          await access.resource(input),
          access.facts === undefined ? undefined : await access.facts(input),
        );
      }
      if (document !== undefined) return document;
      const decision = ctx && {
        policies: ctx.decision.policies,
        reason: ctx.decision.reason,
        bundle: ctx.decision.bundle,
      };
      const result = await withCallScope({ requestId: request.id, ...(decision ? { decision } : {}) }, () =>
        spec.handler(ctx, input, request, reply),
      );
      return reply.sent ? reply : result;
    },
  });
}

function parse(schema: ZodType | undefined, value: unknown, where: string): unknown {
  if (schema === undefined) return undefined;
  // An upload media type (a tar archive) sent to a route that reads JSON arrives as an unread stream.
  if (value instanceof Readable)
    throw new WardenError('WARDEN_BAD_REQUEST', 'this route takes a JSON body', {
      issues: [{ field: 'content-type', message: 'this route takes a JSON body' }],
    });
  const unsafe = unsafeInput(value, where);
  if (unsafe !== undefined) throw invalidInput([unsafe]);
  const r = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (r.success) return r.data;
  const issues: FieldIssue[] = r.error.issues.map((i) => ({
    field: i.path.length > 0 ? i.path.map(String).join('.') : where,
    message: i.message,
  }));
  throw invalidInput(issues);
}
