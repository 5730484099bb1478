import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { policyDiff, policyTest, policyValidate } from '../../src/cli/commands/policy.js';
import { bundleHash } from '../../src/policy/index.js';
import { DEFAULT_DIR, defaultBundle } from './world.js';

let work: string;

/** A copy of the default bundle with one file replaced through `edit`. */
async function variant(name: string, file: string, edit: (text: string) => string): Promise<string> {
  const dir = join(work, name);
  await cp(DEFAULT_DIR, dir, { recursive: true });
  const path = join(dir, file);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  return dir;
}

describe('warden policy validate | test | diff (offline)', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'warden-policy-cli-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('validate prints the bundle hash and counts, and exits 0', async () => {
    const r = await policyValidate(DEFAULT_DIR);
    assert.equal(r.exitCode, 0, r.output);
    assert.match(r.output, new RegExp(`^OK: bundle ${bundleHash(await defaultBundle())}\n`));
    assert.match(r.output, /7 policies, 5 role templates, \d+ actions, \d+ test cases/);
  });

  it('validate names the policy, file and position of a type error, and exits 1', async () => {
    const dir = await variant('typo', 'guardrails/suspended.cedar', (t) =>
      t.replace('principal.suspended', 'principal.suspendd'),
    );
    const r = await policyValidate(dir);
    assert.equal(r.exitCode, 1);
    // One error per principal type the policy is checked for (User, ServiceAccount).
    assert.match(
      r.output,
      /^INVALID: 2 error\(s\)\nerror: guardrails\/suspended\.cedar:5:8: guardrail:suspended: attribute `suspendd` on entity type `User` not found/,
    );
  });

  it('test prints a summary; a wrong expectation fails with exit 1', async () => {
    const ok = await policyTest(DEFAULT_DIR);
    assert.equal(ok.exitCode, 0, ok.output);
    assert.match(ok.output, /^\d+ passed, 0 failed, \d+ total\n$/);

    const dir = await variant('wrong', 'tests/bindings.yaml', (t) =>
      t.replace(
        'expect: { decision: deny, policies: [] }\n  - name: a binding before',
        'expect: { decision: allow, policies: [] }\n  - name: a binding before',
      ),
    );
    const bad = await policyTest(dir);
    assert.equal(bad.exitCode, 1);
    assert.match(
      bad.output,
      /FAIL tests\/bindings\.yaml: an expired binding permits nothing\n {5}decision: expected allow, got deny/,
    );
    assert.match(bad.output, /\d+ passed, 1 failed, \d+ total\n$/);
  });

  it('test reports an invalid test file by file and field', async () => {
    const dir = await variant('badyaml', 'tests/roles.yaml', (t) =>
      t.replace('action: ledger.purge', 'action: 42'),
    );
    const r = await policyTest(dir);
    assert.equal(r.exitCode, 1);
    assert.match(r.output, /^INVALID: 1 problem\(s\)\ntests\/roles\.yaml: cases\[\d+\]\.action: /);
  });

  it('diff lists policy changes and flips', async () => {
    const dir = await variant('diff', 'roles/security-auditor.cedar', (t) =>
      t.replace('Action::"audit.query",\n', ''),
    );
    const r = await policyDiff(dir, DEFAULT_DIR, { samples: 200 });
    assert.equal(r.exitCode, 0);
    assert.match(r.output, /\n {2}~ role:security-auditor\n/);
    assert.ok(
      r.output.includes(
        'allow → deny: User::"erin" audit.query Ledger::"warden"  [tests/roles.yaml: security auditor queries the audit log]',
      ),
      r.output,
    );
  });
});
