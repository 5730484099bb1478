import { CompiledQuery, type Kysely, PostgresAdapter } from 'kysely';
import { type Clock, canonicalJson, newId, rfc3339, WardenError } from '../core/index.js';
import type { BlobStore, Database } from '../store/index.js';
import { currentCallScope } from './call-scope.js';
import { deepFreeze, EVENT_VERSION, type EventInput, type LedgerEvent, MAX_EVENT_BYTES } from './event.js';
import { canonicalEvent, canonicalForm } from './jcs.js';
import { leafHashOfText } from './merkle.js';
import type { SensitiveFields } from './sensitive.js';

/** Events per insert statement: 10 parameters each, well under both backends' limits. */
const RECORD_CHUNK = 500;

const EVENT_COLUMNS =
  'id, body, time_ms, actor_type, actor_id, action, resource_type, resource_id, outcome, project';

function placeholders(rows: number, cols: number, pg: boolean): string {
  const out: string[] = new Array(rows);
  let n = 1;
  for (let r = 0; r < rows; r++) {
    const row: string[] = new Array(cols);
    for (let c = 0; c < cols; c++) row[c] = pg ? `$${n++}` : '?';
    out[r] = `(${row.join(',')})`;
  }
  return out.join(',');
}

const sqlCache = new Map<string, string>();
function cached(key: string, make: () => string): string {
  let text = sqlCache.get(key);
  if (text === undefined) {
    text = make();
    if (sqlCache.size < 64) sqlCache.set(key, text);
  }
  return text;
}

const pgInsertSql = (rows: number): string =>
  cached(
    `pg${rows}`,
    () =>
      `WITH e AS (INSERT INTO ledger_events (${EVENT_COLUMNS}) VALUES ${placeholders(rows, 10, true)} RETURNING pos, id)
       INSERT INTO ledger_queue (pos, hash)
       SELECT e.pos, h.hash FROM e JOIN unnest($${10 * rows + 1}::text[], $${10 * rows + 2}::bytea[]) AS h(id, hash)
       ON h.id = e.id`,
  );

const sqliteInsertSql = (rows: number): string =>
  cached(
    `sqlite${rows}`,
    () => `INSERT INTO ledger_events (${EVENT_COLUMNS}) VALUES ${placeholders(rows, 10, false)}`,
  );

const sqliteQueueSql = (rows: number): string =>
  cached(
    `sqliteq${rows}`,
    () => `INSERT INTO ledger_queue (pos, hash) VALUES ${placeholders(rows, 2, false)}`,
  );

/** Whether `db` talks to PostgreSQL (the recorder is built without knowing the store's dialect). */
export function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Inserts event rows (EVENT_COLUMNS order, 10 parameters each, at most 500 rows) and queues each one's
 * position with its leaf hash (`hashes`, in the same order) for the integrator: one statement on
 * PostgreSQL, two on SQLite.
 */
export async function insertEventRows(
  trx: Kysely<Database>,
  params: unknown[],
  hashes: readonly Buffer[],
  pg: boolean = isPostgres(trx),
): Promise<void> {
  const rows = hashes.length;
  if (pg) {
    const ids: string[] = new Array(rows);
    for (let i = 0; i < rows; i++) ids[i] = params[10 * i] as string;
    await trx.executeQuery(CompiledQuery.raw(pgInsertSql(rows), [...params, ids, hashes]));
    return;
  }
  const res = await trx.executeQuery(CompiledQuery.raw(sqliteInsertSql(rows), params));
  // SQLite inserts a VALUES list in its order and gives each row of one statement the next AUTOINCREMENT
  // key (one writer at a time; past the largest key it fails rather than reuse one): the rows took the
  // `rows` positions ending at the last inserted one. SQLite's documentation promises only keys "at
  // least one larger"; test/ledger/recorder.test.ts holds the consecutive keys in place. Reading them
  // back (RETURNING) cost a fifth of the recorder's statements.
  const last = res.insertId;
  if (last === undefined || Number(res.numAffectedRows) !== rows) {
    throw new Error(`recording ${rows} events inserted ${res.numAffectedRows} rows`);
  }
  const first = Number(last) - rows + 1;
  const queue: unknown[] = new Array(2 * rows);
  for (let i = 0; i < rows; i++) {
    queue[2 * i] = first + i;
    queue[2 * i + 1] = hashes[i];
  }
  await trx.executeQuery(CompiledQuery.raw(sqliteQueueSql(rows), queue));
}

/** An event written to the pending queue; it gets a sequence number when the integrator takes it. */
export interface RecordedEvent {
  readonly event: LedgerEvent;
  readonly body: string;
}

/**
 * Stage one of the ledger: `record` writes events into the pending queue inside the caller's
 * transaction, so the change and its event commit together or not at all (fail closed).
 */
export class Recorder {
  readonly #clock: Clock;
  readonly #sensitive: SensitiveFields;
  readonly #blobs: BlobStore;

  constructor(deps: { clock: Clock; sensitive: SensitiveFields; blobs: BlobStore }) {
    this.#clock = deps.clock;
    this.#sensitive = deps.sensitive;
    this.#blobs = deps.blobs;
  }

  /** Records one event in the transaction `trx`. */
  async record(trx: Kysely<Database>, input: EventInput): Promise<RecordedEvent> {
    const [one] = await this.recordMany(trx, [input]);
    return one as RecordedEvent;
  }

  /** Records events in order, in one statement per 500 events, inside `trx`. */
  async recordMany(trx: Kysely<Database>, inputs: readonly EventInput[]): Promise<RecordedEvent[]> {
    const recorded: RecordedEvent[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      const one = this.#prepare(inputs[i] as EventInput);
      recorded[i] = one instanceof Promise ? await one : one;
    }
    const pg = isPostgres(trx);
    for (let i = 0; i < recorded.length; i += RECORD_CHUNK) {
      const chunk = recorded.slice(i, i + RECORD_CHUNK);
      const params: unknown[] = [];
      const hashes: Buffer[] = new Array(chunk.length);
      for (const [k, { event, body }] of chunk.entries()) {
        hashes[k] = leafHashOfText(body);
        params.push(
          event.id,
          body,
          Date.parse(event.time),
          event.actor.type,
          event.actor.id,
          event.action,
          event.resource.type,
          event.resource.id,
          event.outcome,
          event.context?.project ?? null,
        );
      }
      await insertEventRows(trx, params, hashes, pg);
    }
    return recorded;
  }

  #prepare(input: EventInput): RecordedEvent | Promise<RecordedEvent> {
    const now = this.#clock.now();
    // Events recorded while serving an authorized call carry its decision and request id.
    const call = currentCallScope();
    const scoped = {
      ...(call?.decision && input.outcome !== 'denied' ? { decision: call.decision } : {}),
      ...(call?.requestId ? { request: { id: call.requestId } } : {}),
    };
    const event: LedgerEvent = this.#sensitive.apply({
      v: EVENT_VERSION,
      id: newId(now),
      time: rfc3339(now),
      ...scoped,
      ...input,
    });
    const { value, text } = canonicalForm(event);
    if (tooLarge(text)) return this.#detailsToBlob(event, input);
    return { event: value, body: text };
  }

  async #detailsToBlob(event: LedgerEvent, input: EventInput): Promise<RecordedEvent> {
    let body: string;
    if (event.details !== undefined) {
      // Large details move to the blob store; the event keeps their digest.
      const details = Buffer.from(canonicalJson(event.details));
      const digest = await this.#blobs.put(details);
      event = { ...event, details: { blob: digest, size: details.length } };
    }
    body = canonicalEvent(event);
    if (tooLarge(body)) {
      throw new WardenError(
        'WARDEN_PAYLOAD_TOO_LARGE',
        `event for ${input.action} is ${Buffer.byteLength(body)} bytes without its details; the limit is ${MAX_EVENT_BYTES}`,
      );
    }
    return { event: deepFreeze(event), body };
  }
}

/** Whether the UTF-8 form of `body` exceeds MAX_EVENT_BYTES (it has at most 3 bytes per UTF-16 unit). */
function tooLarge(body: string): boolean {
  return body.length > MAX_EVENT_BYTES / 3 && Buffer.byteLength(body) > MAX_EVENT_BYTES;
}
