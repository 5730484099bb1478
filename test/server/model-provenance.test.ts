import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { provenanceStatement } from '../support/provenance.js';
import { type TestServer, testServer } from '../support/runtime.js';
import { tarFiles, uploadVersion } from '../support/tar.js';

const DIGEST = `sha256:${'1'.repeat(64)}`;

for (const dialect of await backends()) {
  describe(`provenance over HTTP on ${dialect}`, () => {
    let s: TestServer;
    let model: string;
    let dataset: { id: string; name: string; digest: string };
    let foreign: { id: string; name: string; digest: string };
    let trainer: string;

    const ok = async (req: Parameters<TestServer['inject']>[0], status = 201) => {
      const res = await s.inject(req);
      assert.equal(res.statusCode, status, res.body);
      return res.json();
    };
    const newVersion = async (content: string) => {
      const res = await uploadVersion(s, model, tarFiles({ 'model.bin': content }));
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { id: string; manifestDigest: string };
    };
    const put = (id: string, body: unknown) =>
      s.inject({ method: 'PUT', url: `/api/v1/model-versions/${id}/provenance`, body });
    const registerDataset = (project: string, name: string) =>
      ok({
        method: 'POST',
        url: `/api/v1/projects/${project}/datasets`,
        body: {
          name,
          versionDigest: DIGEST,
          sensitivity: 'internal',
          allowedPurposes: ['training'],
          piiFields: [],
          locationUri: `s3://data/${name}`,
        },
      });

    before(async () => {
      s = await testServer(dialect);
      await ok({ method: 'POST', url: '/api/v1/projects', body: { id: 'fraud' } });
      await ok({ method: 'POST', url: '/api/v1/projects', body: { id: 'other' } });
      model = (await ok({ method: 'POST', url: '/api/v1/projects/fraud/models', body: { name: 'scorer' } }))
        .id;
      const d = await registerDataset('fraud', 'transactions');
      dataset = { id: d.id, name: 'transactions', digest: DIGEST };
      const f = await registerDataset('other', 'elsewhere');
      foreign = { id: f.id, name: 'elsewhere', digest: DIGEST };
      trainer = (
        await ok({ method: 'POST', url: '/api/v1/principals', body: { type: 'user', name: 'trainer' } })
      ).id;
    });
    after(() => s.close());

    it('sets a complete provenance once, links the named datasets in lineage, and records it', async () => {
      const v = await newVersion('v1');
      const statement = provenanceStatement({
        manifestDigest: v.manifestDigest,
        datasets: [dataset],
        trainer,
      });
      const res = await put(v.id, statement);
      assert.equal(res.statusCode, 200, res.body);
      const facts = res.json();
      assert.equal(facts.complete, true);
      assert.equal(facts.trainer, trainer);
      assert.match(facts.digest, /^sha256:[0-9a-f]{64}$/);
      assert.deepEqual(facts.metrics, { auc: 0.93, precision: 0.88 });
      const shown = await ok({ method: 'GET', url: `/api/v1/model-versions/${v.id}` }, 200);
      assert.deepEqual(shown.provenance, facts);
      assert.deepEqual(
        await ok({ method: 'GET', url: `/api/v1/model-versions/${v.id}/provenance` }, 200),
        statement,
      );
      const again = await put(v.id, statement);
      assert.equal(again.statusCode, 409, again.body);
      const row = await s.rt.store.db
        .selectFrom('model_versions')
        .select('trainer')
        .where('id', '=', v.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.trainer, trainer);
      const lineage = await ok(
        { method: 'GET', url: `/api/v1/lineage/dataset/${dataset.id}?direction=down` },
        200,
      );
      assert.ok(JSON.stringify(lineage).includes(v.id), JSON.stringify(lineage));
      const edges = await s.rt.store.db
        .selectFrom('lineage_edges')
        .selectAll()
        .where('to_id', '=', v.id)
        .execute();
      assert.deepEqual(
        edges.map((e) => [e.from_kind, e.from_id, e.to_kind, e.relation]),
        [['dataset', dataset.id, 'model_version', 'trained_on']],
      );
      const events = await allEvents(s, `action=model_version.provenance&resourceId=${v.id}&wait=integrated`);
      assert.equal(events.length, 1);
      assert.equal(events[0]?.event?.context?.project, 'fraud');
      assert.equal(
        (events[0]?.event?.details as { provenanceDigest?: string } | undefined)?.provenanceDigest,
        facts.digest,
      );
    });

    it('accepts an incomplete provenance and says what is missing', async () => {
      const v = await newVersion('v2');
      const statement = provenanceStatement({ manifestDigest: v.manifestDigest });
      statement.predicate.runDetails.byproducts = [];
      const res = await put(v.id, statement);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().complete, false);
      assert.deepEqual(res.json().missing, ['datasets', 'metrics']);
    });

    it('refuses a subject without the manifest digest, unknown or foreign or mismatched datasets, an unknown trainer; nothing is stored', async () => {
      const v = await newVersion('v3');
      const cases: [string, unknown][] = [
        ['subject', provenanceStatement({ manifestDigest: `sha256:${'9'.repeat(64)}`, datasets: [dataset] })],
        [
          'predicate.buildDefinition.resolvedDependencies[dataset:transactions]',
          provenanceStatement({
            manifestDigest: v.manifestDigest,
            datasets: [{ ...dataset, digest: `sha256:${'2'.repeat(64)}` }],
          }),
        ],
        [
          'predicate.buildDefinition.resolvedDependencies[dataset:elsewhere]',
          provenanceStatement({ manifestDigest: v.manifestDigest, datasets: [foreign] }),
        ],
        [
          'predicate.buildDefinition.resolvedDependencies[dataset:ghost]',
          provenanceStatement({
            manifestDigest: v.manifestDigest,
            datasets: [{ name: 'ghost', id: '01GHOST', digest: DIGEST }],
          }),
        ],
        [
          'predicate.buildDefinition.externalParameters.trainer',
          provenanceStatement({ manifestDigest: v.manifestDigest, trainer: '01NOBODY' }),
        ],
        [
          'predicateType',
          { ...provenanceStatement({ manifestDigest: v.manifestDigest }), predicateType: 'x' },
        ],
      ];
      for (const [field, body] of cases) {
        const res = await put(v.id, body);
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        assert.ok(
          res.json().error.issues.some((i: { field: string }) => i.field === field),
          `${field}: ${res.body}`,
        );
      }
      const shown = await ok({ method: 'GET', url: `/api/v1/model-versions/${v.id}` }, 200);
      assert.equal(shown.provenance, null);
      const edges = await s.rt.store.db
        .selectFrom('lineage_edges')
        .selectAll()
        .where('to_id', '=', v.id)
        .execute();
      assert.deepEqual(edges, []);
      const missing = await put('01NOVERSION', provenanceStatement({ manifestDigest: v.manifestDigest }));
      assert.equal(missing.statusCode, 404, missing.body);
    });
  });
}
