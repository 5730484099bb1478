import { once } from 'node:events';
import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { WardenError } from '../core/index.js';
import type { BlobStore, StoredBlob } from './blobs.js';
import { checkManifestPaths, pathIssue } from './upload-paths.js';

/** Bounds on one archive upload, against tar and compression bombs. */
export interface ArchiveLimits {
  /** Sum of the files' sizes. */
  readonly maxTotalBytes: number;
  /** Entries of any kind, directories included. */
  readonly maxEntries: number;
  readonly maxFileBytes: number;
  /** Decompressed bytes per compressed byte (gzip, brotli, zstd input). */
  readonly maxRatio: number;
}

/** One regular file of an archive, now in the blob store. */
export interface ArchiveFile {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

// pax and GNU long-name records; a longer one is refused rather than skipped (skipping renames the entry).
const MAX_META_BYTES = 64 * 1024;
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Streams a tar archive (plain or compressed) and stores each regular file in `blobs`; nothing is
 * written to a path the archive names. Refuses links, devices and any path `checkManifestPaths`
 * rejects (400), and stops at the first limit exceeded (413), checking declared sizes before reading
 * a file. Files stored before a failure stay as complete, unreferenced blobs (`onStored` hears of each
 * blob as it is committed, so a caller can remove the ones it newly wrote); no partial blob remains.
 */
export async function extractTar(
  source: AsyncIterable<Uint8Array> | Readable,
  blobs: BlobStore,
  limits: ArchiveLimits,
  onStored: (blob: StoredBlob) => void = () => {},
): Promise<ArchiveFile[]> {
  const parser = new Parser({
    strict: true,
    maxMetaEntrySize: MAX_META_BYTES,
    maxDecompressionRatio: limits.maxRatio,
  });
  const files: ArchiveFile[] = [];
  const seen = { entries: 0, bytes: 0 };
  let failure: unknown;
  let current: ReadEntry | undefined; // the entry being stored
  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = (err) => {
      failure ??= err;
      reject(failure);
    };
  });
  failed.catch(() => {}); // observed through `failure`

  const take = async (entry: ReadEntry): Promise<void> => {
    const member = admit(entry, files.length, seen, limits);
    if (member === undefined) {
      entry.resume();
      return;
    }
    current = entry;
    const stored = await blobs.putStream(whole(entry, member.size), { maxBytes: member.size });
    onStored(stored);
    current = undefined;
    files.push({ path: member.path, digest: stored.digest, size: stored.size });
  };

  let storing = Promise.resolve();
  parser.on('entry', (entry: ReadEntry) => {
    storing = storing.then(() => (failure === undefined ? take(entry) : undefined)).catch(fail);
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    const why = entry.meta
      ? `its ${entry.type} record is ${entry.size} bytes, over ${MAX_META_BYTES}`
      : `${entry.type} members are not supported`;
    fail(badArchive(`${JSON.stringify(entry.path)}: ${why}`));
  });
  parser.on('error', (err: Error) => fail(parserError(err)));
  const ended = once(parser, 'end');
  ended.catch(() => {});

  const input = source instanceof Readable ? source : Readable.from(source);
  try {
    for await (const chunk of input) {
      if (failure !== undefined) break;
      if (!parser.write(chunk as Buffer)) await Promise.race([once(parser, 'drain'), failed]);
    }
    if (failure === undefined) parser.end();
    await Promise.race([ended, failed]);
    await storing;
  } catch (err) {
    fail(err);
  }
  if (failure !== undefined) {
    input.destroy();
    current?.destroy(); // ends a store waiting for bytes that will not come
    await storing;
    throw failure;
  }
  const paths = checkManifestPaths(files.map((f) => f.path));
  return files.map((f, i) => ({ ...f, path: paths[i] as string }));
}

/**
 * Checks one member against the limits and path rules, counting it into `seen`; returns the file to
 * store, or undefined for a directory (directories only shape paths).
 */
function admit(
  entry: ReadEntry,
  index: number,
  seen: { entries: number; bytes: number },
  limits: ArchiveLimits,
): { path: string; size: number } | undefined {
  if (++seen.entries > limits.maxEntries)
    throw tooLarge(`archive has more than ${limits.maxEntries} entries`);
  if (entry.type === 'Directory') return undefined;
  const field = `files[${index}].path`;
  const path = entry.path.replace(/^(\.\/)+/, ''); // `tar -C dir .` writes ./name
  if (!FILE_TYPES.has(entry.type)) {
    const message = `${JSON.stringify(path)} is a ${entry.type}; only regular files and directories are accepted`;
    throw new WardenError('WARDEN_INVALID_INPUT', `${field}: ${message}`, { issues: [{ field, message }] });
  }
  const issue = pathIssue(path, field);
  if (issue) throw new WardenError('WARDEN_INVALID_INPUT', `${field}: ${issue.message}`, { issues: [issue] });
  if (entry.size > limits.maxFileBytes) {
    throw tooLarge(`${path} is ${entry.size} bytes, over the per-file limit of ${limits.maxFileBytes} bytes`);
  }
  seen.bytes += entry.size;
  if (seen.bytes > limits.maxTotalBytes) {
    throw tooLarge(`archive files exceed the total limit of ${limits.maxTotalBytes} bytes`);
  }
  return { path, size: entry.size };
}

/** Bytes gathered before one write to the blob file: fewer, larger writes than the network's chunks. */
const WRITE_BYTES = 1 << 20;

/**
 * The entry's bytes in writes of about WRITE_BYTES; throws at the end (so nothing is stored) when
 * they fall short of its size.
 */
async function* whole(entry: ReadEntry, size: number): AsyncGenerator<Uint8Array> {
  let read = 0;
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of entry) {
    read += (chunk as Buffer).length;
    held.push(chunk as Buffer);
    heldBytes += (chunk as Buffer).length;
    if (heldBytes >= WRITE_BYTES) {
      yield held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
    }
  }
  if (read !== size) throw badArchive(`${entry.path} is truncated`);
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

function tooLarge(message: string): WardenError {
  return new WardenError('WARDEN_PAYLOAD_TOO_LARGE', message);
}

function badArchive(message: string): WardenError {
  return new WardenError('WARDEN_INVALID_INPUT', `not a valid tar archive: ${message}`, {
    issues: [{ field: 'body', message }],
  });
}

function parserError(err: Error): WardenError {
  if (err instanceof WardenError) return err;
  if (/decompression ratio/.test(err.message)) return tooLarge(`archive ${err.message}`);
  return badArchive(err.message);
}
