import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readSignerKeyFile, writeSignerKeyFile } from './keyfile.js';
import { formatVkey, generateSignerKey, type NoteSigner } from './note.js';

/** The ledger's signing key, its public verifier key text, and the HMAC key for sensitive fields. */
export interface LedgerKeys {
  readonly signer: NoteSigner;
  readonly verifierKey: string;
  readonly hmacKey: Buffer;
  /** True when this call generated the keys (first start). */
  readonly created: boolean;
}

/**
 * Loads the ledger keys, generating them (mode 0600) on first start. The signing key's name is the
 * log's origin; a configured origin that differs from an existing key's name is an error.
 */
export async function loadOrCreateLedgerKeys(opts: {
  signingKeyFile: string;
  hmacKeyFile: string;
  origin: string;
}): Promise<LedgerKeys> {
  let created = false;
  mkdirSync(dirname(opts.signingKeyFile), { recursive: true });
  if (!fileExists(opts.signingKeyFile)) {
    const origin = opts.origin || `warden.local/ledger/${randomBytes(6).toString('hex')}`;
    try {
      await writeSignerKeyFile(opts.signingKeyFile, generateSignerKey(origin).skey);
      created = true;
    } catch (err) {
      // Another process created it first: use theirs.
      if (!fileExists(opts.signingKeyFile)) throw err;
    }
  }
  const signer = await readSignerKeyFile(opts.signingKeyFile);
  if (opts.origin && opts.origin !== signer.name) {
    throw new Error(
      `WARDEN_ORIGIN is ${opts.origin} but the ledger key ${opts.signingKeyFile} belongs to origin ${signer.name}; the origin cannot change`,
    );
  }
  if (!fileExists(opts.hmacKeyFile)) {
    try {
      writeFileSync(opts.hmacKeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const mode = statSync(opts.hmacKeyFile).mode & 0o077;
  if (mode !== 0)
    throw new Error(`${opts.hmacKeyFile} is readable by others; run chmod 600 ${opts.hmacKeyFile}`);
  const hmacKey = Buffer.from(readFileSync(opts.hmacKeyFile, 'utf8').trim(), 'hex');
  if (hmacKey.length < 32) throw new Error(`${opts.hmacKeyFile} must hold at least 32 bytes of hex`);
  return { signer, verifierKey: verifierKeyOf(signer), hmacKey, created };
}

function verifierKeyOf(signer: NoteSigner): string {
  return formatVkey(signer.name, signer.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
}

function fileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
