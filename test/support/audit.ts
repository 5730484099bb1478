import assert from 'node:assert/strict';
import { type Checkpoint, openCheckpoint } from '../../src/ledger/checkpoint.js';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { parseVkey } from '../../src/ledger/index.js';
import type { NoteKey } from '../../src/ledger/note.js';
import type { TestServer } from './runtime.js';

/** One event as the audit API lists it. */
export interface ListedEvent {
  readonly id: string;
  readonly seq: number | null;
  readonly event: LedgerEvent | null;
  readonly purged: boolean;
}

/** Every event matching `query` (a URL query string), following cursors page by page. */
export async function allEvents(s: TestServer, query = ''): Promise<ListedEvent[]> {
  const out: ListedEvent[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/api/v1/audit/events?limit=1000${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await s.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json();
    out.push(...page.events);
    cursor = page.next;
  } while (cursor !== null);
  return out;
}

/** The integrated events matching `query` whose bodies are kept (none purged), in log order. */
export async function recordedEvents(s: TestServer, query: string): Promise<LedgerEvent[]> {
  return (await allEvents(s, `wait=integrated&${query}`)).flatMap((e) => (e.event ? [e.event] : []));
}

/** The verifier key as the API publishes it. */
export async function publishedKey(s: TestServer): Promise<NoteKey> {
  const info = await s.inject({ method: 'GET', url: '/api/v1/ledger/info' });
  assert.equal(info.statusCode, 200, info.body);
  return parseVkey(info.json().verifierKey);
}

/** The latest checkpoint from the public endpoint, its signature checked with the published key. */
export async function latestCheckpoint(s: TestServer, key: NoteKey): Promise<Checkpoint> {
  const res = await s.inject({ method: 'GET', url: '/ledger/checkpoint', token: null });
  assert.equal(res.statusCode, 200, res.body);
  return openCheckpoint(res.body, key, key.name);
}
