import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WardenError } from '../../src/core/index.js';
import { BlobStore } from '../../src/store/index.js';

const MiB = 1024 * 1024;

// A forced collection, so RSS measures what is kept alive rather than garbage awaiting the collector.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Every file under `dir`, relative, or [] when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('BlobStore streaming writes', () => {
  let dir = '';
  let n = 0;
  /** A store in its own empty directory, so each test sees only its own files. */
  const freshStore = (): { root: string; blobs: BlobStore } => {
    const root = join(dir, `store-${n++}`);
    return { root, blobs: new BlobStore(root) };
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-blobs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('streams 100 MiB, hashing it right, without holding it in memory', async () => {
    const { root, blobs } = freshStore();
    const total = 100 * MiB;
    const expected = createHash('sha256');
    collectGarbage();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    async function* generate(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < total / MiB; i++) {
        const chunk = Buffer.alloc(MiB, createHash('sha256').update(String(i)).digest());
        expected.update(chunk);
        if (i % 8 === 0) collectGarbage();
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        yield chunk;
      }
    }
    const stored = await blobs.putStream(generate(), { maxBytes: total });
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    assert.deepEqual(stored, {
      digest: `sha256:${expected.digest('hex')}`,
      size: total,
      deduplicated: false,
    });
    assert.ok(rssPeak - rssBefore < 50 * MiB, `RSS grew by ${((rssPeak - rssBefore) / MiB).toFixed(1)} MiB`);

    const readBack = createHash('sha256');
    let size = 0;
    for await (const c of await blobs.open(stored.digest)) {
      readBack.update(c as Buffer);
      size += (c as Buffer).length;
    }
    assert.equal(`sha256:${readBack.digest('hex')}`, stored.digest);
    assert.equal(size, total);
    assert.deepEqual(await filesUnder(join(root, 'tmp')), []);
  });

  it('deduplicates a re-upload of the same bytes, also across put and putStream', async () => {
    const { root, blobs } = freshStore();
    const first = await blobs.putStream(chunks('model ', 'weights'), { maxBytes: 100 });
    const again = await blobs.putStream(Readable.from([Buffer.from('model weights')]), { maxBytes: 100 });
    assert.equal(first.deduplicated, false);
    assert.deepEqual(again, { digest: first.digest, size: 13, deduplicated: true });
    assert.equal(await blobs.put(Buffer.from('model weights')), first.digest);
    assert.deepEqual(await filesUnder(root), [
      join('sha256', first.digest.slice(7, 9), first.digest.slice(7)),
    ]);
  });

  it('accepts a body of exactly maxBytes and an empty body', async () => {
    const { blobs } = freshStore();
    assert.equal((await blobs.putStream(chunks('12345'), { maxBytes: 5 })).size, 5);
    const empty = await blobs.putStream(chunks(), { maxBytes: 0 });
    assert.deepEqual(empty, { digest: sha256(new Uint8Array()), size: 0, deduplicated: false });
    assert.deepEqual(await blobs.get(empty.digest), Buffer.alloc(0));
  });

  it('aborts past maxBytes with a 413 naming the limit, leaving no file behind', async () => {
    const { root, blobs } = freshStore();
    let pulled = 0;
    async function* large(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield Buffer.alloc(1000, 7);
      }
    }
    await assert.rejects(
      blobs.putStream(large(), { maxBytes: 4500 }),
      (err) =>
        err instanceof WardenError &&
        err.code === 'WARDEN_PAYLOAD_TOO_LARGE' &&
        err.status === 413 &&
        /4500 bytes/.test(err.message),
    );
    assert.equal(pulled, 5, 'stops reading at the chunk that crosses the limit');
    assert.deepEqual(await filesUnder(root), []);
  });

  it('rejects a digest mismatch with a 400 naming sha256, storing nothing', async () => {
    const { root, blobs } = freshStore();
    const claimed = sha256(Buffer.from('other bytes'));
    await assert.rejects(
      blobs.putStream(chunks('actual bytes'), { maxBytes: 100, expectedSha256: claimed }),
      (err) =>
        err instanceof WardenError &&
        err.code === 'WARDEN_INVALID_INPUT' &&
        err.issues[0]?.field === 'sha256' &&
        err.message.includes(claimed),
    );
    assert.deepEqual(await filesUnder(root), []);
    assert.equal(await blobs.has(sha256(Buffer.from('actual bytes'))), false);
  });

  it('accepts a matching expectedSha256 with or without the sha256: prefix', async () => {
    const { blobs } = freshStore();
    const digest = sha256(Buffer.from('abc'));
    assert.equal(
      (await blobs.putStream(chunks('abc'), { maxBytes: 3, expectedSha256: digest })).digest,
      digest,
    );
    const bare = digest.slice('sha256:'.length);
    assert.equal(
      (await blobs.putStream(chunks('abc'), { maxBytes: 3, expectedSha256: bare })).deduplicated,
      true,
    );
  });

  it('rejects a malformed expectedSha256 before reading the body', async () => {
    const { root, blobs } = freshStore();
    await assert.rejects(
      blobs.putStream(chunks('abc'), { maxBytes: 3, expectedSha256: 'md5:abc' }),
      (err) =>
        err instanceof WardenError &&
        err.code === 'WARDEN_INVALID_INPUT' &&
        err.issues[0]?.field === 'sha256',
    );
    assert.deepEqual(await filesUnder(root), []);
  });

  it('leaves nothing when the source fails midway, and passes its error on', async () => {
    const { root, blobs } = freshStore();
    const broken = new Readable({ read() {} });
    broken.push(Buffer.alloc(64 * 1024, 1));
    setImmediate(() => broken.destroy(new Error('client went away')));
    await assert.rejects(blobs.putStream(broken, { maxBytes: MiB }), /client went away/);
    assert.deepEqual(await filesUnder(root), []);
  });

  it('stores blobs read-only (mode 0444), whatever the umask', async () => {
    const { root, blobs } = freshStore();
    const previous = process.umask(0o077);
    try {
      const viaStream = await blobs.putStream(chunks('weights'), { maxBytes: 100 });
      const viaPut = await blobs.put(Buffer.from('details'));
      for (const digest of [viaStream.digest, viaPut]) {
        const hex = digest.slice('sha256:'.length);
        assert.equal((await stat(join(root, 'sha256', hex.slice(0, 2), hex))).mode & 0o777, 0o444);
      }
    } finally {
      process.umask(previous);
    }
  });

  it('lets concurrent uploads of the same bytes both succeed with one stored file', async () => {
    const { root, blobs } = freshStore();
    const body = Buffer.alloc(3 * MiB, 'concurrent');
    const upload = () =>
      blobs.putStream(Readable.from([body.subarray(0, MiB), body.subarray(MiB)]), { maxBytes: 4 * MiB });
    const results = await Promise.all([upload(), upload(), upload()]);
    assert.deepEqual(new Set(results.map((r) => r.digest)), new Set([sha256(body)]));
    assert.deepEqual(
      results.map((r) => r.deduplicated).sort(),
      [false, true, true],
      'exactly one upload stored the bytes',
    );
    assert.equal((await filesUnder(root)).length, 1);
    assert.deepEqual(await blobs.get(sha256(body)), body);
  });
});

describe('BlobStore reads', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'warden-blobs-read-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('streams a stored blob, and answers has()', async () => {
    const blobs = new BlobStore(root);
    const digest = await blobs.put(Buffer.from('open me'));
    assert.equal((await drain(await blobs.open(digest))).toString(), 'open me');
    assert.equal(await blobs.has(digest), true);
    assert.equal(await blobs.has(sha256(Buffer.from('never stored'))), false);
  });

  it('answers 404 for an absent blob before streaming', async () => {
    const blobs = new BlobStore(root);
    const absent = sha256(Buffer.from('never stored'));
    await assert.rejects(
      blobs.open(absent),
      (err) => err instanceof WardenError && err.status === 404 && err.message.includes(absent),
    );
  });

  it('rejects a malformed digest with a 400 instead of touching the filesystem', async () => {
    const blobs = new BlobStore(root);
    for (const bad of ['sha256:../../etc/passwd', 'sha256:ABC', `sha512:${'0'.repeat(64)}`]) {
      await assert.rejects(
        blobs.open(bad),
        (err) => err instanceof WardenError && err.code === 'WARDEN_INVALID_INPUT',
      );
      await assert.rejects(
        blobs.has(bad),
        (err) => err instanceof WardenError && err.code === 'WARDEN_INVALID_INPUT',
      );
    }
  });
});

describe('BlobStore temp sweep', () => {
  it('removes temp files untouched for over an hour and keeps fresh ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'warden-blobs-sweep-'));
    try {
      const blobs = new BlobStore(root);
      const kept = await blobs.put(Buffer.from('a stored blob'));
      await mkdir(join(root, 'tmp'), { recursive: true });
      const now = Date.now();
      const stale = join(root, 'tmp', 'crashed.part');
      await writeFile(stale, 'partial');
      const old = new Date(now - 61 * 60 * 1000);
      await utimes(stale, old, old);
      await writeFile(join(root, 'tmp', 'live.part'), 'in progress');
      assert.equal(await blobs.sweepTemp(now), 1);
      assert.deepEqual(await filesUnder(join(root, 'tmp')), ['live.part']);
      assert.equal(await blobs.has(kept), true);
      assert.equal(await new BlobStore(join(root, 'missing')).sweepTemp(), 0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
