import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { policySetTextToParts, policyToJson, templateToJson } from '@cedar-policy/cedar-wasm/nodejs';
import { canonicalJson, type FieldIssue, invalidInput, sha256Hex } from '../core/index.js';
import { parseBindingsFile, parseTestFile, type TestCase } from './cases.js';
import { byteLength, errorOffset, errorText, positionAt } from './cedar.js';
import type { RoleBinding } from './types.js';

/** The schema's file name inside a bundle. */
export const SCHEMA_FILE = 'schema.cedarschema';
/** The optional file of bindings shipped with a bundle. */
export const BINDINGS_FILE = 'bindings.yaml';

/** One policy or role template of a bundle, with where it came from. */
export interface BundlePolicy {
  /** The `@id` annotation: `role:<name>` for templates, e.g. `guardrail:suspended` for static policies. */
  readonly id: string;
  readonly file: string;
  /** The policy's source text, annotations included. */
  readonly text: string;
  readonly kind: 'template' | 'static';
  readonly effect: 'permit' | 'forbid';
  readonly annotations: Readonly<Record<string, string>>;
  /** UTF-8 byte offset of `text` in its file (Cedar positions are bytes). */
  readonly offset: number;
  /** 1-based line of the policy's first character in its file. */
  readonly line: number;
}

/** A policy bundle: schema, policies, tests and shipped bindings, with the file map they came from. Frozen. */
export interface PolicyBundle {
  readonly schema: string;
  readonly policies: readonly BundlePolicy[];
  readonly tests: readonly TestCase[];
  readonly bindings: readonly RoleBinding[];
  /** Bundle-relative POSIX path → text, for every file that makes up the bundle. */
  readonly files: Readonly<Record<string, string>>;
}

/** Which files belong to a bundle: the schema, `*.cedar` anywhere, `tests/**.yaml` and `bindings.yaml`. */
export function isBundleFile(path: string): boolean {
  return (
    path === SCHEMA_FILE ||
    path === BINDINGS_FILE ||
    path.endsWith('.cedar') ||
    (path.startsWith('tests/') && /\.ya?ml$/.test(path))
  );
}

/** Reads a bundle directory (files outside the layout, such as a README, are ignored). */
export async function loadBundleDir(dir: string): Promise<PolicyBundle> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = relative(dir, full).split(sep).join('/');
    if (isBundleFile(path)) files[path] = await readFile(full, 'utf8');
  }
  return bundleFromFiles(files);
}

function checkPath(path: string): string | undefined {
  if (path === '' || path.startsWith('/') || path.includes('\\')) return 'must be a relative POSIX path';
  if (path.split('/').some((p) => p === '' || p === '.' || p === '..'))
    return 'must not contain empty, . or .. segments';
  if (!isBundleFile(path)) {
    return `is not part of a bundle (${SCHEMA_FILE}, *.cedar, tests/*.yaml, ${BINDINGS_FILE})`;
  }
  return undefined;
}

/** Character ranges of `//` comments, skipping string literals (Cedar has no other comments). */
function commentRanges(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      out.push([i, end < 0 ? text.length : end]);
      i = end < 0 ? text.length : end;
    }
  }
  return out;
}

/**
 * Finds where each policy of a file starts. Cedar returns the policies' exact source text but sorted by
 * generated id (policy0, policy1, policy10, …), not by position, and a short policy can occur inside a
 * longer one or in a comment; so callers place the longest first, and each goes to its first occurrence
 * outside comments and outside the policies already placed. Returns -1 for text it cannot place.
 */
function locator(text: string): (part: string) => number {
  const comments = commentRanges(text);
  const placed: [number, number][] = [];
  const free = (at: number, end: number) =>
    !comments.some(([a, b]) => at >= a && at < b) && !placed.some(([a, b]) => at < b && end > a);
  return (part) => {
    for (let from = text.indexOf(part); from >= 0; from = text.indexOf(part, from + 1)) {
      if (free(from, from + part.length)) {
        placed.push([from, from + part.length]);
        return from;
      }
    }
    return -1;
  };
}

/** Splits one `.cedar` file into policies and templates, each named by its `@id`. */
function policiesOf(file: string, text: string, issues: FieldIssue[]): BundlePolicy[] {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure') {
    for (const e of parts.errors) {
      const at = errorOffset(e);
      const pos = at === undefined ? undefined : positionAt(text, at);
      issues.push({ field: pos ? `${file}:${pos.line}:${pos.column}` : file, message: errorText(e) });
    }
    return [];
  }
  const at = locator(text);
  const out: BundlePolicy[] = [];
  const each = [
    ...parts.policies.map((p) => ({ part: p, kind: 'static' as const })),
    ...parts.policy_templates.map((p) => ({ part: p, kind: 'template' as const })),
  ].sort((a, b) => b.part.length - a.part.length);
  for (const { part, kind } of each) {
    const offset = byteLength(text.slice(0, Math.max(0, at(part))));
    const { line, column } = positionAt(text, offset);
    const json = kind === 'template' ? templateToJson(part) : policyToJson(part);
    if (json.type === 'failure') {
      issues.push({ field: `${file}:${line}:${column}`, message: json.errors.map(errorText).join('; ') });
      continue;
    }
    const annotations = Object.freeze({ ...(json.json.annotations ?? {}) });
    const id = annotations.id;
    if (id === undefined || id === '') {
      issues.push({
        field: `${file}:${line}:${column}`,
        message: 'every policy needs an @id("...") annotation',
      });
      continue;
    }
    const misnamed =
      kind === 'template'
        ? !/^role:[a-z0-9][a-z0-9_-]*$/.test(id) && 'templates are roles: their @id must be role:<name>'
        : (id.startsWith('role:') || id.startsWith('binding:')) &&
          'role: and binding: ids are reserved for role templates and their links';
    if (misnamed) issues.push({ field: `${file}:${line}:${column}`, message: `${id}: ${misnamed}` });
    out.push(
      Object.freeze({ id, file, text: part, kind, effect: json.json.effect, annotations, offset, line }),
    );
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/** Builds a bundle from its files (e.g. uploaded over the API); throws WARDEN_INVALID_INPUT listing every problem. */
export function bundleFromFiles(files: Readonly<Record<string, string>>): PolicyBundle {
  const issues: FieldIssue[] = [];
  const paths = Object.keys(files).sort();
  for (const path of paths) {
    const problem = checkPath(path);
    if (problem) issues.push({ field: path, message: `the path ${problem}` });
  }
  const schema = files[SCHEMA_FILE];
  if (schema === undefined) issues.push({ field: SCHEMA_FILE, message: 'a bundle needs a schema' });

  const policies: BundlePolicy[] = [];
  const firstFile = new Map<string, BundlePolicy>();
  for (const path of paths.filter((p) => p.endsWith('.cedar'))) {
    for (const policy of policiesOf(path, files[path] as string, issues)) {
      const earlier = firstFile.get(policy.id);
      if (earlier) {
        issues.push({
          field: `${policy.file}:${policy.line}`,
          message: `duplicate policy id "${policy.id}": also in ${earlier.file}:${earlier.line}`,
        });
        continue;
      }
      firstFile.set(policy.id, policy);
      policies.push(policy);
    }
  }
  if (!paths.some((p) => p.endsWith('.cedar'))) {
    issues.push({ field: '*.cedar', message: 'a bundle needs at least one policy file' });
  }

  const tests = paths
    .filter((p) => p.startsWith('tests/') && /\.ya?ml$/.test(p))
    .flatMap((p) => parseTestFile(p, files[p] as string, issues));
  const bindingsText = files[BINDINGS_FILE];
  const bindings = bindingsText === undefined ? [] : parseBindingsFile(BINDINGS_FILE, bindingsText, issues);

  const roles = new Set(policies.filter((p) => p.kind === 'template').map((p) => p.id));
  const unknownRole = (b: RoleBinding) => !roles.has(`role:${b.role}`);
  for (const t of tests) {
    for (const b of t.bindings.filter(unknownRole)) {
      issues.push({
        field: `${t.file}: case "${t.name}"`,
        message: `binding ${b.id}: no role template role:${b.role}`,
      });
    }
  }
  for (const b of bindings.filter(unknownRole)) {
    issues.push({ field: BINDINGS_FILE, message: `binding ${b.id}: no role template role:${b.role}` });
  }

  if (issues.length > 0) throw invalidInput(issues);
  return Object.freeze({
    schema: schema as string,
    policies: Object.freeze(policies),
    tests: Object.freeze(tests),
    bindings: Object.freeze(bindings),
    files: Object.freeze(Object.fromEntries(paths.map((p) => [p, files[p] as string]))),
  });
}

/** The bundle's version: SHA-256 (hex) of the canonical JSON of its file map. */
export function bundleHash(bundle: PolicyBundle): string {
  return sha256Hex(canonicalJson(bundle.files));
}
