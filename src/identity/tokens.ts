import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../core/index.js';

/** Prefix of every Warden API token, so secret scanners can spot leaked ones. */
export const TOKEN_PREFIX = 'wdn_';

/** A new random API token secret (shown once, never stored). */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** What is stored for a token: SHA-256 of the secret, hex. */
export function tokenDigest(secret: string): string {
  return sha256Hex(secret);
}
