import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { WardenError } from '../core/index.js';
import { SCIM_MEDIA_TYPE, scimError } from '../identity/index.js';

/** The one place errors become HTTP responses: `{error: {code, message, issues?, requestId}}`. */
export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toWardenError(err);
  if (e.status >= 500 && e.code !== 'WARDEN_LEDGER_UNAVAILABLE' && e.code !== 'WARDEN_UNAVAILABLE') {
    request.log.error({ err }, 'request failed');
  }
  if (e.retryAfter !== undefined) reply.header('retry-after', String(e.retryAfter));
  if (e.status === 401) reply.header('www-authenticate', 'Bearer realm="warden"');
  const message = e.status >= 500 && e.code === 'WARDEN_INTERNAL' ? 'internal error' : e.message;
  const error = {
    code: e.code,
    message,
    ...(e.issues.length > 0 ? { issues: e.issues } : {}),
    requestId: request.id,
  };
  // SCIM clients read RFC 7644 §3.12 errors; Warden's own `error` member rides along.
  if (request.url.startsWith('/scim/')) {
    return reply
      .status(e.status)
      .type(`${SCIM_MEDIA_TYPE}; charset=utf-8`)
      .send({ ...scimError(e, message), error });
  }
  return reply.status(e.status).send({ error });
}

function toWardenError(err: unknown): WardenError {
  if (err instanceof WardenError) return err;
  const fe = err as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WardenError('WARDEN_PAYLOAD_TOO_LARGE', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new WardenError('WARDEN_BAD_REQUEST', `unsupported content type`, {
        issues: [{ field: 'content-type', message: 'use application/json' }],
      });
    // Raised by the router, before any route's own schema sees the path.
    case 'FST_ERR_BAD_URL':
      return new WardenError('WARDEN_BAD_REQUEST', 'malformed request path', {
        issues: [{ field: 'path', message: 'a percent-escape is malformed or not UTF-8' }],
      });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new WardenError('WARDEN_BAD_REQUEST', 'request path parameter too long', {
        issues: [{ field: 'path', message: 'a path parameter is longer than the router accepts' }],
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new WardenError('WARDEN_BAD_REQUEST', fe.message ?? 'bad request', {
        issues: [{ field: 'body', message: fe.message ?? 'bad body' }],
      });
  }
  if (fe.statusCode === 400 || err instanceof SyntaxError) {
    return new WardenError('WARDEN_BAD_REQUEST', `malformed request: ${fe.message}`, {
      issues: [{ field: 'body', message: fe.message ?? 'malformed' }],
    });
  }
  if (fe.statusCode === 404) return new WardenError('WARDEN_NOT_FOUND', fe.message ?? 'not found');
  return new WardenError('WARDEN_INTERNAL', 'internal error', { cause: err });
}
