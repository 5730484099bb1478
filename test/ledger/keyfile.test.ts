import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WardenError } from '../../src/core/index.js';
import { readSignerKeyFile, writeSignerKeyFile } from '../../src/ledger/keyfile.js';
import { generateSignerKey, openNote, parseVkey, signNote } from '../../src/ledger/note.js';

describe('signer key files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-keyfile-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function configError(pattern: RegExp): (err: unknown) => boolean {
    return (err) => err instanceof WardenError && err.code === 'WARDEN_CONFIG' && pattern.test(err.message);
  }

  it('writes mode 0600 and reads back a working signer', async () => {
    const path = join(dir, 'ledger.key');
    const { skey, vkey } = generateSignerKey('example.com/ledger');
    await writeSignerKeyFile(path, skey);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const signer = await readSignerKeyFile(path);
    assert.equal(signer.name, 'example.com/ledger');
    assert.deepEqual(openNote(signNote('hi\n', [signer]), [parseVkey(vkey)]).verifiedBy, [
      'example.com/ledger',
    ]);
  });

  it('refuses to overwrite an existing file', async () => {
    const path = join(dir, 'existing.key');
    await writeFile(path, 'keep me\n');
    await assert.rejects(
      writeSignerKeyFile(path, generateSignerKey('x').skey),
      configError(/already exists.*refusing to overwrite/),
    );
    await assert.rejects(
      writeSignerKeyFile(path, generateSignerKey('x').skey),
      configError(new RegExp(path)),
    );
    assert.equal(await readFile(path, 'utf8'), 'keep me\n');
  });

  it('refuses to write an invalid key', async () => {
    const path = join(dir, 'invalid-write.key');
    await assert.rejects(writeSignerKeyFile(path, 'PRIVATE+KEY+nope'), configError(/invalid signer key/));
    await assert.rejects(stat(path), { code: 'ENOENT' });
  });

  it('refuses a file that group or others can read, naming the mode and the fix', async () => {
    const path = join(dir, 'loose.key');
    await writeSignerKeyFile(path, generateSignerKey('x').skey);
    await chmod(path, 0o644);
    await assert.rejects(readSignerKeyFile(path), configError(/loose\.key has mode 0644.*chmod 600/));
    await chmod(path, 0o640);
    await assert.rejects(readSignerKeyFile(path), configError(/mode 0640/));
    await chmod(path, 0o600);
    assert.equal((await readSignerKeyFile(path)).name, 'x');
  });

  it('names the path when the file is missing or not a signer key', async () => {
    const missing = join(dir, 'missing.key');
    await assert.rejects(readSignerKeyFile(missing), configError(/missing\.key/));
    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, `${generateSignerKey('x').vkey}\n`, { mode: 0o600 });
    await assert.rejects(
      readSignerKeyFile(garbage),
      configError(/garbage\.key does not hold a valid signer key/),
    );
    await assert.rejects(readSignerKeyFile(dir), configError(/not a regular file/));
  });

  it('leaves no temporary files behind', async () => {
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });
});
