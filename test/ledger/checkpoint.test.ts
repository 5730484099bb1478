import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  type Checkpoint,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../../src/ledger/checkpoint.js';
import {
  generateSignerKey,
  isValidNoteText,
  NoteError,
  type NoteErrorReason,
  openNote,
  parseSkey,
  parseVkey,
  signNote,
} from '../../src/ledger/note.js';

interface CheckpointVector {
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHex: string;
  readonly vkey: string;
  readonly note: string;
}

// Tests run from dist/test/ledger; the shared vectors live beside the repository root.
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/rfc6962/vectors.json', import.meta.url));
if (!existsSync(VECTORS)) throw new Error(`test vectors missing: expected ${VECTORS}`);
const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
  checkpoint: CheckpointVector;
  signedNote: { skey?: string; vkey: string }[];
};
const vector = vectors.checkpoint;
const peterSkey = vectors.signedNote.find((v) => v.vkey === vector.vkey)?.skey;
assert.ok(peterSkey !== undefined, 'expected the signedNote vector holding the checkpoint key');

const ROOT_B64 = Buffer.from(vector.rootHex, 'hex').toString('base64');

function rejects(reason: NoteErrorReason, fn: () => unknown, label?: string): void {
  assert.throws(fn, (err: unknown) => err instanceof NoteError && err.reason === reason, label);
}

describe('checkpoint vector', () => {
  it('opens and parses to the vector origin, size and root', () => {
    const { text } = openNote(vector.note, [parseVkey(vector.vkey)]);
    const cp = parseCheckpoint(text);
    assert.equal(cp.origin, vector.origin);
    assert.equal(cp.size, vector.treeSize);
    assert.equal(cp.size, 8);
    assert.equal(cp.root.toString('hex'), vector.rootHex);
    assert.deepEqual(cp.extensions, []);
    assert.ok(Object.isFrozen(cp) && Object.isFrozen(cp.extensions));
    assert.equal(formatCheckpoint(cp), text);
  });

  it('re-signs byte for byte with the PeterNeumann key', () => {
    const cp = parseCheckpoint(openNote(vector.note, [parseVkey(vector.vkey)]).text);
    assert.equal(signNote(formatCheckpoint(cp), [parseSkey(peterSkey)]), vector.note);
  });

  it('is refused by openCheckpoint and signCheckpoint: its key name is not its origin', () => {
    rejects('origin-mismatch', () => openCheckpoint(vector.note, parseVkey(vector.vkey)));
    const cp = parseCheckpoint(openNote(vector.note, [parseVkey(vector.vkey)]).text);
    rejects('origin-mismatch', () => signCheckpoint(cp, parseSkey(peterSkey)));
  });
});

describe('signCheckpoint and openCheckpoint', () => {
  const origin = 'example.com/ledger-test';
  const { skey, vkey } = generateSignerKey(origin);
  const signer = parseSkey(skey);
  const verifier = parseVkey(vkey);

  const extArb = fc
    .string({ unit: 'binary', minLength: 1, maxLength: 20 })
    .filter((s) => isValidNoteText(s) && !s.includes('\n'));
  const cpArb = fc.record({
    origin: fc.constant(origin),
    size: fc.maxSafeNat(),
    root: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
    extensions: fc.array(extArb, { maxLength: 3 }),
  });

  it('round-trips checkpoints, extension lines included', () => {
    fc.assert(
      fc.property(cpArb, (cp: Checkpoint) => {
        const opened = openCheckpoint(signCheckpoint(cp, signer), verifier, origin);
        assert.deepEqual({ ...opened }, { ...cp });
        assert.deepEqual(parseCheckpoint(formatCheckpoint(cp)), opened);
      }),
    );
  });

  it('formats the spec layout', () => {
    const cp = { origin, size: 0, root: Buffer.alloc(32), extensions: ['ext one'] };
    assert.equal(formatCheckpoint(cp), `${origin}\n0\n${'A'.repeat(43)}=\next one\n`);
  });

  it('checks the expected origin and the signing key', () => {
    const note = signCheckpoint({ origin, size: 8, root: Buffer.alloc(32, 1), extensions: [] }, signer);
    rejects('origin-mismatch', () => openCheckpoint(note, verifier, 'example.com/other'));
    rejects('unverified', () => openCheckpoint(note, parseVkey(generateSignerKey(origin).vkey)));
    rejects('unverified', () => openCheckpoint(note, parseVkey(vector.vkey)));
    const other = parseSkey(generateSignerKey('example.com/other').skey);
    const foreign = signCheckpoint(
      { origin: 'example.com/other', size: 8, root: Buffer.alloc(32), extensions: [] },
      other,
    );
    rejects('unverified', () => openCheckpoint(foreign, verifier));
    rejects('invalid-signature', () => openCheckpoint(note.replace('\n8\n', '\n9\n'), verifier));
  });
});

describe('parseCheckpoint', () => {
  const good = `example.com/log\n8\n${ROOT_B64}\n`;

  it('accepts the minimal forms', () => {
    assert.equal(parseCheckpoint(good).size, 8);
    assert.equal(parseCheckpoint(`example.com/log\n0\n${ROOT_B64}\n`).size, 0);
    const max = parseCheckpoint(`o\n${Number.MAX_SAFE_INTEGER}\n${ROOT_B64}\nextension\n`);
    assert.equal(max.size, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(max.extensions, ['extension']);
  });

  it('rejects each malformed case', () => {
    const withSize = (size: string) => `example.com/log\n${size}\n${ROOT_B64}\n`;
    const withRoot = (root: string) => `example.com/log\n8\n${root}\n`;
    const cases: Record<string, string> = {
      'leading zero': withSize('08'),
      'double zero': withSize('00'),
      negative: withSize('-1'),
      'negative zero': withSize('-0'),
      'plus sign': withSize('+8'),
      fraction: withSize('8.5'),
      exponent: withSize('1e3'),
      hex: withSize('0x8'),
      'padded size': withSize(' 8'),
      'empty size': withSize(''),
      'above MAX_SAFE_INTEGER': withSize('9007199254740992'),
      'far above MAX_SAFE_INTEGER': withSize('9'.repeat(400)),
      'root of 31 bytes': withRoot(Buffer.alloc(31).toString('base64')),
      'root of 33 bytes': withRoot(Buffer.alloc(33).toString('base64')),
      'root in hex': withRoot('00'.repeat(32)),
      'root unpadded': withRoot(ROOT_B64.slice(0, -1)),
      'root url-safe': withRoot(Buffer.alloc(32, 0xfb).toString('base64url')),
      'root non-canonical': withRoot(`${ROOT_B64.slice(0, -2)}h=`),
      'missing trailing newline': good.slice(0, -1),
      'empty origin': `\n8\n${ROOT_B64}\n`,
      'missing root line': 'example.com/log\n8\n',
      'empty extension line': `${good}\n`,
      'empty extension among others': `${good}a\n\nb\n`,
      'control character': good.replace('log', 'l\tg'),
      'CRLF lines': good.replaceAll('\n', '\r\n'),
      empty: '',
    };
    for (const [label, text] of Object.entries(cases))
      rejects('malformed', () => parseCheckpoint(text), label);
  });

  it('refuses to format what it could not parse back', () => {
    const cp = { origin: 'o', size: 1, root: Buffer.alloc(32), extensions: [] as string[] };
    for (const bad of [
      { origin: '' },
      { origin: 'two\nlines' },
      { size: -1 },
      { size: 1.5 },
      { size: Number.MAX_SAFE_INTEGER + 1 },
      { size: Number.NaN },
      { root: Buffer.alloc(31) },
      { extensions: [''] },
      { extensions: ['a\nb'] },
    ]) {
      rejects('malformed', () => formatCheckpoint({ ...cp, ...bad }), JSON.stringify(bad));
    }
  });
});
