import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 of `bytes`; padded with `=` only when asked (otpauth URIs omit it). */
export function base32Encode(bytes: Uint8Array, opts: { pad?: boolean } = {}): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  if (opts.pad) out += '='.repeat((8 - (out.length % 8)) % 8);
  return out;
}

/** Decodes RFC 4648 base32, ignoring case, spaces and padding as people type them; throws on other characters. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) throw new TypeError('invalid base32 character');
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** Code length and time step; the defaults are what authenticator apps assume. */
export interface TotpOptions {
  readonly digits?: number;
  /** Seconds per time step. */
  readonly period?: number;
}

/** A new random TOTP secret: 160 bits (the RFC 4226 recommendation), base32. */
export function generateTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** RFC 4226 HOTP (HMAC-SHA-1, dynamic truncation) of `counter` under `key`. */
export function hotpCode(key: Uint8Array, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

function timeStep(timeMs: number, period: number): number {
  return Math.floor(timeMs / 1000 / period);
}

/** The RFC 6238 TOTP code for a base32 `secret` at `timeMs` (milliseconds since the epoch). */
export function totpCode(secret: string, timeMs: number, opts: TotpOptions = {}): string {
  return hotpCode(base32Decode(secret), timeStep(timeMs, opts.period ?? 30), opts.digits ?? 6);
}

/**
 * Checks `code` against the steps within `window` of `timeMs`; returns the matched time step, or
 * undefined. Callers store the step and refuse a code for a step at or before it (no replay).
 */
export function verifyTotp(
  secret: string,
  code: string,
  timeMs: number,
  window = 1,
  opts: TotpOptions = {},
): number | undefined {
  const digits = opts.digits ?? 6;
  if (code.length !== digits || !/^\d+$/.test(code)) return undefined;
  const key = base32Decode(secret);
  const now = timeStep(timeMs, opts.period ?? 30);
  const given = Buffer.from(code);
  let matched: number | undefined;
  // Every candidate is compared, so the time taken does not reveal which step matched.
  for (let step = now - window; step <= now + window; step++) {
    if (step < 0) continue;
    if (timingSafeEqual(Buffer.from(hotpCode(key, step, digits)), given) && matched === undefined) {
      matched = step;
    }
  }
  return matched;
}

/** The `otpauth://` URI an authenticator app enrols from (usually shown as a QR code). */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = `secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
  return `otpauth://totp/${label}?${query}`;
}
