import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REDACTED, redactJson } from '../../src/gateway/index.js';

describe('redactJson', () => {
  it('replaces named keys at any depth and dotted paths through arrays', () => {
    const input = {
      ssn: '123',
      messages: [
        { role: 'user', content: 'my card is 4111' },
        { role: 'system', content: 'x' },
      ],
      inputs: [{ name: 'x', data: [1, 2], meta: { ssn: '9' } }],
    };
    assert.deepEqual(redactJson(input, ['ssn', 'messages.content']), {
      ssn: REDACTED,
      messages: [
        { role: 'user', content: REDACTED },
        { role: 'system', content: REDACTED },
      ],
      inputs: [{ name: 'x', data: [1, 2], meta: { ssn: REDACTED } }],
    });
    assert.equal(input.ssn, '123', 'the input is left alone');
  });

  it('keeps a __proto__ key as data', () => {
    const out = redactJson(JSON.parse('{"__proto__":{"polluted":true},"ssn":1}'), ['ssn']) as object;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__', 'ssn']);
  });

  it('leaves no value of a named key behind', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const out = JSON.stringify(redactJson({ wrap: value, secret: value }, ['secret', 'a']));
        const parsed = JSON.parse(out) as { secret: unknown };
        assert.equal(parsed.secret, REDACTED);
        const check = (v: unknown): void => {
          if (Array.isArray(v)) v.forEach(check);
          else if (typeof v === 'object' && v !== null)
            for (const [k, x] of Object.entries(v)) {
              if (k === 'a' || k === 'secret') assert.equal(x, REDACTED);
              else check(x);
            }
        };
        check(parsed);
      }),
    );
  });
});
