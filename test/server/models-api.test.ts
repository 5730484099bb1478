import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { manifestDigest } from '../../src/registry/index.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';
import { storedBlobs, tarFiles, tarHeader, tarMember, tarOf, uploadVersion } from '../support/tar.js';

const MiB = 1024 * 1024;
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const FILES = {
  'config.json': '{"layers": 2}\n',
  'weights/part-1.bin': randomBytes(70_000),
  'weights/part-2.bin': Buffer.alloc(0),
  'tokenizer/vocab.txt': 'a\nb\nc\n',
};
const expectedManifest = Object.entries(FILES).map(([path, body]) => ({
  path,
  digest: sha(body),
  size: Buffer.byteLength(body),
}));

for (const dialect of await backends()) {
  describe(`model registry API on ${dialect}`, () => {
    let s: TestServer;
    let model: string;
    let first: { id: string; number: number; manifestDigest: string };

    const versionCount = async (id: string) =>
      (await s.inject({ method: 'GET', url: `/api/v1/models/${id}` })).json().versions.length;

    before(async () => {
      s = await testServer(dialect, {
        maxUploadBytes: String(4 * MiB),
        maxFileBytes: String(2 * MiB),
        maxUploadFiles: '40',
        maxUploadRatio: '50',
      });
      const p = await s.inject({ method: 'POST', url: '/api/v1/projects', body: { id: 'fraud' } });
      assert.equal(p.statusCode, 201, p.body);
    });
    after(() => s.close());

    it('creates, lists and shows models; a taken name is 409, an unknown project 404; each creation is recorded', async () => {
      const res = await s.inject({
        method: 'POST',
        url: '/api/v1/projects/fraud/models',
        body: { name: 'scorer', description: 'card fraud scorer' },
      });
      assert.equal(res.statusCode, 201, res.body);
      model = res.json().id;
      assert.equal(res.json().project, 'fraud');
      const again = await s.inject({
        method: 'POST',
        url: '/api/v1/projects/fraud/models',
        body: { name: 'scorer' },
      });
      assert.equal(again.statusCode, 409, again.body);
      const bad = await s.inject({
        method: 'POST',
        url: '/api/v1/projects/fraud/models',
        body: { name: '../x' },
      });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.equal(bad.json().error.issues[0].field, 'name');
      const none = await s.inject({
        method: 'POST',
        url: '/api/v1/projects/nope/models',
        body: { name: 'm' },
      });
      assert.equal(none.statusCode, 404, none.body);
      const list = await s.inject({ method: 'GET', url: '/api/v1/projects/fraud/models' });
      assert.deepEqual(
        list.json().models.map((m: { name: string }) => m.name),
        ['scorer'],
      );
      const shown = await s.inject({ method: 'GET', url: `/api/v1/models/${model}` });
      assert.equal(shown.statusCode, 200, shown.body);
      assert.deepEqual(shown.json().versions, []);
      const events = await allEvents(s, 'action=model.create&wait=integrated');
      assert.equal(events.length, 1);
      assert.deepEqual(events[0]?.event?.resource, { type: 'Model', id: model });
      assert.equal(events[0]?.event?.context?.project, 'fraud');
    });

    it('registers a version from a streamed tar: manifest sorted by path bytes, digest by the fixed convention, recorded', async () => {
      const res = await uploadVersion(s, model, tarFiles(FILES));
      assert.equal(res.statusCode, 201, res.body);
      first = res.json();
      const body = res.json();
      assert.equal(body.number, 1);
      assert.equal(body.stage, 'registered');
      const sorted = [...expectedManifest].sort((a, b) =>
        Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
      );
      assert.deepEqual(body.files, sorted);
      assert.equal(body.manifestDigest, manifestDigest(expectedManifest));
      assert.equal(body.fileCount, 4);
      assert.equal(body.totalBytes, 70_000 + 14 + 6);
      assert.equal(body.signed, false);
      assert.equal(body.provenance, null);
      const events = await allEvents(s, 'action=model.register&wait=integrated');
      assert.equal(events.length, 1);
      const ev = events[0]?.event;
      assert.deepEqual(ev?.resource, {
        type: 'ModelVersion',
        id: body.id,
        version: '1',
        digest: body.manifestDigest,
      });
      assert.equal(ev?.context?.project, 'fraud');
      assert.equal(ev?.outcome, 'succeeded');
      assert.deepEqual((ev?.details as { files?: unknown } | undefined)?.files, sorted);
    });

    it('deduplicates a re-upload of the same bytes (gzip this time): a new version, the same digests, each blob stored once', async () => {
      const before = await storedBlobs(s);
      const res = await uploadVersion(s, model, gzipSync(tarFiles(FILES)), { type: 'application/gzip' });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().number, 2);
      assert.equal(res.json().manifestDigest, first.manifestDigest);
      const after = await storedBlobs(s);
      const modelBlobs = (b: string[]) => b.filter((d) => expectedManifest.some((f) => f.digest === d));
      assert.deepEqual(modelBlobs(after.blobs), modelBlobs(before.blobs));
      assert.equal(modelBlobs(after.blobs).length, 4);
      assert.deepEqual(after.temp, []);
    });

    it('reads a version by id, by number and by alias; an unknown ref is 404', async () => {
      const byId = await s.inject({ method: 'GET', url: `/api/v1/model-versions/${first.id}` });
      assert.equal(byId.statusCode, 200, byId.body);
      assert.equal(byId.json().model.name, 'scorer');
      const byNumber = await s.inject({
        method: 'GET',
        url: '/api/v1/projects/fraud/models/scorer/versions/1',
      });
      assert.equal(byNumber.statusCode, 200, byNumber.body);
      assert.deepEqual(byNumber.json(), byId.json());
      await s.rt.store.db
        .insertInto('model_aliases')
        .values({
          model_id: model,
          alias: 'champion',
          version_id: first.id,
          set_by: 'test',
          set_ms: Date.now(),
        })
        .execute();
      const byAlias = await s.inject({
        method: 'GET',
        url: '/api/v1/projects/fraud/models/scorer/versions/champion',
      });
      assert.equal(byAlias.statusCode, 200, byAlias.body);
      assert.equal(byAlias.json().id, first.id);
      assert.deepEqual(byAlias.json().aliases, ['champion']);
      for (const ref of ['9', 'nobody', '0']) {
        const res = await s.inject({
          method: 'GET',
          url: `/api/v1/projects/fraud/models/scorer/versions/${ref}`,
        });
        assert.equal(res.statusCode, 404, `${ref}: ${res.body}`);
      }
      const unknown = await s.inject({ method: 'GET', url: '/api/v1/model-versions/01NOPE' });
      assert.equal(unknown.statusCode, 404, unknown.body);
    });

    it('streams a file with its digest headers and records the download; only exact manifest paths are served', async () => {
      const res = await s.inject({
        method: 'GET',
        url: `/api/v1/model-versions/${first.id}/files/weights/part-1.bin`,
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(Buffer.from(res.body, 'latin1').length > 0);
      const raw = await s.rt.app.inject({
        method: 'GET',
        url: `/api/v1/model-versions/${first.id}/files/weights/part-1.bin`,
        headers: { authorization: `Bearer ${s.token}` },
      });
      assert.deepEqual(raw.rawPayload, FILES['weights/part-1.bin']);
      const digest = sha(FILES['weights/part-1.bin']);
      assert.equal(raw.headers['x-warden-digest'], digest);
      assert.equal(raw.headers.digest, `sha-256=${Buffer.from(digest.slice(7), 'hex').toString('base64')}`);
      assert.equal(raw.headers['content-length'], '70000');
      for (const path of [
        'weights',
        'Config.json',
        'weights%2F..%2Fconfig.json',
        '.%2Fconfig.json',
        'nope',
        'weights/part-1.bin/',
      ]) {
        const miss = await s.inject({
          method: 'GET',
          url: `/api/v1/model-versions/${first.id}/files/${path}`,
        });
        assert.equal(miss.statusCode, 404, `${path}: ${miss.body}`);
      }
      const events = await allEvents(
        s,
        `action=model_version.download&resourceId=${first.id}&wait=integrated`,
      );
      assert.equal(events.length, 2);
      assert.deepEqual(events[0]?.event?.details, {
        path: 'weights/part-1.bin',
        digest,
        size: 70_000,
      });
      assert.equal(events[0]?.event?.context?.project, 'fraud');
    });

    it('refuses hostile or broken archives with 4xx, naming the problem, and leaves no version and no new blob', async () => {
      const fresh = () => tarMember('fresh.bin', randomBytes(1000)); // a new blob, stored before the failure
      const cases: { name: string; archive: Buffer; status: number; match: RegExp; type?: string }[] = [
        {
          name: 'traversal',
          archive: tarOf(fresh(), tarMember('../evil', 'x')),
          status: 400,
          match: /only dots/,
        },
        {
          name: 'nested traversal',
          archive: tarOf(fresh(), tarMember('a/../../evil', 'x')),
          status: 400,
          match: /only dots/,
        },
        {
          name: 'absolute',
          archive: tarOf(fresh(), tarMember('/etc/passwd', 'x')),
          status: 400,
          match: /relative/,
        },
        {
          name: 'duplicate',
          archive: tarOf(fresh(), tarMember('a.bin', '1'), tarMember('a.bin', '2')),
          status: 400,
          match: /collides/,
        },
        {
          name: 'case clash',
          archive: tarOf(fresh(), tarMember('A.bin', '1'), tarMember('a.bin', '2')),
          status: 400,
          match: /collides/,
        },
        {
          name: 'symlink',
          archive: tarOf(fresh(), tarMember('link', '', '2', '/etc/passwd')),
          status: 400,
          match: /SymbolicLink/,
        },
        {
          name: 'hardlink',
          archive: tarOf(fresh(), tarMember('hard', '', '1', 'fresh.bin')),
          status: 400,
          match: /Link/,
        },
        {
          name: 'character device',
          archive: tarOf(fresh(), tarMember('dev', '', '3')),
          status: 400,
          match: /CharacterDevice/,
        },
        { name: 'fifo', archive: tarOf(fresh(), tarMember('fifo', '', '6')), status: 400, match: /FIFO/ },
        {
          name: 'file over the per-file limit',
          archive: tarOf(fresh(), tarHeader('big.bin', { size: 3 * MiB }), Buffer.alloc(4096)),
          status: 413,
          match: /per-file limit/,
        },
        {
          name: 'files over the total limit',
          archive: tarOf(
            fresh(),
            ...[1, 2, 3].map((i) => tarMember(`part-${i}.bin`, randomBytes(1.5 * MiB))),
          ),
          status: 413,
          match: /total limit/,
        },
        {
          name: 'too many entries',
          archive: tarOf(fresh(), ...Array.from({ length: 45 }, (_, i) => tarMember(`f${i}`, String(i)))),
          status: 413,
          match: /entries/,
        },
        {
          name: 'truncated stream',
          archive: tarOf(fresh(), tarMember('cut.bin', randomBytes(5000))).subarray(0, 512 * 5),
          status: 400,
          match: /truncated|Truncated/,
        },
        {
          name: 'gzip bomb',
          archive: gzipSync(tarOf(fresh(), tarMember('zeros.bin', Buffer.alloc(1.9 * MiB)))),
          type: 'application/gzip',
          status: 413,
          match: /decompression ratio/,
        },
        { name: 'not a tar', archive: randomBytes(4096), status: 400, match: /tar/ },
        { name: 'no blocks at all', archive: tarOf(), status: 400, match: /tar archive/ },
        {
          name: 'directories only',
          archive: tarOf(tarMember('dir/', '', '5')),
          status: 400,
          match: /at least one file/,
        },
      ];
      const count = await versionCount(model);
      for (const c of cases) {
        const before = await storedBlobs(s);
        const res = await uploadVersion(s, model, c.archive, c.type ? { type: c.type } : {});
        assert.equal(res.statusCode, c.status, `${c.name}: ${res.body}`);
        assert.match(res.json().error.message, c.match, c.name);
        const after = await storedBlobs(s);
        assert.deepEqual(after.blobs, before.blobs, `${c.name}: a blob was left behind`);
        assert.deepEqual(after.temp, [], `${c.name}: a partial file was left behind`);
      }
      assert.equal(await versionCount(model), count, 'a refused upload created a version');
      const json = await s.inject({
        method: 'POST',
        url: `/api/v1/models/${model}/versions`,
        body: { files: [] },
      });
      assert.equal(json.statusCode, 400, json.body);
      assert.equal(json.json().error.issues[0].field, 'content-type');
      const unknown = await uploadVersion(s, '01UNKNOWNMODEL', tarFiles({ a: 'b' }));
      assert.equal(unknown.statusCode, 404, unknown.body);
    });

    it('keeps a blob a failed upload shares with a registered version', async () => {
      const before = await storedBlobs(s);
      const res = await uploadVersion(
        s,
        model,
        tarOf(tarMember('config.json', FILES['config.json']), tarMember('../x', 'y')),
      );
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual((await storedBlobs(s)).blobs, before.blobs);
      const still = await s.inject({
        method: 'GET',
        url: `/api/v1/model-versions/${first.id}/files/config.json`,
      });
      assert.equal(still.statusCode, 200, still.body);
    });

    it('never changes a registered version: no route edits files, and the store refuses manifest and identity updates', async () => {
      const fileRoutes = s.rt.routes.filter((r) => r.url.includes('/files') && r.method !== 'GET');
      assert.deepEqual(fileRoutes, []);
      const db = s.rt.store.db;
      const rows = async () =>
        db.selectFrom('model_files').selectAll().where('version_id', '=', first.id).orderBy('path').execute();
      const before = await rows();
      await assert.rejects(
        db
          .updateTable('model_files')
          .set({ digest: sha('evil') })
          .where('version_id', '=', first.id)
          .execute(),
        /never change/,
      );
      await assert.rejects(
        db.updateTable('model_files').set({ size: 1 }).where('version_id', '=', first.id).execute(),
        /never change/,
      );
      await assert.rejects(
        db
          .updateTable('model_versions')
          .set({ manifest_digest: sha('evil') })
          .where('id', '=', first.id)
          .execute(),
        /never change/,
      );
      await assert.rejects(
        db.updateTable('model_versions').set({ number: 7 }).where('id', '=', first.id).execute(),
        /never change/,
      );
      // The workflow's columns still move.
      await db
        .updateTable('model_versions')
        .set({ stage_rationale: 'checked' })
        .where('id', '=', first.id)
        .execute();
      assert.deepEqual(await rows(), before);
      const shown = await s.inject({ method: 'GET', url: `/api/v1/model-versions/${first.id}` });
      assert.equal(shown.json().manifestDigest, first.manifestDigest);
    });

    it('gives concurrent uploads to one model distinct consecutive numbers', async () => {
      const count = await versionCount(model);
      const results = await Promise.all(
        [1, 2, 3, 4].map((i) => uploadVersion(s, model, tarFiles({ [`c${i}.bin`]: randomBytes(100) }))),
      );
      for (const r of results) assert.equal(r.statusCode, 201, r.body);
      const numbers = results.map((r) => r.json().number).sort((a: number, b: number) => a - b);
      assert.deepEqual(
        numbers,
        [1, 2, 3, 4].map((i) => count + i),
      );
    });
  });
}
