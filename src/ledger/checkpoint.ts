import {
  decodeBase64,
  isValidNoteText,
  NoteError,
  type NoteKey,
  type NoteSigner,
  openNote,
  signNote,
} from './note.js';

// C2SP tlog-checkpoint v1.0.0: origin, tree size and root hash lines, then optional extension lines.

const TREE_SIZE = /^(?:0|[1-9][0-9]*)$/;

/** A Merkle tree head: the log's origin, its leaf count, its RFC 6962 root and opaque extension lines. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  readonly extensions: readonly string[];
}

function malformed(why: string): NoteError {
  return new NoteError('malformed', `malformed checkpoint: ${why}`);
}

function checkLine(line: string, what: string): void {
  if (line === '' || line.includes('\n') || !isValidNoteText(line)) {
    throw malformed(`${what} must be a non-empty line without control characters`);
  }
}

/** The checkpoint's note text: origin, decimal size, base64 root and extension lines, each ending in newline. */
export function formatCheckpoint(cp: Checkpoint): string {
  checkLine(cp.origin, 'origin');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0)
    throw malformed(`tree size ${cp.size} is not a safe integer ≥ 0`);
  if (cp.root.length !== 32) throw malformed(`root hash has ${cp.root.length} bytes, not 32`);
  for (const ext of cp.extensions) checkLine(ext, 'extension line');
  const lines = [cp.origin, String(cp.size), cp.root.toString('base64'), ...cp.extensions];
  return `${lines.join('\n')}\n`;
}

/** Parses a checkpoint note text strictly (canonical size and base64, 32-byte root). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('text must end in newline');
  if (!isValidNoteText(text)) throw malformed('control character or invalid Unicode');
  const [origin, sizeText, rootText, ...extensions] = text.slice(0, -1).split('\n');
  if (origin === undefined || sizeText === undefined || rootText === undefined) {
    throw malformed('needs origin, tree size and root hash lines');
  }
  if (origin === '') throw malformed('origin is empty');
  if (!TREE_SIZE.test(sizeText))
    throw malformed(`tree size ${JSON.stringify(sizeText)} is not a decimal without leading zeros`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size))
    throw malformed(`tree size ${sizeText} exceeds ${Number.MAX_SAFE_INTEGER}`);
  const root = decodeBase64(rootText);
  if (root === undefined || root.length !== 32) {
    throw malformed('root hash must be the base64 of 32 bytes');
  }
  if (extensions.includes('')) throw malformed('extension lines must be non-empty');
  return Object.freeze({ origin, size, root, extensions: Object.freeze(extensions) });
}

function checkOrigin(origin: string, keyName: string): void {
  if (origin !== keyName) {
    throw new NoteError(
      'origin-mismatch',
      `checkpoint origin ${JSON.stringify(origin)} is not the key name ${JSON.stringify(keyName)}`,
    );
  }
}

/** Signs a checkpoint as a signed note. Warden's rule: the signer's key name must equal the origin. */
export function signCheckpoint(cp: Checkpoint, signer: NoteSigner): string {
  checkOrigin(cp.origin, signer.name);
  return signNote(formatCheckpoint(cp), [signer]);
}

/**
 * Verifies a signed checkpoint with the log's key and parses it. Throws NoteError unless the key verifies
 * it, its origin equals the key name and, if given, `expectedOrigin`.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifier: NoteKey,
  expectedOrigin?: string,
): Checkpoint {
  if (expectedOrigin !== undefined && expectedOrigin !== verifier.name) {
    throw new NoteError(
      'origin-mismatch',
      `expected origin ${JSON.stringify(expectedOrigin)} is not the key name ${JSON.stringify(verifier.name)}`,
    );
  }
  const cp = parseCheckpoint(openNote(note, [verifier]).text);
  checkOrigin(cp.origin, verifier.name);
  return cp;
}
