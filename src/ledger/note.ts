import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { sha256 } from '../core/index.js';

// C2SP signed-note v1.0.0 with Ed25519, byte-compatible with golang.org/x/mod/sumdb/note.

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';
// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS #8) or public key (SPKI).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_KEY_ID = /^[0-9a-fA-F]{8}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Most signatures openNote reads from one note (the spec asks for at least 16; Go allows 100). */
export const MAX_NOTE_SIGNATURES = 100;

/** Why a note, key or checkpoint was refused. */
export type NoteErrorReason =
  | 'malformed'
  | 'unverified'
  | 'invalid-signature'
  | 'bad-key'
  | 'ambiguous-key'
  | 'origin-mismatch';

/** A signed note, note key or checkpoint that was refused; `reason` says why. */
export class NoteError extends Error {
  readonly reason: NoteErrorReason;

  constructor(reason: NoteErrorReason, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NoteError';
    this.reason = reason;
  }
}

/** A named Ed25519 verifier key; `keyId` is the 4-byte id carried in signature lines. */
export interface NoteKey {
  readonly name: string;
  readonly keyId: Buffer;
  readonly publicKey: KeyObject;
}

/** A note key that can also sign; the private key stays inside `sign`. */
export interface NoteSigner extends NoteKey {
  /** The 64-byte Ed25519 signature of `message`. */
  sign(message: Buffer): Buffer;
}

/** The text of a verified note and the names of the known keys that signed it. */
export interface OpenedNote {
  readonly text: string;
  readonly verifiedBy: readonly string[];
}

function hasBadChar(s: string, forbidden: (code: number) => boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (forbidden(c)) return true;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/** True when `text` may appear in a signed note: well-formed Unicode, no control characters but newline. */
export function isValidNoteText(text: string): boolean {
  return !hasBadChar(text, (c) => c < 0x20 && c !== 0x0a);
}

/** True for a valid key name: non-empty, well-formed, no Unicode spaces, '+' or control characters. */
export function isValidKeyName(name: string): boolean {
  return name !== '' && !/[\p{White_Space}+]/u.test(name) && !hasBadChar(name, (c) => c < 0x20);
}

function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw new NoteError(
      'bad-key',
      `invalid key name ${JSON.stringify(name)}: it must be non-empty, without spaces or '+'`,
    );
  }
}

/** Decodes strict standard base64 (RFC 4648 §4: padded, canonical); undefined if `text` is not that. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function rawPublicKey(key: KeyObject): Buffer {
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new NoteError('bad-key', 'note keys must be Ed25519 public keys');
  }
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** The 4-byte key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key)[:4]. */
export function keyIdFor(name: string, rawPublicKey: Uint8Array): Buffer {
  return sha256(
    Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.of(ALG_ED25519), rawPublicKey]),
  ).subarray(0, 4);
}

/** The verifier key text `<name>+<hexid>+<base64(0x01 ‖ pubkey)>` for a raw 32-byte Ed25519 key. */
export function formatVkey(name: string, rawPublicKey32: Uint8Array): string {
  assertKeyName(name);
  if (rawPublicKey32.length !== 32) {
    throw new NoteError('bad-key', `an Ed25519 public key has 32 bytes, not ${rawPublicKey32.length}`);
  }
  const keyData = Buffer.concat([Buffer.of(ALG_ED25519), rawPublicKey32]).toString('base64');
  return `${name}+${keyIdFor(name, rawPublicKey32).toString('hex')}+${keyData}`;
}

/** A new key pair as Go's texts: skey `PRIVATE+KEY+<name>+<hexid>+<base64>` (secret) and vkey. */
export function generateSignerKey(name: string): { skey: string; vkey: string } {
  assertKeyName(name);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const raw = rawPublicKey(publicKey);
  const id = keyIdFor(name, raw).toString('hex');
  const keyData = Buffer.concat([Buffer.of(ALG_ED25519), seed]).toString('base64');
  return Object.freeze({ skey: `PRIVATE+KEY+${name}+${id}+${keyData}`, vkey: formatVkey(name, raw) });
}

// Splits `<name>+<hexid>+<base64(0x01 ‖ 32 bytes)>` the way Go's chop does ('+' may occur in base64).
function splitKey(text: string, kind: string): { name: string; keyId: Buffer; key: Buffer } {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  const name = text.slice(0, first);
  const hexId = text.slice(first + 1, second);
  const data = second < 0 ? undefined : decodeBase64(text.slice(second + 1));
  if (second < 0 || !isValidKeyName(name) || !HEX_KEY_ID.test(hexId) || data === undefined) {
    throw new NoteError('bad-key', `malformed ${kind} key`);
  }
  if (data.length !== 33 || data[0] !== ALG_ED25519) {
    throw new NoteError('bad-key', `${kind} key for ${name} is not an Ed25519 key`);
  }
  return { name, keyId: Buffer.from(hexId, 'hex'), key: data.subarray(1) };
}

function checkKeyId(name: string, claimed: Buffer, raw: Buffer, kind: string): Buffer {
  const keyId = keyIdFor(name, raw);
  if (!keyId.equals(claimed)) {
    throw new NoteError(
      'bad-key',
      `${kind} key for ${name} has key id ${claimed.toString('hex')}, not ${keyId.toString('hex')}`,
    );
  }
  return keyId;
}

/** Parses a verifier key `<name>+<hexid>+<base64(0x01 ‖ pubkey)>`, checking its key id. */
export function parseVkey(vkey: string): NoteKey {
  const { name, keyId, key } = splitKey(vkey, 'verifier');
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key]), format: 'der', type: 'spki' });
  return Object.freeze({ name, keyId: checkKeyId(name, keyId, key, 'verifier'), publicKey });
}

/** Parses a signer key `PRIVATE+KEY+<name>+<hexid>+<base64(0x01 ‖ seed)>`, checking its key id. */
export function parseSkey(skey: string): NoteSigner {
  if (!skey.startsWith('PRIVATE+KEY+')) throw new NoteError('bad-key', 'malformed signer key');
  const { name, keyId, key } = splitKey(skey.slice('PRIVATE+KEY+'.length), 'signer');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, key]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  return Object.freeze({
    name,
    keyId: checkKeyId(name, keyId, rawPublicKey(publicKey), 'signer'),
    publicKey,
    sign: (message: Buffer) => sign(null, message, privateKey),
  });
}

/** Signs `text` (which must end in newline) with each signer, in order, as a signed note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n') || !isValidNoteText(text)) {
    throw new NoteError(
      'malformed',
      'note text must end in newline and hold no control characters but newline',
    );
  }
  if (signers.length === 0 || signers.length > MAX_NOTE_SIGNATURES) {
    throw new NoteError(
      'malformed',
      `a note needs 1 to ${MAX_NOTE_SIGNATURES} signatures, not ${signers.length}`,
    );
  }
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    assertKeyName(s.name);
    if (s.keyId.length !== 4) throw new NoteError('bad-key', `key id of ${s.name} must have 4 bytes`);
    const sig = Buffer.concat([s.keyId, s.sign(message)]).toString('base64');
    return `${SIG_PREFIX}${s.name} ${sig}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

function malformed(why: string): NoteError {
  return new NoteError('malformed', `malformed note: ${why}`);
}

// A KeyObject never changes, so its raw bytes are worked out once (verify opens one note per checkpoint).
const rawCache = new WeakMap<KeyObject, Buffer>();
function rawOf(key: KeyObject): Buffer {
  let raw = rawCache.get(key);
  if (raw === undefined) {
    raw = rawPublicKey(key);
    rawCache.set(key, raw);
  }
  return raw;
}

function keyMap(verifiers: readonly NoteKey[]): Map<string, { key: NoteKey; raw: Buffer }> {
  const known = new Map<string, { key: NoteKey; raw: Buffer }>();
  for (const key of verifiers) {
    const raw = rawOf(key.publicKey);
    const id = `${key.name}+${key.keyId.toString('hex')}`;
    const seen = known.get(id);
    if (seen !== undefined && !seen.raw.equals(raw)) {
      throw new NoteError('ambiguous-key', `two different verifier keys are named ${id}`);
    }
    known.set(id, { key, raw });
  }
  return known;
}

/**
 * Verifies a signed note against the known keys and returns its text. Signatures by unknown keys are
 * skipped; throws NoteError if the note is malformed, any known key's signature fails, or none verifies.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteKey[]): OpenedNote {
  const known = keyMap(verifiers);
  let msg: string;
  if (typeof note === 'string') {
    msg = note;
  } else {
    try {
      msg = utf8.decode(note);
    } catch (err) {
      throw new NoteError('malformed', 'malformed note: not valid UTF-8', { cause: err });
    }
  }
  if (!isValidNoteText(msg)) throw malformed('control character or invalid Unicode');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = msg.slice(0, split + 1);
  const sigBlock = msg.slice(split + 2);
  if (!sigBlock.endsWith('\n')) throw malformed('signatures must end in newline');
  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);

  const message = Buffer.from(text, 'utf8');
  const verifiedBy = new Set<string>();
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw malformed('signature line must start with an em dash and space');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const sig = space < 0 ? undefined : decodeBase64(rest.slice(space + 1));
    if (!isValidKeyName(name) || sig === undefined || sig.length < 5) {
      throw malformed('signature line must be "\u2014 <name> <base64 signature>"');
    }
    const id = `${name}+${sig.subarray(0, 4).toString('hex')}`;
    const entry = known.get(id);
    if (entry === undefined) continue;
    const signature = sig.subarray(4);
    if (signature.length !== 64 || !verify(null, message, entry.key.publicKey, signature)) {
      throw new NoteError('invalid-signature', `invalid signature by known key ${id}`);
    }
    verifiedBy.add(name);
  }
  if (verifiedBy.size === 0) throw new NoteError('unverified', 'note has no signature by a known key');
  return Object.freeze({ text, verifiedBy: Object.freeze([...verifiedBy]) });
}
