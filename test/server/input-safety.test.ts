import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_DEPTH, unsafeInput } from '../../src/server/input-safety.js';

/** `value` nested `levels` deep in single-key objects (`a.a.a…`). */
function nested(levels: number, value: unknown): unknown {
  let out = value;
  for (let i = 0; i < levels; i++) out = { a: out };
  return out;
}

describe('unsafe input', () => {
  it('names the field of a NUL, in values, keys and array items', () => {
    assert.deepEqual(unsafeInput({ a: { b: 'x\u0000y' } }, 'body'), {
      field: 'a.b',
      message: 'must not contain NUL (U+0000)',
    });
    assert.equal(unsafeInput({ list: ['ok', 'no\u0000'] }, 'body')?.field, 'list.1');
    assert.deepEqual(unsafeInput({ 'k\u0000': 1 }, 'query'), {
      field: 'k\u0000',
      message: 'its name must not contain NUL (U+0000)',
    });
    assert.equal(unsafeInput('a\u0000', 'body')?.field, 'body');
  });

  it('refuses a lone surrogate but takes a surrogate pair', () => {
    assert.equal(unsafeInput({ s: '\uD800' }, 'body')?.field, 's');
    assert.equal(unsafeInput({ s: 'x\uDFFFx' }, 'body')?.field, 's');
    assert.equal(unsafeInput({ s: 'emoji \uD83D\uDE00' }, 'body'), undefined);
  });

  it(`takes ${MAX_DEPTH} levels of nesting and refuses one more, at any depth without overflowing`, () => {
    assert.equal(unsafeInput(nested(MAX_DEPTH, 1), 'body'), undefined);
    const deeper = unsafeInput(nested(MAX_DEPTH + 1, 1), 'body');
    assert.equal(deeper?.message, `nests deeper than ${MAX_DEPTH} levels`);
    assert.equal(deeper?.field, Array(MAX_DEPTH).fill('a').join('.'));
    assert.ok(unsafeInput(nested(200_000, 1), 'body'));
  });

  it('walks null-prototype objects (query and params) but not streams or buffers', () => {
    const query = Object.assign(Object.create(null) as Record<string, unknown>, { q: 'a\u0000' });
    assert.equal(unsafeInput(query, 'query')?.field, 'q');
    assert.equal(unsafeInput(Buffer.from([0, 0xff]), 'body'), undefined);
    assert.equal(unsafeInput({ n: 1, b: true, z: null }, 'body'), undefined);
  });

  it('finds a NUL planted anywhere in any JSON value, and nothing in a clean one', () => {
    const clean = fc
      .jsonValue({ maxDepth: 6 })
      .filter((v) => !/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(v)));
    fc.assert(
      fc.property(clean, fc.array(fc.nat()), (value, choices) => {
        assert.equal(unsafeInput(value, 'body'), undefined);
        // Walk down by the choices to some container, and plant a NUL string there.
        if (value === null || typeof value !== 'object') return;
        let at = value as Record<string, unknown>;
        const path: string[] = [];
        for (const c of choices) {
          const keys = Object.keys(at);
          if (keys.length === 0) break;
          const key = keys[c % keys.length] as string;
          const next = at[key];
          if (next === null || typeof next !== 'object') break;
          at = next as Record<string, unknown>;
          path.push(key);
        }
        const key = Array.isArray(at) ? String(at.length) : 'planted';
        at[key] = 'x\u0000';
        assert.deepEqual(unsafeInput(value, 'body'), {
          field: [...path, key].join('.'),
          message: 'must not contain NUL (U+0000)',
        });
      }),
      { seed: 20261205, numRuns: 300 },
    );
  });
});
