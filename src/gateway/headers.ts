import type { IncomingHttpHeaders } from 'node:http';

// RFC 9110 §7.6.1 connection-specific fields, plus the non-standard ones proxies still meet.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

// The caller's Warden credentials and session never reach a model server.
const CALLER_ONLY = new Set(['authorization', 'cookie', 'host']);

/** Headers a proxy must not pass on: hop-by-hop ones and those the `Connection` header names. */
function dropped(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const connection = headers.connection;
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return HOP_BY_HOP;
  let drop: Set<string> | undefined;
  for (const value of [connection].flat())
    for (const raw of value.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '' || HOP_BY_HOP.has(name)) continue;
      drop ??= new Set(HOP_BY_HOP);
      drop.add(name);
    }
  return drop ?? HOP_BY_HOP;
}

/**
 * The headers sent upstream: the caller's, without hop-by-hop fields, its `Authorization`, cookies
 * or `Host`; with the upstream credential (if the endpoint has one), the request id and the
 * forwarding chain.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  opts: {
    readonly clientIp: string;
    readonly requestId: string;
    readonly authorization?: string | undefined;
  },
): Record<string, string | string[]> {
  const drop = dropped(incoming);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || drop.has(name) || CALLER_ONLY.has(name) || name.startsWith('x-warden-'))
      continue;
    out[name] = value;
  }
  const forwarded = incoming['x-forwarded-for'];
  const chain = [forwarded ?? []].flat().join(', ');
  out['x-forwarded-for'] = chain === '' ? opts.clientIp : `${chain}, ${opts.clientIp}`;
  out['x-request-id'] = opts.requestId;
  if (opts.authorization !== undefined) out.authorization = opts.authorization;
  return out;
}

/** The upstream response's headers as returned to the caller, without hop-by-hop fields. */
export function callerResponseHeaders(
  upstream: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const drop = dropped(upstream as IncomingHttpHeaders);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    const lower = name.toLowerCase();
    if (value === undefined || drop.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}
