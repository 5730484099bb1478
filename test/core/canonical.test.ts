import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../src/core/index.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops insignificant space', () => {
    assert.equal(
      canonicalJson({ b: 1, a: [true, null, 'x'], é: 0.5, A: 1e21 }),
      '{"A":1e+21,"a":[true,null,"x"],"b":1,"é":0.5}',
    );
  });

  it('is stable under key reordering and round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        assert.equal(canonicalJson(JSON.parse(text)), text);
      }),
    );
  });
});
