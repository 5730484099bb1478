import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { canonicalJson, newId } from '../../src/core/index.js';
import { signCheckpoint } from '../../src/ledger/checkpoint.js';
import {
  EXPORT_FILES,
  exportLines,
  type FailureKind,
  leafHash,
  readSignerKeyFile,
  type VerifyResult,
  verifyStore as verifyLiveStore,
  writeExportDir,
} from '../../src/ledger/index.js';
import { rootFromLeaves } from '../../src/ledger/merkle.js';
import { generateSignerKey } from '../../src/ledger/note.js';
import type { Database } from '../../src/store/index.js';
import { type Backend, backends } from '../support/backends.js';
import {
  type ClosedLedger,
  closedLedger,
  copyLedger,
  dropGuards,
  type GuardedTable,
  openDatabase,
  verifyStore,
} from '../support/closed-ledger.js';
import { loadEvent, runCli } from '../support/process.js';
import { testServer } from '../support/runtime.js';

// Each drill tampers with a closed ledger as someone with database access would (dropping the
// insert-only triggers first where needed), then runs the real `warden audit verify`, which must
// exit 1 naming the first bad index and the kind of failure.

/** Events ingested one request at a time, so every one of them is covered by a checkpoint of its own. */
const EVENTS = 20;

/** An ingested entry in the middle of the log, with checkpoints at sizes `mid` and `mid + 1`. */
const mid = (fx: ClosedLedger): number => fx.seqs[10]!;

interface Drill {
  readonly name: string;
  /** Tables whose triggers the attacker drops first. */
  readonly guards: readonly GuardedTable[];
  tamper(db: Kysely<Database>, fx: ClosedLedger): Promise<void>;
  /** The failure `audit verify` must report. */
  fails(fx: ClosedLedger): { index: number; kind: FailureKind };
}

const DRILLS: Drill[] = [
  {
    name: 'an event body edited',
    guards: ['ledger_events'],
    tamper: async (db, fx) => {
      await setBody(db, mid(fx), rewritten(await bodyAt(db, mid(fx))));
    },
    fails: (fx) => ({ index: mid(fx), kind: 'leaf-mismatch' }),
  },
  {
    name: 'an event body edited and its leaf hash recomputed',
    guards: ['ledger_events', 'ledger_leaves'],
    tamper: async (db, fx) => {
      const body = rewritten(await bodyAt(db, mid(fx)));
      await setBody(db, mid(fx), body);
      await setLeafHash(db, mid(fx), leafHash(Buffer.from(body)));
    },
    fails: (fx) => ({ index: mid(fx), kind: 'checkpoint-root' }),
  },
  {
    name: 'a leaf hash edited',
    guards: ['ledger_leaves'],
    tamper: async (db, fx) => {
      const [hash] = await leafHashes(db, mid(fx), mid(fx) + 1);
      hash![0]! ^= 0x01;
      await setLeafHash(db, mid(fx), hash!);
    },
    fails: (fx) => ({ index: mid(fx), kind: 'leaf-mismatch' }),
  },
  {
    name: "a purged entry's kept leaf hash cut short",
    guards: ['ledger_events', 'ledger_leaves'],
    tamper: async (db, fx) => {
      const [hash] = await leafHashes(db, mid(fx), mid(fx) + 1);
      await db
        .updateTable('ledger_events')
        .set({ body: null, purged_at: 1 })
        .where('pos', '=', await posAt(db, mid(fx)))
        .execute();
      await setLeafHash(db, mid(fx), hash!.subarray(0, 31));
    },
    fails: (fx) => ({ index: mid(fx), kind: 'leaf-mismatch' }),
  },
  {
    name: 'a leaf row deleted',
    guards: ['ledger_leaves'],
    tamper: async (db, fx) => {
      await db.deleteFrom('ledger_leaves').where('seq', '=', mid(fx)).execute();
    },
    fails: (fx) => ({ index: mid(fx), kind: 'missing-leaf' }),
  },
  {
    name: 'an event row deleted',
    guards: ['ledger_events'],
    tamper: async (db, fx) => {
      await db
        .deleteFrom('ledger_events')
        .where('pos', '=', await posAt(db, mid(fx)))
        .execute();
    },
    fails: (fx) => ({ index: mid(fx), kind: 'missing-body' }),
  },
  {
    name: 'a forged event and its correct leaf hash appended',
    guards: [],
    tamper: async (db, fx) => {
      const { hash, pos } = await forgeEvent(db);
      await db.insertInto('ledger_leaves').values({ seq: fx.size, hash, pos }).execute();
    },
    fails: (fx) => ({ index: fx.size, kind: 'unexpected-leaf' }),
  },
  {
    name: 'a forged event row, neither integrated nor queued',
    guards: [],
    tamper: async (db) => {
      await forgeEvent(db);
    },
    fails: (fx) => ({ index: fx.size, kind: 'missing-leaf' }),
  },
  {
    name: 'a forged event inserted in the middle, later entries renumbered',
    guards: ['ledger_leaves'],
    tamper: async (db, fx) => {
      await shiftUp(db, mid(fx));
      const { hash, pos } = await forgeEvent(db);
      await db
        .insertInto('ledger_leaves')
        .values({ seq: mid(fx), hash, pos })
        .execute();
    },
    fails: (fx) => ({ index: mid(fx), kind: 'checkpoint-root' }),
  },
  {
    name: 'two event bodies swapped',
    guards: ['ledger_events'],
    tamper: async (db, fx) => {
      const [a, b] = [mid(fx), mid(fx) + 3];
      const [bodyA, bodyB] = [await bodyAt(db, a), await bodyAt(db, b)];
      await setBody(db, a, bodyB);
      await setBody(db, b, bodyA);
    },
    fails: (fx) => ({ index: mid(fx), kind: 'leaf-mismatch' }),
  },
  {
    name: 'the log truncated by 3 entries',
    guards: ['ledger_events', 'ledger_leaves'],
    tamper: async (db, fx) => {
      const last = await db
        .selectFrom('ledger_leaves')
        .select('pos')
        .where('seq', '>=', fx.size - 3)
        .execute();
      await db
        .deleteFrom('ledger_events')
        .where(
          'pos',
          'in',
          last.map((r) => r.pos as number),
        )
        .execute();
      await db
        .deleteFrom('ledger_leaves')
        .where('seq', '>=', fx.size - 3)
        .execute();
    },
    fails: (fx) => ({ index: fx.size - 3, kind: 'truncated' }),
  },
  {
    name: 'a checkpoint signature forged',
    guards: ['ledger_checkpoints'],
    tamper: async (db, fx) => {
      const size = mid(fx) + 1;
      const { note } = await db
        .selectFrom('ledger_checkpoints')
        .select('note')
        .where('size', '=', size)
        .executeTakeFirstOrThrow();
      await setCheckpoint(db, size, flipSignatureByte(note));
    },
    fails: (fx) => ({ index: mid(fx), kind: 'checkpoint-signature' }),
  },
  {
    name: 'a checkpoint replaced by another genuine one',
    guards: ['ledger_checkpoints'],
    tamper: async (db, fx) => {
      const { note } = await db
        .selectFrom('ledger_checkpoints')
        .select('note')
        .where('size', '=', mid(fx) + 2)
        .executeTakeFirstOrThrow();
      await setCheckpoint(db, mid(fx) + 1, note);
    },
    fails: (fx) => ({ index: mid(fx), kind: 'checkpoint-size' }),
  },
  {
    name: 'a checkpoint replaced by one for another tree, signed with the real key',
    guards: ['ledger_checkpoints'],
    tamper: async (db, fx) => {
      const signer = await readSignerKeyFile(join(fx.backend.dataDir, 'ledger.key'));
      const other = [...(await leafHashes(db, 0, mid(fx))), leafHash(Buffer.from('{"forged":true}'))];
      const root = rootFromLeaves(other);
      const note = signCheckpoint({ origin: signer.name, size: mid(fx) + 1, root, extensions: [] }, signer);
      await setCheckpoint(db, mid(fx) + 1, note);
    },
    fails: (fx) => ({ index: mid(fx), kind: 'checkpoint-root' }),
  },
];

/**
 * Chunk sizes for the chunked drills: many chunks with tile and checkpoint events across them (all
 * checked by reader threads on SQLite), and one partial chunk (shared with the main thread).
 */
const CHUNKS = [4, 64] as const;

/** `verifyStore` as the CLI calls it, with reader threads (SQLite) forced on for this small log. */
async function verifyInThreads(backend: Backend, chunkLeaves: number): Promise<VerifyResult> {
  const key = await readSignerKeyFile(join(backend.dataDir, 'ledger.key'));
  const store = await openDatabase(backend);
  try {
    return await verifyLiveStore(store.db, key, undefined, {
      store,
      threads: 2,
      chunkLeaves,
      minLeaves: 0,
      mainThreadChunks: chunkLeaves !== 4,
    });
  } finally {
    await store.close();
  }
}

for (const dialect of await backends()) {
  describe(`ledger tampering on ${dialect}`, () => {
    let base: ClosedLedger;
    before(async () => {
      base = await closedLedger(dialect, EVENTS);
    });
    after(() => base.backend.drop());

    it('an untouched log verifies with exit 0', async () => {
      const res = await verifyStore(base.backend);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stdout, new RegExp(`^OK: ${base.size} entries, \\d+ checkpoint\\(s\\) verified\\n$`));
      for (const chunkLeaves of CHUNKS) {
        const threaded = await verifyInThreads(base.backend, chunkLeaves);
        assert.equal(threaded.ok, true, JSON.stringify(threaded));
        assert.equal(threaded.ok && threaded.size, base.size);
      }
    });

    for (const drill of DRILLS) {
      it(`detects ${drill.name}`, async () => {
        const fx = await copyLedger(base);
        try {
          const store = await openDatabase(fx.backend);
          try {
            for (const table of drill.guards) await dropGuards(store, table);
            await drill.tamper(store.db, fx);
          } finally {
            await store.close();
          }
          const { index, kind } = drill.fails(fx);
          const res = await verifyStore(fx.backend);
          assert.equal(res.code, 1, res.stdout + res.stderr);
          assert.match(res.stdout, new RegExp(`^FAILED at index ${index}: ${kind}: `));
          for (const chunkLeaves of CHUNKS) {
            const threaded = await verifyInThreads(fx.backend, chunkLeaves);
            assert.deepEqual(
              threaded.ok ? threaded : { index: threaded.index, kind: threaded.kind },
              { index, kind },
              `reader threads, chunks of ${chunkLeaves}`,
            );
          }
        } finally {
          await fx.backend.drop();
        }
      });
    }

    describe('exports', () => {
      let root: string;
      before(() => {
        root = mkdtempSync(join(tmpdir(), 'warden-export-'));
      });
      after(() => rmSync(root, { recursive: true, force: true }));

      /** Writes an export of [from, to) as `warden audit export` would, returning its directory. */
      async function exportDir(name: string, range: { from?: number; to?: number } = {}): Promise<string> {
        const dir = join(root, name);
        const store = await openDatabase(base.backend);
        try {
          await writeExportDir(dir, exportLines(store, base, range));
        } finally {
          await store.close();
        }
        return dir;
      }

      const verifyExport = (dir: string, ...extra: string[]) =>
        runCli(['audit', 'verify', '--quiet', '--export', dir, ...extra], {});

      it('verifies a whole export, pinned to the real verifier key', async () => {
        const dir = await exportDir('whole');
        const res = await verifyExport(dir, '--vkey', base.verifierKey);
        assert.equal(res.code, 0, res.stdout + res.stderr);
        assert.equal(res.stdout, `OK: ${base.size} entries, 1 checkpoint(s) verified\n`);
      });

      it('fails naming the index of an entry with one byte edited', async () => {
        const dir = await exportDir('edited');
        editEntries(dir, (lines) => {
          lines[mid(base)] = oneByteEdited(lines[mid(base)]!);
        });
        const res = await verifyExport(dir);
        assert.equal(res.code, 1, res.stdout + res.stderr);
        assert.match(res.stdout, new RegExp(`^FAILED at index ${mid(base)}: leaf-mismatch: `));
      });

      it('verifies a partial export, and fails naming an edited entry in it or where it was cut short', async () => {
        const range = { from: 5, to: mid(base) + 3 };
        const good = await exportDir('partial', range);
        const ok = await verifyExport(good, '--vkey', base.verifierKey);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, /^OK: /);

        const edited = await exportDir('partial-edited', range);
        editEntries(edited, (lines) => {
          lines[mid(base) - range.from] = oneByteEdited(lines[mid(base) - range.from]!);
        });
        const res = await verifyExport(edited);
        assert.equal(res.code, 1, res.stdout + res.stderr);
        assert.match(res.stdout, new RegExp(`^FAILED at index ${mid(base)}: leaf-mismatch: `));

        const cut = await exportDir('partial-cut', range);
        editEntries(cut, (lines) => lines.pop());
        const short = await verifyExport(cut);
        assert.equal(short.code, 1, short.stdout + short.stderr);
        assert.match(short.stdout, new RegExp(`^FAILED at index ${range.to - 1}: truncated: `));
      });

      it('fails on checkpoint-signature when pinned to another key of the same name', async () => {
        const dir = await exportDir('wrong-key');
        const res = await verifyExport(dir, '--vkey', generateSignerKey(base.origin).vkey);
        assert.equal(res.code, 1, res.stdout + res.stderr);
        assert.match(res.stdout, /^FAILED at index 0: checkpoint-signature: /);
      });
    });
  });

  describe(`insert-only triggers on ${dialect}`, () => {
    it('reject every change to leaves, checkpoints and tile hashes, and all but purging of events', async () => {
      // A batch of 256 completes a level-8 subtree, so there is a stored tile hash to attack.
      const s = await testServer(dialect);
      try {
        const batch = await s.inject({
          method: 'POST',
          url: '/api/v1/events?wait=integrated',
          body: Array.from({ length: 256 }, (_, i) => loadEvent(i)),
        });
        assert.equal(batch.statusCode, 201, batch.body);
        const size = batch.json().events.at(-1).seq + 1;
        await s.rt.close();
        const store = await openDatabase(s.backend);
        try {
          const { db } = store;
          const tiles = await db.selectFrom('ledger_tile_hashes').select('idx').execute();
          assert.equal(tiles.length, 1);
          const insertOnly = (table: string) => new RegExp(`${table} is insert-only`);
          const guarded = /ledger_events: only purging may change a row/;
          const at5 = 'pos = (SELECT pos FROM ledger_leaves WHERE seq = 5)';
          const rejected: [string, RegExp][] = [
            ['UPDATE ledger_leaves SET seq = seq + 100000 WHERE seq = 0', insertOnly('ledger_leaves')],
            ['DELETE FROM ledger_leaves WHERE seq = 0', insertOnly('ledger_leaves')],
            [
              "UPDATE ledger_checkpoints SET note = note || 'x' WHERE size > 0",
              insertOnly('ledger_checkpoints'),
            ],
            ['DELETE FROM ledger_checkpoints WHERE size > 0', insertOnly('ledger_checkpoints')],
            [
              'UPDATE ledger_tile_hashes SET idx = idx + 1 WHERE tile_level = 1',
              insertOnly('ledger_tile_hashes'),
            ],
            ['DELETE FROM ledger_tile_hashes WHERE tile_level = 1', insertOnly('ledger_tile_hashes')],
            [`UPDATE ledger_events SET body = 'x' WHERE ${at5}`, guarded],
            [`UPDATE ledger_events SET pos = 999999 WHERE ${at5}`, guarded],
            [`UPDATE ledger_events SET action = 'x' WHERE ${at5}`, guarded],
            [`UPDATE ledger_events SET purged_at = 1 WHERE ${at5}`, guarded],
            [`DELETE FROM ledger_events WHERE ${at5}`, /ledger_events rows cannot be deleted/],
          ];
          for (const [statement, error] of rejected) {
            await assert.rejects(sql.raw(statement).execute(db), error, statement);
          }
          // What retention does, clearing a body but keeping its leaf hash, is allowed.
          await db
            .updateTable('ledger_events')
            .set({ body: null, purged_at: 1 })
            .where('pos', '=', await posAt(db, 5))
            .execute();
        } finally {
          await store.close();
        }
        const res = await verifyStore(s.backend);
        assert.equal(res.code, 0, res.stdout + res.stderr);
        assert.match(
          res.stdout,
          new RegExp(`^OK: ${size} entries, .*, 1 purged bodies checked by their kept hashes\n$`),
        );
        for (const chunkLeaves of [...CHUNKS, 256]) {
          const threaded = await verifyInThreads(s.backend, chunkLeaves);
          assert.equal(
            threaded.ok && `${threaded.size} ${threaded.purged}`,
            `${size} 1`,
            `chunks of ${chunkLeaves}`,
          );
        }
        // The stored hash of the first 256 entries, edited: its tile check fails at index 0.
        const edit = await openDatabase(s.backend);
        try {
          await dropGuards(edit, 'ledger_tile_hashes');
          await sql`UPDATE ledger_tile_hashes SET hash = ${Buffer.alloc(32)} WHERE tile_level = 1`.execute(
            edit.db,
          );
        } finally {
          await edit.close();
        }
        const tampered = await verifyStore(s.backend);
        assert.match(tampered.stdout, /^FAILED at index 0: tile-hash-mismatch: /);
        for (const chunkLeaves of [...CHUNKS, 256]) {
          const threaded = await verifyInThreads(s.backend, chunkLeaves);
          assert.deepEqual(
            threaded.ok ? threaded : { index: threaded.index, kind: threaded.kind },
            { index: 0, kind: 'tile-hash-mismatch' },
            `chunks of ${chunkLeaves}`,
          );
        }
      } finally {
        await s.close();
      }
    });
  });
}

/** The position of the event integrated at `seq`. */
async function posAt(db: Kysely<Database>, seq: number): Promise<number> {
  const row = await db
    .selectFrom('ledger_leaves')
    .select('pos')
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow();
  return row.pos!;
}

async function bodyAt(db: Kysely<Database>, seq: number): Promise<string> {
  const row = await db
    .selectFrom('ledger_events')
    .select('body')
    .where('pos', '=', await posAt(db, seq))
    .executeTakeFirstOrThrow();
  return row.body!;
}

/** The same event with other details: still well-formed, canonical JSON. */
function rewritten(body: string): string {
  return canonicalJson({ ...JSON.parse(body), details: { rewritten: true } });
}

async function setBody(db: Kysely<Database>, seq: number, body: string): Promise<void> {
  await db
    .updateTable('ledger_events')
    .set({ body })
    .where('pos', '=', await posAt(db, seq))
    .execute();
}

async function leafHashes(db: Kysely<Database>, from: number, to: number): Promise<Buffer[]> {
  const rows = await db
    .selectFrom('ledger_leaves')
    .select('hash')
    .where('seq', '>=', from)
    .where('seq', '<', to)
    .orderBy('seq')
    .execute();
  return rows.map((r) => Buffer.from(r.hash));
}

async function setLeafHash(db: Kysely<Database>, seq: number, hash: Buffer): Promise<void> {
  await db.updateTable('ledger_leaves').set({ hash }).where('seq', '=', seq).execute();
}

async function setCheckpoint(db: Kysely<Database>, size: number, note: string): Promise<void> {
  await db.updateTable('ledger_checkpoints').set({ note }).where('size', '=', size).execute();
}

/** Adds one to every leaf's seq from `from` on, in two steps so that no unique key collides on the way. */
async function shiftUp(db: Kysely<Database>, from: number) {
  await sql`UPDATE ledger_leaves SET seq = -seq - 1 WHERE seq >= ${from}`.execute(db);
  await sql`UPDATE ledger_leaves SET seq = -seq WHERE seq < 0`.execute(db);
}

/** Writes a plausible event row, copied from a real one with a new id and action; returns its leaf hash and position. */
async function forgeEvent(db: Kysely<Database>): Promise<{ hash: Buffer; pos: number }> {
  const event = { ...JSON.parse(await bodyAt(db, 0)), id: newId(), action: 'model_version.promote' };
  const body = canonicalJson(event);
  const { pos } = await db
    .insertInto('ledger_events')
    .values({
      id: event.id,
      body,
      time_ms: Date.parse(event.time),
      actor_type: event.actor.type,
      actor_id: event.actor.id,
      action: event.action,
      resource_type: event.resource.type,
      resource_id: event.resource.id,
      outcome: event.outcome,
      project: null,
      purged_at: null,
    })
    .returning('pos')
    .executeTakeFirstOrThrow();
  return { hash: leafHash(Buffer.from(body)), pos: Number(pos) };
}

/** The note with one byte of its Ed25519 signature (past the 4-byte key id) flipped. */
function flipSignatureByte(note: string): string {
  const match = /^(— \S+ )(\S+)\n$/m.exec(note.slice(note.lastIndexOf('\n\n') + 2));
  assert.ok(match, `no signature line in ${note}`);
  const sig = Buffer.from(match[2]!, 'base64');
  sig[10]! ^= 0x01;
  return note.replace(match[0], `${match[1]}${sig.toString('base64')}\n`);
}

/** Rewrites an export's entries.ndjson through `edit`, which gets its lines without their newlines. */
function editEntries(dir: string, edit: (lines: string[]) => void): void {
  const path = join(dir, EXPORT_FILES.entries);
  const lines = readFileSync(path, 'utf8').slice(0, -1).split('\n');
  edit(lines);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
}

/** The entry with the first byte of its action changed. */
function oneByteEdited(entry: string): string {
  const at = entry.indexOf('"action":"') + '"action":"'.length;
  assert.ok(at >= '"action":"'.length, `no action in ${entry}`);
  return `${entry.slice(0, at)}X${entry.slice(at + 1)}`;
}
