import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  decodeBase64,
  formatVkey,
  generateSignerKey,
  isValidKeyName,
  isValidNoteText,
  keyIdFor,
  MAX_NOTE_SIGNATURES,
  NoteError,
  type NoteErrorReason,
  openNote,
  parseSkey,
  parseVkey,
  signNote,
} from '../../src/ledger/note.js';

interface SignedNoteVector {
  readonly vkey: string;
  readonly skey?: string;
  readonly note: string;
  readonly computedKeyIdHex: string;
}

// Tests run from dist/test/ledger; the shared vectors live beside the repository root.
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/rfc6962/vectors.json', import.meta.url));
if (!existsSync(VECTORS)) throw new Error(`test vectors missing: expected ${VECTORS}`);
const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as { signedNote: SignedNoteVector[] };
assert.equal(vectors.signedNote.length, 2, 'expected two signedNote vectors');
const peter = vectors.signedNote.find((v) => v.skey !== undefined);
assert.ok(peter?.skey !== undefined, 'expected a signedNote vector with an skey');
const peterSkey = peter.skey;

const PETER_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";

function rejects(reason: NoteErrorReason, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof NoteError && err.reason === reason);
}

const nameArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }).filter(isValidKeyName);
const lineArb = fc
  .string({ unit: 'binary', maxLength: 40 })
  .filter((s) => isValidNoteText(s) && !s.includes('\n'));
const textArb = fc.array(lineArb, { minLength: 1, maxLength: 6 }).map((lines) => `${lines.join('\n')}\n`);

describe('signed-note vectors', () => {
  for (const v of vectors.signedNote) {
    it(`opens the ${v.vkey.split('+')[0]} example and matches its key id`, () => {
      const key = parseVkey(v.vkey);
      assert.equal(key.keyId.toString('hex'), v.computedKeyIdHex);
      const raw = key.publicKey.export({ format: 'jwk' }).x;
      assert.ok(raw !== undefined);
      assert.equal(keyIdFor(key.name, Buffer.from(raw, 'base64url')).toString('hex'), v.computedKeyIdHex);
      assert.equal(formatVkey(key.name, Buffer.from(raw, 'base64url')), v.vkey);
      const opened = openNote(v.note, [key]);
      assert.deepEqual(opened.verifiedBy, [key.name]);
      assert.ok(v.note.startsWith(opened.text));
      assert.ok(Object.isFrozen(opened));
    });
  }

  it('reproduces the PeterNeumann note byte for byte (Ed25519 is deterministic)', () => {
    const signer = parseSkey(peterSkey);
    assert.equal(signer.keyId.toString('hex'), peter.computedKeyIdHex);
    assert.equal(signNote(PETER_TEXT, [signer]), peter.note);
    assert.deepEqual(openNote(Buffer.from(peter.note, 'utf8'), [parseVkey(peter.vkey)]).text, PETER_TEXT);
  });
});

describe('keys', () => {
  it('generates Go-format skey/vkey pairs that parse back to the same key', () => {
    const { skey, vkey } = generateSignerKey('example.com/log');
    assert.match(skey, /^PRIVATE\+KEY\+example\.com\/log\+[0-9a-f]{8}\+/);
    const signer = parseSkey(skey);
    const verifier = parseVkey(vkey);
    assert.equal(signer.name, 'example.com/log');
    assert.deepEqual(signer.keyId, verifier.keyId);
    assert.ok(signer.publicKey.equals(verifier.publicKey));
    assert.ok(vkey.startsWith(`example.com/log+${verifier.keyId.toString('hex')}+`));
  });

  it('rejects invalid names and malformed or mismatched keys', () => {
    for (const name of ['', 'a b', 'a+b', 'tab\there', 'nbsp\u00a0x', 'nel\u0085x', 'lone\ud800']) {
      rejects('bad-key', () => generateSignerKey(name));
    }
    const [name, id, data] = peter.vkey.split('+') as [string, string, string];
    rejects('bad-key', () => parseVkey(`${name}+${id}`));
    rejects('bad-key', () => parseVkey(`${name}+${id.slice(1)}+${data}`));
    rejects('bad-key', () => parseVkey(`${name}+00000000+${data}`));
    rejects('bad-key', () => parseVkey(`Other+${id}+${data}`));
    rejects('bad-key', () => parseVkey(`${name}+${id}+${data.slice(0, -4)}`));
    rejects('bad-key', () => parseVkey(`${name}+${id}+B${data.slice(1)}`));
    rejects('bad-key', () => parseSkey(peterSkey.replace('PRIVATE+KEY+', 'PRIVATE+KEYS+')));
    rejects('bad-key', () => parseSkey(peterSkey.replace('c74f20a3', 'c74f20a4')));
    rejects('bad-key', () => parseSkey(peter.vkey));
    rejects('bad-key', () => formatVkey('x', Buffer.alloc(31)));
  });
});

describe('signNote and openNote', () => {
  it('round-trips any valid name and text with generated keys', () => {
    fc.assert(
      fc.property(nameArb, textArb, (name, text) => {
        const { skey, vkey } = generateSignerKey(name);
        const note = signNote(text, [parseSkey(skey)]);
        const opened = openNote(note, [parseVkey(vkey)]);
        assert.equal(opened.text, text);
        assert.deepEqual(opened.verifiedBy, [name]);
      }),
      { numRuns: 200 },
    );
  });

  it('splits at the last blank line, so texts may hold blank lines and signature-like lines', () => {
    const { skey, vkey } = generateSignerKey('example.com/log');
    const text = `a\n\n${peter.note}\n`;
    assert.equal(openNote(signNote(text, [parseSkey(skey)]), [parseVkey(vkey)]).text, text);
  });

  it('verifies several signers and skips signatures from unknown keys', () => {
    const a = generateSignerKey('a.example/log');
    const b = generateSignerKey('b.example/witness');
    const note = signNote('hello\n\nworld\n', [parseSkey(a.skey), parseSkey(b.skey)]);
    assert.deepEqual(openNote(note, [parseVkey(a.vkey), parseVkey(b.vkey)]).verifiedBy, [
      'a.example/log',
      'b.example/witness',
    ]);
    assert.deepEqual(openNote(note, [parseVkey(b.vkey)]).verifiedBy, ['b.example/witness']);
    assert.equal(openNote(note, [parseVkey(b.vkey)]).text, 'hello\n\nworld\n');
    rejects('unverified', () => openNote(note, [parseVkey(peter.vkey)]));
    rejects('unverified', () => openNote(note, []));
  });

  it('fails when any bit of the body or signature is flipped', () => {
    const key = parseVkey(peter.vkey);
    const bytes = Buffer.from(peter.note, 'utf8');
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Buffer.from(bytes);
        tampered[i] = (tampered[i] ?? 0) ^ (1 << bit);
        assert.throws(
          () => openNote(tampered, [key]),
          NoteError,
          `flip of bit ${bit} at byte ${i} was accepted`,
        );
      }
    }
  });

  it('rejects a note signed by another key with the same name', () => {
    const impostor = parseSkey(generateSignerKey('PeterNeumann').skey);
    const peterKey = parseVkey(peter.vkey);
    rejects('unverified', () => openNote(signNote(PETER_TEXT, [impostor]), [peterKey]));
    const forged = { ...impostor, keyId: peterKey.keyId };
    rejects('invalid-signature', () => openNote(signNote(PETER_TEXT, [forged]), [peterKey]));
  });

  it('rejects a known key with an invalid signature even if another known key verifies', () => {
    const signer = parseSkey(peterSkey);
    const good = signNote(PETER_TEXT, [signer]);
    const [, bad] = signNote('other text\n', [signer]).split('\n\n') as [string, string];
    rejects('invalid-signature', () => openNote(`${good}${bad}`, [parseVkey(peter.vkey)]));
  });

  it('rejects malformed notes', () => {
    const key = parseVkey(peter.vkey);
    const [text, sigLine] = peter.note.split('\n\n') as [string, string];
    const sig = sigLine.slice(sigLine.lastIndexOf(' ') + 1, -1);
    const unknown = `\u2014 someone.else ${Buffer.alloc(68, 7).toString('base64')}\n`;
    const cases: Record<string, string | Buffer> = {
      'no blank line': `${text}\n${sigLine}`,
      'missing final newline': peter.note.slice(0, -1),
      'bad base64': peter.note.replace(sig, `${sig.slice(0, -2)}!=`),
      'unpadded base64': peter.note.replace(sig, sig.slice(0, -1)),
      'non-canonical base64': peter.note.replace(sig, `${sig.slice(0, -2)}N=`),
      'signature too short': `${text}\n\n\u2014 PeterNeumann AAAA\n`,
      'hyphen instead of em dash': peter.note.replace('\u2014', '-'),
      'en dash instead of em dash': peter.note.replace('\u2014', '\u2013'),
      'no space after dash': peter.note.replace('\u2014 ', '\u2014'),
      'name with a plus': peter.note.replace('PeterNeumann', 'Peter+Neumann'),
      'no signatures': `${text}\n\n`,
      'control character': peter.note.replace('cryptography', 'crypto\tgraphy'),
      'carriage return': peter.note.replaceAll('\n', '\r\n'),
      'lone surrogate': peter.note.replace('cryptography', 'crypto\ud800graphy'),
      'invalid UTF-8': Buffer.concat([Buffer.from([0xff]), Buffer.from(peter.note, 'utf8')]),
      'too many signatures': `${peter.note}${unknown.repeat(MAX_NOTE_SIGNATURES)}`,
    };
    for (const [label, note] of Object.entries(cases)) {
      assert.throws(
        () => openNote(note, [key]),
        (err: unknown) => err instanceof NoteError && err.reason === 'malformed',
        label,
      );
    }
    assert.deepEqual(openNote(`${peter.note}${unknown.repeat(MAX_NOTE_SIGNATURES - 1)}`, [key]).verifiedBy, [
      'PeterNeumann',
    ]);
    // The last blank line separates text from signatures, so Peter's line becomes text here.
    rejects('unverified', () => openNote(`${peter.note}\n${unknown}`, [key]));
  });

  it('refuses to sign invalid texts or with no signers', () => {
    const signer = parseSkey(peterSkey);
    for (const text of ['', 'no newline', 'tab\there\n', 'cr\r\n', 'lone \udc00\n']) {
      rejects('malformed', () => signNote(text, [signer]));
    }
    rejects('malformed', () => signNote('text\n', []));
  });

  it('decodes only strict, canonical base64', () => {
    assert.deepEqual(decodeBase64('AAE='), Buffer.from([0, 1]));
    assert.deepEqual(decodeBase64(''), Buffer.alloc(0));
    for (const bad of ['AAE', 'AAF=', 'AA-_', 'AA E=', 'AAE=\n', '===='])
      assert.equal(decodeBase64(bad), undefined);
  });
});
