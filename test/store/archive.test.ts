import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { WardenError } from '../../src/core/index.js';
import { type ArchiveLimits, BlobStore, extractTar } from '../../src/store/index.js';
import { tarHeader as header, tarMember as member, tarOf } from '../support/tar.js';

const MiB = 1024 * 1024;
const LIMITS: ArchiveLimits = {
  maxTotalBytes: 64 * MiB,
  maxEntries: 100,
  maxFileBytes: 32 * MiB,
  maxRatio: 100,
};

function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** Feeds `data` in small chunks, as a network body would arrive. */
function body(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 16 * 1024) chunks.push(data.subarray(i, i + 16 * 1024));
  return Readable.from(chunks);
}

describe('extractTar', () => {
  let dir = '';
  let n = 0;
  const freshStore = (): { root: string; blobs: BlobStore } => {
    const root = join(dir, `store-${n++}`);
    return { root, blobs: new BlobStore(root) };
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-archive-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Asserts the archive fails with `code` and a message matching `pattern`, leaving no partial blob. */
  async function refuses(data: Buffer, code: string, pattern: RegExp, limits = LIMITS): Promise<BlobStore> {
    const { root, blobs } = freshStore();
    await assert.rejects(extractTar(body(data), blobs, limits), (err) => {
      assert.ok(err instanceof WardenError, String(err));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, pattern);
      return true;
    });
    assert.deepEqual(await filesUnder(join(root, 'tmp')), [], 'no partial blob remains');
    return blobs;
  }

  it('stores each regular file as a blob and lists path, digest and size', async () => {
    const weights = randomBytes(3 * MiB + 17); // model weights barely compress
    const archive = tarOf(
      member('tokenizer/', '', '5'),
      member('tokenizer/vocab.json', '{"a":1}'),
      member('weights.bin', weights),
      member('empty.txt'),
    );
    for (const data of [archive, gzipSync(archive)]) {
      const { blobs } = freshStore();
      const files = await extractTar(body(data), blobs, LIMITS);
      assert.deepEqual(files, [
        { path: 'tokenizer/vocab.json', digest: sha256('{"a":1}'), size: 7 },
        { path: 'weights.bin', digest: sha256(weights), size: weights.length },
        { path: 'empty.txt', digest: sha256(''), size: 0 },
      ]);
      assert.deepEqual(await blobs.get(sha256(weights)), weights);
    }
  });

  it('reads what GNU tar writes, dropping its ./ prefix', async () => {
    const folder = join(dir, 'gnu-src');
    await mkdir(join(folder, 'sub'), { recursive: true });
    await writeFile(join(folder, 'model.bin'), 'weights');
    await writeFile(join(folder, 'sub', 'config.json'), '{}');
    const archivePath = join(dir, 'gnu.tgz');
    execFileSync('tar', ['-C', folder, '-czf', archivePath, '.']);
    const { blobs } = freshStore();
    const files = await extractTar(body(await readFile(archivePath)), blobs, LIMITS);
    assert.deepEqual(files.map((f) => f.path).sort(), ['model.bin', 'sub/config.json']);
  });

  it('refuses a symlink member, even one GNU tar wrote', async () => {
    const folder = join(dir, 'gnu-link');
    await mkdir(folder, { recursive: true });
    await symlink('/etc/passwd', join(folder, 'passwd'));
    const archivePath = join(dir, 'link.tar');
    execFileSync('tar', ['-C', folder, '-cf', archivePath, 'passwd']);
    await refuses(await readFile(archivePath), 'WARDEN_INVALID_INPUT', /"passwd" is a SymbolicLink/);
  });

  const hostile: [string, Buffer, RegExp][] = [
    ['a symlink', header('link', { type: '2', linkname: '/etc/passwd' }), /is a SymbolicLink/],
    ['a hard link', header('hard', { type: '1', linkname: '/etc/shadow' }), /is a Link/],
    ['a character device', member('tty', '', '3'), /is a CharacterDevice/],
    ['a FIFO', member('pipe', '', '6'), /is a FIFO/],
    [
      'a GNU sparse file',
      member('sparse.bin', 'x', 'S'),
      /"sparse\.bin": SparseFile members are not supported/,
    ],
    [
      'a parent-directory path',
      member('../../evil.sh', 'x'),
      /files\[1\]\.path: .*only dots.*\.\.\/\.\.\/evil/,
    ],
    ['an absolute path', member('/etc/cron.d/evil', 'x'), /must be relative/],
    ['a backslash path', member('a\\..\\..\\evil', 'x'), /not \\/],
  ];
  for (const [what, evil, pattern] of hostile) {
    it(`refuses ${what}, naming the member`, async () => {
      await refuses(tarOf(member('ok.bin', 'fine'), evil), 'WARDEN_INVALID_INPUT', pattern);
    });
  }

  it('refuses duplicate and case-colliding paths', async () => {
    await refuses(tarOf(member('w.bin', 'one'), member('w.bin', 'two')), 'WARDEN_INVALID_INPUT', /collides/);
    await refuses(tarOf(member('W.bin', 'one'), member('w.BIN', 'two')), 'WARDEN_INVALID_INPUT', /collides/);
  });

  it('refuses a file whose declared size is over the per-file limit before reading it', async () => {
    // The body is missing: reading it would report truncation instead of the limit.
    const bomb = header('huge.bin', { size: 8 * 1024 * MiB - 1 });
    const blobs = await refuses(
      bomb,
      'WARDEN_PAYLOAD_TOO_LARGE',
      /huge\.bin .*per-file limit of 33554432 bytes/,
    );
    assert.equal(await blobs.has(sha256('')), false);
  });

  it('refuses files whose sizes add up past the total limit', async () => {
    const part = Buffer.alloc(600 * 1024, 1);
    const limits = { ...LIMITS, maxTotalBytes: MiB };
    await refuses(
      tarOf(member('a', part), member('b', part)),
      'WARDEN_PAYLOAD_TOO_LARGE',
      /total limit of 1048576/,
      limits,
    );
  });

  it('refuses more entries than allowed, directories included', async () => {
    const members = Array.from({ length: 6 }, (_, i) => member(`d${i}/`, '', '5'));
    const limits = { ...LIMITS, maxEntries: 5 };
    await refuses(tarOf(...members), 'WARDEN_PAYLOAD_TOO_LARGE', /more than 5 entries/, limits);
  });

  it('refuses a compression bomb by its ratio', async () => {
    const zeros = gzipSync(tarOf(member('zeros.bin', Buffer.alloc(30 * MiB))), { level: 9 });
    assert.ok(zeros.length < 100 * 1024);
    await refuses(zeros, 'WARDEN_PAYLOAD_TOO_LARGE', /decompression ratio/);
  });

  it('refuses an oversized pax header instead of skipping it', async () => {
    const record = ` path=${'p'.repeat(70 * 1024)}\n`;
    const pax = `${record.length + 5}${record}`; // the length counts its own 5 digits
    await refuses(
      tarOf(member('PaxHeader', pax, 'x'), member('short.bin', 'x')),
      'WARDEN_INVALID_INPUT',
      /ExtendedHeader record is \d+ bytes, over 65536/,
    );
  });

  it('refuses input that is not a tar archive, and a truncated one', async () => {
    await refuses(
      Buffer.from('PK\x03\x04 this is a zip, not a tar'.repeat(40)),
      'WARDEN_INVALID_INPUT',
      /tar/,
    );
    const truncated = Buffer.concat([header('cut.bin', { size: 4096 }), Buffer.alloc(1000, 2)]);
    const blobs = await refuses(truncated, 'WARDEN_INVALID_INPUT', /not a valid tar archive/);
    assert.equal(await blobs.has(sha256(Buffer.alloc(1000, 2))), false);
  });
});
