import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleFromFiles, diffBundles, formatDiff, type PolicyBundle } from '../../src/policy/index.js';
import { defaultBundle } from './world.js';

/** The default bundle with one guardrail removed, one added, one role widened and one role reformatted. */
async function edited(base?: PolicyBundle): Promise<PolicyBundle> {
  const files: Record<string, string> = { ...(base ?? (await defaultBundle())).files };
  delete files['guardrails/production.cedar'];
  files['guardrails/ledger.cedar'] =
    '@id("guardrail:no-purge")\n@reason("purges are frozen")\nforbid (principal, action == Action::"ledger.purge", resource);';
  const auditor = files['roles/security-auditor.cedar'] ?? '';
  files['roles/security-auditor.cedar'] = auditor.replace(
    'Action::"model.read"\n',
    'Action::"model.read",\n    Action::"dataset.read"\n',
  );
  assert.notEqual(files['roles/security-auditor.cedar'], auditor);
  // Layout and comments only: the same policy.
  files['roles/data-engineer.cedar'] =
    `// reformatted\n${(files['roles/data-engineer.cedar'] ?? '').replace(/\n {4}/g, '\n      ')}`;
  return bundleFromFiles(files);
}

const SMALL_TESTS = `
now: 2030-06-01T12:00:00Z
context: { mfa: false, environment: dev, sourceIp: 10.0.0.7 }
entities:
  - { uid: 'Platform::"root"' }
  - { uid: 'Project::"fraud"', parents: ['Platform::"root"'], attrs: { environments: [dev] } }
  - { uid: 'Ledger::"warden"', parents: ['Platform::"root"'] }
  - { uid: 'Dataset::"labels"', parents: ['Project::"fraud"'], attrs: { sensitivity: internal, allowedPurposes: [] } }
  - { uid: 'User::"erin"', attrs: { suspended: false } }
  - { uid: 'User::"alice"', attrs: { suspended: false } }
cases:
  - name: auditor queries the ledger
    principal: User::"erin"
    action: audit.query
    resource: Ledger::"warden"
    bindings: [{ role: security-auditor, principal: 'User::"erin"', resource: 'Platform::"root"' }]
    expect: { decision: allow, policies: ['role:security-auditor'] }
  - name: scientist reads labels
    principal: User::"alice"
    action: dataset.read
    resource: Dataset::"labels"
    bindings: [{ role: data-scientist, principal: 'User::"alice"', resource: 'Project::"fraud"' }]
    expect: { decision: allow, policies: ['role:data-scientist'] }
`;

describe('diffBundles', () => {
  it('reports policies added, removed and changed, ignoring layout and comments', async () => {
    const diff = diffBundles(await defaultBundle(), await edited(), { maxSamples: 0 });
    assert.deepEqual(diff.added, ['guardrail:no-purge']);
    assert.deepEqual(diff.removed, ['guardrail:production-deploy-stage']);
    assert.deepEqual(diff.changed, ['role:security-auditor']);
    assert.equal(diff.schemaChanged, false);
    assert.equal(diff.sampled, 0);
  });

  it('reports the test cases whose decision flips, both ways', async () => {
    const diff = diffBundles(await defaultBundle(), await edited(), { maxSamples: 0 });
    const flips = new Map(diff.flips.map((f) => [f.source, f]));
    const auditor = flips.get('tests/roles.yaml: security auditor cannot read data');
    assert.deepEqual([auditor?.before.decision, auditor?.after.decision], ['deny', 'allow']);
    assert.deepEqual(auditor?.after.policies, ['role:security-auditor']);
    const purge = flips.get('tests/roles.yaml: platform admin purges ledger bodies');
    assert.deepEqual([purge?.before.decision, purge?.after.decision], ['allow', 'deny']);
    assert.deepEqual(purge?.after.policies, ['guardrail:no-purge']);
    const stage = flips.get('tests/guardrails.yaml: a staging version is not deployed to production');
    assert.deepEqual([stage?.before.decision, stage?.after.decision], ['deny', 'allow']);
    const unsigned = flips.get(
      'tests/guardrails.yaml: an unsigned production version is not deployed to production',
    );
    assert.deepEqual([unsigned?.before.decision, unsigned?.after.decision], ['deny', 'allow']);
    assert.equal(diff.flips.length, 4, formatDiff(diff));
    assert.equal(
      diff.tested,
      (await defaultBundle()).tests.length,
      'cases both bundles carry are decided once',
    );
  });

  it('finds flips no test case shows in the generated cross-product', async () => {
    // Two cases only, so the whole cross-product is decided: an auditor on the ledger, a scientist reading.
    const files = Object.fromEntries(
      Object.entries((await defaultBundle()).files).filter(([p]) => !p.startsWith('tests/')),
    );
    const small = bundleFromFiles({ ...files, 'tests/small.yaml': SMALL_TESTS });
    const diff = diffBundles(small, await edited(small), { maxSamples: 1_000_000 });
    assert.equal(diff.tested, 2);
    assert.deepEqual(
      diff.flips.filter((f) => f.source !== 'sample'),
      [],
    );
    assert.equal(diff.sampled, diff.samplesAvailable);
    const sampled = diff.flips.filter((f) => f.source === 'sample');
    assert.ok(sampled.length > 0);
    // The auditor, bound as an auditor, reading the scientist's dataset: no test case asks that.
    const auditorReads = sampled.filter(
      (f) => f.principal === 'User::"erin"' && f.action === 'dataset.read' && f.after.decision === 'allow',
    );
    assert.deepEqual(
      auditorReads.map((f) => [f.resource, f.bindings, f.before.decision]),
      [['Dataset::"labels"', ['security-auditor: User::"erin" on Dataset::"labels"'], 'deny']],
    );
    for (const f of sampled) assert.notEqual(f.before.decision, f.after.decision);
  });

  it('samples evenly up to the limit, and a bundle against itself changes nothing', async () => {
    const bundle = await defaultBundle();
    const diff = diffBundles(bundle, bundle, { maxSamples: 500 });
    assert.deepEqual([diff.added, diff.removed, diff.changed, diff.flips], [[], [], [], []]);
    assert.equal(diff.sampled, 500);
    assert.ok(diff.samplesAvailable > 500);
    assert.equal(diff.from, diff.to);
    assert.match(
      formatDiff(diff),
      /no policy changes\ndecisions: 0 flip\(s\) over \d+ test case\(s\) and 500 of \d+ generated/,
    );
  });
});
