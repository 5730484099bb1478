import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WardenError } from '../../src/core/index.js';
import { SecretBox } from '../../src/identity/secret-box.js';

const KEY = randomBytes(32);
const isUnopenable = (e: unknown) => e instanceof WardenError && e.code === 'WARDEN_INTERNAL';

describe('SecretBox (AES-256-GCM under an HKDF-derived key)', () => {
  it('round-trips any text and never repeats a ciphertext', () => {
    const box = new SecretBox(KEY, 'totp-seed');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const a = box.seal(text);
        assert.match(a, /^v1:[\w-]{16}:[\w-]*:[\w-]{22}$/);
        assert.notEqual(box.seal(text), a);
        assert.equal(box.open(a), text);
      }),
    );
  });

  it('does not reveal the plaintext', () => {
    const sealed = new SecretBox(KEY, 'totp-seed').seal('JBSWY3DPEHPK3PXP');
    assert.doesNotMatch(sealed, /JBSWY3DPEHPK3PXP/);
    assert.doesNotMatch(Buffer.from(sealed.split(':')[2]!, 'base64url').toString('latin1'), /JBSWY3DP/);
  });

  it('fails when any bit of the IV, ciphertext or tag is flipped', () => {
    const box = new SecretBox(KEY, 'totp-seed');
    const sealed = box.seal('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const parts = sealed.split(':');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (part, at, bit) => {
          const bytes = Buffer.from(parts[part]!, 'base64url');
          bytes[at % bytes.length]! ^= 1 << bit;
          const tampered = parts.map((p, i) => (i === part ? bytes.toString('base64url') : p)).join(':');
          assert.throws(() => box.open(tampered), isUnopenable);
        },
      ),
    );
  });

  it('fails under another purpose, another deployment key, or another context', () => {
    const sealed = new SecretBox(KEY, 'totp-seed').seal('secret', 'user:42');
    assert.equal(new SecretBox(KEY, 'totp-seed').open(sealed, 'user:42'), 'secret');
    assert.throws(() => new SecretBox(KEY, 'webhook-secret').open(sealed, 'user:42'), isUnopenable);
    assert.throws(() => new SecretBox(randomBytes(32), 'totp-seed').open(sealed, 'user:42'), isUnopenable);
    assert.throws(() => new SecretBox(KEY, 'totp-seed').open(sealed, 'user:43'), isUnopenable);
    assert.throws(() => new SecretBox(KEY, 'totp-seed').open(sealed), isUnopenable);
  });

  it('refuses malformed input and keys shorter than 256 bits', () => {
    const box = new SecretBox(KEY, 'totp-seed');
    const [, iv, ct, tag] = box.seal('x').split(':');
    for (const bad of [
      '',
      'v1:a:b',
      `v2:${iv}:${ct}:${tag}`,
      `v1:${iv}:${ct}:${tag}:x`,
      `v1:AAAA:${ct}:${tag}`,
    ]) {
      assert.throws(() => box.open(bad), isUnopenable, bad);
    }
    assert.throws(() => new SecretBox(randomBytes(16), 'totp-seed'), /32\+ bytes/);
  });
});
