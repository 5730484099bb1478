import { createHash } from 'node:crypto';
import { OmsCheckFailure } from './failure.js';
import { canonicalRelativePath } from './paths.js';

/** The in-toto Statement v1 type URI. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** The OMS v1.0 predicate type URI. */
export const PREDICATE_TYPE = 'https://model_signing/signature/v1.0';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** `predicate.serialization` for the `files` method, as the reference records it. */
export interface FileSerialization {
  readonly method: 'files';
  readonly hashType: 'sha256';
  readonly allowSymlinks: boolean;
  /** Undefined when the bundle predates the field (model_signing before v1.1). */
  readonly ignorePaths: readonly string[] | undefined;
}

/** One `predicate.resources` entry: a file and its lowercase hex SHA-256. */
export interface OmsResource {
  readonly path: string;
  readonly sha256: string;
}

/** The parts of a verified OMS statement that verification uses. */
export interface OmsStatement {
  readonly subjectName: string;
  readonly subjectSha256: string;
  readonly serialization: FileSerialization;
  readonly resources: readonly OmsResource[];
}

/** SHA-256 over the concatenated raw digests, in the order given: the statement's subject digest. */
export function rootDigest(hexDigests: readonly string[]): string {
  const hash = createHash('sha256');
  for (const d of hexDigests) hash.update(Buffer.from(d, 'hex'));
  return hash.digest('hex');
}

/** The statement the reference signs for a file-serialized model (resources already in order). */
export function buildStatement(
  modelName: string,
  resources: readonly OmsResource[],
  serialization: { allowSymlinks: boolean; ignorePaths: readonly string[] },
): unknown {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: modelName, digest: { sha256: rootDigest(resources.map((r) => r.sha256)) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization: {
        method: 'files',
        hash_type: 'sha256',
        allow_symlinks: serialization.allowSymlinks,
        ignore_paths: [...serialization.ignorePaths],
      },
      resources: resources.map((r) => ({ name: r.path, algorithm: 'sha256', digest: r.sha256 })),
    },
  };
}

function fail(reason: string): never {
  throw new OmsCheckFailure('statement', reason);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseSerialization(raw: unknown): FileSerialization {
  if (!isObject(raw)) fail('predicate.serialization is missing or not an object');
  if (raw.method !== 'files') {
    fail(`serialization method ${JSON.stringify(raw.method)} is not supported (only "files")`);
  }
  if (raw.hash_type !== 'sha256') {
    fail(`serialization hash_type ${JSON.stringify(raw.hash_type)} is not supported (only "sha256")`);
  }
  if (typeof raw.allow_symlinks !== 'boolean') fail('serialization.allow_symlinks must be a boolean');
  let ignorePaths: string[] | undefined;
  if (raw.ignore_paths !== undefined) {
    if (!Array.isArray(raw.ignore_paths)) fail('serialization.ignore_paths must be an array');
    ignorePaths = raw.ignore_paths.map((p: unknown, i) => {
      const c = typeof p === 'string' ? canonicalRelativePath(p) : undefined;
      return c ?? fail(`serialization.ignore_paths[${i}] is not a relative path inside the model`);
    });
  }
  return Object.freeze({
    method: 'files',
    hashType: 'sha256',
    allowSymlinks: raw.allow_symlinks,
    ignorePaths: ignorePaths && Object.freeze(ignorePaths),
  });
}

function parseResources(raw: unknown): OmsResource[] {
  if (!Array.isArray(raw) || raw.length === 0) fail('predicate.resources must be a non-empty array');
  const seen = new Set<string>();
  return raw.map((r: unknown, i) => {
    if (!isObject(r)) fail(`predicate.resources[${i}] is not an object`);
    const path = typeof r.name === 'string' ? canonicalRelativePath(r.name) : undefined;
    if (path === undefined) fail(`predicate.resources[${i}].name is not a relative path inside the model`);
    if (r.algorithm !== 'sha256') {
      fail(
        `predicate.resources[${i}].algorithm ${JSON.stringify(r.algorithm)} does not match hash_type "sha256"`,
      );
    }
    if (typeof r.digest !== 'string' || !HEX_SHA256.test(r.digest)) {
      fail(`predicate.resources[${i}].digest is not a hex SHA-256 digest`);
    }
    if (seen.has(path)) fail(`predicate.resources lists ${JSON.stringify(path)} twice`);
    seen.add(path);
    return Object.freeze({ path, sha256: r.digest.toLowerCase() });
  });
}

/**
 * Parses and checks a signed DSSE payload: an in-toto Statement v1 with the OMS predicate, one
 * subject whose sha256 is the root digest of the resources in their listed order, the `files`
 * serialization with SHA-256, and well-formed, unique resources. Unknown fields are ignored, as
 * in-toto requires.
 */
export function parseStatement(payload: Uint8Array): OmsStatement {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    fail('the DSSE payload is not UTF-8 JSON');
  }
  if (!isObject(doc)) fail('the DSSE payload is not a JSON object');
  if (doc._type !== STATEMENT_TYPE)
    fail(`statement _type ${JSON.stringify(doc._type)} is not ${STATEMENT_TYPE}`);
  if (doc.predicateType !== PREDICATE_TYPE) {
    fail(`predicateType ${JSON.stringify(doc.predicateType)} is not ${PREDICATE_TYPE}`);
  }
  const subjects = doc.subject;
  if (!Array.isArray(subjects) || subjects.length !== 1) fail('the statement must have exactly one subject');
  const subject: unknown = subjects[0];
  if (!isObject(subject) || typeof subject.name !== 'string') fail('subject[0].name must be a string');
  const digest = isObject(subject.digest) ? subject.digest.sha256 : undefined;
  if (typeof digest !== 'string' || !HEX_SHA256.test(digest))
    fail('subject[0].digest.sha256 must be a hex SHA-256');
  if (!isObject(doc.predicate)) fail('the statement has no predicate object');
  const serialization = parseSerialization(doc.predicate.serialization);
  const resources = parseResources(doc.predicate.resources);
  const root = rootDigest(resources.map((r) => r.sha256));
  if (digest !== root) {
    fail(`subject[0].digest.sha256 is ${digest}, but the resources' digests hash to ${root}`);
  }
  return Object.freeze({
    subjectName: subject.name,
    subjectSha256: digest,
    serialization,
    resources: Object.freeze(resources),
  });
}
