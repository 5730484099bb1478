import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { manifestDigest } from '../../src/registry/index.js';
import { type CliServer, startCliServer } from '../support/cli-server.js';
import { provenanceStatement } from '../support/provenance.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('warden model against a running server', () => {
  let s: CliServer;
  const cli = (args: string[], code = 0) => s.cli(args, { code });
  const json = (args: string[]) => s.json(args);
  const files: Record<string, Buffer> = {
    'config.json': Buffer.from('{"layers": 4}\n'),
    'weights/shard-1.bin': randomBytes(3 * 1024 * 1024 + 17),
    'weights/shard-2.bin': randomBytes(1000),
    'README.md': Buffer.from('# scorer\n'),
  };
  const manifest = Object.entries(files).map(([path, b]) => ({ path, digest: sha(b), size: b.length }));

  before(async () => {
    s = await startCliServer('model-cli', { WARDEN_MAX_FILE_BYTES: String(8 * 1024 * 1024) });
    await cli(['project', 'create', 'fraud']);
  });
  after(() => s?.close());

  async function modelFolder(name: string): Promise<string> {
    const folder = join(s.dir, name);
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(folder, path, '..'), { recursive: true });
      await writeFile(join(folder, path), body);
    }
    return folder;
  }

  it('documents every model command in --help', async () => {
    for (const args of [
      ['model'],
      ['model', 'register'],
      ['model', 'pull'],
      ['model', 'sign'],
      ['model', 'show'],
    ]) {
      const res = await cli([...args, '--help']);
      assert.match(res.stdout, /Usage: warden model/);
    }
  });

  it('signs a folder, registers it with signature and provenance, and pulls it back verified', async () => {
    const folder = await modelFolder('scorer');
    await mkdir(join(folder, '.git'));
    await writeFile(join(folder, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyFile = join(s.dir, 'key.pem');
    const pubFile = join(s.dir, 'key.pub.pem');
    await writeFile(keyFile, key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(pubFile, key.publicKey.export({ type: 'spki', format: 'pem' }));
    // The bundle sits inside the folder: sign leaves it out, register does not upload it.
    const sig = join(folder, 'model.sig');
    await cli(['model', 'sign', folder, '--key', keyFile, '--out', sig]);
    await cli(['project', 'signer', 'add', 'fraud', pubFile, '--name', 'ci', '--kind', 'key']);
    const prov = join(s.dir, 'prov.json');
    await writeFile(prov, JSON.stringify(provenanceStatement({ manifestDigest: manifestDigest(manifest) })));

    const version = await json([
      'model',
      'register',
      folder,
      '--project',
      'fraud',
      '--name',
      'scorer',
      '--signature',
      sig,
      '--provenance',
      prov,
    ]);
    assert.equal(version.number, 1);
    assert.equal(version.manifestDigest, manifestDigest(manifest));
    assert.deepEqual(version.files.map((f: { path: string }) => f.path).sort(), Object.keys(files).sort());
    assert.equal(version.signed, true);
    assert.equal(version.signatures[0].verified.kind, 'key');
    assert.equal(version.provenance.complete, false); // no datasets named
    const listed = await json(['model', 'list', '--project', 'fraud']);
    assert.deepEqual(
      listed.models.map((m: { name: string }) => m.name),
      ['scorer'],
    );
    const shown = await json(['model', 'show', '--project', 'fraud', '--name', 'scorer']);
    assert.equal(shown.versions[0].id, version.id);

    const target = join(s.dir, 'pulled');
    const pulled = await json([
      'model',
      'pull',
      target,
      '--project',
      'fraud',
      '--name',
      'scorer',
      '--version',
      '1',
    ]);
    assert.equal(pulled.files, 4);
    for (const [path, body] of Object.entries(files))
      assert.deepEqual(await readFile(join(target, path)), body);
    assert.deepEqual((await readdir(target)).sort(), ['README.md', 'config.json', 'weights']);
    // A non-empty target is refused; nothing in it changes.
    const again = await cli(
      ['model', 'pull', target, '--project', 'fraud', '--name', 'scorer', '--version', '1'],
      2,
    );
    assert.match(again.stderr, /not empty/);
  });

  it('registers the next version of an existing model, and refuses a signature that does not cover the folder', async () => {
    const folder = await modelFolder('scorer-2');
    await writeFile(join(folder, 'extra.txt'), 'not signed');
    const other = join(s.dir, 'other.sig');
    await writeFile(other, await readFile(join(s.dir, 'scorer', 'model.sig')));
    const res = await cli(
      ['model', 'register', folder, '--project', 'fraud', '--name', 'scorer', '--signature', other],
      2,
    );
    assert.match(res.stderr, /signature rejected \(files\).*not covered by the signature "extra\.txt"/s);
    const shown = await json(['model', 'show', '--project', 'fraud', '--name', 'scorer', '--version', '2']);
    assert.equal(shown.signed, false);
  });

  it('fails loudly when a pulled file does not match the manifest, and leaves nothing behind', async () => {
    const v1 = await json(['model', 'show', '--project', 'fraud', '--name', 'scorer', '--version', '1']);
    // Swap one stored blob's bytes behind the server's back (a tampered store).
    const digest: string = v1.files.find((f: { path: string }) => f.path === 'weights/shard-2.bin').digest;
    const hex = digest.slice(7);
    const blob = join(s.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
    await rm(blob, { force: true });
    await writeFile(blob, randomBytes(1000));
    const target = join(s.dir, 'tampered');
    const res = await cli(
      ['model', 'pull', target, '--project', 'fraud', '--name', 'scorer', '--version', '1'],
      2,
    );
    assert.match(res.stderr, /weights\/shard-2\.bin does not match the manifest/);
    await assert.rejects(readdir(target), /ENOENT/);
  });

  it('refuses an upload over the server limits with its explanation', async () => {
    const folder = join(s.dir, 'huge');
    await mkdir(folder);
    await writeFile(join(folder, 'big.bin'), Buffer.alloc(9 * 1024 * 1024, 1));
    const res = await cli(['model', 'register', folder, '--project', 'fraud', '--name', 'huge'], 2);
    assert.match(res.stderr, /per-file limit/);
  });
});
