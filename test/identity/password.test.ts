import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WardenError } from '../../src/core/index.js';
import {
  checkPasswordPolicy,
  hashPassword,
  SCRYPT_PARAMS,
  type ScryptParams,
  verifyPassword,
} from '../../src/identity/password.js';

// Cheap parameters for the many-hash tests; the production parameters are exercised separately.
const FAST: ScryptParams = { N: 2 ** 4, r: 1, p: 1 };

describe('password hashing (scrypt)', () => {
  it('hashes with the production parameters into a self-describing string and verifies', async () => {
    const encoded = await hashPassword('Purple-monkey-dishwasher-7');
    assert.match(encoded, /^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    assert.deepEqual(await verifyPassword('Purple-monkey-dishwasher-7', encoded), {
      ok: true,
      needsRehash: false,
    });
    assert.deepEqual(await verifyPassword('purple-monkey-dishwasher-7', encoded), {
      ok: false,
      needsRehash: false,
    });
  });

  it('accepts exactly the password that was hashed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), async (a, b) => {
        const encoded = await hashPassword(a, FAST);
        assert.equal((await verifyPassword(a, encoded, FAST)).ok, true);
        assert.equal(
          (await verifyPassword(b, encoded, FAST)).ok,
          a.normalize('NFKC') === b.normalize('NFKC'),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('salts every hash, so equal passwords do not give equal hashes', async () => {
    assert.notEqual(await hashPassword('same password!', FAST), await hashPassword('same password!', FAST));
  });

  it('treats canonically equivalent Unicode spellings as the same password', async () => {
    const encoded = await hashPassword('Caf\u00e9 au lait 42', FAST);
    assert.equal((await verifyPassword('Cafe\u0301 au lait 42', encoded, FAST)).ok, true);
  });

  it('asks for a rehash when the stored parameters are not the current ones, only on success', async () => {
    const old = await hashPassword('Correct-Horse-9', FAST);
    assert.deepEqual(await verifyPassword('Correct-Horse-9', old, SCRYPT_PARAMS), {
      ok: true,
      needsRehash: true,
    });
    assert.deepEqual(await verifyPassword('wrong-Horse-9', old, SCRYPT_PARAMS), {
      ok: false,
      needsRehash: false,
    });
  });

  it('rejects a hash whose bytes were altered', async () => {
    const encoded = await hashPassword('Correct-Horse-9', FAST);
    const parts = encoded.split('$');
    const hash = Buffer.from(parts[5]!, 'base64url');
    hash[0]! ^= 1;
    parts[5] = hash.toString('base64url');
    assert.equal((await verifyPassword('Correct-Horse-9', parts.join('$'), FAST)).ok, false);
  });

  it('refuses a corrupt stored hash, including one demanding absurd memory', async () => {
    const good = await hashPassword('Correct-Horse-9', FAST);
    const [, , , , salt, hash] = good.split('$');
    for (const bad of [
      '',
      'bcrypt$2b$10$abc',
      `scrypt$16$1$1$${salt}`,
      `scrypt$1073741824$8$1$${salt}$${hash}`,
      `scrypt$24$1$1$${salt}$${hash}`,
      `scrypt$16$1$1$${salt}$${hash}$extra`,
      `scrypt$16$1$1$${salt}$c2hvcnQ`,
    ]) {
      await assert.rejects(verifyPassword('Correct-Horse-9', bad), (e: unknown) => {
        return e instanceof WardenError && e.code === 'WARDEN_INTERNAL';
      });
    }
  });
});

describe('password policy', () => {
  it('accepts long passwords that mix character classes, including passphrases', () => {
    assert.equal(checkPasswordPolicy('correct horse battery staple'), undefined);
    assert.equal(checkPasswordPolicy('Tr0ub4dor&3xyz'), undefined);
  });

  it('names the field and says what is wrong', () => {
    assert.deepEqual(checkPasswordPolicy('Short1!'), {
      field: 'password',
      message: 'must be at least 12 characters long',
    });
    assert.equal(checkPasswordPolicy('Short1!', { field: 'newPassword' })?.field, 'newPassword');
  });

  it('refuses passwords of one character class, few distinct characters, or containing the username', () => {
    assert.match(checkPasswordPolicy('onlylowercaseletters')?.message ?? '', /mix at least two/);
    assert.match(checkPasswordPolicy('123456789012')?.message ?? '', /mix at least two/);
    assert.match(checkPasswordPolicy('aaaaaaaaaaA1')?.message ?? '', /repeat/);
    assert.match(
      checkPasswordPolicy('my name is Alice-2024', { username: 'alice' })?.message ?? '',
      /username/,
    );
    assert.match(checkPasswordPolicy(`${'x'.repeat(1020)}Ab1!y`)?.message ?? '', /at most/);
  });
});
