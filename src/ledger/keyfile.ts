import { randomBytes } from 'node:crypto';
import { type FileHandle, link, open, unlink } from 'node:fs/promises';
import { WardenError } from '../core/index.js';
import { type NoteSigner, parseSkey } from './note.js';

// The ledger's signer key file: one Go-format `PRIVATE+KEY+...` line, readable by its owner only.

const MAX_KEY_FILE_BYTES = 4096;

function configError(message: string, cause?: unknown): WardenError {
  return new WardenError('WARDEN_CONFIG', message, { cause });
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Writes a signer key to a new file with mode 0600, refusing to overwrite an existing file. The file
 * appears complete or not at all: a private temporary file is hard-linked into place.
 */
export async function writeSignerKeyFile(path: string, skey: string): Promise<void> {
  try {
    parseSkey(skey);
  } catch (err) {
    throw configError(`refusing to write an invalid signer key to ${path}: ${(err as Error).message}`, err);
  }
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.chmod(0o600);
      await file.writeFile(`${skey}\n`, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await link(temp, path);
  } catch (err) {
    if (errorCode(err) === 'EEXIST') {
      throw configError(`signer key file ${path} already exists; refusing to overwrite it`, err);
    }
    throw configError(`cannot write signer key file ${path}: ${(err as Error).message}`, err);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Reads a signer key file; refuses a file that group or others may access (it must be mode 0600). */
export async function readSignerKeyFile(path: string): Promise<NoteSigner> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (err) {
    throw configError(`cannot open signer key file ${path}: ${(err as Error).message}`, err);
  }
  let text: string;
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw configError(`signer key file ${path} is not a regular file`);
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      const octal = mode.toString(8).padStart(4, '0');
      throw configError(
        `signer key file ${path} has mode ${octal}, which lets group or others access it; run chmod 600 ${path}`,
      );
    }
    if (stat.size > MAX_KEY_FILE_BYTES) throw configError(`signer key file ${path} is too large to be a key`);
    text = await file.readFile('utf8');
  } finally {
    await file.close();
  }
  try {
    return parseSkey(text.trim());
  } catch (err) {
    throw configError(
      `signer key file ${path} does not hold a valid signer key: ${(err as Error).message}`,
      err,
    );
  }
}
