import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import canonicalizeImport from 'canonicalize';
import fc from 'fast-check';
import { canonicalEvent, canonicalForm } from '../../src/ledger/jcs.js';

// canonicalize ships CommonJS typings; under nodenext its default export is the function.
const canonicalize = canonicalizeImport as unknown as (value: unknown) => string | undefined;

// The recorder's JCS writer must give the `canonicalize` package's bytes (RFC 8785) for every event.

/** The package's output or its error message, to compare both outcomes (no JSON form at all is an error too). */
function reference(value: unknown): { text?: string | undefined; error?: string } {
  try {
    const text = canonicalize(value);
    if (text === undefined) return { error: 'value has no JSON form' };
    return { text };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function ours(value: unknown): { text?: string | undefined; error?: string } {
  try {
    return { text: canonicalEvent(value) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }), // includes lone surrogates
  fc.constantFrom('', '\u2028', '\u007f', '\u0000', '"\\', 'é', '😀', '\ud800', '\udc00x'),
);

const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 0.1 + 0.2, -1e308),
);

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(text, tie('value'), { maxKeys: 6 }),
  ),
})).value;

const event = fc.record(
  {
    v: fc.constant(1),
    id: fc.ulid(),
    time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    actor: fc.record(
      {
        type: fc.constantFrom('user', 'service', 'system', 'anonymous'),
        id: text,
        ip: text,
        userAgent: text,
        session: text,
        mfa: fc.boolean(),
        via: fc.constantFrom('api', 'cli', 'gateway', 'ui', 'system'),
      },
      { requiredKeys: ['type', 'id', 'via'] },
    ),
    action: text,
    resource: fc.record(
      { type: text, id: text, version: text, digest: text },
      { requiredKeys: ['type', 'id'] },
    ),
    outcome: fc.constantFrom('allowed', 'denied', 'succeeded', 'failed'),
    decision: fc.record(
      { policies: fc.array(text), reason: text, bundle: text },
      { requiredKeys: ['policies'] },
    ),
    context: fc.record({ project: text, environment: text, purpose: text }, { requiredKeys: [] }),
    details: fc.dictionary(text, json),
    request: fc.record({ id: text, payloadSha256: text }, { requiredKeys: ['id'] }),
  },
  { requiredKeys: ['v', 'id', 'time', 'actor', 'action', 'resource', 'outcome'] },
);

describe('canonicalEvent (JCS for events)', () => {
  it('writes exactly what the canonicalize package writes for arbitrary events', () => {
    fc.assert(
      fc.property(event, (e) => {
        assert.equal(canonicalEvent(e), canonicalize(e));
        // The recorder keeps the frozen copy the text was written from.
        const form = canonicalForm(e);
        assert.equal(form.text, canonicalize(e));
        assert.equal(canonicalize(form.value), form.text);
        assert.ok(Object.isFrozen(form.value) && Object.isFrozen(form.value.actor));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches the package on arbitrary JSON values and on keys in any insertion order', () => {
    fc.assert(
      fc.property(json, fc.array(fc.tuple(text, json), { maxLength: 8 }), (v, entries) => {
        assert.deepEqual(ours(v), reference(v));
        const shuffled = Object.fromEntries(entries);
        assert.deepEqual(ours(shuffled), reference(shuffled));
      }),
      { numRuns: 1000 },
    );
  });

  it('matches the package, result or error, on values beyond plain JSON', () => {
    fc.assert(
      fc.property(fc.anything({ withDate: true, withNullPrototype: true, withSparseArray: true }), (v) => {
        assert.deepEqual(ours(v), reference(v));
      }),
      { numRuns: 1000 },
    );
    for (const v of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { a: undefined, b: () => 1, c: Symbol('x') },
      [undefined, () => 1],
      { d: new Date(0) },
      JSON.parse('{"__proto__":{"x":1},"b":2}'),
      { '10': 1, '2': 2, a: 3, '01': 4, '1e3': 5 },
      { n: { toJSON: () => ({ z: 1, a: [2] }) } },
      Object.assign(new Array(3), { 0: 1, 2: 3 }), // a hole at index 1
    ]) {
      assert.deepEqual(ours(v), reference(v));
    }
  });
});
