import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canonicalJson, sha256Hex, WardenError } from '../../src/core/index.js';
import { bundleFromFiles, bundleHash, loadBundleDir } from '../../src/policy/index.js';
import { DEFAULT_DIR, defaultBundle } from './world.js';

const SCHEMA = `
entity User = { suspended: Bool };
entity Doc;
action "read" appliesTo { principal: [User], resource: [Doc], context: {} };
`;

/** The issues of the WardenError that `fn` throws. */
function issuesOf(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WardenError, `expected a WardenError, got ${err}`);
    assert.equal(err.code, 'WARDEN_INVALID_INPUT');
    return [...err.issues];
  }
  assert.fail('expected the bundle to be refused');
}

describe('policy bundles', () => {
  it('loads the default bundle: every policy with its @id, file, line and kind', async () => {
    const bundle = await defaultBundle();
    const ids = bundle.policies.map((p) => p.id);
    for (const role of [
      'data-engineer',
      'data-scientist',
      'model-validator',
      'platform-admin',
      'security-auditor',
    ]) {
      const p = bundle.policies.find((q) => q.id === `role:${role}`);
      assert.ok(p, `role:${role} is missing`);
      assert.equal(p.kind, 'template');
      assert.equal(p.file, `roles/${role}.cedar`);
      assert.equal(bundle.files[p.file]?.split('\n')[p.line - 1]?.startsWith(`@id("role:${role}")`), true);
    }
    for (const g of [
      'suspended',
      'mfa-privileged',
      'dataset-purpose',
      'dataset-restricted-mfa',
      'separation-of-duties',
    ]) {
      const p = bundle.policies.find((q) => q.id === `guardrail:${g}`);
      assert.equal(p?.kind, 'static');
      assert.equal(p?.effect, 'forbid');
    }
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(bundle.tests.length > 0);
    assert.ok(Object.isFrozen(bundle) && Object.isFrozen(bundle.policies) && Object.isFrozen(bundle.files));
  });

  it('splits a file into its policies and keeps annotations (unescaped)', () => {
    const bundle = bundleFromFiles({
      'schema.cedarschema': SCHEMA,
      'rules.cedar': [
        '// two policies in one file',
        '@id("a") @reason("say \\"no\\"")',
        'forbid(principal, action, resource) when { principal.suspended };',
        '',
        '@id("role:reader")',
        'permit(principal in ?principal, action, resource in ?resource);',
      ].join('\n'),
    });
    assert.deepEqual(
      bundle.policies.map((p) => [p.id, p.kind, p.line, p.annotations.reason]),
      [
        ['a', 'static', 2, 'say "no"'],
        ['role:reader', 'template', 5, undefined],
      ],
    );
  });

  it('places each policy at its own line, even past ten policies, in comments and inside longer ones', () => {
    const lines = ['// permit(principal, action, resource);'];
    for (let i = 0; i < 12; i++) {
      lines.push(
        i % 2 === 0 ? `@id("p${i}") permit(principal, action, resource) when { ${i} == ${i} };` : '',
      );
      lines.push(i % 2 === 0 ? '' : `@id("p${i}") forbid(principal, action, resource);`);
    }
    lines.push(
      '@id("long") permit(principal, action, resource);',
      '@id("short")',
      'permit(principal, action, resource);',
    );
    const bundle = bundleFromFiles({ 'schema.cedarschema': SCHEMA, 'many.cedar': lines.join('\n') });
    const text = bundle.files['many.cedar']?.split('\n') ?? [];
    assert.equal(bundle.policies.length, 14);
    for (const p of bundle.policies) {
      assert.ok(text[p.line - 1]?.startsWith(`@id("${p.id}")`), `${p.id} placed at line ${p.line}`);
    }
  });

  it('refuses a policy without @id, naming the file and line', () => {
    const issues = issuesOf(() =>
      bundleFromFiles({
        'schema.cedarschema': SCHEMA,
        'a.cedar': '@id("ok") permit(principal, action, resource);\n\npermit(principal, action, resource);',
      }),
    );
    assert.deepEqual(issues, [
      { field: 'a.cedar:3:1', message: 'every policy needs an @id("...") annotation' },
    ]);
  });

  it('refuses duplicate ids, naming both files', () => {
    const issues = issuesOf(() =>
      bundleFromFiles({
        'schema.cedarschema': SCHEMA,
        'guardrails/one.cedar': '@id("guardrail:x") forbid(principal, action, resource);',
        'guardrails/two.cedar': '\n@id("guardrail:x") forbid(principal, action, resource);',
      }),
    );
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.field, 'guardrails/two.cedar:2');
    assert.match(
      issues[0]?.message ?? '',
      /duplicate policy id "guardrail:x": also in guardrails\/one\.cedar:1/,
    );
  });

  it('requires role:<name> ids on templates and reserves role:/binding: for them', () => {
    const issues = issuesOf(() =>
      bundleFromFiles({
        'schema.cedarschema': SCHEMA,
        'a.cedar': '@id("reader") permit(principal == ?principal, action, resource);',
        'b.cedar': '@id("binding:7") permit(principal, action, resource);',
      }),
    );
    assert.deepEqual(
      issues.map((i) => i.field),
      ['a.cedar:1:1', 'b.cedar:1:1'],
    );
    assert.match(issues[0]?.message ?? '', /their @id must be role:<name>/);
    assert.match(issues[1]?.message ?? '', /reserved/);
  });

  it('reports a policy syntax error at its line and column (byte offsets turned into characters)', () => {
    const issues = issuesOf(() =>
      bundleFromFiles({
        'schema.cedarschema': SCHEMA,
        'roles/bad.cedar': '// é è\n@id("x")\npermit(principal, action, resource) when { "é" + };',
      }),
    );
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.field, 'roles/bad.cedar:3:50');
    assert.match(issues[0]?.message ?? '', /unexpected token `}`/);
  });

  it('validates test YAML with zod, naming the file and the field', () => {
    const issues = issuesOf(() =>
      bundleFromFiles({
        'schema.cedarschema': SCHEMA,
        'a.cedar': '@id("role:reader") permit(principal in ?principal, action, resource in ?resource);',
        'tests/a.yaml': [
          'cases:',
          '  - name: one',
          '    principal: User::"u"',
          '    action: read',
          '    resource: Doc::"d"',
          '    expect: { decision: maybe, policies: [] }',
          '  - name: two',
          '    principal: alice',
          '    action: read',
          '    resource: Doc::"d"',
          '    expect: { decision: deny, policies: [] }',
          '    extra: 1',
        ].join('\n'),
      }),
    );
    const fields = issues.map((i) => i.field);
    assert.ok(fields.includes('tests/a.yaml: cases[0].expect.decision'), fields.join(' | '));
    assert.ok(fields.includes('tests/a.yaml: cases[1].principal'), fields.join(' | '));
    assert.ok(fields.includes('tests/a.yaml: cases[1]'), fields.join(' | '));
    assert.match(issues.find((i) => i.field === 'tests/a.yaml: cases[1]')?.message ?? '', /extra/);
  });

  it('reports YAML syntax errors with their line and test bindings to unknown roles', () => {
    const issues = issuesOf(() =>
      bundleFromFiles({
        'schema.cedarschema': SCHEMA,
        'a.cedar': '@id("role:reader") permit(principal in ?principal, action, resource in ?resource);',
        'tests/broken.yaml': 'cases: [\n  { name: x\n',
        'tests/roles.yaml': [
          'bindings: [{ role: writer, principal: User::"u", resource: Doc::"d" }]',
          'cases:',
          '  - { name: one, principal: User::"u", action: read, resource: Doc::"d", expect: { decision: deny, policies: [] } }',
        ].join('\n'),
      }),
    );
    assert.ok(
      issues.some((i) => /^tests\/broken\.yaml:\d+:\d+$/.test(i.field)),
      JSON.stringify(issues),
    );
    assert.ok(
      issues.some((i) => i.field === 'tests/roles.yaml: case "one"' && /role:writer/.test(i.message)),
    );
  });

  it('refuses paths outside the bundle layout', () => {
    const issues = issuesOf(() =>
      bundleFromFiles({
        'schema.cedarschema': SCHEMA,
        'a.cedar': '@id("x") permit(principal, action, resource);',
        '../escape.cedar': '@id("y") permit(principal, action, resource);',
        'notes.txt': 'hello',
      }),
    );
    assert.deepEqual(issues.map((i) => i.field).sort(), ['../escape.cedar', 'notes.txt']);
  });

  it('hashes the canonical JSON of the file map: key order does not matter, content does', async () => {
    const bundle = await defaultBundle();
    assert.equal(bundleHash(bundle), sha256Hex(canonicalJson(bundle.files)));
    const reversed = Object.fromEntries(Object.entries(bundle.files).reverse());
    assert.equal(bundleHash(bundleFromFiles(reversed)), bundleHash(bundle));
    const edited = {
      ...bundle.files,
      'guardrails/suspended.cedar': `${bundle.files['guardrails/suspended.cedar']}\n`,
    };
    assert.notEqual(bundleHash(bundleFromFiles(edited)), bundleHash(bundle));
  });

  it('reads a directory, ignoring files outside the layout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-bundle-'));
    try {
      const bundle = await defaultBundle();
      const copy = await loadBundleDir(DEFAULT_DIR);
      assert.deepEqual(copy.files, bundle.files);
      await writeFile(join(dir, 'schema.cedarschema'), SCHEMA);
      await writeFile(join(dir, 'README.md'), '# not part of the bundle');
      await writeFile(join(dir, 'p.cedar'), '@id("x") permit(principal, action, resource);');
      const small = await loadBundleDir(dir);
      assert.deepEqual(Object.keys(small.files).sort(), ['p.cedar', 'schema.cedarschema']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
