import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { WardenError } from '../core/index.js';
import type { Store } from '../store/index.js';
import { storedLeaves } from './live-source.js';
import { parseVkey } from './note.js';
import { outsideNodes } from './range-root.js';
import { latestCheckpointNote, storedHashReader } from './repository.js';
import { readNodesFrom } from './stored-nodes.js';
import type { VerifyLeaf, VerifySource } from './verify.js';

/** First line of the export stream: what the entries that follow must prove against. */
export interface ExportHeader {
  readonly origin: string;
  readonly verifierKey: string;
  readonly checkpoint: string;
  readonly size: number;
  readonly from: number;
  readonly to: number;
  /** Base64 hashes of the subtrees outside [from, to), in `outsideNodes` order. */
  readonly outside: readonly string[];
}

/** One exported entry: the exact leaf data (null once purged) and its leaf hash. */
export interface ExportEntry {
  readonly index: number;
  readonly leafHash: string;
  readonly body: string | null;
}

/** Streams an export of entries [from, to) against the latest checkpoint: a header, then the entries. */
export async function* exportLines(
  store: Store,
  ledger: { origin: string; verifierKey: string },
  range: { from?: number | undefined; to?: number | undefined },
): AsyncGenerator<ExportHeader | ExportEntry> {
  const cp = await latestCheckpointNote(store.db);
  if (cp === undefined) throw new WardenError('WARDEN_NOT_FOUND', 'the ledger has no checkpoint yet');
  const from = range.from ?? 0;
  const to = range.to ?? cp.size;
  if (from > to || to > cp.size) {
    throw new WardenError('WARDEN_INVALID_INPUT', `need 0 ≤ from ≤ to ≤ ${cp.size}`, {
      issues: [{ field: from > to ? 'from' : 'to', message: `need 0 ≤ from ≤ to ≤ ${cp.size}` }],
    });
  }
  const ids = outsideNodes(from, to, cp.size);
  const outside = ids.length === 0 ? [] : await readNodesFrom(storedHashReader(store.db))(ids);
  yield {
    origin: ledger.origin,
    verifierKey: ledger.verifierKey,
    checkpoint: cp.note,
    size: cp.size,
    from,
    to,
    outside: outside.map((h) => h.toString('base64')),
  };
  for await (const leaf of storedLeaves(store.db, from, to)) {
    if (leaf.storedHash === null)
      throw new Error(`entry ${leaf.index} has no leaf hash; run warden audit verify`);
    yield { index: leaf.index, leafHash: leaf.storedHash.toString('hex'), body: leaf.body };
  }
}

/** File names inside an export directory. */
export const EXPORT_FILES = {
  entries: 'entries.ndjson',
  leafHashes: 'leaf-hashes',
  checkpoint: 'checkpoint',
  vkey: 'vkey',
  range: 'range.json',
} as const;

/**
 * Writes an export directory from the stream: `entries.ndjson` (one leaf's data per line, byte for
 * byte; an empty line for a purged entry), `leaf-hashes` (hex, one per line), `checkpoint` (the
 * signed note verbatim), `vkey`, and `range.json` (from, to, size, outside hashes).
 */
export async function writeExportDir(
  dir: string,
  lines: AsyncIterable<ExportHeader | ExportEntry>,
): Promise<{ entries: number; header: ExportHeader }> {
  await mkdir(dir, { recursive: true });
  const entries = createWriteStream(join(dir, EXPORT_FILES.entries));
  const hashes = createWriteStream(join(dir, EXPORT_FILES.leafHashes));
  let header: ExportHeader | undefined;
  let count = 0;
  for await (const line of lines) {
    if ('checkpoint' in line) {
      header = line;
      continue;
    }
    if (header === undefined) throw new Error('export stream did not start with its header');
    if (line.body?.includes('\n')) throw new Error(`entry ${line.index} holds a raw newline`);
    if (!entries.write(`${line.body ?? ''}\n`))
      await new Promise<void>((r) => entries.once('drain', () => r()));
    hashes.write(`${line.leafHash}\n`);
    count++;
  }
  entries.end();
  hashes.end();
  await Promise.all([finished(entries), finished(hashes)]);
  if (header === undefined) throw new Error('export stream was empty');
  await writeFile(join(dir, EXPORT_FILES.checkpoint), header.checkpoint);
  await writeFile(join(dir, EXPORT_FILES.vkey), `${header.verifierKey}\n`);
  const { from, to, size, outside } = header;
  await writeFile(join(dir, EXPORT_FILES.range), `${JSON.stringify({ from, to, size, outside }, null, 2)}\n`);
  return { entries: count, header };
}

/** A verify source reading an export directory; `vkey` pins the key (else the export's own `vkey` file is used). */
export async function exportSource(dir: string, vkey?: string): Promise<VerifySource> {
  const keyText = vkey ?? (await readFile(join(dir, EXPORT_FILES.vkey), 'utf8')).trim();
  const key = parseVkey(keyText);
  const note = await readFile(join(dir, EXPORT_FILES.checkpoint), 'utf8');
  const range = JSON.parse(await readFile(join(dir, EXPORT_FILES.range), 'utf8')) as {
    from: number;
    to: number;
    size: number;
    outside: string[];
  };
  const partial = range.from !== 0 || range.to !== range.size;
  return {
    key,
    from: range.from,
    leaves: readExportLeaves(dir, range.from),
    checkpoints: [{ size: range.size, note }],
    ...(partial ? { to: range.to, outside: range.outside.map((h) => Buffer.from(h, 'base64')) } : {}),
  };
}

async function* readExportLeaves(dir: string, from: number): AsyncGenerator<VerifyLeaf> {
  const entries = createInterface({
    input: createReadStream(join(dir, EXPORT_FILES.entries), 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const hashes = createInterface({ input: createReadStream(join(dir, EXPORT_FILES.leafHashes), 'utf8') })[
    Symbol.asyncIterator
  ]();
  let index = from;
  for await (const body of entries) {
    const h = await hashes.next();
    const hex = h.done ? undefined : h.value;
    const storedHash = hex !== undefined && /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : null;
    yield { index, body: body === '' ? null : body, storedHash, bodyExpected: false };
    index++;
  }
}
