// C2SP tlog-tiles: resource paths for hash tiles and entry bundles, and the entry bundle encoding.

/** Hashes in a full tile, and entries in a full entry bundle. */
export const TILE_WIDTH = 256;

/** Tree levels spanned by one tile: tile level k holds the hashes at tree level 8k. */
export const TILE_HEIGHT = 8;

const MAX_TILE_LEVEL = 63;
const MAX_ENTRY_BYTES = 0xffff;

/** A tile: its level, its index within the level, and its width (TILE_WIDTH when full). */
export interface TileId {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** A parsed `tile/…` path; entry bundles (`tile/entries/…`) report level 0, the hash tile they match. */
export interface TilePath extends TileId {
  readonly kind: 'hash' | 'entries';
}

/** The `<N>` path part: 3-digit groups, all but the last prefixed `x` (1234067 → `x001/x234/067`). */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`tile index must be a non-negative safe integer, got ${n}`);
  const digits = String(n);
  const groups = digits.padStart(Math.ceil(digits.length / 3) * 3, '0').match(/\d{3}/g) ?? [];
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError(`tile width must be 1 to ${TILE_WIDTH}, got ${width}`);
  }
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** `tile/<L>/<N>[.p/<W>]` for a hash tile; a width below TILE_WIDTH makes it a partial tile. */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new RangeError(`tile level must be 0 to ${MAX_TILE_LEVEL}, got ${level}`);
  }
  return `tile/${level}/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

/** `tile/entries/<N>[.p/<W>]` for an entry bundle; a width below TILE_WIDTH makes it partial. */
export function entriesPath(index: number, width: number = TILE_WIDTH): string {
  return `tile/entries/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

const TILE_PATH = /^tile\/(entries|0|[1-9]\d?)\/((?:x\d{3}\/)*\d{3})(?:\.p\/([1-9]\d{0,2}))?$/;

/**
 * Parses a path made by tilePath or entriesPath. Returns null for anything else, including non-canonical
 * indices (`x000/001`), levels above 63, widths outside 1–255, leading zeroes and indices beyond 2^53.
 */
export function parseTilePath(path: string): TilePath | null {
  const match = TILE_PATH.exec(path);
  if (match === null) return null;
  const [, levelText = '', indexText = '', widthText] = match;
  const level = levelText === 'entries' ? 0 : Number(levelText);
  const index = Number(indexText.replace(/[x/]/g, ''));
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (level > MAX_TILE_LEVEL || (widthText !== undefined && width >= TILE_WIDTH)) return null;
  if (!Number.isSafeInteger(index) || encodeTileIndex(index) !== indexText) return null;
  return { kind: levelText === 'entries' ? 'entries' : 'hash', level, index, width };
}

/**
 * Every hash tile of a tree of `size` leaves, level by level: the full tiles, then the partial one, if any.
 * (A size-70000 tree: 273 full level-0 tiles and one of width 112, one full level-1 tile and one of width 17,
 * and a level-2 tile of width 1.)
 */
export function tilesForSize(size: number): TileId[] {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new RangeError(`size must be a non-negative safe integer, got ${size}`);
  const tiles: TileId[] = [];
  for (let level = 0, hashes = size; hashes > 0; level++, hashes = Math.floor(hashes / TILE_WIDTH)) {
    const full = Math.floor(hashes / TILE_WIDTH);
    for (let index = 0; index < full; index++) tiles.push({ level, index, width: TILE_WIDTH });
    if (hashes % TILE_WIDTH > 0) tiles.push({ level, index: full, width: hashes % TILE_WIDTH });
  }
  return tiles;
}

/** A C2SP entry bundle: each entry as a big-endian uint16 length and its bytes, at most TILE_WIDTH entries. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  if (entries.length > TILE_WIDTH)
    throw new RangeError(`an entry bundle holds at most ${TILE_WIDTH} entries`);
  const parts: Uint8Array[] = [];
  entries.forEach((entry, i) => {
    if (entry.length > MAX_ENTRY_BYTES) {
      throw new RangeError(
        `entry ${i} is ${entry.length} bytes; entry bundles hold at most ${MAX_ENTRY_BYTES}`,
      );
    }
    const length = Buffer.alloc(2);
    length.writeUInt16BE(entry.length);
    parts.push(length, entry);
  });
  return Buffer.concat(parts);
}

/** The entries of a C2SP entry bundle; throws TypeError if it is truncated or holds over TILE_WIDTH entries. */
export function decodeEntryBundle(bundle: Uint8Array): Buffer[] {
  const data = Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  const entries: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    if (entries.length === TILE_WIDTH)
      throw new TypeError(`entry bundle holds more than ${TILE_WIDTH} entries`);
    if (at + 2 > data.length)
      throw new TypeError(`entry bundle truncated in the length of entry ${entries.length}`);
    const length = data.readUInt16BE(at);
    at += 2;
    if (at + length > data.length) {
      throw new TypeError(`entry bundle truncated in entry ${entries.length}: ${length} bytes declared`);
    }
    entries.push(Buffer.from(data.subarray(at, at + length)));
    at += length;
  }
  return entries;
}
