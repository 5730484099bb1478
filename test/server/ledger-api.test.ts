import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalJson } from '../../src/core/index.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../src/ledger/index.js';
import { ProofError, rootAt, rootFromLeaves } from '../../src/ledger/merkle.js';
import type { NoteKey } from '../../src/ledger/note.js';
import { readNodesFrom } from '../../src/ledger/stored-nodes.js';
import {
  decodeEntryBundle,
  entriesPath,
  TILE_WIDTH,
  tilePath,
  tilesForSize,
} from '../../src/ledger/tiles.js';
import { allEvents, latestCheckpoint, publishedKey } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';

const ce = (id: string) => ({
  specversion: '1.0',
  id,
  source: 'https://ci.example/proofs',
  type: 'com.example.proof',
  data: { id },
});

const b64s = (proof: string[]) => proof.map((p) => Buffer.from(p, 'base64'));

for (const dialect of await backends()) {
  describe(`ledger proof and tile API on ${dialect}`, () => {
    let s: TestServer;
    let key: NoteKey;
    // Signed tree heads seen after each batch, by ascending size; the last one spans two level-0 tiles.
    const heads: { size: number; root: Buffer }[] = [];
    // Every leaf hash below the last head, from the bodies the audit API returns.
    const leaves: Buffer[] = [];
    const ids: string[] = [];

    async function get(url: string) {
      return s.rt.app.inject({ method: 'GET', url });
    }

    async function inclusion(index: number, size: number): Promise<Buffer[]> {
      const res = await s.inject({
        method: 'GET',
        url: `/api/v1/ledger/proof/inclusion?index=${index}&size=${size}`,
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual([res.json().index, res.json().size], [index, size]);
      return b64s(res.json().proof);
    }

    before(async () => {
      s = await testServer(dialect);
      key = await publishedKey(s);
      let n = 0;
      for (const k of [1, 2, 3, 5, 8, 300]) {
        const batch = Array.from({ length: k }, () => ce(`p-${n++}`));
        const res = await s.inject({ method: 'POST', url: '/api/v1/events?wait=integrated', body: batch });
        assert.equal(res.statusCode, 201, res.body);
        const cp = await latestCheckpoint(s, key);
        assert.ok(cp.size > (heads.at(-1)?.size ?? 0));
        heads.push({ size: cp.size, root: cp.root });
      }
      const last = heads.at(-1)!.size;
      assert.ok(last > TILE_WIDTH);
      for (const e of await allEvents(s)) {
        if (e.seq === null || e.seq >= last) continue;
        leaves[e.seq] = leafHash(Buffer.from(canonicalJson(e.event)));
        ids[e.seq] = e.id;
      }
      assert.equal(leaves.filter(Boolean).length, last);
    });
    after(() => s.close());

    it('serves inclusion proofs, for every index of the small heads, that verify against the signed roots', async () => {
      for (const head of heads) {
        // The big head only at tile edges and a stride, to keep the run short.
        const edges = [0, 1, 127, 255, 256, 257, head.size - 2, head.size - 1];
        for (let i = 0; i < head.size; i++) {
          if (head.size > TILE_WIDTH && i % 29 !== 0 && !edges.includes(i)) continue;
          verifyInclusion(leaves[i]!, i, head.size, await inclusion(i, head.size), head.root);
        }
      }
      const head = heads[3]!;
      const proof = await inclusion(2, head.size);
      assert.throws(() => verifyInclusion(leaves[3]!, 2, head.size, proof, head.root), ProofError);
      const flipped = proof.map((p, i) =>
        i === 0 ? Buffer.from(p.map((b, j) => (j === 0 ? b ^ 1 : b))) : p,
      );
      assert.throws(() => verifyInclusion(leaves[2]!, 2, head.size, flipped, head.root), ProofError);
    });

    it('serves consistency proofs between every pair of signed tree heads', async () => {
      for (const [a, older] of heads.entries()) {
        for (const newer of heads.slice(a)) {
          const res = await s.inject({
            method: 'GET',
            url: `/api/v1/ledger/proof/consistency?from=${older.size}&to=${newer.size}`,
          });
          assert.equal(res.statusCode, 200, res.body);
          assert.deepEqual([res.json().from, res.json().to], [older.size, newer.size]);
          verifyConsistency(older.size, newer.size, older.root, newer.root, b64s(res.json().proof));
        }
      }
      const [older, newer] = [heads[1]!, heads[4]!];
      const res = await s.inject({
        method: 'GET',
        url: `/api/v1/ledger/proof/consistency?from=${older.size}&to=${newer.size}`,
      });
      const proof = b64s(res.json().proof);
      assert.throws(
        () => verifyConsistency(older.size, newer.size, heads[0]!.root, newer.root, proof),
        ProofError,
      );
    });

    it('serves public hash tiles that rebuild every signed root', async () => {
      const size = heads.at(-1)!.size;
      const levels: Buffer[][] = [];
      for (const t of tilesForSize(size)) {
        const res = await get(`/ledger/${tilePath(t.level, t.index, t.width)}`);
        assert.equal(res.statusCode, 200, `${tilePath(t.level, t.index, t.width)}: ${res.body}`);
        assert.equal(res.rawPayload.length, t.width * 32);
        const full = t.width === TILE_WIDTH;
        assert.equal(res.headers['cache-control'], full ? 'public, max-age=31536000, immutable' : 'no-store');
        levels[t.level] ??= [];
        for (let i = 0; i < t.width; i++) levels[t.level]!.push(res.rawPayload.subarray(i * 32, i * 32 + 32));
      }
      assert.deepEqual(levels[0], leaves);
      assert.deepEqual(levels[1], [rootFromLeaves(leaves.slice(0, TILE_WIDTH))]);
      // As a tile client would: each subtree hashed up from the tile level beneath it.
      const fromTiles = readNodesFrom(async (level, from, to) => levels[level]!.slice(from, to));
      assert.deepEqual(await rootAt(size, fromTiles), heads.at(-1)!.root);
      for (const head of heads.filter((h) => h.size < TILE_WIDTH)) {
        const res = await get(`/ledger/${tilePath(0, 0, head.size)}`);
        assert.equal(res.statusCode, 200);
        const hashes = Array.from({ length: head.size }, (_, i) =>
          res.rawPayload.subarray(i * 32, i * 32 + 32),
        );
        assert.deepEqual(rootFromLeaves(hashes), head.root, `partial tile of size ${head.size}`);
      }
    });

    it('serves entry bundles whose entries hash to the leaves', async () => {
      const size = heads.at(-1)!.size;
      let at = 0;
      for (const t of tilesForSize(size).filter((t) => t.level === 0)) {
        const res = await get(`/ledger/${entriesPath(t.index, t.width)}`);
        assert.equal(res.statusCode, 200, res.body);
        const entries = decodeEntryBundle(res.rawPayload);
        assert.equal(entries.length, t.width);
        for (const entry of entries) {
          assert.deepEqual(leafHash(entry), leaves[at], `entry ${at}`);
          assert.equal(JSON.parse(entry.toString('utf8')).id, ids[at]);
          at++;
        }
      }
      assert.equal(at, size);
    });

    it('answers out-of-range or malformed proof requests with 400 naming the field', async () => {
      const size = heads[2]!.size;
      const cases: [string, string][] = [
        [`/api/v1/ledger/proof/inclusion?index=${size}&size=${size}`, 'index'],
        ['/api/v1/ledger/proof/inclusion?index=1000000000', 'index'],
        ['/api/v1/ledger/proof/inclusion?index=0&size=0', 'size'],
        ['/api/v1/ledger/proof/inclusion?index=0&size=1000000000', 'size'],
        ['/api/v1/ledger/proof/inclusion?index=-1', 'index'],
        ['/api/v1/ledger/proof/inclusion?index=1.5', 'index'],
        ['/api/v1/ledger/proof/inclusion?index=abc', 'index'],
        ['/api/v1/ledger/proof/inclusion', 'index'],
        ['/api/v1/ledger/proof/consistency?from=0', 'from'],
        [`/api/v1/ledger/proof/consistency?from=${size + 1}&to=${size}`, 'from'],
        ['/api/v1/ledger/proof/consistency?from=1&to=1000000000', 'to'],
        ['/api/v1/ledger/proof/consistency?from=1&to=0', 'to'],
        ['/api/v1/ledger/proof/consistency?from=x', 'from'],
        ['/api/v1/ledger/proof/consistency', 'from'],
      ];
      for (const [url, field] of cases) {
        const res = await s.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        const fields = res.json().error.issues.map((i: { field: string }) => i.field);
        assert.ok(fields.includes(field), `${url}: ${field} not named in ${res.body}`);
      }
    });

    it('answers malformed tile paths with 400 and tiles beyond the tree with 404', async () => {
      const malformed = [
        'tile/0/1',
        'tile/0/0000',
        'tile/0/x000/001',
        'tile/00/000',
        'tile/64/000',
        'tile/-1/000',
        'tile/0/000.p/0',
        'tile/0/000.p/256',
        'tile/0/000.p/',
        'tile/0/000.p/010',
        'tile/entries/abc',
        'tile/entries/000/extra',
        'tile/data/000',
        'tile/',
      ];
      for (const path of malformed) {
        const res = await get(`/ledger/${path}`);
        assert.equal(res.statusCode, 400, `${path}: ${res.body}`);
        assert.equal(res.json().error.issues[0].field, 'path', path);
      }
      const beyond = [
        'tile/0/005',
        'tile/0/001.p/255',
        'tile/1/000',
        'tile/2/000.p/1',
        'tile/entries/005',
        'tile/entries/001.p/255',
      ];
      for (const path of beyond) {
        const res = await get(`/ledger/${path}`);
        assert.equal(res.statusCode, 404, `${path}: ${res.body}`);
      }
    });
  });
}
