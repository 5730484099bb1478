import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  encodeTileIndex,
  entriesPath,
  parseTilePath,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilePath,
  tilesForSize,
} from '../../src/ledger/tiles.js';

interface LevelSummary {
  readonly level: number;
  readonly fullTiles: number;
  readonly partial: string | null;
}

interface TileVectors {
  readonly indexEncoding: Record<string, string>;
  readonly size70000: LevelSummary[];
  readonly size256: LevelSummary[];
}

// Tests run from dist/test/ledger; the shared vectors live beside the repository root.
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/rfc6962/vectors.json', import.meta.url));
if (!existsSync(VECTORS)) throw new Error(`test vectors missing: expected ${VECTORS}`);
const { tiles: vectors } = JSON.parse(readFileSync(VECTORS, 'utf8')) as { tiles: TileVectors };
assert.ok(Object.keys(vectors.indexEncoding).length >= 4, 'expected tile index encoding vectors');

/** Summarises tilesForSize per level the way the vectors do. */
function summarise(size: number): LevelSummary[] {
  const summary: LevelSummary[] = [];
  for (const { level, index, width } of tilesForSize(size)) {
    const row = summary[level] ?? { level, fullTiles: 0, partial: null };
    summary[level] =
      width === TILE_WIDTH
        ? { ...row, fullTiles: row.fullTiles + 1 }
        : { ...row, partial: tilePath(level, index, width) };
  }
  return summary;
}

describe('tile paths', () => {
  it('encodes the vector indices', () => {
    for (const [n, want] of Object.entries(vectors.indexEncoding))
      assert.equal(encodeTileIndex(Number(n)), want);
    assert.equal(encodeTileIndex(999), '999');
    assert.equal(encodeTileIndex(2 ** 53 - 1), 'x009/x007/x199/x254/x740/991');
  });

  it('lists the tiles of the vector tree sizes', () => {
    assert.deepEqual(summarise(70_000), vectors.size70000);
    assert.deepEqual(summarise(256), vectors.size256);
    assert.deepEqual(tilesForSize(0), []);
    assert.deepEqual(tilesForSize(1), [{ level: 0, index: 0, width: 1 }]);
    assert.equal(TILE_WIDTH, 2 ** TILE_HEIGHT);
  });

  it('formats hash tile and entry bundle paths', () => {
    assert.equal(tilePath(0, 1_234_067), 'tile/0/x001/x234/067');
    assert.equal(tilePath(1, 1, 17), 'tile/1/001.p/17');
    assert.equal(tilePath(63, 0, 256), 'tile/63/000');
    assert.equal(entriesPath(273, 112), 'tile/entries/273.p/112');
    assert.equal(entriesPath(1000), 'tile/entries/x001/000');
  });

  it('rejects impossible tiles', () => {
    for (const [level, index, width] of [
      [64, 0, 256],
      [-1, 0, 256],
      [0.5, 0, 256],
      [0, -1, 256],
      [0, 1.5, 256],
      [0, 2 ** 53, 256],
      [0, 0, 0],
      [0, 0, 257],
      [0, 0, 2.5],
    ] as const) {
      assert.throws(
        () => tilePath(level, index, width),
        RangeError,
        `tilePath(${level}, ${index}, ${width})`,
      );
    }
    assert.throws(() => entriesPath(0, 0), RangeError);
    assert.throws(() => tilesForSize(-1), RangeError);
  });

  it('parses what it formats', () => {
    const tileArb = fc.record({
      level: fc.integer({ min: 0, max: 63 }),
      index: fc.oneof(fc.nat(3000), fc.maxSafeNat()),
      width: fc.integer({ min: 1, max: 256 }),
    });
    fc.assert(
      fc.property(tileArb, ({ level, index, width }) => {
        assert.deepEqual(parseTilePath(tilePath(level, index, width)), { kind: 'hash', level, index, width });
        assert.deepEqual(parseTilePath(entriesPath(index, width)), {
          kind: 'entries',
          level: 0,
          index,
          width,
        });
      }),
    );
    assert.deepEqual(parseTilePath('tile/2/000.p/1'), { kind: 'hash', level: 2, index: 0, width: 1 });
    assert.deepEqual(parseTilePath('tile/entries/x001/x234/067'), {
      kind: 'entries',
      level: 0,
      index: 1_234_067,
      width: 256,
    });
  });

  it('rejects malformed paths', () => {
    for (const path of [
      '',
      'tile',
      'tile/0',
      'tile/0/',
      '/tile/0/000',
      'tile/0/000/',
      'tile/0/0',
      'tile/0/00',
      'tile/0/0000',
      'tile/0/1234',
      'tile/00/000',
      'tile/01/000',
      'tile/64/000',
      'tile/100/000',
      'tile/-1/000',
      'tile/+1/000',
      'tile/a/000',
      'tile/0/x000/001',
      'tile/0/x001',
      'tile/0/001/002',
      'tile/0/x001/x002',
      'tile/0/y001/002',
      'tile/0/X001/002',
      'tile/0/x01/002',
      'tile/0/x999/x999/x999/x999/x999/x999/999',
      'tile/0/x009/x007/x199/x254/x740/992',
      'tile/0/000.p/0',
      'tile/0/000.p/00',
      'tile/0/000.p/01',
      'tile/0/000.p/256',
      'tile/0/000.p/1000',
      'tile/0/000.p/',
      'tile/0/000.p',
      'tile/0/000.p/-1',
      'tile/0/000.p/1/',
      'tile/0/000.P/1',
      'tile/0/000.q/1',
      'tile/0/000 ',
      'tile/0/000\n',
      'tile/0/٠٠٠',
      'tile/entry/000',
      'tile/entries/0/000',
      'tile/entries/x000/000',
      'tile/entries/000.p/256',
      'tiles/0/000',
      'Tile/0/000',
    ]) {
      assert.equal(parseTilePath(path), null, JSON.stringify(path));
    }
  });
});

describe('entry bundles', () => {
  it('encodes big-endian uint16 lengths', () => {
    assert.equal(encodeEntryBundle([Buffer.from('ab'), new Uint8Array(0)]).toString('hex'), '000261620000');
    assert.equal(encodeEntryBundle([]).length, 0);
    assert.equal(
      encodeEntryBundle([new Uint8Array(0x1234)])
        .subarray(0, 2)
        .toString('hex'),
      '1234',
    );
  });

  it('round-trips up to 256 entries of up to 65535 bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: TILE_WIDTH }), (entries) => {
        assert.deepEqual(
          decodeEntryBundle(encodeEntryBundle(entries)),
          entries.map((e) => Buffer.from(e)),
        );
      }),
    );
    const big = Buffer.alloc(0xffff, 7);
    assert.deepEqual(decodeEntryBundle(encodeEntryBundle([big, big])), [big, big]);
  });

  it('decodes from a view into a larger buffer', () => {
    const backing = Buffer.concat([
      Buffer.from('junk'),
      encodeEntryBundle([Buffer.from('x')]),
      Buffer.from('junk'),
    ]);
    assert.deepEqual(decodeEntryBundle(backing.subarray(4, 7)), [Buffer.from('x')]);
  });

  it('rejects oversized entries and bundles, and truncated bundles', () => {
    assert.throws(() => encodeEntryBundle([Buffer.alloc(0x10000)]), /entry 0 is 65536 bytes/);
    assert.throws(() => encodeEntryBundle(Array.from({ length: 257 }, () => Buffer.alloc(0))), /at most 256/);
    assert.throws(() => decodeEntryBundle(Buffer.alloc(257 * 2)), /more than 256 entries/);
    assert.throws(() => decodeEntryBundle(Buffer.from([0])), /truncated in the length of entry 0/);
    assert.throws(() => decodeEntryBundle(Buffer.from([0, 0, 0])), /truncated in the length of entry 1/);
    assert.throws(() => decodeEntryBundle(Buffer.from([0, 3, 1, 2])), /truncated in entry 0/);
  });
});
