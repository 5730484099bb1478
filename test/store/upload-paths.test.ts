import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, win32 } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WardenError } from '../../src/core/index.js';
import { checkFolderEntries, checkManifestPaths, PATH_LIMITS } from '../../src/store/index.js';

/** The issues of the 400 that `paths` draw, as `field: message` lines. */
function issuesOf(paths: unknown[]): string[] {
  try {
    checkManifestPaths(paths as string[]);
  } catch (err) {
    assert.ok(err instanceof WardenError && err.code === 'WARDEN_INVALID_INPUT', String(err));
    return err.issues.map((i) => `${i.field}: ${i.message}`);
  }
  assert.fail(`accepted ${JSON.stringify(paths)}`);
}

describe('checkManifestPaths', () => {
  it('accepts ordinary relative paths unchanged, hidden files and Unicode included', () => {
    const paths = [
      'model.safetensors',
      'tokenizer/vocab.json',
      '.gitattributes',
      'a/.cache/b',
      'données/é.bin',
    ];
    assert.deepEqual(checkManifestPaths(paths), paths);
  });

  it('returns paths in NFC', () => {
    assert.deepEqual(checkManifestPaths(['cafe\u0301/x.bin']), ['caf\u00e9/x.bin']);
  });

  const rejected: [string, unknown, RegExp][] = [
    ['an absolute path', '/etc/passwd', /must be relative/],
    ['a Windows drive path', 'C:/Windows/x.dll', /must be relative/],
    ['a .. segment', '../outside.bin', /only dots/],
    ['a .. segment inside', 'a/../../outside.bin', /only dots/],
    ['a . segment', 'a/./b', /only dots/],
    ['a dots-only segment', 'a/.../b', /only dots/],
    ['a backslash', 'a\\..\\b', /not \\/],
    ['NUL', 'model.bin\0.txt', /NUL/],
    ['a newline', 'a\nb', /control characters/],
    ['a C1 control', 'a\u0085b', /control characters/],
    ['a lone surrogate', 'a\ud800b', /lone surrogates/],
    ['the empty path', '', /must not be empty/],
    ['a double slash', 'a//b', /empty segments/],
    ['a trailing slash', 'a/', /empty segments/],
    ['an over-long segment', 'x'.repeat(256), /at most 255 UTF-8 bytes/],
    ['an over-long segment in UTF-8 bytes', 'é'.repeat(128), /at most 255 UTF-8 bytes/],
    ['an over-deep path', `${'d/'.repeat(PATH_LIMITS.maxDepth)}f`, /at most 32 segments deep/],
    ['an over-long path', Array(5).fill('x'.repeat(255)).join('/'), /at most 1024 UTF-8 bytes/],
    ['a non-string', 42, /must be a string/],
  ];
  for (const [what, path, reason] of rejected) {
    it(`rejects ${what}, naming the field and the path`, () => {
      const issues = issuesOf(['ok.bin', path]);
      assert.equal(issues.length, 1);
      const issue = issues[0] ?? '';
      assert.ok(issue.startsWith('files[1].path: '), issue);
      assert.match(issue, reason);
      assert.ok(issue.includes(JSON.stringify(path).slice(0, 60)), `${issue} names the path`);
    });
  }

  it('accepts the longest and deepest paths within the limits', () => {
    const deep = `${'d/'.repeat(PATH_LIMITS.maxDepth - 1)}f`;
    const long = [...Array(3).fill('x'.repeat(255)), 'x'.repeat(254), 'y'].join('/');
    assert.equal(long.length, PATH_LIMITS.maxPathBytes);
    assert.deepEqual(checkManifestPaths([deep, long, 'z'.repeat(255)]), [deep, long, 'z'.repeat(255)]);
  });

  const collisions: [string, string[]][] = [
    ['an exact duplicate', ['w.bin', 'w.bin']],
    ['a duplicate after NFC', ['caf\u00e9.bin', 'cafe\u0301.bin']],
    ['a case-folding duplicate', ['Model.bin', 'model.BIN']],
    ['a full case-folding duplicate', ['STRASSE.txt', 'straße.txt']],
    ['a file that is another file’s directory', ['a', 'a/b.bin']],
    ['a directory that is an earlier file', ['a/b.bin', 'A']],
  ];
  for (const [what, paths] of collisions) {
    it(`rejects ${what}, naming both entries`, () => {
      const issues = issuesOf(paths);
      assert.equal(issues.length, 1);
      assert.ok(issues[0]?.startsWith('files[1].path: '), issues[0]);
      assert.match(issues[0] ?? '', /collides with files\[0\]\.path/);
      assert.ok(issues[0]?.includes(JSON.stringify(paths[0])), issues[0]);
    });
  }

  it('reports every bad path at once', () => {
    const issues = issuesOf(['/abs', 'ok.bin', '../up', 'ok.bin']);
    assert.deepEqual(
      issues.map((i) => i.split(':')[0]),
      ['files[0].path', 'files[2].path', 'files[3].path'],
    );
  });

  it('rejects an empty file list', () => {
    assert.deepEqual(issuesOf([]), ['files: must list at least one file']);
  });
});

describe('checkManifestPaths properties', () => {
  // Pieces that trip path handling, mixed with arbitrary code points.
  const piece = fc.oneof(
    fc.constantFrom(
      '/',
      '.',
      '..',
      '\\',
      '\0',
      '\n',
      ':',
      'C:',
      'a',
      'A',
      'ß',
      'SS',
      'é',
      'e\u0301',
      '\ud800',
    ),
    fc.string({ unit: 'binary', maxLength: 3 }),
  );
  const rawPath = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));

  it('never accepts a path that escapes the root, on POSIX or Windows', () => {
    fc.assert(
      fc.property(fc.array(rawPath, { minLength: 1, maxLength: 6 }), (paths) => {
        let accepted: string[];
        try {
          accepted = checkManifestPaths(paths);
        } catch (err) {
          assert.ok(err instanceof WardenError && err.code === 'WARDEN_INVALID_INPUT');
          for (const issue of err.issues) assert.match(issue.field, /^files\[\d+\]\.path$/);
          return;
        }
        assert.equal(accepted.length, paths.length);
        for (const p of accepted) {
          assert.equal(posix.normalize(p), p);
          assert.ok(posix.resolve('/root', p).startsWith('/root/'), p);
          assert.ok(win32.resolve('C:\\root', p).startsWith('C:\\root\\'), p);
        }
        assert.deepEqual(checkManifestPaths(accepted), accepted, 'normalisation is idempotent');
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts well-formed paths and returns them unchanged', () => {
    const segment = fc
      .string({
        unit: fc.constantFrom('a', 'b', 'Z', '0', '.', '-', '_', ' ', 'é', '漢', '😀'),
        minLength: 1,
        maxLength: 12,
      })
      .filter((s) => !/^\.+$/.test(s));
    const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segs) => segs.join('/'));
    const fold = (p: string) => p.toUpperCase().toLowerCase();
    const folderOfPaths = fc
      .uniqueArray(path, { minLength: 1, maxLength: 8, selector: fold })
      .filter((paths) => paths.every((p) => !paths.some((q) => fold(q).startsWith(`${fold(p)}/`))));
    fc.assert(
      fc.property(folderOfPaths, (paths) => {
        const accepted = checkManifestPaths(paths);
        assert.deepEqual(accepted, paths);
        for (const p of accepted) assert.equal(posix.relative('/root', posix.join('/root', p)), p);
      }),
      { numRuns: 500 },
    );
  });
});

describe('checkFolderEntries', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-folder-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists regular files as sorted POSIX paths with sizes and where to read them', async () => {
    const root = join(dir, 'model');
    await mkdir(join(root, 'tokenizer', 'extra'), { recursive: true });
    await writeFile(join(root, 'weights.bin'), Buffer.alloc(1000));
    await writeFile(join(root, 'tokenizer', 'vocab.json'), '{}');
    await writeFile(join(root, 'tokenizer', 'extra', 'merges.txt'), 'a b\n');
    await writeFile(join(root, 'Config.json'), '{"x":1}');
    await writeFile(join(root, 'cafe\u0301.txt'), 'nfd');
    assert.deepEqual(await checkFolderEntries(root), [
      { path: 'Config.json', file: join(root, 'Config.json'), size: 7 },
      { path: 'caf\u00e9.txt', file: join(root, 'cafe\u0301.txt'), size: 3 },
      { path: 'tokenizer/extra/merges.txt', file: join(root, 'tokenizer', 'extra', 'merges.txt'), size: 4 },
      { path: 'tokenizer/vocab.json', file: join(root, 'tokenizer', 'vocab.json'), size: 2 },
      { path: 'weights.bin', file: join(root, 'weights.bin'), size: 1000 },
    ]);
  });

  it('follows a symlink given as the folder itself', async () => {
    const root = join(dir, 'linked-root');
    await mkdir(join(root, 'real'), { recursive: true });
    await writeFile(join(root, 'real', 'w.bin'), 'w');
    await symlink(join(root, 'real'), join(root, 'alias'));
    assert.deepEqual(
      (await checkFolderEntries(join(root, 'alias'))).map((e) => e.path),
      ['w.bin'],
    );
  });

  it('refuses symlinks inside the folder, to files or directories, naming each', async () => {
    const root = join(dir, 'with-links');
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(root, 'ok.bin'), 'ok');
    await symlink('/etc/passwd', join(root, 'sub', 'passwd'));
    await symlink('/etc', join(root, 'etc'));
    await assert.rejects(
      checkFolderEntries(root),
      (err) =>
        err instanceof WardenError &&
        err.code === 'WARDEN_INVALID_INPUT' &&
        err.message.includes('sub/passwd (symbolic link)') &&
        err.message.includes('etc (symbolic link)'),
    );
  });

  it('refuses file names the manifest would reject, and an empty folder', async () => {
    const root = join(dir, 'clashing');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'a\\b.bin'), 'x');
    await assert.rejects(checkFolderEntries(root), /not \\/);
    const cased = join(dir, 'cased');
    await mkdir(cased, { recursive: true });
    await writeFile(join(cased, 'Model.bin'), 'x');
    await writeFile(join(cased, 'model.bin'), 'y');
    await assert.rejects(checkFolderEntries(cased), /collides with/);
    const empty = join(dir, 'empty');
    await mkdir(join(empty, 'only-dirs'), { recursive: true });
    await assert.rejects(checkFolderEntries(empty), /at least one file/);
  });

  it('refuses a path that is not a directory', async () => {
    await writeFile(join(dir, 'plain.bin'), 'x');
    await assert.rejects(checkFolderEntries(join(dir, 'plain.bin')), /is not a directory/);
  });
});
