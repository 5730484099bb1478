import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  base32Decode,
  base32Encode,
  generateTotpSecret,
  hotpCode,
  otpauthUri,
  totpCode,
  verifyTotp,
} from '../../src/identity/totp.js';

const RFC_KEY = Buffer.from('12345678901234567890');

describe('base32 (RFC 4648)', () => {
  it('matches the RFC 4648 section 10 test vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'MY======'],
      ['fo', 'MZXQ===='],
      ['foo', 'MZXW6==='],
      ['foob', 'MZXW6YQ='],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI======'],
    ];
    for (const [plain, encoded] of vectors) {
      assert.equal(base32Encode(Buffer.from(plain), { pad: true }), encoded);
      assert.equal(base32Encode(Buffer.from(plain)), encoded.replace(/=+$/, ''));
      assert.equal(base32Decode(encoded).toString(), plain);
    }
  });

  it('round-trips any bytes, padded or not, in either case, with spaces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, pad) => {
        const text = base32Encode(bytes, { pad });
        assert.deepEqual(base32Decode(text), Buffer.from(bytes));
        assert.deepEqual(base32Decode(text.toLowerCase().replace(/(.{4})/g, '$1 ')), Buffer.from(bytes));
      }),
    );
  });

  it('refuses characters outside the alphabet', () => {
    for (const bad of ['MZXW0', 'MZXW1', 'MZXW8', 'MZ=XW']) assert.throws(() => base32Decode(bad), TypeError);
  });
});

describe('HOTP and TOTP', () => {
  it('matches the RFC 4226 appendix D HOTP values', () => {
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    for (const [counter, code] of expected.entries()) assert.equal(hotpCode(RFC_KEY, counter), code);
  });

  it('matches the RFC 6238 appendix B SHA-1 values (8 digits)', () => {
    const secret = base32Encode(RFC_KEY);
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) {
      assert.equal(totpCode(secret, seconds * 1000, { digits: 8 }), code);
      assert.equal(verifyTotp(secret, code, seconds * 1000, 0, { digits: 8 }), Math.floor(seconds / 30));
    }
  });

  it('generates 160-bit secrets, different each time', () => {
    const a = generateTotpSecret();
    assert.match(a, /^[A-Z2-7]{32}$/);
    assert.equal(base32Decode(a).length, 20);
    assert.notEqual(generateTotpSecret(), a);
  });

  it('accepts codes within the window and returns the matched step, so a replay can be refused', () => {
    const secret = generateTotpSecret();
    const t = 1_700_000_015_000; // 15 s into step 56666667
    const step = Math.floor(t / 30_000);
    assert.equal(verifyTotp(secret, totpCode(secret, t), t), step);
    assert.equal(verifyTotp(secret, totpCode(secret, t - 30_000), t), step - 1);
    assert.equal(verifyTotp(secret, totpCode(secret, t + 30_000), t), step + 1);
    assert.equal(verifyTotp(secret, totpCode(secret, t - 60_000), t), undefined);
    assert.equal(verifyTotp(secret, totpCode(secret, t - 30_000), t, 0), undefined);
    // The same code a second later maps to the same step: the caller's "step > last used" check refuses it.
    assert.equal(verifyTotp(secret, totpCode(secret, t), t + 1000), step);
  });

  it('rejects codes of the wrong shape or for another secret', () => {
    const secret = generateTotpSecret();
    const t = 1_700_000_000_000;
    const code = totpCode(secret, t);
    for (const bad of ['', code.slice(1), `${code}0`, ' 12345', '12345a', '１２３４５６']) {
      assert.equal(verifyTotp(secret, bad, t), undefined, bad);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (other) => {
        const theirs = totpCode(base32Encode(other), t);
        fc.pre(![-1, 0, 1].some((d) => totpCode(secret, t + d * 30_000) === theirs));
        assert.equal(verifyTotp(secret, theirs, t), undefined);
      }),
    );
  });

  it('builds the otpauth URI authenticator apps enrol from', () => {
    const uri = new URL(otpauthUri('ACME Warden', 'alice@example.com', 'JBSWY3DPEHPK3PXP'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), '/ACME Warden:alice@example.com');
    assert.equal(uri.searchParams.get('secret'), 'JBSWY3DPEHPK3PXP');
    assert.equal(uri.searchParams.get('issuer'), 'ACME Warden');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.doesNotMatch(uri.href, /\+/, 'spaces are %20, not +');
  });
});
