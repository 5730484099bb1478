// The request path's identity costs: a cached authorization decision against a hand-written check of the
// same rule, and bearer-token authentication against a bare primary-key read of the same token row.
import { loadConfig } from '../src/config/index.js';
import { authenticateBearer, type Principal, tokenDigest } from '../src/identity/index.js';
import { startRuntime } from '../src/server/runtime.js';
import type { Dialect } from '../src/store/index.js';
import { freshBackend } from '../test/support/backends.js';
import { median, progress, type Row, since } from './report.js';
import { benchScale, scaled } from './workload.js';

const ROUNDS = 7;
const TOKEN = 'wdn_bench-admin-token-0123456789abcdefghijklmnop';
/** A cached decision must take at most this long (the target), whatever the baseline. */
export const CACHED_DECISION_TARGET_US = 5;

/** Mean microseconds per call of `fn` over `n` calls. */
async function perCall(n: number, fn: () => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (since(start) * 1000) / n;
}

/** Median over ROUNDS of (baseline µs, warden µs), interleaved so neither side always runs warmer. */
async function compare(n: number, baseline: () => unknown, warden: () => unknown): Promise<[number, number]> {
  await perCall(Math.ceil(n / 4), baseline);
  await perCall(Math.ceil(n / 4), warden);
  const b: number[] = [];
  const w: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      b.push(await perCall(n, baseline));
      w.push(await perCall(n, warden));
    } else {
      w.push(await perCall(n, warden));
      b.push(await perCall(n, baseline));
    }
  }
  return [median(b), median(w)];
}

const us = (v: number) => `${v.toFixed(2)} µs`;

/** Cached-decision and token-authentication rows for one backend. */
export async function benchAuth(dialect: Dialect): Promise<Row[]> {
  const backend = await freshBackend(dialect);
  const config = loadConfig(
    { dataDir: backend.dataDir, databaseUrl: backend.databaseUrl, bootstrapToken: TOKEN, logLevel: 'silent' },
    {},
    '',
  );
  const rt = await startRuntime(config);
  try {
    const auth = await authenticateBearer({ db: rt.store.db, now: Date.now() }, `Bearer ${TOKEN}`);
    if (!('principal' in auth)) throw new Error('bench token did not authenticate');
    const principal: Principal = auth.principal;
    const resource = { type: 'Ledger', id: rt.ledger.origin };
    const facts = { sourceIp: '127.0.0.1' };
    await rt.authorizer.decide(principal, 'audit.query', resource, facts);

    // The hand-written equivalent of the cached answer: a scope check and a map lookup of the principal's grants.
    const grants = new Map([[`${principal.id}|audit.query|${resource.type}:${resource.id}`, true]]);
    const handWritten = () =>
      (principal.scopes.includes('*') || principal.scopes.includes('audit.query')) &&
      grants.get(`${principal.id}|audit.query|${resource.type}:${resource.id}`) === true;
    const n = scaled(20_000, benchScale(), 100);
    progress(`${dialect}: cached decisions, ${ROUNDS} rounds of ${n}`);
    const [handUs, cachedUs] = await compare(n, handWritten, () =>
      rt.authorizer.decide(principal, 'audit.query', resource, facts),
    );

    // Token authentication: Warden's full path against reading the token row by its digest.
    const digest = tokenDigest(TOKEN);
    const bareRead = () =>
      rt.store.db
        .selectFrom('api_tokens')
        .select(['id', 'scopes'])
        .where('token_sha256', '=', digest)
        .executeTakeFirst();
    const m = scaled(2_000, benchScale(), 100);
    progress(`${dialect}: token authentication, ${ROUNDS} rounds of ${m}`);
    const [readUs, authUs] = await compare(m, bareRead, () =>
      authenticateBearer({ db: rt.store.db, now: Date.now() }, `Bearer ${TOKEN}`),
    );
    return [
      {
        backend: dialect,
        measure: 'cached decision (ratio here = 5 µs target ÷ Warden µs)',
        baseline: `hand-written check ${us(handUs)} (${(cachedUs / handUs).toFixed(1)}× faster)`,
        warden: us(cachedUs),
        ratio: CACHED_DECISION_TARGET_US / cachedUs,
        target: 1,
      },
      {
        backend: dialect,
        measure: 'token authentication (µs/request)',
        baseline: `primary-key read ${us(readUs)}`,
        warden: us(authUs),
        ratio: readUs / authUs,
        target: undefined,
      },
    ];
  } finally {
    await rt.close();
    await backend.drop();
  }
}
