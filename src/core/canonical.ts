import canonicalizeImport from 'canonicalize';

// canonicalize ships CommonJS typings; under nodenext its default export is the function.
const canonicalize = canonicalizeImport as unknown as (value: unknown) => string | undefined;

/** RFC 8785 (JCS) canonical JSON text of a value. Throws on values JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}
