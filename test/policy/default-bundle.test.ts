import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bundleFromFiles,
  formatTestSummary,
  PolicyEngine,
  runBundleTests,
  validateBundle,
} from '../../src/policy/index.js';
import { defaultBundle } from './world.js';

describe('the default bundle', () => {
  it('validates against its schema without errors or warnings', async () => {
    const bundle = await defaultBundle();
    assert.deepEqual(validateBundle(bundle), { errors: [], warnings: [] });
    const engine = new PolicyEngine(bundle);
    assert.ok(engine.actions.has('event.ingest') && engine.actions.has('access.review'));
  });

  it('passes all of its tests', async () => {
    const summary = runBundleTests(await defaultBundle());
    assert.equal(summary.failed, 0, formatTestSummary(summary));
    assert.equal(summary.passed, summary.total);
    assert.ok(summary.total >= 70, `only ${summary.total} cases`);
  });

  it('tests every role and every guardrail both ways', async () => {
    const bundle = await defaultBundle();
    const allowedBy = new Set(
      bundle.tests.filter((t) => t.expect.decision === 'allow').flatMap((t) => t.expect.policies),
    );
    const deniedBy = new Set(
      bundle.tests.filter((t) => t.expect.decision === 'deny').flatMap((t) => t.expect.policies),
    );
    for (const p of bundle.policies) {
      if (p.effect === 'permit') {
        assert.ok(allowedBy.has(p.id), `no case is allowed by ${p.id}`);
        const role = p.id.replace(/^role:/, '');
        const denied = bundle.tests.some(
          (t) =>
            t.expect.decision === 'deny' &&
            t.expect.policies.length === 0 &&
            t.bindings.some((b) => b.role === role),
        );
        assert.ok(p.kind === 'static' || denied, `no case shows what ${p.id} does not permit`);
      } else {
        assert.ok(deniedBy.has(p.id), `no case is denied by ${p.id}`);
        const sameActionAllowed = bundle.tests.some(
          (t) =>
            t.expect.decision === 'allow' &&
            bundle.tests.some((u) => u.expect.policies.includes(p.id) && u.action === t.action),
        );
        assert.ok(sameActionAllowed, `no case shows ${p.id} stepping aside`);
      }
    }
  });

  it('reports a mismatch with the expected and actual decision and policies', async () => {
    const bundle = await defaultBundle();
    const file = 'tests/guardrails.yaml';
    const text = bundle.files[file] ?? '';
    const wrong = text.replace(
      "expect: { decision: deny, policies: ['guardrail:separation-of-duties'], reason: \"a model version's creator cannot approve it\" }",
      "expect: { decision: allow, policies: ['role:model-validator'] }",
    );
    assert.notEqual(wrong, text);
    const summary = runBundleTests(bundleFromFiles({ ...bundle.files, [file]: wrong }));
    assert.equal(summary.failed, 1);
    const failure = summary.results.find((r) => !r.passed);
    assert.equal(failure?.name, 'a validator cannot approve a version they registered');
    assert.deepEqual(failure?.mismatches, [
      'decision: expected allow, got deny',
      'policies: expected [role:model-validator], got [guardrail:separation-of-duties]',
    ]);
    const text2 = formatTestSummary(summary);
    assert.match(text2, /FAIL tests\/guardrails\.yaml: a validator cannot approve a version they registered/);
    assert.match(text2, /\d+ passed, 1 failed, \d+ total\n$/);
  });
});
