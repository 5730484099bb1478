import { type FieldIssue, invalidInput } from '../core/index.js';

/** in-toto Statement v1 `_type`. */
export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** SLSA Provenance v1 predicate type. */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

/** A dataset the provenance names as a resolved dependency (`warden:dataset:<id>`). */
export interface ProvenanceDataset {
  /** The name after `dataset:`. */
  readonly name: string;
  /** The Warden dataset id from the URI. */
  readonly id: string;
  /** Lowercase hex SHA-256 of the dataset version. */
  readonly sha256: string;
}

/** What the promotion gates and the registry read from a provenance statement. */
export interface ProvenanceFacts {
  /** Every part Warden asks for is present: source, parameters, datasets, environment, builder, times, metrics. */
  readonly complete: boolean;
  /** The parts that are absent, by name (`source`, `parameters`, `datasets`, `environment`, `builder`, `startedOn`, `finishedOn`, `metrics`). */
  readonly missing: readonly string[];
  readonly metrics: Readonly<Record<string, number>>;
  /** The Warden principal id named as trainer. */
  readonly trainer?: string;
  readonly datasets: readonly ProvenanceDataset[];
  readonly builder?: string;
  readonly startedOn?: string;
  readonly finishedOn?: string;
  readonly source?: { readonly repository: string; readonly commit: string };
  readonly environment?: { readonly uri: string; readonly sha256: string };
}

/** A checked statement: its subjects' digests and the facts. */
export interface ParsedProvenance {
  /** Hex SHA-256 digests of the statement's subjects. */
  readonly subjects: readonly string[];
  readonly facts: ProvenanceFacts;
}

type Json = Record<string, unknown>;

const HEX64 = /^[0-9a-f]{64}$/;
// RFC 3339 date-time with a zone (Z or ±hh:mm), as SLSA's timestamps are.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const DATASET_URI = /^warden:dataset:([0-9A-Za-z][0-9A-Za-z_-]{0,63})$/;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Json, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

/**
 * Checks an in-toto Statement v1 with a SLSA v1 provenance predicate and extracts what Warden uses.
 * Wrong types and malformed values are refused (400, naming each field); absent optional parts only
 * make the provenance incomplete. Never throws anything but that WardenError.
 */
export function parseProvenance(statement: unknown): ParsedProvenance {
  const issues: FieldIssue[] = [];
  const bad = (field: string, message: string): undefined => {
    issues.push({ field, message });
    return undefined;
  };
  if (!isObject(statement)) throw invalidInput([{ field: 'statement', message: 'must be a JSON object' }]);
  if (own(statement, '_type') !== STATEMENT_V1) bad('_type', `must be ${STATEMENT_V1}`);
  if (own(statement, 'predicateType') !== SLSA_PROVENANCE_V1)
    bad('predicateType', `must be ${SLSA_PROVENANCE_V1}`);
  const subjects = parseSubjects(own(statement, 'subject'), bad);
  const predicate = own(statement, 'predicate');
  if (!isObject(predicate)) {
    bad('predicate', 'must be an object');
    throw invalidInput(issues);
  }
  const facts = parsePredicate(predicate, bad);
  if (issues.length > 0) throw invalidInput(issues);
  return { subjects, facts };
}

/** The facts of a stored statement (JSON text or value), as the promotion gates read them. */
export function provenanceFacts(statementJson: string | unknown): ProvenanceFacts {
  let value = statementJson;
  if (typeof statementJson === 'string') {
    try {
      value = JSON.parse(statementJson) as unknown;
    } catch {
      throw invalidInput([{ field: 'statement', message: 'is not JSON' }]);
    }
  }
  return parseProvenance(value).facts;
}

type Bad = (field: string, message: string) => undefined;

function parseSubjects(raw: unknown, bad: Bad): string[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    bad('subject', 'must be a non-empty array');
    return [];
  }
  const out: string[] = [];
  for (const [i, s] of raw.entries()) {
    const field = `subject[${i}]`;
    if (!isObject(s)) {
      bad(field, 'must be an object');
      continue;
    }
    const name = own(s, 'name');
    if (name !== undefined && typeof name !== 'string') bad(`${field}.name`, 'must be a string');
    const digest = own(s, 'digest');
    const hex = isObject(digest) ? own(digest, 'sha256') : undefined;
    if (typeof hex !== 'string' || !HEX64.test(hex))
      bad(`${field}.digest.sha256`, 'must be 64 lowercase hex digits');
    else out.push(hex);
  }
  return out;
}

function optionalObject(parent: Json, key: string, field: string, bad: Bad): Json | undefined {
  const v = own(parent, key);
  if (v === undefined) return undefined;
  if (!isObject(v)) return bad(field, 'must be an object');
  return v;
}

function optionalString(parent: Json, key: string, field: string, bad: Bad): string | undefined {
  const v = own(parent, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') return bad(field, 'must be a non-empty string');
  return v;
}

function optionalTime(parent: Json, key: string, field: string, bad: Bad): string | undefined {
  const v = optionalString(parent, key, field, bad);
  if (v === undefined) return undefined;
  if (!RFC3339.test(v) || Number.isNaN(Date.parse(v))) return bad(field, 'must be an RFC 3339 timestamp');
  return v;
}

interface Dependencies {
  readonly datasets: ProvenanceDataset[];
  readonly environment?: { uri: string; sha256: string };
}

function parseDependencies(raw: unknown, bad: Bad): Dependencies {
  const field = 'predicate.buildDefinition.resolvedDependencies';
  const datasets: ProvenanceDataset[] = [];
  let environment: { uri: string; sha256: string } | undefined;
  if (raw === undefined) return { datasets };
  if (!Array.isArray(raw)) {
    bad(field, 'must be an array');
    return { datasets };
  }
  for (const [i, d] of raw.entries()) {
    const at = `${field}[${i}]`;
    const found = dependency(d, at, bad);
    if (found?.environment) {
      if (environment !== undefined) bad(`${at}.name`, 'only one environment may be named');
      else environment = found.environment;
    } else if (found?.dataset) {
      const dataset = found.dataset;
      if (datasets.some((x) => x.id === dataset.id)) bad(`${at}.uri`, 'names the same dataset twice');
      else datasets.push(dataset);
    }
  }
  return environment === undefined ? { datasets } : { datasets, environment };
}

/** One resolved dependency: an environment image, a dataset, or something Warden does not read (undefined). */
function dependency(
  d: unknown,
  at: string,
  bad: Bad,
): { environment?: { uri: string; sha256: string }; dataset?: ProvenanceDataset } | undefined {
  if (!isObject(d)) return bad(at, 'must be an object');
  const name = optionalString(d, 'name', `${at}.name`, bad);
  const uri = optionalString(d, 'uri', `${at}.uri`, bad);
  const digest = own(d, 'digest');
  if (digest !== undefined && !isObject(digest)) return bad(`${at}.digest`, 'must be an object');
  const hex = digest === undefined ? undefined : own(digest, 'sha256');
  if (name === 'environment' || name?.startsWith('dataset:')) {
    if (typeof hex !== 'string' || !HEX64.test(hex))
      return bad(`${at}.digest.sha256`, 'must be 64 lowercase hex digits');
    if (uri === undefined) return bad(`${at}.uri`, 'is required');
    if (name === 'environment') return { environment: { uri, sha256: hex } };
    const id = DATASET_URI.exec(uri)?.[1];
    if (id === undefined) return bad(`${at}.uri`, 'must be warden:dataset:<dataset id>');
    const datasetName = name.slice('dataset:'.length);
    if (datasetName === '') return bad(`${at}.name`, 'must be dataset:<name>');
    return { dataset: { name: datasetName, id, sha256: hex } };
  }
  return undefined;
}

function parseMetrics(raw: unknown, bad: Bad): Record<string, number> | undefined {
  const field = 'predicate.runDetails.byproducts';
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) return bad(field, 'must be an array');
  let metrics: Record<string, number> | undefined;
  for (const [i, b] of raw.entries()) {
    const at = `${field}[${i}]`;
    if (!isObject(b)) {
      bad(at, 'must be an object');
      continue;
    }
    if (own(b, 'name') !== 'metrics') continue;
    if (metrics !== undefined) {
      bad(`${at}.name`, 'only one metrics byproduct may be given');
      continue;
    }
    const annotations = own(b, 'annotations');
    if (!isObject(annotations)) {
      bad(`${at}.annotations`, 'must be an object of metric: number');
      continue;
    }
    const found: Record<string, number> = {};
    for (const [k, v] of Object.entries(annotations)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        bad(`${at}.annotations.${k}`, 'must be a finite number');
      else
        Object.defineProperty(found, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    metrics = found;
  }
  return metrics;
}

function parsePredicate(predicate: Json, bad: Bad): ProvenanceFacts {
  const missing: string[] = [];
  const build = optionalObject(predicate, 'buildDefinition', 'predicate.buildDefinition', bad);
  const run = optionalObject(predicate, 'runDetails', 'predicate.runDetails', bad);
  const ext =
    build && optionalObject(build, 'externalParameters', 'predicate.buildDefinition.externalParameters', bad);
  const extField = 'predicate.buildDefinition.externalParameters';

  let source: { repository: string; commit: string } | undefined;
  const src = ext && optionalObject(ext, 'source', `${extField}.source`, bad);
  if (src) {
    const repository = optionalString(src, 'repository', `${extField}.source.repository`, bad);
    const commit = optionalString(src, 'commit', `${extField}.source.commit`, bad);
    if (repository !== undefined && commit !== undefined) source = { repository, commit };
  }
  if (!source) missing.push('source');
  const parameters = ext && optionalObject(ext, 'parameters', `${extField}.parameters`, bad);
  if (!parameters) missing.push('parameters');
  const trainer = ext && optionalString(ext, 'trainer', `${extField}.trainer`, bad);

  const deps = parseDependencies(build && own(build, 'resolvedDependencies'), bad);
  if (deps.datasets.length === 0) missing.push('datasets');
  if (!deps.environment) missing.push('environment');

  const builderObj = run && optionalObject(run, 'builder', 'predicate.runDetails.builder', bad);
  const builder = builderObj && optionalString(builderObj, 'id', 'predicate.runDetails.builder.id', bad);
  if (!builder) missing.push('builder');
  const meta = run && optionalObject(run, 'metadata', 'predicate.runDetails.metadata', bad);
  const startedOn = meta && optionalTime(meta, 'startedOn', 'predicate.runDetails.metadata.startedOn', bad);
  const finishedOn =
    meta && optionalTime(meta, 'finishedOn', 'predicate.runDetails.metadata.finishedOn', bad);
  if (!startedOn) missing.push('startedOn');
  if (!finishedOn) missing.push('finishedOn');
  if (startedOn && finishedOn && Date.parse(finishedOn) < Date.parse(startedOn))
    bad('predicate.runDetails.metadata.finishedOn', 'must not be before startedOn');
  const metrics = parseMetrics(run && own(run, 'byproducts'), bad);
  if (!metrics || Object.keys(metrics).length === 0) missing.push('metrics');

  return {
    complete: missing.length === 0,
    missing,
    metrics: { ...(metrics ?? {}) },
    datasets: deps.datasets,
    ...(trainer ? { trainer } : {}),
    ...(builder ? { builder } : {}),
    ...(startedOn ? { startedOn } : {}),
    ...(finishedOn ? { finishedOn } : {}),
    ...(source ? { source } : {}),
    ...(deps.environment ? { environment: deps.environment } : {}),
  };
}
