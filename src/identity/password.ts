import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { type FieldIssue, WardenError } from '../core/index.js';

/** scrypt cost parameters: N (CPU/memory cost, a power of two), r (block size), p (parallelism). */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Current parameters: 32 MiB and roughly 100 ms per hash on one core of a small server. */
export const SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/** Bounds on parameters read back from storage, so a corrupt row cannot demand gigabytes. */
const LIMITS = { N: 2 ** 20, r: 32, p: 16 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Longest accepted password; scrypt copes with more, but nobody types it. */
const MAX_PASSWORD_LENGTH = 1024;
/** Shortest accepted password, in code points. */
export const MIN_PASSWORD_LENGTH = 12;

/** The outcome of checking a password against a stored hash. */
export interface PasswordCheck {
  readonly ok: boolean;
  /** True when the password matched but the hash used other parameters than SCRYPT_PARAMS: store a new hash. */
  readonly needsRehash: boolean;
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes (plus a little); maxmem must allow it or Node refuses.
  const maxmem = 256 * params.N * params.r;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, HASH_BYTES, { ...params, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password into `scrypt$N$r$p$salt$hash` (salt and hash base64url). */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params);
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

function malformed(): WardenError {
  return new WardenError('WARDEN_INTERNAL', 'stored password hash is malformed');
}

function parseParam(text: string | undefined, max: number): number {
  if (text === undefined || !/^[1-9]\d{0,7}$/.test(text)) throw malformed();
  const n = Number(text);
  if (n > max) throw malformed();
  return n;
}

function parseHash(encoded: string): { params: ScryptParams; salt: Buffer; hash: Buffer } {
  const [scheme, n, r, p, salt, hash, ...rest] = encoded.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined || rest.length > 0) throw malformed();
  const params = { N: parseParam(n, LIMITS.N), r: parseParam(r, LIMITS.r), p: parseParam(p, LIMITS.p) };
  if ((params.N & (params.N - 1)) !== 0) throw malformed();
  const saltBytes = Buffer.from(salt, 'base64url');
  const hashBytes = Buffer.from(hash, 'base64url');
  if (saltBytes.length < SALT_BYTES || hashBytes.length !== HASH_BYTES) throw malformed();
  return { params, salt: saltBytes, hash: hashBytes };
}

/** Checks `password` against a hash from `hashPassword`; throws WARDEN_INTERNAL if the stored hash is corrupt. */
export async function verifyPassword(
  password: string,
  encoded: string,
  current: ScryptParams = SCRYPT_PARAMS,
): Promise<PasswordCheck> {
  const { params, salt, hash } = parseHash(encoded);
  if (password.length > MAX_PASSWORD_LENGTH) return { ok: false, needsRehash: false };
  const candidate = await derive(password, salt, params);
  const ok = timingSafeEqual(candidate, hash);
  const changed = params.N !== current.N || params.r !== current.r || params.p !== current.p;
  return { ok, needsRehash: ok && changed };
}

/** Why `password` is not acceptable as a new password, or undefined when it is. */
export function checkPasswordPolicy(
  password: string,
  opts: { field?: string; username?: string } = {},
): FieldIssue | undefined {
  const field = opts.field ?? 'password';
  const chars = [...password.normalize('NFKC')];
  if (chars.length < MIN_PASSWORD_LENGTH) {
    return { field, message: `must be at least ${MIN_PASSWORD_LENGTH} characters long` };
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return { field, message: `must be at most ${MAX_PASSWORD_LENGTH} characters long` };
  }
  const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].filter((re) =>
    re.test(password),
  );
  if (classes.length < 2) {
    return {
      field,
      message: 'must mix at least two of: lower-case letters, upper-case letters, digits, symbols',
    };
  }
  if (new Set(chars).size < 4) return { field, message: 'must not repeat a few characters over and over' };
  const username = opts.username?.trim().toLowerCase();
  if (username && username.length >= 3 && password.toLowerCase().includes(username)) {
    return { field, message: 'must not contain the username' };
  }
  return undefined;
}
