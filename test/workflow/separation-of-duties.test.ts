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
  tokenFor,
} from '../support/lifecycle-fixtures.js';
import { type InjectResult, type TestServer, testServer } from '../support/runtime.js';

const HOUR = 3_600_000;

// Separation-of-duties bypass attempts on a production promotion: every one fails, and every
// refusal is in the ledger with its reason.
for (const dialect of await backends()) {
  describe(`separation of duties on promotions (${dialect})`, () => {
    const clock = {
      t: Date.now(),
      now() {
        return this.t;
      },
    };
    let s: TestServer;
    // maker registers (and may approve in general: data scientist + model validator), rel requests
    // production (platform admin on the project), val1/val2 approve, trainer trained the model.
    let maker: Actor;
    let rel: Actor;
    let val1: Actor;
    let val2: Actor;
    let trainer: Actor;
    let version: string;
    let request: string;

    const api = (method: string, url: string, token?: string, body?: unknown): Promise<InjectResult> =>
      s.inject({ method, url, body, ...(token !== undefined ? { token } : {}) });
    const approve = (who: string, decision = 'approve') =>
      api('POST', `/api/v1/promotions/${request}/approvals`, who, { decision, comment: 'looked at it' });
    const recorded = (query: string): Promise<LedgerEvent[]> => recordedEvents(s, query);

    before(async () => {
      s = await testServer(dialect, {}, clock);
      const { key, signer } = await projectWithSigner(s, 'fraud');
      maker = await serviceAccount(s, 'maker', ['data-scientist', 'model-validator'], 'fraud');
      rel = await serviceAccount(s, 'rel', ['platform-admin'], 'fraud');
      val1 = await serviceAccount(s, 'val1', ['model-validator'], 'fraud');
      val2 = await serviceAccount(s, 'val2', ['model-validator'], 'fraud');
      trainer = await serviceAccount(s, 'trainer', ['model-validator'], 'fraud');
      const model = await seedModel(s, 'fraud', 'scorer', maker.id);
      version = (
        await seedVersion(s, {
          project: 'fraud',
          model,
          createdBy: maker.id,
          sign: { privateKey: key.privateKey, signer },
          provenance: { trainer: trainer.id },
          stage: 'staging',
        })
      ).id;
      const res = await api('POST', `/api/v1/model-versions/${version}/promotions`, rel.token, {
        target: 'production',
        rationale: 'beats the champion on last month',
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().status, 'pending');
      assert.equal(res.json().requiredApprovals, 2);
      request = res.json().id;
    });
    after(() => s.close());

    it('refuses self-approval by the requester (403, recorded)', async () => {
      const res = await approve(rel.token);
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.json().error.message, /requester/);
    });

    it("refuses the version's creator through the SoD guardrail (403, recorded with the policy)", async () => {
      const res = await approve(maker.token);
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.json().error.message, /creator/);
      const denied = await recorded(`action=model_version.approve&outcome=denied&actor=${maker.id}`);
      assert.equal(denied.length, 1);
      assert.deepEqual(denied[0]?.decision?.policies, ['guardrail:separation-of-duties']);
    });

    it("refuses the provenance's trainer (403, recorded)", async () => {
      const res = await approve(trainer.token);
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.json().error.message, /trainer/);
    });

    it('refuses a token without the model_version.approve scope (403, recorded)', async () => {
      const narrow = await tokenFor(s, val1.id, ['model.read', 'project.read']);
      const res = await approve(narrow);
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.json().error.message, /scopes/);
      const denied = await recorded(`action=model_version.approve&outcome=denied&actor=${val1.id}`);
      assert.deepEqual(denied[0]?.decision?.policies, ['token-scope']);
    });

    it('counts one approval per approver: the same validator twice is refused (409, recorded)', async () => {
      const first = await approve(val1.token);
      assert.equal(first.statusCode, 201, first.body);
      assert.equal(first.json().status, 'pending');
      assert.equal(first.json().approvals.length, 1);
      const again = await approve(val1.token);
      assert.equal(again.statusCode, 409, again.body);
      assert.match(again.json().error.message, /already decided/);
      const shown = (await api('GET', `/api/v1/promotions/${request}`)).json();
      assert.equal(shown.approvals.length, 1);
      assert.equal(shown.status, 'pending');
    });

    it('refuses approvals after the request expired, and marks it expired (recorded)', async () => {
      clock.t += 73 * HOUR;
      const res = await approve(val2.token);
      assert.equal(res.statusCode, 409, res.body);
      assert.match(res.json().error.message, /expired/);
      const shown = (await api('GET', `/api/v1/promotions/${request}`)).json();
      assert.equal(shown.status, 'expired');
      assert.equal(shown.closedReason, 'the request expired');
      const version_ = await s.rt.store.db
        .selectFrom('model_versions')
        .select('stage')
        .where('id', '=', version)
        .executeTakeFirstOrThrow();
      assert.equal(version_.stage, 'staging', 'no bypass moved the stage');
      assert.equal((await recorded('action=promotion.expire')).length, 1);
    });

    it('records every refusal with its reason', async () => {
      const denied = await recorded('action=model_version.approve&outcome=denied');
      const reasons = denied.map((e) => `${e.actor.id}: ${e.decision?.reason}`);
      assert.equal(denied.length, 6, reasons.join('\n'));
      const by = (id: string) => denied.filter((e) => e.actor.id === id).map((e) => e.decision?.reason ?? '');
      assert.match(by(rel.id).join(), /requester/);
      assert.match(by(maker.id).join(), /creator/);
      assert.match(by(trainer.id).join(), /trainer/);
      assert.match(by(val1.id).join('|'), /scopes.*\|.*already decided/);
      assert.match(by(val2.id).join(), /expired/);
      // The service's own refusals (beyond the guard's) name the project.
      const service = denied.filter((e) => e.decision?.policies.includes('workflow:separation-of-duties'));
      assert.equal(service.length, 4);
      for (const e of service) assert.equal(e.context?.project, 'fraud');
      assert.equal((await recorded('action=model_version.promote_production&outcome=succeeded')).length, 0);
    });
  });
}
