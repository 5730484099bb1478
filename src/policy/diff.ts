import { policyToJson, templateToJson } from '@cedar-policy/cedar-wasm/nodejs';
import { canonicalJson } from '../core/index.js';
import { type BundlePolicy, bundleHash, type PolicyBundle } from './bundle.js';
import type { TestCase } from './cases.js';
import { entityText } from './cedar.js';
import { PolicyEngine } from './engine.js';
import { decideCase } from './test-runner.js';
import type {
  AuthorizationRequest,
  CedarValue,
  EntityData,
  EntityRef,
  PolicyDecision,
  RoleBinding,
} from './types.js';

/** Options of diffBundles. */
export interface DiffOptions {
  /** The most generated requests to decide (test cases are always all decided). Default 4,000. */
  readonly maxSamples?: number;
}

/** A decision as a diff shows it. */
export interface DecisionSummary {
  readonly decision: 'allow' | 'deny';
  readonly policies: readonly string[];
  readonly reason: string;
}

/** A request whose decision differs between the two bundles. */
export interface DecisionFlip {
  /** `tests/x.yaml: <case name>` for a test case, `sample` for a generated request. */
  readonly source: string;
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** The bindings in force, as `role: principal on resource`. */
  readonly bindings: readonly string[];
  readonly context: Readonly<Record<string, CedarValue>>;
  readonly before: DecisionSummary;
  readonly after: DecisionSummary;
}

/** What changes from bundle `from` to bundle `to`. */
export interface BundleDiff {
  readonly from: string;
  readonly to: string;
  /** Policy ids only in `to`, only in `from`, and in both with different normalized text. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly schemaChanged: boolean;
  /** Distinct test cases (of either bundle) and generated requests decided under both bundles. */
  readonly tested: number;
  readonly sampled: number;
  /** How many generated requests there were before sampling down to `maxSamples`. */
  readonly samplesAvailable: number;
  readonly flips: readonly DecisionFlip[];
}

/** A policy's meaning without its layout: canonical JSON of Cedar's JSON form (annotations included). */
function normalized(p: BundlePolicy): string {
  const json = p.kind === 'template' ? templateToJson(p.text) : policyToJson(p.text);
  return `${p.kind}:${json.type === 'success' ? canonicalJson(json.json) : p.text}`;
}

class FixedClock {
  time = Date.now();
  now(): number {
    return this.time;
  }
}

/** One bundle under test: an engine with a clock the diff sets. */
class Side {
  readonly clock = new FixedClock();
  readonly engine: PolicyEngine;
  readonly roles: ReadonlySet<string>;

  constructor(bundle: PolicyBundle) {
    this.engine = new PolicyEngine(bundle, [], { clock: this.clock });
    this.roles = new Set(
      bundle.policies.filter((p) => p.kind === 'template').map((p) => p.id.slice('role:'.length)),
    );
  }

  /** Bindings this side can hold: roles it has, entity types its schema declares. */
  usable(bindings: readonly RoleBinding[]): RoleBinding[] {
    const types = this.engine.entityTypes;
    return bindings.filter(
      (b) => this.roles.has(b.role) && types.has(b.principal.type) && types.has(b.resource.type),
    );
  }

  testCase(c: TestCase, runAt: number): DecisionSummary {
    try {
      return summary(decideCase(this.engine, this.clock, c, runAt));
    } catch (err) {
      return { decision: 'deny', policies: [], reason: `bindings refused: ${(err as Error).message}` };
    }
  }
}

function summary(d: PolicyDecision): DecisionSummary {
  return Object.freeze({ decision: d.allowed ? 'allow' : 'deny', policies: d.policies, reason: d.reason });
}

const bindingText = (b: RoleBinding) => `${b.role}: ${entityText(b.principal)} on ${entityText(b.resource)}`;

/** The entity, its ancestors (as far as `entities` go) and nothing else. */
function withAncestors(ref: EntityRef, entities: readonly EntityData[]): EntityData[] {
  const byKey = new Map(entities.map((e) => [entityText(e.uid), e]));
  const out = new Map<string, EntityData>();
  const queue = [entityText(ref)];
  for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
    const e = byKey.get(key);
    if (!e || out.has(key)) continue;
    out.set(key, e);
    for (const p of e.parents ?? []) queue.push(entityText(p));
  }
  return [...out.values()];
}

interface Party {
  readonly ref: EntityRef;
  readonly entities: readonly EntityData[];
}

/** Distinct principals, resources and contexts met in the test cases, to recombine. */
function material(cases: readonly TestCase[]) {
  const principals = new Map<string, Party>();
  const resources = new Map<string, Party>();
  const contexts = new Map<string, Readonly<Record<string, CedarValue>>>();
  for (const c of cases) {
    const p = { ref: c.principal, entities: withAncestors(c.principal, c.entities) };
    const r = { ref: c.resource, entities: withAncestors(c.resource, c.entities) };
    principals.set(canonicalJson(p), p);
    resources.set(canonicalJson(r), r);
    contexts.set(canonicalJson(c.context), c.context);
  }
  return {
    principals: [...principals.values()],
    resources: [...resources.values()],
    contexts: [...contexts.values()],
  };
}

/**
 * Compares two bundles: policies added, removed and changed (by id, on normalized text), and the
 * requests whose decision flips — every test case of both bundles, plus a sample of the cross-product
 * of the tests' principals, roles (each bound on the resource), actions and resources.
 */
export function diffBundles(from: PolicyBundle, to: PolicyBundle, options: DiffOptions = {}): BundleDiff {
  const a = new Side(from);
  const b = new Side(to);
  const before = new Map(from.policies.map((p) => [p.id, p]));
  const after = new Map(to.policies.map((p) => [p.id, p]));
  const added = [...after.keys()].filter((id) => !before.has(id)).sort();
  const removed = [...before.keys()].filter((id) => !after.has(id)).sort();
  const changed = [...after.keys()]
    .filter(
      (id) =>
        before.has(id) &&
        normalized(before.get(id) as BundlePolicy) !== normalized(after.get(id) as BundlePolicy),
    )
    .sort();

  const flips: DecisionFlip[] = [];
  const runAt = Date.now();
  // Cases both bundles carry unchanged are decided once.
  const cases = [...new Map([...from.tests, ...to.tests].map((c) => [canonicalJson(c), c])).values()];
  for (const c of cases) {
    const x = a.testCase(c, runAt);
    const y = b.testCase(c, runAt);
    if (x.decision !== y.decision) {
      flips.push(flip(`${c.file}: ${c.name}`, c, c.bindings.map(bindingText), x, y));
    }
  }

  const { sampled, available } = sampleFlips(a, b, cases, options.maxSamples ?? 4000, flips);
  return Object.freeze({
    from: bundleHash(from),
    to: bundleHash(to),
    added: Object.freeze(added),
    removed: Object.freeze(removed),
    changed: Object.freeze(changed),
    schemaChanged: from.schema !== to.schema,
    tested: cases.length,
    sampled,
    samplesAvailable: available,
    flips: Object.freeze(flips),
  });
}

function flip(
  source: string,
  r: Omit<AuthorizationRequest, 'entities'>,
  bindings: readonly string[],
  x: DecisionSummary,
  y: DecisionSummary,
) {
  return Object.freeze({
    source,
    principal: entityText(r.principal),
    action: r.action,
    resource: entityText(r.resource),
    bindings: Object.freeze([...bindings]),
    context: r.context,
    before: x,
    after: y,
  });
}

/** Decides an evenly spread sample of the generated requests on both sides; appends flips. */
function sampleFlips(a: Side, b: Side, cases: readonly TestCase[], max: number, flips: DecisionFlip[]) {
  const { principals, resources, contexts } = material(cases);
  const roles: (string | undefined)[] = [undefined, ...new Set([...a.roles, ...b.roles])].sort();
  const actionsFor = (type: string) =>
    [
      ...new Set(
        [...a.engine.actions.values(), ...b.engine.actions.values()]
          .filter((x) => x.resourceTypes.includes(type))
          .map((x) => x.name),
      ),
    ].sort();
  const pairs = resources.flatMap((r) => actionsFor(r.ref.type).map((action) => ({ r, action })));
  const perRole = principals.length * pairs.length * contexts.length;
  const available = roles.length * perRole;
  const count = Math.min(available, Math.max(0, max));
  let role: string | undefined | null = null;
  for (let i = 0; i < count; i++) {
    const index = Math.floor((i * available) / count);
    const nextRole = roles[Math.floor(index / perRole)];
    if (nextRole !== role) {
      role = nextRole;
      const all: RoleBinding[] =
        nextRole === undefined
          ? []
          : principals.flatMap((p, pi) =>
              resources.map((r, ri) => ({
                id: `sample-${pi}-${ri}`,
                role: nextRole,
                principal: p.ref,
                resource: r.ref,
              })),
            );
      a.engine.setBindings(a.usable(all));
      b.engine.setBindings(b.usable(all));
    }
    let rest = index % perRole;
    const ci = rest % contexts.length;
    rest = Math.floor(rest / contexts.length);
    const pair = pairs[rest % pairs.length];
    const p = principals[Math.floor(rest / pairs.length)];
    const context = contexts[ci];
    if (!pair || !p || !context) continue;
    const entities = new Map<string, EntityData>();
    for (const e of [...pair.r.entities, ...p.entities]) entities.set(entityText(e.uid), e);
    const request: AuthorizationRequest = {
      principal: p.ref,
      action: pair.action,
      resource: pair.r.ref,
      context,
      entities: [...entities.values()],
    };
    const x = summary(a.engine.decide(request));
    const y = summary(b.engine.decide(request));
    if (x.decision !== y.decision) {
      const bound =
        role === undefined || role === null
          ? []
          : [`${role}: ${entityText(p.ref)} on ${entityText(pair.r.ref)}`];
      flips.push(flip('sample', request, bound, x, y));
    }
  }
  return { sampled: count, available };
}

/** The diff as text for the CLI. */
export function formatDiff(diff: BundleDiff): string {
  const lines = [`bundle ${diff.from.slice(0, 12)} → ${diff.to.slice(0, 12)}`];
  for (const id of diff.added) lines.push(`  + ${id}`);
  for (const id of diff.removed) lines.push(`  - ${id}`);
  for (const id of diff.changed) lines.push(`  ~ ${id}`);
  if (diff.added.length + diff.removed.length + diff.changed.length === 0) lines.push('  no policy changes');
  if (diff.schemaChanged) lines.push('  ~ schema.cedarschema');
  lines.push(
    `decisions: ${diff.flips.length} flip(s) over ${diff.tested} test case(s) and ${diff.sampled} of ${diff.samplesAvailable} generated request(s)`,
  );
  for (const f of diff.flips) {
    lines.push(
      `  ${f.before.decision} → ${f.after.decision}: ${f.principal} ${f.action} ${f.resource}  [${f.source}]`,
    );
    if (f.bindings.length > 0) lines.push(`      bindings: ${f.bindings.join('; ')}`);
    lines.push(`      before: ${f.before.reason}`);
    lines.push(`      after:  ${f.after.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
