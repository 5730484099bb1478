import type { Kysely } from 'kysely';
import { type Clock, canonicalJson, newId, rfc3339, WardenError } from '../core/index.js';
import type { BlobStore, Database } from '../store/index.js';
import { currentCallScope } from './call-scope.js';
import { deepFreeze, EVENT_VERSION, type EventInput, type LedgerEvent, MAX_EVENT_BYTES } from './event.js';
import type { SensitiveFields } from './sensitive.js';

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
    const recorded: RecordedEvent[] = [];
    for (const input of inputs) recorded.push(await this.#prepare(input));
    for (let i = 0; i < recorded.length; i += 500) {
      const rows = recorded.slice(i, i + 500).map(({ event, body }) => ({
        id: event.id,
        seq: null,
        body,
        time_ms: Date.parse(event.time),
        actor_type: event.actor.type,
        actor_id: event.actor.id,
        action: event.action,
        resource_type: event.resource.type,
        resource_id: event.resource.id,
        outcome: event.outcome,
        project: event.context?.project ?? null,
        purged_at: null,
      }));
      await trx.insertInto('ledger_events').values(rows).execute();
    }
    return recorded;
  }

  async #prepare(input: EventInput): Promise<RecordedEvent> {
    const now = this.#clock.now();
    // Events recorded while serving an authorized call carry its decision and request id.
    const call = currentCallScope();
    const scoped = {
      ...(call?.decision && input.outcome !== 'denied' ? { decision: call.decision } : {}),
      ...(call?.requestId ? { request: { id: call.requestId } } : {}),
    };
    let event: LedgerEvent = this.#sensitive.apply({
      v: EVENT_VERSION,
      id: newId(now),
      time: rfc3339(now),
      ...scoped,
      ...input,
    });
    let body = canonicalJson(event);
    if (Buffer.byteLength(body) > MAX_EVENT_BYTES && event.details !== undefined) {
      // Large details move to the blob store; the event keeps their digest.
      const details = Buffer.from(canonicalJson(event.details));
      const digest = await this.#blobs.put(details);
      event = { ...event, details: { blob: digest, size: details.length } };
      body = canonicalJson(event);
    }
    if (Buffer.byteLength(body) > MAX_EVENT_BYTES) {
      throw new WardenError(
        'WARDEN_PAYLOAD_TOO_LARGE',
        `event for ${input.action} is ${Buffer.byteLength(body)} bytes without its details; the limit is ${MAX_EVENT_BYTES}`,
      );
    }
    return { event: deepFreeze(event), body };
  }
}
