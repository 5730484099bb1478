import { type ErrorCode, WardenError } from '../core/index.js';
import type { PrincipalView } from './directory.js';

// SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol) as pure functions: Warden's principals as SCIM
// Users and Groups, the filter language, PATCH operations, the discovery documents and the error
// format. No I/O and no HTTP types: the SCIM service and the routes build on this.

/** The SCIM media type, accepted and produced. */
export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** Schema URNs (RFC 7643 §4, §8.7; RFC 7644 §3.4.2, §3.5.2, §3.12). */
export const SCIM_SCHEMAS = Object.freeze({
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
});

/** Page size when a list asks for none, and the most one page holds (`filter.maxResults`). */
export const SCIM_DEFAULT_COUNT = 100;
export const SCIM_MAX_COUNT = 1000;

/** RFC 7644 §3.12 `scimType` values. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue';

/** A Warden error that also carries its SCIM `scimType`; `field` names the offending attribute. */
export class ScimError extends WardenError {
  readonly scimType: ScimType;

  constructor(code: ErrorCode, scimType: ScimType, field: string, message: string) {
    super(code, `${field}: ${message}`, { issues: [{ field, message }] });
    this.name = 'ScimError';
    this.scimType = scimType;
  }
}

function bad(scimType: ScimType, field: string, message: string): ScimError {
  return new ScimError('WARDEN_INVALID_INPUT', scimType, field, message);
}

/** The RFC 7644 §3.12 body for any Warden error: `status` is a string, `detail` names the field. */
export function scimError(e: WardenError, detail: string): Record<string, unknown> {
  const scimType =
    e instanceof ScimError
      ? e.scimType
      : e.code === 'WARDEN_BAD_REQUEST'
        ? 'invalidSyntax'
        : e.code === 'WARDEN_INVALID_INPUT'
          ? 'invalidValue'
          : undefined;
  return {
    schemas: [SCIM_SCHEMAS.error],
    status: String(e.status),
    ...(scimType ? { scimType } : {}),
    detail,
  };
}

// ---- Schemas ------------------------------------------------------------------------------------

/** One attribute definition, as RFC 7643 §7 describes attributes. */
export interface AttributeDef {
  readonly name: string;
  readonly type: 'string' | 'boolean' | 'complex' | 'reference' | 'dateTime';
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: 'readOnly' | 'readWrite' | 'immutable';
  readonly returned: 'always' | 'default';
  readonly uniqueness: 'none' | 'server';
  readonly subAttributes?: readonly AttributeDef[];
  readonly referenceTypes?: readonly string[];
  readonly canonicalValues?: readonly string[];
}

function attr(name: string, description: string, opts: Partial<AttributeDef> = {}): AttributeDef {
  return Object.freeze({
    name,
    type: 'string',
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...opts,
  });
}

/** A schema Warden serves: only the attributes it keeps (others sent by a client are ignored). */
export interface SchemaDef {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDef[];
}

/** A resource type: its core schema and extensions. */
export interface ResourceDef {
  readonly name: 'User' | 'Group';
  readonly endpoint: '/Users' | '/Groups';
  readonly description: string;
  readonly schema: SchemaDef;
  readonly extensions: readonly SchemaDef[];
}

// Common attributes of every resource (RFC 7643 §3.1); not listed in /Schemas.
const COMMON: readonly AttributeDef[] = [
  attr('id', 'Warden principal id', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attr('externalId', "The provisioning client's identifier", { caseExact: true }),
  attr('meta', 'Resource metadata', {
    type: 'complex',
    mutability: 'readOnly',
    subAttributes: [
      attr('resourceType', 'User or Group', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'When the resource was created', { type: 'dateTime', mutability: 'readOnly' }),
      attr('lastModified', 'When the resource last changed', { type: 'dateTime', mutability: 'readOnly' }),
      attr('location', 'The resource URI', { type: 'reference', caseExact: true, mutability: 'readOnly' }),
    ],
  }),
];

const USER_SCHEMA: SchemaDef = {
  id: SCIM_SCHEMAS.user,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'Unique identifier for the User; the Warden principal name', {
      required: true,
      uniqueness: 'server',
    }),
    attr('name', "The components of the user's name", {
      type: 'complex',
      subAttributes: [
        attr('formatted', 'The full name'),
        attr('familyName', 'The family name'),
        attr('givenName', 'The given name'),
      ],
    }),
    attr('displayName', 'The name of the User, suitable for display'),
    attr('title', "The user's title"),
    attr(
      'active',
      'Whether the user may sign in; false deactivates the principal and revokes its credentials',
      { type: 'boolean' },
    ),
    attr('emails', 'Email addresses; Warden keeps the primary one', {
      type: 'complex',
      multiValued: true,
      subAttributes: [
        attr('value', 'Email address'),
        attr('type', 'A label for the address', { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'The primary address', { type: 'boolean' }),
      ],
    }),
    attr('groups', 'Groups the user belongs to directly', {
      type: 'complex',
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        attr('value', 'Group id', { caseExact: true, mutability: 'readOnly' }),
        attr('$ref', 'Group URI', {
          type: 'reference',
          caseExact: true,
          mutability: 'readOnly',
          referenceTypes: ['Group'],
        }),
        attr('display', 'Group name', { mutability: 'readOnly' }),
        attr('type', 'direct', { mutability: 'readOnly', canonicalValues: ['direct'] }),
      ],
    }),
  ],
};

const ENTERPRISE_SCHEMA: SchemaDef = {
  id: SCIM_SCHEMAS.enterprise,
  name: 'EnterpriseUser',
  description: 'Enterprise User; department is a policy attribute',
  attributes: [
    attr('employeeNumber', 'Employee number'),
    attr('costCenter', 'Cost center'),
    attr('organization', 'Organization'),
    attr('division', 'Division'),
    attr('department', 'Department (seen by policies as principal.department)'),
  ],
};

const GROUP_SCHEMA: SchemaDef = {
  id: SCIM_SCHEMAS.group,
  name: 'Group',
  description: 'Group',
  attributes: [
    attr('displayName', 'The group name; the Warden principal name, unique among principals', {
      required: true,
      uniqueness: 'server',
    }),
    attr('members', 'Users in the group', {
      type: 'complex',
      multiValued: true,
      subAttributes: [
        attr('value', 'User id', { caseExact: true, mutability: 'immutable' }),
        attr('$ref', 'User URI', {
          type: 'reference',
          caseExact: true,
          mutability: 'immutable',
          referenceTypes: ['User'],
        }),
        attr('type', 'User', { mutability: 'immutable', canonicalValues: ['User'] }),
        attr('display', 'User name', { mutability: 'readOnly' }),
      ],
    }),
  ],
};

/** The User resource type. */
export const USER_RESOURCE: ResourceDef = {
  name: 'User',
  endpoint: '/Users',
  description: 'Warden users',
  schema: USER_SCHEMA,
  extensions: [ENTERPRISE_SCHEMA],
};

/** The Group resource type. */
export const GROUP_RESOURCE: ResourceDef = {
  name: 'Group',
  endpoint: '/Groups',
  description: 'Warden groups',
  schema: GROUP_SCHEMA,
  extensions: [],
};

const RESOURCE_DEFS = [USER_RESOURCE, GROUP_RESOURCE] as const;

// ---- JSON helpers -------------------------------------------------------------------------------

/** A SCIM resource or document as a plain JSON object. */
export type ScimObject = Record<string, unknown>;

function isObject(v: unknown): v is ScimObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function findAttr(defs: readonly AttributeDef[] | undefined, name: string): AttributeDef | undefined {
  const lower = name.toLowerCase();
  return defs?.find((d) => d.name.toLowerCase() === lower);
}

function findExtension(def: ResourceDef, urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return def.extensions.find((e) => e.id.toLowerCase() === lower);
}

function topLevel(def: ResourceDef): readonly AttributeDef[] {
  return [...COMMON, ...def.schema.attributes];
}

// Coerces a client's value to the attribute's type; null means "no value" (undefined).
function coerce(a: AttributeDef, value: unknown, field: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (a.multiValued) {
    const items = Array.isArray(value) ? value : [value];
    return items.map((v, i) => coerceOne(a, v, `${field}[${i}]`)).filter((v) => v !== undefined);
  }
  return coerceOne(a, value, field);
}

function coerceOne(a: AttributeDef, value: unknown, field: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (a.type === 'complex') {
    if (!isObject(value)) throw bad('invalidValue', field, 'must be an object');
    return coerceFields(a.subAttributes ?? [], value, field);
  }
  if (a.type === 'boolean') {
    if (typeof value === 'boolean') return value;
    // Azure AD sends "True"/"False" as strings.
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
    throw bad('invalidValue', field, 'must be a boolean');
  }
  if (typeof value !== 'string') throw bad('invalidValue', field, 'must be a string');
  return value;
}

function coerceFields(defs: readonly AttributeDef[], value: ScimObject, prefix: string): ScimObject {
  const out: ScimObject = {};
  for (const [k, v] of Object.entries(value)) {
    const d = findAttr(defs, k);
    if (d === undefined) continue;
    const c = coerce(d, v, `${prefix}.${d.name}`);
    if (c !== undefined) out[d.name] = c;
  }
  return out;
}

/**
 * A POST or PUT body as a canonical document: attribute names in their schema spelling (names are
 * case-insensitive, RFC 7643 §2.1), values type-checked, read-only and unknown attributes dropped.
 */
export function scimDocument(def: ResourceDef, body: unknown): ScimObject {
  if (!isObject(body))
    throw new ScimError('WARDEN_BAD_REQUEST', 'invalidSyntax', 'body', 'must be a JSON object');
  const doc: ScimObject = {};
  for (const [k, v] of Object.entries(body)) {
    if (k.toLowerCase() === 'schemas') {
      checkSchemas(v, def.schema.id);
      continue;
    }
    const ext = findExtension(def, k);
    if (ext !== undefined) {
      if (v === null) continue;
      if (!isObject(v)) throw bad('invalidValue', ext.id, 'must be an object');
      doc[ext.id] = coerceFields(ext.attributes, v, ext.id);
      continue;
    }
    const a = findAttr(topLevel(def), k);
    if (a === undefined || a.mutability === 'readOnly') continue;
    const c = coerce(a, v, a.name);
    if (c !== undefined) doc[a.name] = c;
  }
  return doc;
}

function checkSchemas(value: unknown, required: string): void {
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
    throw bad('invalidSyntax', 'schemas', 'must be an array of schema URNs');
  }
  if (!value.some((s: string) => s.toLowerCase() === required.toLowerCase())) {
    throw bad('invalidSyntax', 'schemas', `must include ${required}`);
  }
}

// ---- Users and groups ---------------------------------------------------------------------------

/** A principal's `{id, name}`, as a member or a group reference. */
export interface ScimRef {
  readonly id: string;
  readonly name: string;
}

/** Principal attributes that hold SCIM profile fields (owned by SCIM: a PUT replaces them all). */
export const SCIM_PROFILE_KEYS = [
  'givenName',
  'familyName',
  'formattedName',
  'title',
  'employeeNumber',
  'costCenter',
  'organization',
  'division',
  'department',
] as const;

type ProfileKey = (typeof SCIM_PROFILE_KEYS)[number];

/** What a SCIM User asks Warden to hold. `active` undefined means the client did not say. */
export interface ScimUserInput {
  readonly userName: string;
  readonly externalId: string | null;
  readonly displayName: string | null;
  readonly email: string | null;
  readonly active: boolean | undefined;
  readonly profile: Readonly<Partial<Record<ProfileKey, string>>>;
}

/** What a SCIM Group asks Warden to hold. `members` undefined means the client did not say. */
export interface ScimGroupInput {
  readonly displayName: string;
  readonly externalId: string | null;
  readonly members: readonly string[] | undefined;
}

function text(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw bad('invalidValue', field, 'must be a string');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw bad('invalidValue', field, 'must not contain control characters');
  if (value.length > max) throw bad('invalidValue', field, `must be at most ${max} characters`);
  return value;
}

function required(value: unknown, field: string, max: number): string {
  const t = text(value, field, max)?.trim();
  if (!t) throw bad('invalidValue', field, 'is required');
  return t;
}

/** A canonical User document's fields, validated. */
export function scimUserInput(doc: ScimObject): ScimUserInput {
  const name = isObject(doc.name) ? doc.name : {};
  const ext = isObject(doc[SCIM_SCHEMAS.enterprise]) ? (doc[SCIM_SCHEMAS.enterprise] as ScimObject) : {};
  const emails = Array.isArray(doc.emails) ? (doc.emails as ScimObject[]) : [];
  const primary = emails.findIndex((e) => e.primary === true && typeof e.value === 'string');
  const chosen = primary >= 0 ? primary : emails.findIndex((e) => typeof e.value === 'string');
  const profile: Partial<Record<ProfileKey, string>> = {};
  const keep = (key: ProfileKey, value: unknown, field: string) => {
    const t = text(value, field, 1000);
    if (t !== null && t !== '') profile[key] = t;
  };
  keep('givenName', name.givenName, 'name.givenName');
  keep('familyName', name.familyName, 'name.familyName');
  keep('formattedName', name.formatted, 'name.formatted');
  keep('title', doc.title, 'title');
  for (const key of ['employeeNumber', 'costCenter', 'organization', 'division', 'department'] as const) {
    keep(key, ext[key], `${SCIM_SCHEMAS.enterprise}:${key}`);
  }
  return {
    userName: required(doc.userName, 'userName', 256),
    externalId: text(doc.externalId, 'externalId', 256),
    displayName: text(doc.displayName, 'displayName', 256),
    email: chosen >= 0 ? text(emails[chosen]?.value, `emails[${chosen}].value`, 320) : null,
    active: typeof doc.active === 'boolean' ? doc.active : undefined,
    profile,
  };
}

/** A canonical Group document's fields, validated. */
export function scimGroupInput(doc: ScimObject): ScimGroupInput {
  let members: string[] | undefined;
  if (Array.isArray(doc.members)) {
    members = (doc.members as ScimObject[]).map((m, i) => required(m.value, `members[${i}].value`, 64));
  }
  return {
    displayName: required(doc.displayName, 'displayName', 256),
    externalId: text(doc.externalId, 'externalId', 256),
    members,
  };
}

function meta(resourceType: string, v: PrincipalView, location: string): ScimObject {
  return { resourceType, created: v.createdAt, lastModified: v.updatedAt ?? v.createdAt, location };
}

function compact(o: ScimObject): ScimObject | undefined {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** A user principal as a SCIM User; `groups` are the groups it belongs to. */
export function scimUser(v: PrincipalView, groups: readonly ScimRef[], baseUrl: string): ScimObject {
  const a = v.attributes;
  const str = (k: ProfileKey) => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  const name = compact({
    formatted: str('formattedName'),
    familyName: str('familyName'),
    givenName: str('givenName'),
  });
  const enterprise = compact({
    employeeNumber: str('employeeNumber'),
    costCenter: str('costCenter'),
    organization: str('organization'),
    division: str('division'),
    department: str('department'),
  });
  return {
    schemas: enterprise ? [SCIM_SCHEMAS.user, SCIM_SCHEMAS.enterprise] : [SCIM_SCHEMAS.user],
    id: v.id,
    ...(v.externalId !== null ? { externalId: v.externalId } : {}),
    userName: v.name,
    ...(name ? { name } : {}),
    ...(v.displayName !== null ? { displayName: v.displayName } : {}),
    ...(str('title') !== undefined ? { title: str('title') } : {}),
    active: v.status === 'active',
    ...(v.email !== null ? { emails: [{ value: v.email, type: 'work', primary: true }] } : {}),
    groups: groups.map((g) => ({
      value: g.id,
      $ref: `${baseUrl}/Groups/${g.id}`,
      display: g.name,
      type: 'direct',
    })),
    ...(enterprise ? { [SCIM_SCHEMAS.enterprise]: enterprise } : {}),
    meta: meta('User', v, `${baseUrl}/Users/${v.id}`),
  };
}

/** A group principal as a SCIM Group; `members` are its user members. */
export function scimGroup(v: PrincipalView, members: readonly ScimRef[], baseUrl: string): ScimObject {
  return {
    schemas: [SCIM_SCHEMAS.group],
    id: v.id,
    ...(v.externalId !== null ? { externalId: v.externalId } : {}),
    displayName: v.name,
    members: members.map((m) => ({
      value: m.id,
      $ref: `${baseUrl}/Users/${m.id}`,
      type: 'User',
      display: m.name,
    })),
    meta: meta('Group', v, `${baseUrl}/Groups/${v.id}`),
  };
}

/** RFC 7644 §3.4.2 ListResponse for one page; `startIndex` is 1-based. */
export function scimList(resources: readonly ScimObject[], total: number, startIndex: number): ScimObject {
  return {
    schemas: [SCIM_SCHEMAS.list],
    totalResults: total,
    itemsPerPage: resources.length,
    startIndex,
    Resources: resources,
  };
}

/**
 * Applies the `attributes` / `excludedAttributes` parameters (RFC 7644 §3.9) to a resource:
 * `schemas` and `id` are always returned; `a.b` narrows to or removes one sub-attribute.
 */
export function scimProject(resource: ScimObject, attributes?: string, excluded?: string): ScimObject {
  const names = (list: string | undefined) =>
    (list ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(splitName);
  const include = names(attributes);
  if (include.length > 0) {
    const out: ScimObject = { schemas: resource.schemas, id: resource.id };
    for (const [top, sub] of include) {
      const key = Object.keys(resource).find((k) => k.toLowerCase() === top);
      if (key === undefined) continue;
      const value = resource[key];
      out[key] = sub !== undefined && isObject(value) ? pick(value, sub) : value;
    }
    return out;
  }
  const out: ScimObject = { ...resource };
  for (const [top, sub] of names(excluded)) {
    const key = Object.keys(out).find((k) => k.toLowerCase() === top);
    if (key === undefined || key === 'schemas' || key === 'id') continue;
    const value = out[key];
    if (sub === undefined) delete out[key];
    else if (isObject(value)) out[key] = omit(value, sub);
    else if (Array.isArray(value)) out[key] = value.map((e) => (isObject(e) ? omit(e, sub) : e));
  }
  return out;
}

// `urn:…:User:name.givenName` or `name.givenName` → ['name', 'givenname'] (lower case).
function splitName(s: string): [string, string | undefined] {
  const lower = s.toLowerCase();
  const core = RESOURCE_DEFS.map((d) => `${d.schema.id.toLowerCase()}:`).find((p) => lower.startsWith(p));
  const ext = RESOURCE_DEFS.flatMap((d) => d.extensions).find((e) =>
    lower.startsWith(`${e.id.toLowerCase()}:`),
  );
  if (ext !== undefined) return [ext.id.toLowerCase(), lower.slice(ext.id.length + 1)];
  const rest = core === undefined ? lower : lower.slice(core.length);
  const dot = rest.indexOf('.');
  return dot < 0 ? [rest, undefined] : [rest.slice(0, dot), rest.slice(dot + 1)];
}

function pick(o: ScimObject, sub: string): ScimObject {
  return Object.fromEntries(Object.entries(o).filter(([k]) => k.toLowerCase() === sub));
}

function omit(o: ScimObject, sub: string): ScimObject {
  return Object.fromEntries(Object.entries(o).filter(([k]) => k.toLowerCase() !== sub));
}

// ---- Filters (RFC 7644 §3.4.2.2) ------------------------------------------------------------------

/** Comparison operators. */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

/** An attribute a filter or path names, resolved against the schema. */
export interface ResolvedPath {
  /** The extension URN holding the attribute, or undefined for the core schema. */
  readonly container: string | undefined;
  readonly attr: AttributeDef;
  readonly sub: AttributeDef | undefined;
}

/** A parsed filter, its attribute names resolved. */
export type ScimFilter =
  | { readonly op: 'and' | 'or'; readonly left: ScimFilter; readonly right: ScimFilter }
  | { readonly op: 'not'; readonly filter: ScimFilter }
  | { readonly op: 'pr'; readonly path: ResolvedPath }
  | { readonly op: CompareOp; readonly path: ResolvedPath; readonly value: string | number | boolean | null }
  | { readonly op: 'has'; readonly path: ResolvedPath; readonly filter: ScimFilter };

interface Token {
  readonly kind: 'word' | 'string' | '(' | ')' | '[' | ']';
  readonly text: string;
  readonly value?: string;
}

function tokenize(input: string, fail: (message: string) => ScimError): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: c, text: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw fail(`unterminated string at ${i + 1}`);
      const raw = input.slice(i, j + 1);
      let value: string;
      try {
        value = JSON.parse(raw) as string;
      } catch {
        throw fail(`bad string ${raw}`);
      }
      tokens.push({ kind: 'string', text: raw, value });
      i = j + 1;
    } else {
      const m = /[^\s()[\]"]+/y;
      m.lastIndex = i;
      const word = (m.exec(input) as RegExpExecArray)[0];
      tokens.push({ kind: 'word', text: word });
      i += word.length;
    }
  }
  return tokens;
}

// Resolves attribute names inside a resource, or inside one value of a multi-valued attribute.
type Scope = (raw: string) => ResolvedPath | undefined;

function resourceScope(def: ResourceDef): Scope {
  return (raw) => {
    let schema: string | undefined;
    let rest = raw;
    if (/^urn:/i.test(raw)) {
      const at = raw.lastIndexOf(':');
      schema = raw.slice(0, at);
      rest = raw.slice(at + 1);
    }
    const m = /^([A-Za-z$][\w$-]*)(?:\.([A-Za-z$][\w$-]*))?$/.exec(rest);
    if (!m) return undefined;
    let container: string | undefined;
    let defs: readonly AttributeDef[];
    if (schema === undefined || schema.toLowerCase() === def.schema.id.toLowerCase()) {
      defs = topLevel(def);
    } else {
      const ext = findExtension(def, schema);
      if (ext === undefined) return undefined;
      container = ext.id;
      defs = ext.attributes;
    }
    const a = findAttr(defs, m[1] as string);
    if (a === undefined) return undefined;
    if (m[2] === undefined) return { container, attr: a, sub: undefined };
    const sub = findAttr(a.subAttributes, m[2]);
    return sub === undefined ? undefined : { container, attr: a, sub };
  };
}

function valueScope(parent: AttributeDef): Scope {
  return (raw) => {
    const a = /^[A-Za-z$][\w$-]*$/.test(raw) ? findAttr(parent.subAttributes, raw) : undefined;
    return a === undefined ? undefined : { container: undefined, attr: a, sub: undefined };
  };
}

class FilterParser {
  #pos = 0;
  readonly #tokens: Token[];
  readonly #fail: (message: string) => ScimError;

  constructor(tokens: Token[], fail: (message: string) => ScimError) {
    this.#tokens = tokens;
    this.#fail = fail;
  }

  get done(): boolean {
    return this.#pos >= this.#tokens.length;
  }

  peek(): Token | undefined {
    return this.#tokens[this.#pos];
  }

  next(): Token {
    const t = this.#tokens[this.#pos++];
    if (t === undefined) throw this.#fail('unexpected end');
    return t;
  }

  expect(kind: Token['kind']): void {
    const t = this.next();
    if (t.kind !== kind) throw this.#fail(`expected ${kind} but found ${t.text}`);
  }

  #keyword(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'word' && t.text.toLowerCase() === word;
  }

  /** FILTER with `or` binding loosest, then `and`, then `not`. */
  or(scope: Scope): ScimFilter {
    let left = this.and(scope);
    while (this.#keyword('or')) {
      this.#pos++;
      left = { op: 'or', left, right: this.and(scope) };
    }
    return left;
  }

  and(scope: Scope): ScimFilter {
    let left = this.unary(scope);
    while (this.#keyword('and')) {
      this.#pos++;
      left = { op: 'and', left, right: this.unary(scope) };
    }
    return left;
  }

  unary(scope: Scope): ScimFilter {
    if (this.#keyword('not') && this.#tokens[this.#pos + 1]?.kind === '(') {
      this.#pos += 2;
      const filter = this.or(scope);
      this.expect(')');
      return { op: 'not', filter };
    }
    if (this.peek()?.kind === '(') {
      this.#pos++;
      const f = this.or(scope);
      this.expect(')');
      return f;
    }
    const path = this.path(scope);
    if (this.peek()?.kind === '[') {
      if (!path.attr.multiValued || path.attr.type !== 'complex' || path.sub !== undefined) {
        throw this.#fail(`${path.attr.name} has no values to select`);
      }
      this.#pos++;
      const filter = this.or(valueScope(path.attr));
      this.expect(']');
      return { op: 'has', path, filter };
    }
    const opToken = this.next();
    const op = opToken.kind === 'word' ? opToken.text.toLowerCase() : '';
    if (op === 'pr') return { op: 'pr', path };
    if (!COMPARE_OPS.has(op)) throw this.#fail(`unknown operator ${opToken.text}`);
    const value = this.value();
    checkComparison(path, op as CompareOp, value, this.#fail);
    return { op: op as CompareOp, path, value };
  }

  path(scope: Scope): ResolvedPath {
    const t = this.next();
    if (t.kind !== 'word') throw this.#fail(`expected an attribute but found ${t.text}`);
    const p = scope(t.text);
    if (p === undefined) throw this.#fail(`unknown attribute ${t.text}`);
    return p;
  }

  value(): string | number | boolean | null {
    const t = this.next();
    if (t.kind === 'string') return t.value as string;
    const w = t.text.toLowerCase();
    if (w === 'true') return true;
    if (w === 'false') return false;
    if (w === 'null') return null;
    if (t.kind === 'word' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t.text)) return Number(t.text);
    throw this.#fail(`expected a value but found ${t.text}`);
  }
}

function leafOf(p: ResolvedPath): AttributeDef | undefined {
  if (p.sub !== undefined) return p.sub;
  return p.attr.type === 'complex' ? findAttr(p.attr.subAttributes, 'value') : p.attr;
}

function checkComparison(
  p: ResolvedPath,
  op: CompareOp,
  value: string | number | boolean | null,
  fail: (message: string) => ScimError,
): void {
  const leaf = leafOf(p);
  const name = p.sub ? `${p.attr.name}.${p.sub.name}` : p.attr.name;
  if (leaf === undefined) throw fail(`${name} is complex; compare one of its sub-attributes`);
  if (value === null) {
    if (op !== 'eq' && op !== 'ne') throw fail(`${op} cannot compare with null`);
    return;
  }
  if (leaf.type === 'boolean') {
    if (typeof value !== 'boolean' || (op !== 'eq' && op !== 'ne'))
      throw fail(`${name} is a boolean: use eq or ne with true or false`);
    return;
  }
  if (typeof value !== 'string') throw fail(`${name} is a string: compare it with a quoted string`);
}

/** Parses a `filter` parameter for `def` (attribute names and operators are case-insensitive). */
export function parseScimFilter(input: string, def: ResourceDef): ScimFilter {
  const fail = (message: string) => bad('invalidFilter', 'filter', message);
  const p = new FilterParser(tokenize(input, fail), fail);
  const f = p.or(resourceScope(def));
  if (!p.done) throw fail(`unexpected ${p.peek()?.text}`);
  return f;
}

function valuesAt(obj: ScimObject, p: ResolvedPath): unknown[] {
  const container = p.container === undefined ? obj : obj[p.container];
  if (!isObject(container)) return [];
  const v = container[p.attr.name];
  const items = p.attr.multiValued ? (Array.isArray(v) ? v : []) : v === undefined || v === null ? [] : [v];
  if (p.sub !== undefined) {
    const sub = p.sub.name;
    return items.flatMap((i) => (isObject(i) && i[sub] !== undefined && i[sub] !== null ? [i[sub]] : []));
  }
  if (p.attr.type === 'complex')
    return items.flatMap((i) => (isObject(i) && i.value !== undefined ? [i.value] : []));
  return items;
}

function compare(
  op: CompareOp,
  actual: unknown,
  expected: string | number | boolean,
  leaf: AttributeDef,
): boolean {
  if (typeof expected !== 'string') return op === 'eq' ? actual === expected : actual !== expected;
  if (typeof actual !== 'string') return op === 'ne';
  const fold = (s: string) => (leaf.caseExact ? s : s.toLowerCase());
  const a = fold(actual);
  const e = fold(expected);
  if (leaf.type === 'dateTime' && ['gt', 'ge', 'lt', 'le'].includes(op)) {
    const [x, y] = [Date.parse(actual), Date.parse(expected)];
    return op === 'gt' ? x > y : op === 'ge' ? x >= y : op === 'lt' ? x < y : x <= y;
  }
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'co':
      return a.includes(e);
    case 'sw':
      return a.startsWith(e);
    case 'ew':
      return a.endsWith(e);
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
  }
}

/** Whether a resource (or one value of a multi-valued attribute) matches a filter. */
export function scimMatches(f: ScimFilter, obj: ScimObject): boolean {
  switch (f.op) {
    case 'and':
      return scimMatches(f.left, obj) && scimMatches(f.right, obj);
    case 'or':
      return scimMatches(f.left, obj) || scimMatches(f.right, obj);
    case 'not':
      return !scimMatches(f.filter, obj);
    case 'has': {
      const inner = f.filter;
      return valuesAtRaw(obj, f.path).some((v) => isObject(v) && scimMatches(inner, v));
    }
    case 'pr':
      return valuesAt(obj, f.path).some((v) => v !== '' && !(Array.isArray(v) && v.length === 0));
    default: {
      const values = valuesAt(obj, f.path);
      const leaf = leafOf(f.path) as AttributeDef;
      const expected = f.value;
      if (expected === null) return f.op === 'eq' ? values.length === 0 : values.length > 0;
      if (f.op === 'ne') return !values.some((v) => compare('eq', v, expected, leaf));
      return values.some((v) => compare(f.op as CompareOp, v, expected, leaf));
    }
  }
}

function valuesAtRaw(obj: ScimObject, p: ResolvedPath): unknown[] {
  const container = p.container === undefined ? obj : obj[p.container];
  const v = isObject(container) ? container[p.attr.name] : undefined;
  return Array.isArray(v) ? v : [];
}

/** The attribute and value of an `eq` the whole filter depends on, for narrowing a query (else undefined). */
export function scimEquality(f: ScimFilter): { attr: string; value: string } | undefined {
  if (f.op === 'and') return scimEquality(f.left) ?? scimEquality(f.right);
  if (
    f.op !== 'eq' ||
    typeof f.value !== 'string' ||
    f.path.sub !== undefined ||
    f.path.container !== undefined
  )
    return undefined;
  return { attr: f.path.attr.name, value: f.value };
}

// ---- PATCH (RFC 7644 §3.5.2) ----------------------------------------------------------------------

/** One PATCH operation as sent. */
export interface ScimPatchOp {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string | undefined;
  readonly value: unknown;
}

/** The operations of a PatchOp body, validated. */
export function scimPatchOps(body: unknown): ScimPatchOp[] {
  if (!isObject(body))
    throw new ScimError('WARDEN_BAD_REQUEST', 'invalidSyntax', 'body', 'must be a JSON object');
  const get = (name: string) => Object.entries(body).find(([k]) => k.toLowerCase() === name)?.[1];
  const schemas = get('schemas');
  if (schemas !== undefined) checkSchemas(schemas, SCIM_SCHEMAS.patch);
  const ops = get('operations');
  if (!Array.isArray(ops) || ops.length === 0)
    throw bad('invalidSyntax', 'Operations', 'must be a non-empty array');
  if (ops.length > 1000) throw bad('invalidValue', 'Operations', 'must hold at most 1000 operations');
  return ops.map((o, i) => {
    const field = `Operations[${i}]`;
    if (!isObject(o)) throw bad('invalidSyntax', field, 'must be an object');
    const lower = Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
    const op = typeof lower.op === 'string' ? lower.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'remove' && op !== 'replace')
      throw bad('invalidValue', `${field}.op`, 'must be add, remove or replace');
    if (lower.path !== undefined && (typeof lower.path !== 'string' || lower.path.length > 1000)) {
      throw bad('invalidPath', `${field}.path`, 'must be a string of at most 1000 characters');
    }
    const path = typeof lower.path === 'string' && lower.path.trim() !== '' ? lower.path.trim() : undefined;
    if (op !== 'remove' && lower.value === undefined)
      throw bad('invalidValue', `${field}.value`, `is required for ${op}`);
    return { op, path, value: lower.value };
  });
}

interface PatchTarget {
  readonly path: ResolvedPath;
  /** A value filter on a multi-valued attribute (`members[value eq "x"]`). */
  readonly filter: ScimFilter | undefined;
  /** The sub-attribute after a value filter (`emails[type eq "work"].value`). */
  readonly subAfter: AttributeDef | undefined;
}

// undefined: an attribute Warden does not keep (the operation is ignored, as unknown attributes are).
function parsePatchPath(def: ResourceDef, path: string, field: string): PatchTarget | undefined {
  const fail = (message: string) => bad('invalidPath', field, message);
  const p = new FilterParser(tokenize(path, fail), fail);
  const first = p.next();
  if (first.kind !== 'word') throw fail(`expected an attribute but found ${first.text}`);
  const resolved = resourceScope(def)(first.text);
  if (resolved === undefined) {
    const wellFormed = /^(urn:[^\s[\]]+:)?[A-Za-z$][\w$-]*(\.[A-Za-z$][\w$-]*)?$/i.test(first.text);
    if (!wellFormed || (!p.done && p.peek()?.kind !== '[')) throw fail(`malformed path ${path}`);
    return undefined;
  }
  if (p.done) return { path: resolved, filter: undefined, subAfter: undefined };
  if (!resolved.attr.multiValued || resolved.attr.type !== 'complex' || resolved.sub !== undefined) {
    throw fail(`${resolved.attr.name} has no values to select`);
  }
  p.expect('[');
  const filter = p.or(valueScope(resolved.attr));
  p.expect(']');
  let subAfter: AttributeDef | undefined;
  if (!p.done) {
    const t = p.next();
    const m = t.kind === 'word' ? /^\.([A-Za-z$][\w$-]*)$/.exec(t.text) : null;
    if (!m || !p.done) throw fail(`unexpected ${t.text}`);
    subAfter = findAttr(resolved.attr.subAttributes, m[1] as string);
    if (subAfter === undefined) return undefined;
  }
  return { path: resolved, filter, subAfter };
}

/**
 * Applies PATCH operations, in order, to a copy of `resource` (a canonical document as scimUser or
 * scimGroup returns it) and returns the result. Unknown attributes are ignored; read-only ones refused.
 */
export function applyScimPatch(
  def: ResourceDef,
  resource: ScimObject,
  ops: readonly ScimPatchOp[],
): ScimObject {
  const doc = structuredClone(resource);
  ops.forEach((o, i) => {
    const field = `Operations[${i}]`;
    if (o.path === undefined) {
      if (o.op === 'remove') throw bad('noTarget', `${field}.path`, 'remove needs a path');
      if (!isObject(o.value))
        throw bad('invalidValue', `${field}.value`, 'must be an object when no path is given');
      for (const [k, v] of Object.entries(o.value)) applyKey(def, doc, o.op, k, v, field);
      return;
    }
    const ext = findExtension(def, o.path);
    if (ext !== undefined) {
      if (o.op === 'remove') delete doc[ext.id];
      else applyKey(def, doc, o.op, ext.id, o.value, field);
      return;
    }
    const target = parsePatchPath(def, o.path, `${field}.path`);
    if (target !== undefined) applyTarget(doc, o.op, target, o.value, field);
  });
  return doc;
}

// One member of a path-less value: `{"active": false}`, `{"name": {...}}`, `{"urn:…:User": {...}}`, `{"urn:…:User:department": "x"}`.
function applyKey(
  def: ResourceDef,
  doc: ScimObject,
  op: 'add' | 'replace',
  key: string,
  value: unknown,
  field: string,
): void {
  const lower = key.toLowerCase();
  if (lower === 'schemas') return;
  if (lower === 'id') {
    if (value !== doc.id) throw bad('mutability', `${field}.value.id`, 'is read-only');
    return;
  }
  const ext = findExtension(def, key);
  if (ext !== undefined) {
    if (!isObject(value)) throw bad('invalidValue', `${field}.value.${ext.id}`, 'must be an object');
    for (const [k, v] of Object.entries(value)) {
      const a = findAttr(ext.attributes, k);
      if (a !== undefined)
        applyTarget(
          doc,
          op,
          { path: { container: ext.id, attr: a, sub: undefined }, filter: undefined, subAfter: undefined },
          v,
          field,
        );
    }
    return;
  }
  const resolved = resourceScope(def)(key);
  // Read-only attributes in a path-less value (e.g. `meta` echoed back) are ignored, as in a PUT.
  if (resolved === undefined || resolved.attr.mutability === 'readOnly') return;
  applyTarget(doc, op, { path: resolved, filter: undefined, subAfter: undefined }, value, field);
}

function applyTarget(
  doc: ScimObject,
  op: ScimPatchOp['op'],
  t: PatchTarget,
  value: unknown,
  field: string,
): void {
  const { path } = t;
  const leaf = t.subAfter ?? path.sub ?? path.attr;
  if (path.attr.mutability === 'readOnly' || leaf.mutability === 'readOnly') {
    throw bad('mutability', `${field}.path`, `${path.attr.name} is read-only`);
  }
  let container: ScimObject;
  if (path.container === undefined) {
    container = doc;
  } else {
    const existing = doc[path.container];
    if (!isObject(existing)) {
      if (op === 'remove') return;
      doc[path.container] = {};
    }
    container = doc[path.container] as ScimObject;
  }
  const name = path.attr.name;
  const valueField = `${field}.value`;
  if (t.filter !== undefined) {
    const items = Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
    const filter = t.filter;
    const hits = items.filter((e): e is ScimObject => isObject(e) && scimMatches(filter, e));
    if (op === 'remove') {
      if (t.subAfter !== undefined) for (const h of hits) delete h[t.subAfter.name];
      else container[name] = items.filter((e) => !hits.includes(e as ScimObject));
      return;
    }
    if (hits.length === 0) {
      if (op === 'replace') throw bad('noTarget', `${field}.path`, 'no value matched the filter');
      // add with a value filter creates the value the filter describes (Azure AD: emails[type eq "work"].value).
      const seed = equalities(filter);
      const added =
        t.subAfter !== undefined
          ? { ...seed, [t.subAfter.name]: coerce(t.subAfter, value, valueField) }
          : { ...seed, ...(coerceOne(path.attr, value, valueField) as ScimObject) };
      container[name] = [...items, added];
      return;
    }
    for (const h of hits) {
      if (t.subAfter !== undefined) setOrDelete(h, t.subAfter.name, coerce(t.subAfter, value, valueField));
      else Object.assign(h, coerceOne(path.attr, value, valueField));
    }
    return;
  }
  if (path.sub !== undefined) {
    const sub = path.sub;
    if (path.attr.multiValued) {
      const items = Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
      const v = op === 'remove' ? undefined : coerce(sub, value, valueField);
      for (const e of items) if (isObject(e)) setOrDelete(e, sub.name, v);
      return;
    }
    if (!isObject(container[name])) {
      if (op === 'remove') return;
      container[name] = {};
    }
    setOrDelete(
      container[name] as ScimObject,
      sub.name,
      op === 'remove' ? undefined : coerce(sub, value, valueField),
    );
    return;
  }
  if (path.attr.multiValued) {
    const existing = Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
    const incoming =
      value === undefined
        ? undefined
        : ((coerce(path.attr, value, valueField) as unknown[] | undefined) ?? []);
    if (op === 'replace') container[name] = incoming;
    else if (op === 'add')
      container[name] = [
        ...existing,
        ...(incoming ?? []).filter((x) => !existing.some((e) => sameValue(path.attr, e, x))),
      ];
    // remove: every value, or (as Azure AD sends it) the values listed in `value`.
    else
      container[name] =
        incoming === undefined
          ? []
          : existing.filter((e) => !incoming.some((x) => sameValue(path.attr, e, x)));
    return;
  }
  if (path.attr.type === 'complex') {
    if (op === 'remove') delete container[name];
    else
      container[name] = {
        ...(isObject(container[name]) ? container[name] : {}),
        ...(coerceOne(path.attr, value, valueField) as ScimObject | undefined),
      };
    return;
  }
  setOrDelete(container, name, op === 'remove' ? undefined : coerce(path.attr, value, valueField));
}

function setOrDelete(o: ScimObject, key: string, value: unknown): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

// Two values of a multi-valued attribute are the same when their `value`s are (per caseExact).
function sameValue(a: AttributeDef, x: unknown, y: unknown): boolean {
  const vx = isObject(x) ? x.value : x;
  const vy = isObject(y) ? y.value : y;
  if (typeof vx !== 'string' || typeof vy !== 'string') return false;
  const exact = (findAttr(a.subAttributes, 'value') ?? a).caseExact;
  return exact ? vx === vy : vx.toLowerCase() === vy.toLowerCase();
}

function equalities(f: ScimFilter): ScimObject {
  if (f.op === 'and') return { ...equalities(f.left), ...equalities(f.right) };
  if (f.op === 'eq' && f.value !== null) return { [f.path.attr.name]: f.value };
  return {};
}

// ---- Discovery (RFC 7643 §5–§7, RFC 7644 §4) --------------------------------------------------------

/** `/ServiceProviderConfig`: what this service provider supports. */
export function scimServiceProviderConfig(baseUrl: string): ScimObject {
  return {
    schemas: [SCIM_SCHEMAS.serviceProviderConfig],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: SCIM_MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description:
          'A Warden API token of a service account allowed scim.provision, sent as Authorization: Bearer',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

/** `/ResourceTypes`: User and Group. */
export function scimResourceTypes(baseUrl: string): ScimObject[] {
  return RESOURCE_DEFS.map((d) => ({
    schemas: [SCIM_SCHEMAS.resourceType],
    id: d.name,
    name: d.name,
    endpoint: d.endpoint,
    description: d.description,
    schema: d.schema.id,
    schemaExtensions: d.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${d.name}` },
  }));
}

/** `/Schemas`: the schemas of the attributes Warden keeps. */
export function scimSchemas(baseUrl: string): ScimObject[] {
  const schemas = [USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA];
  return schemas.map((s) => ({
    schemas: [SCIM_SCHEMAS.schema],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(attributeJson),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` },
  }));
}

function attributeJson(a: AttributeDef): ScimObject {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued,
    description: a.description,
    required: a.required,
    caseExact: a.caseExact,
    mutability: a.mutability,
    returned: a.returned,
    uniqueness: a.uniqueness,
    ...(a.canonicalValues ? { canonicalValues: a.canonicalValues } : {}),
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(attributeJson) } : {}),
  };
}
