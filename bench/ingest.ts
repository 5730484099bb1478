import { CompiledQuery, type Kysely } from 'kysely';
import { type EventInput, leafHashOfText } from '../src/ledger/index.js';
import { insertEventRows } from '../src/ledger/recorder.js';
import type { Runtime } from '../src/server/runtime.js';
import type { Database, Dialect, LedgerEventTable } from '../src/store/index.js';
import { since } from './report.js';
import { BATCH, eventBody, eventInput } from './workload.js';

/** Baseline and Warden alternate in this many rounds, so a burst of load from elsewhere hits both alike. */
export const INGEST_ROUNDS = 5;

/** The baseline's table: the columns of ledger_events with only a primary key (no secondary indexes, no triggers). */
interface BaselineDatabase extends Database {
  bench_events: LedgerEventTable;
}

type EventRow = Omit<LedgerEventTable, 'pos'>;

/** Microseconds per event of each step, measured one at a time after the main comparison. */
export interface IngestBreakdown {
  /** Prebuilt rows inserted straight into ledger_events: the cost of Warden's schema alone. */
  readonly directInsertUs: number;
  /** The Recorder alone (ULID, JCS, freeze, insert, commit), with the integrator stopped. */
  readonly recorderUs: number;
  /** The Integrator alone, working off that backlog in batches of its configured size. */
  readonly integratorUs: number;
}

/** Ingest rates of one backend: the raw batched insert and Warden's record-until-integrated. */
export interface IngestResult {
  readonly events: number;
  /** Raw committed inserts into the plain table, rows/s over all rounds. */
  readonly baselineRate: number;
  /** From the first record of a round until every event of it has a sequence number, events/s over all rounds. */
  readonly wardenRate: number;
  /** Warden ÷ baseline per round. */
  readonly roundRatios: readonly number[];
  readonly breakdown: IngestBreakdown;
}

async function createBaselineTable(db: Kysely<BaselineDatabase>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const bigint = pg ? 'bigint' : 'integer';
  await db.schema
    .createTable('bench_events')
    .addColumn('pos', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('body', 'text')
    .addColumn('time_ms', bigint, (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('purged_at', bigint)
    .execute();
}

/** Rows exactly as the recorder writes them for events [from, from + n), built before any timing starts. */
function eventRows(from: number, n: number): EventRow[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, k) => {
    const input = eventInput(from + k);
    const body = eventBody(from + k, now);
    return {
      id: (JSON.parse(body) as { id: string }).id,
      body,
      time_ms: now,
      actor_type: input.actor.type,
      actor_id: input.actor.id,
      action: input.action,
      resource_type: input.resource.type,
      resource_id: input.resource.id,
      outcome: input.outcome,
      project: input.context?.project ?? null,
      purged_at: null,
    };
  });
}

const inputs = (from: number, n: number): EventInput[] =>
  Array.from({ length: n }, (_, k) => eventInput(from + k));

/** The columns the recorder writes, in its order. */
const COLUMNS = [
  'id',
  'body',
  'time_ms',
  'actor_type',
  'actor_id',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'project',
] as const;

/** One multi-row INSERT of `rows` rows, as the recorder builds it (numbered parameters on PostgreSQL). */
function insertSql(table: string, rows: number, pg: boolean): string {
  let n = 1;
  const tuples = Array.from(
    { length: rows },
    () => `(${COLUMNS.map(() => (pg ? `$${n++}` : '?')).join(',')})`,
  );
  return `INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${tuples.join(',')}`;
}

/**
 * Inserts the rows BATCH per committed transaction, each batch one multi-row INSERT through the store's
 * Kysely connection, the way the recorder issues its own (raw SQL text with parameters, no query
 * builder); returns the elapsed ms. Into ledger_events it runs the recorder's own statements (the
 * event rows and their queue entries, with the leaf hashes computed here), so those rows are integrated
 * like recorded ones.
 */
async function insertRows(
  db: Kysely<BaselineDatabase>,
  table: 'bench_events' | 'ledger_events',
  rows: readonly EventRow[],
  pg: boolean,
): Promise<number> {
  const text = insertSql(table, BATCH, pg);
  const start = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const params: unknown[] = [];
    for (const r of batch) for (const c of COLUMNS) params.push(r[c]);
    const sqlText = batch.length === BATCH ? text : insertSql(table, batch.length, pg);
    await db.transaction().execute(async (trx) => {
      if (table === 'ledger_events') {
        const hashes = batch.map((r) => leafHashOfText(r.body as string));
        await insertEventRows(trx as unknown as Kysely<Database>, params, hashes, pg);
      } else await trx.executeQuery(CompiledQuery.raw(sqlText, params));
    });
  }
  return since(start);
}

/** Records the events BATCH per transaction, telling the integrator after each commit; returns the elapsed ms. */
async function record(rt: Runtime, events: readonly EventInput[]): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    await rt.store.db.transaction().execute((trx) => rt.ledger.recordMany(trx, batch));
    rt.ledger.committed();
  }
  return since(start);
}

/** Records the events and waits until all have sequence numbers; returns the elapsed ms. */
async function recordIntegrated(rt: Runtime, events: readonly EventInput[]): Promise<number> {
  const start = performance.now();
  await record(rt, events);
  await rt.ledger.waitIntegrated(600_000);
  return since(start);
}

/**
 * After a warm-up of `warmup` events each, alternates INGEST_ROUNDS times between committed batched inserts
 * into a plain table in the runtime's own database and recording through the real Recorder while the real
 * Integrator runs, timed until every event has a sequence number: `n` events on each side in all. Then stops
 * the integrator and times the steps one at a time (`n` events each). Leaves about 3n + warmup events in the log.
 */
export async function measureIngest(rt: Runtime, n: number, warmup: number): Promise<IngestResult> {
  const db = rt.store.db as unknown as Kysely<BaselineDatabase>;
  const pg = rt.store.dialect === 'postgres';
  await createBaselineTable(db, rt.store.dialect);
  await insertRows(db, 'bench_events', eventRows(0, warmup), pg);
  await recordIntegrated(rt, inputs(0, warmup));

  const per = n / INGEST_ROUNDS;
  let baselineMs = 0;
  let wardenMs = 0;
  const roundRatios: number[] = [];
  for (let r = 0; r < INGEST_ROUNDS; r++) {
    const from = warmup + r * per;
    const rows = eventRows(from, per);
    const events = inputs(from, per);
    const base = await insertRows(db, 'bench_events', rows, pg);
    const warden = await recordIntegrated(rt, events);
    baselineMs += base;
    wardenMs += warden;
    roundRatios.push(base / warden);
  }

  // Step by step, with the integrator stopped; the two inserting steps alternate so both meet the
  // same table sizes (ledger_events' random-key indexes make inserts dearer as the table grows).
  await rt.integrator.stop();
  let directMs = 0;
  let recorderMs = 0;
  for (let r = 0; r < INGEST_ROUNDS; r++) {
    const from = warmup + n + 2 * r * per;
    directMs += await insertRows(db, 'ledger_events', eventRows(from, per), pg);
    recorderMs += await record(rt, inputs(from + per, per));
  }
  const start = performance.now();
  let integrated = 0;
  for (;;) {
    const done = await rt.integrator.integrateBatch();
    if (done === 0) break;
    integrated += done;
  }
  const integratorMs = since(start);
  return {
    events: n,
    baselineRate: (n * 1000) / baselineMs,
    wardenRate: (n * 1000) / wardenMs,
    roundRatios,
    breakdown: {
      directInsertUs: (directMs * 1000) / n,
      recorderUs: (recorderMs * 1000) / n,
      integratorUs: (integratorMs * 1000) / integrated,
    },
  };
}
