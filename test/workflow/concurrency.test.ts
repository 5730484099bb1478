import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { recordedEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import {
  type Actor,
  projectWithSigner,
  seedModel,
  seedVersion,
  serviceAccount,
} from '../support/lifecycle-fixtures.js';
import { type InjectResult, type TestServer, testServer } from '../support/runtime.js';

// Concurrent promotions and approvals of one version cannot both win.
for (const dialect of await backends()) {
  describe(`concurrent promotions and approvals (${dialect})`, () => {
    let s: TestServer;
    let ds: Actor;
    let rel: Actor;
    const vals: Actor[] = [];
    let model: string;
    let seedSigned: (stage?: 'registered' | 'staging') => Promise<string>;

    const api = (method: string, url: string, token?: string, body?: unknown): Promise<InjectResult> =>
      s.inject({ method, url, body, ...(token !== undefined ? { token } : {}) });
    const recorded = (query: string): Promise<LedgerEvent[]> => recordedEvents(s, query);
    const stageOf = async (id: string) =>
      await s.rt.store.db
        .selectFrom('model_versions')
        .select(['stage', 'revision'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();

    before(async () => {
      s = await testServer(dialect);
      const { key, signer } = await projectWithSigner(s, 'fraud');
      ds = await serviceAccount(s, 'ds', ['data-scientist'], 'fraud');
      rel = await serviceAccount(s, 'rel', ['platform-admin'], 'fraud');
      for (const name of ['v1', 'v2', 'v3', 'v4'])
        vals.push(await serviceAccount(s, name, ['model-validator'], 'fraud'));
      model = await seedModel(s, 'fraud', 'scorer', ds.id);
      seedSigned = async (stage = 'registered') =>
        (
          await seedVersion(s, {
            project: 'fraud',
            model,
            createdBy: ds.id,
            sign: { privateKey: key.privateKey, signer },
            provenance: {},
            stage,
          })
        ).id;
    });
    after(() => s.close());

    it('two promotion requests at once: one 201, one 409 (staging, completed at once)', async () => {
      const id = await seedSigned();
      const results = await Promise.all(
        [1, 2].map(() =>
          api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, {
            target: 'staging',
            rationale: 'race one',
          }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.statusCode).sort(),
        [201, 409],
        results.map((r) => r.body).join('\n'),
      );
      const v = await stageOf(id);
      assert.equal(v.stage, 'staging');
      assert.equal(v.revision, 1, 'the stage moved exactly once');
      assert.equal((await recorded(`action=model_version.promote&resourceId=${id}`)).length, 1);
    });

    it('two promotion requests at once: one 201, one 409 (production, left pending)', async () => {
      const id = await seedSigned('staging');
      const results = await Promise.all(
        [1, 2].map(() =>
          api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
            target: 'production',
            rationale: 'race two',
          }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.statusCode).sort(),
        [201, 409],
        results.map((r) => r.body).join('\n'),
      );
      const listed = (await api('GET', `/api/v1/model-versions/${id}/promotions`)).json().promotions;
      assert.deepEqual(
        listed.map((p: { status: string }) => p.status),
        ['pending'],
      );
    });

    it('two final approvals at once: exactly one completes the promotion, the other is refused', async () => {
      for (let round = 0; round < 3; round++) {
        const id = await seedSigned('staging');
        const req = await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
          target: 'production',
          rationale: `round ${round}`,
        });
        assert.equal(req.statusCode, 201, req.body);
        const url = `/api/v1/promotions/${req.json().id}/approvals`;
        const [a, b, c] = vals;
        assert.equal((await api('POST', url, a?.token, { decision: 'approve' })).statusCode, 201);
        const results = await Promise.all(
          [b, c].map((who) => api('POST', url, who?.token, { decision: 'approve' })),
        );
        assert.deepEqual(
          results.map((r) => r.statusCode).sort(),
          [201, 409],
          results.map((r) => r.body).join('\n'),
        );
        const winner = results.find((r) => r.statusCode === 201)?.json();
        assert.equal(winner.status, 'completed');
        assert.equal(winner.approvals.length, 2);
        assert.equal((await stageOf(id)).stage, 'production');
        const promoted = await recorded(`action=model_version.promote_production&resourceId=${id}`);
        assert.equal(promoted.length, 1, 'promoted once');
        assert.equal((promoted[0]?.details?.approvers as string[] | undefined)?.length, 2);
      }
      const production = await s.rt.store.db
        .selectFrom('model_versions')
        .select('id')
        .where('model_id', '=', model)
        .where('stage', '=', 'production')
        .execute();
      assert.equal(production.length, 1, 'a model has one production version at a time');
    });

    it('an approval racing a rejection: the request ends one way, never both', async () => {
      const id = await seedSigned('staging');
      const req = await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
        target: 'production',
        rationale: 'approve or reject',
      });
      const url = `/api/v1/promotions/${req.json().id}/approvals`;
      const [a, b, c] = vals;
      await api('POST', url, a?.token, { decision: 'approve' });
      const results = await Promise.all([
        api('POST', url, b?.token, { decision: 'approve' }),
        api('POST', url, c?.token, { decision: 'reject', comment: 'no' }),
      ]);
      assert.deepEqual(
        results.map((r) => r.statusCode).sort(),
        [201, 409],
        results.map((r) => r.body).join('\n'),
      );
      const shown = (await api('GET', `/api/v1/promotions/${req.json().id}`)).json();
      assert.ok(['completed', 'rejected'].includes(shown.status), shown.status);
      assert.equal((await stageOf(id)).stage, shown.status === 'completed' ? 'production' : 'staging');
    });
  });
}
