import { parseDocument } from 'yaml';
import { z } from 'zod';
import { canonicalJson, type FieldIssue } from '../core/index.js';
import { entityText, parseEntityText } from './cedar.js';
import type { CedarValue, EntityData, EntityRef, RoleBinding } from './types.js';

/** What a test case expects: the decision, the deciding policy ids, optionally words of the reason and errors. */
export interface TestExpectation {
  readonly decision: 'allow' | 'deny';
  readonly policies: readonly string[];
  /** Text the decision's reason must contain. */
  readonly reason?: string;
  /** Whether the decision must (true) or must not (false) report evaluation errors. */
  readonly errors?: boolean;
}

/** One test case of a bundle, with file-level defaults already applied. */
export interface TestCase {
  readonly file: string;
  readonly name: string;
  readonly principal: EntityRef;
  readonly action: string;
  readonly resource: EntityRef;
  readonly context: Readonly<Record<string, CedarValue>>;
  readonly entities: readonly EntityData[];
  readonly bindings: readonly RoleBinding[];
  /** The time the case is decided at (epoch ms); undefined means the time of the run. */
  readonly now: number | undefined;
  readonly expect: TestExpectation;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

const timestamp = z
  .string()
  .regex(RFC3339, 'must be an RFC 3339 timestamp, e.g. 2030-01-01T00:00:00Z')
  .transform((s) => Date.parse(s));

const refObject = z.object({ type: z.string().min(1), id: z.string() }).strict();

const ref = z.union(
  [
    z.string().transform((s, ctx) => {
      const parsed = parseEntityText(s);
      if (!parsed) ctx.addIssue({ code: 'custom', message: `"${s}" is not an entity like User::"alice"` });
      return parsed ?? { type: '', id: '' };
    }),
    refObject,
  ],
  { error: 'must be an entity: Type::"id" or { type, id }' },
);

const attrs = z.record(z.string(), z.json());

const entity = z.object({ uid: ref, attrs: attrs.optional(), parents: z.array(ref).optional() }).strict();

/** A principal or resource: a reference, or the entity inline (`{ type, id, attrs?, parents? }`). */
const party = z.union([
  ref,
  z
    .object({
      type: z.string().min(1),
      id: z.string(),
      attrs: attrs.optional(),
      parents: z.array(ref).optional(),
    })
    .strict(),
]);

const binding = z
  .object({
    id: z.string().min(1).optional(),
    role: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a role name such as data-scientist'),
    principal: ref,
    resource: ref,
    expires: timestamp.optional(),
  })
  .strict();

const action = z
  .string()
  .min(1)
  .transform((s) => parseEntityText(s)?.id ?? s);

const testCase = z
  .object({
    name: z.string().min(1),
    principal: party,
    action,
    resource: party,
    context: attrs.optional(),
    entities: z.array(entity).optional(),
    bindings: z.array(binding).optional(),
    now: timestamp.optional(),
    expect: z
      .object({
        decision: z.enum(['allow', 'deny']),
        policies: z.array(z.string().min(1)),
        reason: z.string().min(1).optional(),
        errors: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

const testFile = z
  .object({
    now: timestamp.optional(),
    context: attrs.optional(),
    entities: z.array(entity).optional(),
    bindings: z.array(binding).optional(),
    cases: z.array(testCase).min(1, 'a test file needs at least one case'),
  })
  .strict();

const bindingsFile = z.object({ bindings: z.array(binding) }).strict();

type Party = z.infer<typeof party>;
type RawBinding = z.infer<typeof binding>;
type RawEntity = z.infer<typeof entity>;

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

function parseYaml<T>(file: string, text: string, schema: z.ZodType<T>, issues: FieldIssue[]): T | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const at = e.linePos?.[0];
      // The message's first line, without the position it repeats and the source excerpt after it.
      const message = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:$/, '');
      issues.push({ field: at ? `${file}:${at.line}:${at.col}` : file, message });
    }
    return undefined;
  }
  const parsed = schema.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    issues.push({ field: `${file}: ${pathText(issue.path)}`, message: issue.message });
  }
  return undefined;
}

function toBindings(
  raw: readonly RawBinding[] | undefined,
  file: string,
  where: string,
  issues: FieldIssue[],
) {
  const seen = new Set<string>();
  return (raw ?? []).map((b, i): RoleBinding => {
    const id = b.id ?? `b${i + 1}`;
    if (seen.has(id))
      issues.push({ field: `${file}: ${where}[${i}].id`, message: `duplicate binding id "${id}"` });
    seen.add(id);
    return Object.freeze({
      id,
      role: b.role,
      principal: b.principal,
      resource: b.resource,
      ...(b.expires === undefined ? {} : { expiresAt: b.expires }),
    });
  });
}

function toEntity(e: RawEntity): EntityData {
  return { uid: e.uid, attrs: e.attrs ?? {}, parents: e.parents ?? [] };
}

/** The reference of a party, and its entity when the party was given inline. */
function splitParty(p: Party): { ref: EntityRef; entity?: EntityData } {
  if (!('attrs' in p) && !('parents' in p)) return { ref: { type: p.type, id: p.id } };
  const ref = { type: p.type, id: p.id };
  return { ref, entity: { uid: ref, attrs: p.attrs ?? {}, parents: p.parents ?? [] } };
}

/** Entities by uid, later lists overriding earlier ones; differing duplicates within one list are reported. */
function mergeEntities(
  lists: readonly { entities: readonly EntityData[]; where: string }[],
  file: string,
  issues: FieldIssue[],
): EntityData[] {
  const byUid = new Map<string, EntityData>();
  for (const { entities, where } of lists) {
    const here = new Map<string, string>();
    entities.forEach((e, i) => {
      const key = entityText(e.uid);
      const seen = here.get(key);
      if (seen !== undefined && seen !== canonicalJson(e)) {
        issues.push({ field: `${file}: ${where}[${i}]`, message: `${key} is listed twice, differently` });
      }
      here.set(key, canonicalJson(e));
      byUid.set(key, e);
    });
  }
  return [...byUid.values()];
}

/** Parses one `tests/*.yaml` file into cases; problems are appended to `issues` naming the file and field. */
export function parseTestFile(file: string, text: string, issues: FieldIssue[]): TestCase[] {
  const raw = parseYaml(file, text, testFile, issues);
  if (raw === undefined) return [];
  const fileEntities = (raw.entities ?? []).map(toEntity);
  const fileBindings = toBindings(raw.bindings, file, 'bindings', issues);
  const names = new Set<string>();
  return raw.cases.map((c, i): TestCase => {
    if (names.has(c.name))
      issues.push({ field: `${file}: cases[${i}].name`, message: `duplicate case name "${c.name}"` });
    names.add(c.name);
    const principal = splitParty(c.principal);
    const resource = splitParty(c.resource);
    const inline = [principal.entity, resource.entity].filter((e): e is EntityData => e !== undefined);
    const entities = mergeEntities(
      [
        { entities: fileEntities, where: 'entities' },
        { entities: (c.entities ?? []).map(toEntity), where: `cases[${i}].entities` },
        { entities: inline, where: `cases[${i}]` },
      ],
      file,
      issues,
    );
    return Object.freeze({
      file,
      name: c.name,
      principal: principal.ref,
      action: c.action,
      resource: resource.ref,
      context: Object.freeze({ ...(raw.context ?? {}), ...(c.context ?? {}) }),
      entities: Object.freeze(entities),
      bindings: Object.freeze(
        c.bindings === undefined
          ? fileBindings
          : toBindings(c.bindings, file, `cases[${i}].bindings`, issues),
      ),
      now: c.now ?? raw.now,
      expect: Object.freeze({
        decision: c.expect.decision,
        policies: Object.freeze([...c.expect.policies].sort()),
        ...(c.expect.reason === undefined ? {} : { reason: c.expect.reason }),
        ...(c.expect.errors === undefined ? {} : { errors: c.expect.errors }),
      }),
    });
  });
}

/** Parses a bundle's optional `bindings.yaml` (bindings shipped with the policies). */
export function parseBindingsFile(file: string, text: string, issues: FieldIssue[]): RoleBinding[] {
  const raw = parseYaml(file, text, bindingsFile, issues);
  if (raw === undefined) return [];
  const bindings = toBindings(raw.bindings, file, 'bindings', issues);
  raw.bindings.forEach((b, i) => {
    if (b.id === undefined) {
      issues.push({ field: `${file}: bindings[${i}].id`, message: 'shipped bindings need an explicit id' });
    }
  });
  return bindings;
}
