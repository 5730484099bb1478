import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { BlobStore } from '../../src/store/index.js';
import { recordedEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type Actor, seedModel, seedVersion } from '../support/lifecycle-fixtures.js';
import { type PromotionFixture, promotionFixture, stageOf } from '../support/promotion-fixture.js';
import type { InjectResult, TestServer } from '../support/runtime.js';

// Stages, rollback, retirement under legal hold, artifact purge, aliases, endpoints and
// deployments over HTTP.
for (const dialect of await backends()) {
  describe(`workflow API (${dialect})`, () => {
    let s: TestServer;
    let ds: Actor;
    let rel: Actor;
    let val1: Actor;
    let val2: Actor;
    let model: string;
    let version: PromotionFixture['version'];

    const api = (method: string, url: string, token?: string, body?: unknown): Promise<InjectResult> =>
      s.inject({ method, url, body, ...(token !== undefined ? { token } : {}) });
    async function ok(res: InjectResult, status = 200) {
      assert.equal(res.statusCode, status, res.body);
      return res.statusCode === 204 ? undefined : res.json();
    }
    const recorded = (query: string): Promise<LedgerEvent[]> => recordedEvents(s, query);

    /** Takes a signed version through staging to production with two approvals. */
    async function toProduction(id: string) {
      await ok(
        await api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, {
          target: 'staging',
          rationale: 'ready',
        }),
        201,
      );
      const req = await ok(
        await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
          target: 'production',
          rationale: 'better recall',
        }),
        201,
      );
      for (const v of [val1, val2])
        await ok(
          await api('POST', `/api/v1/promotions/${req.id}/approvals`, v.token, { decision: 'approve' }),
          201,
        );
      assert.equal(await stageOf(s, id), 'production');
    }

    before(async () => {
      ({ s, ds, rel, val1, val2, model, version } = await promotionFixture(dialect));
      await ok(await api('POST', '/api/v1/projects', undefined, { id: 'other', environments: [] }), 201);
    });
    after(() => s.close());

    it('promotes only from the stage before the target, and production needs promote_production', async () => {
      const id = await version();
      const skip = await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
        target: 'production',
        rationale: 'skip staging',
      });
      assert.equal(skip.statusCode, 409, skip.body);
      assert.match(skip.json().error.message, /starts from staging; this version is registered/);
      const short = await api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, {
        target: 'staging',
        rationale: 'x',
      });
      assert.equal(short.statusCode, 400);
      assert.equal(short.json().error.issues[0].field, 'rationale');
      await ok(
        await api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, {
          target: 'staging',
          rationale: 'ok then',
        }),
        201,
      );
      // A data scientist may request staging but not production.
      const denied = await api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, {
        target: 'production',
        rationale: 'please',
      });
      assert.equal(denied.statusCode, 403, denied.body);
      const [event] = await recorded(`action=model_version.promote_production&outcome=denied&actor=${ds.id}`);
      assert.equal(event?.resource.id, id);
      assert.equal(event?.context?.project, 'fraud');
      // An admin requests; a pending request blocks a second; cancel closes it (recorded).
      const req = await ok(
        await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
          target: 'production',
          rationale: 'please',
        }),
        201,
      );
      const twice = await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
        target: 'production',
        rationale: 'again',
      });
      assert.equal(twice.statusCode, 409);
      const cancelled = await ok(
        await api('POST', `/api/v1/promotions/${req.id}/cancel`, rel.token, { reason: 'wrong build' }),
      );
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(
        (await api('POST', `/api/v1/promotions/${req.id}/cancel`, rel.token, { reason: 'again' })).statusCode,
        409,
      );
      const rejected = await ok(
        await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
          target: 'production',
          rationale: 'third try',
        }),
        201,
      );
      const closed = await ok(
        await api('POST', `/api/v1/promotions/${rejected.id}/approvals`, val1.token, {
          decision: 'reject',
          comment: 'needs more eval',
        }),
        201,
      );
      assert.equal(closed.status, 'rejected');
      assert.equal(
        (
          await api('POST', `/api/v1/promotions/${rejected.id}/approvals`, val2.token, {
            decision: 'approve',
          })
        ).statusCode,
        409,
      );
      assert.equal(await stageOf(s, id), 'staging');
      const [reject] = await recorded(`action=model_version.reject&resourceId=${id}`);
      assert.equal(reject?.details?.comment, 'needs more eval');
      assert.equal((await api('GET', '/api/v1/promotions/01JUNKNOWNREQUEST000000000')).statusCode, 404);
      assert.equal(
        (await api('GET', '/api/v1/promotions/01JUNKNOWNREQUEST000000000', ds.token)).statusCode,
        403,
      );
    });

    it('keeps one production version per model; rollback restores the one it replaced', async () => {
      const first = await version();
      const second = await version();
      await toProduction(first);
      await toProduction(second);
      assert.equal(await stageOf(s, first), 'staging', 'the replaced version went back to staging');
      const [promoted] = await recorded(`action=model_version.promote_production&resourceId=${second}`);
      assert.equal(promoted?.details?.replaced, first);
      assert.equal(promoted?.details?.rationale, 'better recall');
      assert.deepEqual(
        [...((promoted?.details?.approvers as string[] | undefined) ?? [])].sort(),
        [val1.id, val2.id].sort(),
      );
      assert.equal(
        (await api('POST', `/api/v1/model-versions/${first}/rollback`, val1.token, { rationale: 'no' }))
          .statusCode,
        400,
      );
      const notProd = await api('POST', `/api/v1/model-versions/${first}/rollback`, val1.token, {
        rationale: 'not prod',
      });
      assert.equal(notProd.statusCode, 409, notProd.body);
      const rolled = await ok(
        await api('POST', `/api/v1/model-versions/${second}/rollback`, val1.token, {
          rationale: 'false positives up',
        }),
      );
      assert.equal(rolled.stage, 'staging');
      assert.equal(await stageOf(s, first), 'production');
      const [event] = await recorded(`action=model_version.rollback&resourceId=${second}`);
      assert.equal(event?.details?.restored, first);
      assert.equal(event?.details?.rationale, 'false positives up');
      // The first production version replaced nothing: nothing to roll back to.
      const none = await api('POST', `/api/v1/model-versions/${first}/rollback`, val1.token, {
        rationale: 'again',
      });
      assert.equal(none.statusCode, 409);
      assert.match(none.json().error.message, /no previous production version/);
    });

    it('retires with a rationale; a legal hold blocks retirement and purge (recorded); purge keeps shared blobs', async () => {
      const shared = 'shared tokenizer';
      const id = await version({ files: { 'w.bin': 'only here', 'tok.json': shared } });
      const keeper = await version({ files: { 'tok.json': shared } });
      const hold = await ok(
        await api('POST', '/api/v1/legal-holds', undefined, {
          resourceType: 'ModelVersion',
          resourceId: id,
          reason: 'litigation',
        }),
        201,
      );
      const held = await api('POST', `/api/v1/model-versions/${id}/retire`, val1.token, {
        rationale: 'superseded',
      });
      assert.equal(held.statusCode, 409, held.body);
      assert.match(held.json().error.message, /legal hold/);
      assert.equal(await stageOf(s, id), 'registered');
      await ok(await api('POST', `/api/v1/legal-holds/${hold.id}/release`, undefined, { reason: 'settled' }));
      assert.equal(
        (await api('POST', `/api/v1/model-versions/${id}/retire`, val1.token, {})).statusCode,
        400,
      );
      const notRetired = await api('POST', `/api/v1/model-versions/${id}/purge-artifacts`, val1.token, {
        rationale: 'space',
      });
      assert.equal(notRetired.statusCode, 409);
      const retired = await ok(
        await api('POST', `/api/v1/model-versions/${id}/retire`, val1.token, { rationale: 'superseded' }),
      );
      assert.equal(retired.stage, 'retired');
      const promote = await api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, {
        target: 'staging',
        rationale: 'revive',
      });
      assert.equal(promote.statusCode, 409);
      const hold2 = await ok(
        await api('POST', '/api/v1/legal-holds', undefined, {
          resourceType: 'ModelVersion',
          resourceId: id,
          reason: 'again',
        }),
        201,
      );
      const heldPurge = await api('POST', `/api/v1/model-versions/${id}/purge-artifacts`, val1.token, {
        rationale: 'free space',
      });
      assert.equal(heldPurge.statusCode, 409, heldPurge.body);
      const denials = await recorded(`resourceId=${id}&outcome=denied`);
      assert.deepEqual(
        denials.map((e) => e.action),
        ['model_version.retire', 'model_version.purge_artifacts'],
      );
      assert.ok(denials.every((e) => (e.details?.holds as string[] | undefined)?.length === 1));
      await ok(await api('POST', `/api/v1/legal-holds/${hold2.id}/release`, undefined, { reason: 'done' }));
      const purged = await ok(
        await api('POST', `/api/v1/model-versions/${id}/purge-artifacts`, val1.token, {
          rationale: 'free space',
        }),
      );
      assert.deepEqual(purged, { version: id, deleted: 1, kept: 1 });
      const blobs = new BlobStore(s.rt.config.blobDir);
      const files = await s.rt.store.db
        .selectFrom('model_files')
        .selectAll()
        .where('version_id', 'in', [id, keeper])
        .execute();
      for (const f of files) assert.equal(await blobs.has(f.digest), f.path === 'tok.json', f.path);
      assert.equal((await recorded(`action=model_version.purge_artifacts&outcome=succeeded`)).length, 1);
    });

    it('sets, moves and removes aliases (recorded); refuses bad names, other models and retired versions', async () => {
      const a = await version();
      const b = await version();
      const url = `/api/v1/models/${model}/aliases/champion`;
      assert.equal((await ok(await api('PUT', url, val1.token, { version: a }))).version, a);
      assert.equal((await ok(await api('PUT', url, val1.token, { version: b }))).version, b);
      const other = await seedModel(s, 'fraud', 'ranker', ds.id);
      const wrong = await api('PUT', `/api/v1/models/${other}/aliases/champion`, val1.token, { version: a });
      assert.equal(wrong.statusCode, 400, wrong.body);
      assert.equal(
        (await api('PUT', `/api/v1/models/${model}/aliases/1st`, val1.token, { version: a })).statusCode,
        400,
      );
      assert.equal((await api('PUT', url, ds.token, { version: a })).statusCode, 403);
      const events = await recorded('action=model_version.alias&outcome=succeeded');
      assert.deepEqual(
        events.map((e) => [e.resource.id, e.details?.previous]),
        [
          [a, null],
          [b, a],
        ],
      );
      await ok(await api('DELETE', url, val1.token), 204);
      assert.equal((await api('DELETE', url)).statusCode, 404);
      assert.equal(
        (await api('DELETE', url, val1.token)).statusCode,
        403,
        'unknown: 403 without platform rights',
      );
      await ok(await api('PUT', url, val1.token, { version: a }));
      await ok(await api('POST', `/api/v1/model-versions/${a}/retire`, val1.token, { rationale: 'old' }));
      const aliases = await s.rt.store.db
        .selectFrom('model_aliases')
        .selectAll()
        .where('model_id', '=', model)
        .execute();
      assert.deepEqual(aliases, [], 'retirement removed the alias');
      assert.equal((await api('PUT', url, val1.token, { version: a })).statusCode, 409);
    });

    it('creates endpoints in the project environments, with settings "{}"', async () => {
      const body = {
        name: 'scoring',
        environment: 'production',
        upstreamUrl: 'http://10.0.0.5:8080',
        protocol: 'open-inference-v2',
      };
      const ep = await ok(await api('POST', '/api/v1/projects/fraud/endpoints', ds.token, body), 201);
      assert.equal(ep.environment, 'production');
      assert.equal(ep.active, null);
      assert.equal((await api('POST', '/api/v1/projects/fraud/endpoints', ds.token, body)).statusCode, 409);
      for (const [patch, field] of [
        [{ environment: 'moon' }, 'environment'],
        [{ upstreamUrl: 'ftp://x' }, 'upstreamUrl'],
        [{ protocol: 'grpc' }, 'protocol'],
        [{ name: 'Bad Name' }, 'name'],
      ] as const) {
        const res = await api('POST', '/api/v1/projects/fraud/endpoints', ds.token, {
          ...body,
          name: 'other',
          ...patch,
        });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error.issues[0].field, field);
      }
      // A project listing no environments accepts any.
      await ok(
        await api('POST', '/api/v1/projects/other/endpoints', undefined, {
          ...body,
          environment: 'anywhere',
        }),
        201,
      );
      const listed = await ok(await api('GET', '/api/v1/projects/fraud/endpoints', ds.token));
      assert.deepEqual(
        listed.endpoints.map((e: { name: string }) => e.name),
        ['scoring'],
      );
      const row = await s.rt.store.db
        .selectFrom('endpoints')
        .select('settings')
        .where('id', '=', ep.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.settings, '{}');
      assert.equal((await api('GET', '/api/v1/endpoints/01JUNKNOWNENDPOINT00000000')).statusCode, 404);
    });

    it('deploys to production only signed production versions (recorded), supersedes, rolls back, keeps history', async () => {
      const ep = await ok(
        await api('POST', '/api/v1/projects/fraud/endpoints', undefined, {
          name: 'prod',
          environment: 'production',
          upstreamUrl: 'https://models.internal/prod',
          protocol: 'openai',
        }),
        201,
      );
      const deploy = (version: string, token?: string) =>
        api('POST', `/api/v1/endpoints/${ep.id}/deployments`, token ?? rel.token, {
          version,
          rationale: 'go live',
        });
      // Written around the workflow (another model, so this one keeps a single production version).
      const elsewhere = await seedModel(s, 'fraud', 'elsewhere', ds.id);
      const unsigned = await version({ model: elsewhere, sign: undefined, stage: 'production' });
      const staging = await version({ stage: 'staging' });
      for (const id of [unsigned, staging]) {
        const res = await deploy(id);
        assert.equal(res.statusCode, 403, res.body);
        assert.match(res.json().error.message, /only signed model versions in the production stage/);
      }
      const denials = await recorded('action=endpoint.deploy_production&outcome=denied');
      assert.deepEqual(
        denials.map((e) => e.details?.version),
        [unsigned, staging],
      );
      assert.ok(denials.every((e) => e.decision?.policies.includes('guardrail:production-deploy-stage')));
      // Data scientists deploy outside production only.
      const first = await version();
      const second = await version();
      await toProduction(first);
      assert.equal((await deploy(first, ds.token)).statusCode, 403);
      const d1 = await ok(await deploy(first), 201);
      await toProduction(second);
      const d2 = await ok(await deploy(second), 201);
      const retiredV = await version({ stage: 'retired' });
      assert.equal((await deploy(retiredV)).statusCode, 409);
      const foreignModel = await seedModel(s, 'other', 'x', ds.id);
      const foreign = await seedVersion(s, { project: 'other', model: foreignModel, createdBy: ds.id });
      // Someone with rights on both projects still cannot serve another project's version.
      assert.equal((await deploy(foreign.id, s.token)).statusCode, 400);
      // The production rollback of the model first, so the endpoint may serve `first` again.
      const refused = await api('POST', `/api/v1/endpoints/${ep.id}/rollback`, val1.token, {
        rationale: 'latency',
      });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.match(refused.json().error.message, /not a signed production version/);
      await ok(
        await api('POST', `/api/v1/model-versions/${second}/rollback`, val1.token, { rationale: 'latency' }),
      );
      const d3 = await ok(
        await api('POST', `/api/v1/endpoints/${ep.id}/rollback`, val1.token, { rationale: 'latency' }),
        201,
      );
      assert.equal(d3.version, first);
      const history = await ok(await api('GET', `/api/v1/endpoints/${ep.id}/deployments`, val1.token));
      assert.deepEqual(
        history.deployments.map((d: { id: string; status: string }) => [d.id, d.status]),
        [
          [d3.id, 'active'],
          [d2.id, 'rolled_back'],
          [d1.id, 'superseded'],
        ],
      );
      assert.equal((await ok(await api('GET', `/api/v1/endpoints/${ep.id}`, val1.token))).active.id, d3.id);
      const again = await api('POST', `/api/v1/endpoints/${ep.id}/rollback`, val1.token, {
        rationale: 'again',
      });
      assert.equal(again.statusCode, 409, 'only the same version is left behind');
      const events = await recorded(`resourceId=${ep.id}&outcome=succeeded`);
      assert.deepEqual(
        events.map((e) => e.action),
        ['endpoint.create', 'endpoint.deploy', 'endpoint.deploy', 'endpoint.rollback'],
      );
      assert.equal(events[3]?.details?.rationale, 'latency');
      const lineage = await ok(await api('GET', `/api/v1/lineage/model_version/${first}?direction=down`));
      assert.deepEqual(
        lineage.nodes
          .filter((n: { kind: string }) => n.kind === 'deployment')
          .map((n: { id: string }) => n.id)
          .sort(),
        [d1.id, d3.id].sort(),
      );
    });
  });
}
