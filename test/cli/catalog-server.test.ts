import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyHint } from '../../src/registry/oms/index.js';
import { type CliServer, startCliServer } from '../support/cli-server.js';

describe('warden project | dataset | lineage against a running server', () => {
  let s: CliServer;
  const cli = (args: string[], code = 0) => s.cli(args, { code });
  const json = (args: string[]) => s.json(args);

  before(async () => {
    s = await startCliServer('catalog-cli');
  });
  after(() => s?.close());

  it('documents every command in --help', async () => {
    for (const args of [
      ['project'],
      ['project', 'create'],
      ['project', 'update'],
      ['project', 'signer', 'add'],
      ['project', 'signer', 'revoke'],
      ['dataset', 'register'],
      ['dataset', 'request-access'],
      ['dataset', 'read'],
      ['lineage'],
    ]) {
      const res = await cli([...args, '--help']);
      assert.match(res.stdout, /^Usage: warden /, args.join(' '));
    }
  });

  it('creates a project, trusts a key, registers datasets, gets a grant, reads, and walks lineage', async () => {
    await writeFile(join(s.dir, 'settings.json'), JSON.stringify({ approvals: { production: 1 } }));
    const project = await json([
      'project',
      'create',
      'fraud',
      '--description',
      'fraud scoring',
      '--environment',
      'dev',
      'production',
      '--settings',
      join(s.dir, 'settings.json'),
    ]);
    assert.deepEqual(
      [project.environments, project.settings.approvals.production],
      [['dev', 'production'], 1],
    );
    assert.deepEqual(
      (await json(['project', 'list'])).projects.map((p: { id: string }) => p.id),
      ['fraud'],
    );
    const updated = await json(['project', 'update', 'fraud', '--description', 'v2']);
    assert.equal(updated.description, 'v2');

    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    await writeFile(join(s.dir, 'key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const signer = await json(['project', 'signer', 'add', 'fraud', join(s.dir, 'key.pem'), '--name', 'ci']);
    assert.equal(signer.fingerprint, keyHint(publicKey));
    const revoked = await json(['project', 'signer', 'revoke', 'fraud', signer.id, '--reason', 'rotated']);
    assert.notEqual(revoked.revokedAt, null);
    assert.equal((await json(['project', 'signer', 'list', 'fraud'])).signers.length, 1);

    const raw = await json([
      'dataset',
      'register',
      '--project',
      'fraud',
      '--name',
      'transactions',
      '--digest',
      `sha256:${'a'.repeat(64)}`,
      '--sensitivity',
      'confidential',
      '--location',
      's3://lake/transactions/v1',
      '--purpose',
      'fraud-detection',
      '--pii',
      'card_number',
    ]);
    const derived = await json([
      'dataset',
      'register',
      '--project',
      'fraud',
      '--name',
      'features',
      '--digest',
      `sha256:${'b'.repeat(64)}`,
      '--sensitivity',
      'internal',
      '--location',
      's3://lake/features/v1',
      '--parent',
      raw.id,
    ]);
    assert.deepEqual(derived.parents, [raw.id]);
    assert.equal((await json(['dataset', 'show', raw.id])).name, 'transactions');
    assert.equal((await json(['dataset', 'list', '--project', 'fraud'])).datasets.length, 2);

    const refused = await cli(['dataset', 'request-access', raw.id, '--purpose', 'marketing'], 2);
    assert.match(refused.stderr, /guardrail:dataset-purpose/);
    const grant = await json([
      'dataset',
      'request-access',
      raw.id,
      '--purpose',
      'fraud-detection',
      '--minutes',
      '10',
    ]);
    const read = await json(['dataset', 'read', raw.id, '--grant', grant.id, '--purpose', 'fraud-detection']);
    assert.equal(read.locationUri, 's3://lake/transactions/v1');
    const wrong = await cli(
      ['dataset', 'read', derived.id, '--grant', grant.id, '--purpose', 'fraud-detection'],
      2,
    );
    assert.match(wrong.stderr, /another dataset/);

    const down = await json(['lineage', 'dataset', raw.id, '--direction', 'down']);
    assert.deepEqual(down.edges, [
      {
        from: { kind: 'dataset', id: raw.id },
        to: { kind: 'dataset', id: derived.id },
        relation: 'derived_from',
      },
    ]);
    const up = await json(['lineage', 'dataset', derived.id]);
    assert.deepEqual(up.nodes.map((n: { label: string }) => n.label).sort(), ['features', 'transactions']);
    const bad = await cli(['lineage', 'dataset', raw.id, '--direction', 'sideways'], 1);
    assert.match(bad.stderr, /Allowed choices are up, down/);
  });
});
