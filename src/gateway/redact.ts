/** What replaces a redacted value. */
export const REDACTED = '[redacted]';

/**
 * A copy of a JSON value with the named fields replaced by `REDACTED`. A plain name (`ssn`) matches
 * that key at any depth; a dotted path (`messages.content`) matches keys along the path, arrays
 * being passed through. The input is never changed.
 */
export function redactJson(value: unknown, fields: readonly string[]): unknown {
  const names = new Set(fields.filter((f) => !f.includes('.')));
  const paths = fields.filter((f) => f.includes('.')).map((f) => f.split('.'));
  return walk(value, [], names, paths);
}

function walk(value: unknown, path: readonly string[], names: Set<string>, paths: string[][]): unknown {
  if (Array.isArray(value)) return value.map((v) => walk(v, path, names, paths));
  if (typeof value !== 'object' || value === null) return value;
  // fromEntries defines own properties, so a `__proto__` key stays data and never a prototype.
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      const here = [...path, key];
      const hit =
        names.has(key) || paths.some((p) => p.length === here.length && p.every((seg, i) => seg === here[i]));
      return [key, hit ? REDACTED : walk(v, here, names, paths)];
    }),
  );
}
