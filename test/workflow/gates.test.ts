import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { recordedEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type Actor, ecKeyPair, raiseCriticalAlert, seedModel } from '../support/lifecycle-fixtures.js';
import { type PromotionFixture, promotionFixture, stageOf } from '../support/promotion-fixture.js';
import type { InjectResult, TestServer } from '../support/runtime.js';

// Each promotion gate refuses for its own reason; the refusal is a failed request, a 409 naming
// the gate, and a `model_version.gate` event with every gate's outcome.
for (const dialect of await backends()) {
  describe(`promotion gates (${dialect})`, () => {
    let s: TestServer;
    let ds: Actor;
    let rel: Actor;
    let val1: Actor;
    let val2: Actor;
    let signer: string;
    let version: PromotionFixture['version'];

    const api = (method: string, url: string, token?: string, body?: unknown): Promise<InjectResult> =>
      s.inject({ method, url, body, ...(token !== undefined ? { token } : {}) });
    const recorded = (query: string): Promise<LedgerEvent[]> => recordedEvents(s, query);
    const promote = (id: string, target = 'staging') =>
      api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, { target, rationale: 'ready to go' });

    async function refusedBy(id: string, gate: string, reason: RegExp, alsoFailing: string[] = []) {
      const res = await promote(id);
      assert.equal(res.statusCode, 409, res.body);
      const issues = res.json().error.issues as { field: string; message: string }[];
      assert.deepEqual(
        issues.map((i) => i.field),
        [gate, ...alsoFailing].map((g) => `gates.${g}`),
        res.body,
      );
      assert.match(issues[0]?.message ?? '', reason);
      const listed = (await api('GET', `/api/v1/model-versions/${id}/promotions`)).json().promotions;
      assert.equal(listed.length, 1);
      assert.equal(listed[0].status, 'failed');
      assert.equal(listed[0].gates.find((g: { gate: string }) => g.gate === gate).passed, false);
      const events = await recorded(`action=model_version.gate&resourceId=${id}`);
      assert.equal(events.length, 1);
      assert.equal(events[0]?.outcome, 'failed');
      const gates = events[0]?.details?.gates as { gate: string; passed: boolean; reason: string }[];
      assert.deepEqual(
        gates.map((g) => g.gate),
        ['signature', 'provenance', 'metrics', 'alerts'],
      );
      assert.match(gates.find((g) => g.gate === gate)?.reason ?? '', reason);
      assert.equal(await stageOf(s, id), 'registered');
    }

    before(async () => {
      ({ s, ds, rel, val1, val2, signer, version } = await promotionFixture(dialect, {
        project: { settings: { metricThresholds: { auc: { min: 0.9 }, latency_ms: { max: 50 } } } },
        provenance: { metrics: { auc: 0.95, latency_ms: 20 } },
      }));
    });
    after(() => s.close());

    it('passes a signed version with complete provenance and good metrics, recording each gate', async () => {
      const id = await version();
      const res = await promote(id);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().status, 'completed', 'staging needs no approvals by default');
      assert.ok(res.json().gates.every((g: { passed: boolean }) => g.passed));
      const [gate] = await recorded(`action=model_version.gate&resourceId=${id}`);
      assert.equal(gate?.outcome, 'succeeded');
      assert.equal(gate?.details?.phase, 'request');
    });

    it('signature: refuses an unsigned version', async () => {
      await refusedBy(await version({ sign: undefined }), 'signature', /not signed/);
    });

    it('signature: refuses a bundle from a key the project does not trust', async () => {
      const other = ecKeyPair();
      await refusedBy(
        await version({ sign: { privateKey: other.privateKey, signer } }),
        'signature',
        /no signature verifies/,
      );
    });

    it('provenance: refuses a version without provenance, and one with incomplete provenance', async () => {
      // Without provenance no metric is reported either.
      await refusedBy(await version({ provenance: undefined }), 'provenance', /no provenance/, ['metrics']);
      await refusedBy(
        await version({
          provenance: { metrics: { auc: 0.95, latency_ms: 20 }, missing: ['builder', 'environment'] },
        }),
        'provenance',
        /incomplete: missing .*builder/,
      );
    });

    it('metrics: refuses a metric below its minimum, above its maximum, or not reported', async () => {
      await refusedBy(
        await version({ provenance: { metrics: { auc: 0.5, latency_ms: 20 } } }),
        'metrics',
        /auc 0.5 < min 0.9/,
      );
      await refusedBy(
        await version({ provenance: { metrics: { auc: 0.95, latency_ms: 80 } } }),
        'metrics',
        /latency_ms 80 > max 50/,
      );
      await refusedBy(
        await version({ provenance: { metrics: { auc: 0.95 } } }),
        'metrics',
        /latency_ms is not reported/,
      );
    });

    it('alerts: refuses while a critical alert is open on the model or on the version', async () => {
      const onVersion = await version();
      await raiseCriticalAlert(s, { type: 'ModelVersion', id: onVersion }, 'fraud');
      await refusedBy(onVersion, 'alerts', /open critical alert/);
      const otherModel = await seedModel(s, 'fraud', 'ranker', ds.id);
      const alert = await raiseCriticalAlert(s, { type: 'Model', id: otherModel }, 'fraud');
      const onModel = await version({ model: otherModel });
      await refusedBy(onModel, 'alerts', new RegExp(alert));
    });

    it('re-runs the gates at completion: a signer revoked meanwhile fails the request', async () => {
      const id = await version({ stage: 'staging' });
      const requested = await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
        target: 'production',
        rationale: 'ship it',
      });
      assert.equal(requested.statusCode, 201, requested.body);
      const req = requested.json().id;
      const approve = (token: string) =>
        api('POST', `/api/v1/promotions/${req}/approvals`, token, { decision: 'approve' });
      assert.equal((await approve(val1.token)).statusCode, 201);
      const revoked = await api('POST', `/api/v1/projects/fraud/signers/${signer}/revoke`, undefined, {
        reason: 'key leaked',
      });
      assert.equal(revoked.statusCode, 200, revoked.body);
      const last = await approve(val2.token);
      assert.equal(last.statusCode, 409, last.body);
      assert.equal(last.json().error.issues[0].field, 'gates.signature');
      const shown = (await api('GET', `/api/v1/promotions/${req}`)).json();
      assert.equal(shown.status, 'failed');
      assert.equal(shown.closedReason, 'gates failed at completion');
      const phases = (await recorded(`action=model_version.gate&resourceId=${id}`)).map(
        (e) => `${e.details?.phase}:${e.outcome}`,
      );
      assert.deepEqual(phases, ['request:succeeded', 'completion:failed']);
      assert.equal((await recorded(`action=model_version.promote_production&resourceId=${id}`)).length, 0);
    });
  });
}
