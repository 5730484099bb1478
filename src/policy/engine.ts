import {
  type ActionConstraint,
  type AuthorizationAnswer,
  type EntityJson,
  type EntityUidJson,
  policyToJson,
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  type TemplateLink,
  templateToJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import {
  type Clock,
  canonicalJson,
  type FieldIssue,
  invalidInput,
  sha256Hex,
  systemClock,
} from '../core/index.js';
import { type BundlePolicy, bundleHash, type PolicyBundle } from './bundle.js';
import { entityText, errorText } from './cedar.js';
import { type ActionInfo, type SchemaInfo, schemaInfo } from './schema.js';
import type {
  AuthorizationRequest,
  CedarValue,
  DecisionError,
  EntityData,
  EntityRef,
  PolicyDecision,
  RoleBinding,
} from './types.js';
import { type BundleIssue, bundleRefused, validateBundle } from './validate.js';

/** Why a binding did or did not take part in a decision. */
export type BindingStatus =
  | 'permitted'
  | 'errored'
  | 'in-scope'
  | 'action-not-in-role'
  | 'resource-out-of-scope'
  | 'expired';

/** A binding of the request's principal (directly or through a group) and what became of it. */
export interface BindingConsideration {
  readonly binding: RoleBinding;
  readonly status: BindingStatus;
}

/** A policy or role template of the bundle and its part in the decision. */
export interface PolicyConsideration {
  readonly id: string;
  readonly kind: 'template' | 'static';
  readonly effect: 'permit' | 'forbid';
  readonly file: string;
  readonly line: number;
  /** The policy's action scope covers the request's action. */
  readonly coversAction: boolean;
  readonly determining: boolean;
  readonly errored: boolean;
}

/** A decision with the bindings and policies that were weighed to reach it. */
export interface Explanation {
  readonly decision: PolicyDecision;
  readonly principalAncestors: readonly string[];
  readonly resourceAncestors: readonly string[];
  readonly bindings: readonly BindingConsideration[];
  readonly policies: readonly PolicyConsideration[];
}

/** Options of a PolicyEngine. */
export interface PolicyEngineOptions {
  /** The time source for binding expiry (tests pass a fixed clock). */
  readonly clock?: Clock;
}

/** What the engine knows about a validated bundle; computed once per bundle object. */
interface Analysis {
  readonly hash: string;
  readonly schema: SchemaInfo;
  readonly schemaName: string;
  readonly policies: ReadonlyMap<string, BundlePolicy>;
  /** Action names each policy's scope covers; undefined means every action. */
  readonly scopes: ReadonlyMap<string, ReadonlySet<string> | undefined>;
  readonly staticPolicies: Readonly<Record<string, string>>;
  readonly templates: Readonly<Record<string, string>>;
  readonly warnings: readonly BundleIssue[];
}

/** One compiled generation: a bundle plus bindings, preparsed under `policySetId`. */
interface Compiled {
  readonly analysis: Analysis;
  readonly bundle: PolicyBundle;
  /** Every binding given (the bundle's shipped ones first), expired ones included. */
  readonly bindings: readonly RoleBinding[];
  readonly byLink: ReadonlyMap<string, RoleBinding>;
  readonly bindingsVersion: string;
  readonly nextExpiry: number | undefined;
  readonly policySetId: string;
}

/** Analyses of recent bundles by hash: validating costs ~100 ms, and the same bundle comes back often. */
const analyses = new Map<string, Analysis>();
const ANALYSES_KEPT = 16;
const preparsedSchemas = new Set<string>();
let engines = 0;

const LINK_PREFIX = 'binding:';
const linkId = (b: RoleBinding) => `${LINK_PREFIX}${b.id}`;

function actionIds(c: ActionConstraint): ReadonlySet<string> | undefined {
  const id = (e: EntityUidJson) => ('__entity' in e ? e.__entity.id : e.id);
  if (c.op === 'All') return undefined;
  if ('entity' in c) return new Set([id(c.entity)]);
  if ('entities' in c) return new Set(c.entities.map(id));
  return undefined;
}

/** Validates a bundle once (refusing it with located errors) and prepares what decisions need. */
function analyse(bundle: PolicyBundle): Analysis {
  const hash = bundleHash(bundle);
  const known = analyses.get(hash);
  if (known) return known;
  const validation = validateBundle(bundle);
  if (validation.errors.length > 0) throw bundleRefused(validation.errors);
  const schemaName = `warden-schema:${hash}`;
  if (!preparsedSchemas.has(schemaName)) {
    const answer = preparseSchema(schemaName, bundle.schema);
    if (answer.type === 'failure')
      throw new Error(`schema did not preparse: ${answer.errors.map(errorText)}`);
    preparsedSchemas.add(schemaName);
  }
  const scopes = new Map<string, ReadonlySet<string> | undefined>();
  for (const p of bundle.policies) {
    const json = p.kind === 'template' ? templateToJson(p.text) : policyToJson(p.text);
    scopes.set(p.id, json.type === 'success' ? actionIds(json.json.action) : undefined);
  }
  const of = (kind: BundlePolicy['kind']) =>
    Object.freeze(
      Object.fromEntries(bundle.policies.filter((p) => p.kind === kind).map((p) => [p.id, p.text])),
    );
  const analysis: Analysis = Object.freeze({
    hash,
    schema: schemaInfo(bundle.schema),
    schemaName,
    policies: new Map(bundle.policies.map((p) => [p.id, p])),
    scopes,
    staticPolicies: of('static'),
    templates: of('template'),
    warnings: validation.warnings,
  });
  if (analyses.size >= ANALYSES_KEPT) analyses.delete(analyses.keys().next().value as string);
  analyses.set(hash, analysis);
  return analysis;
}

function checkBindings(analysis: Analysis, bindings: readonly RoleBinding[]): void {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const b of bindings) {
    const field = `binding ${b.id}`;
    if (seen.has(b.id)) issues.push({ field, message: 'duplicate binding id' });
    seen.add(b.id);
    if (!analysis.policies.has(`role:${b.role}`)) {
      issues.push({ field, message: `no role template role:${b.role} in the bundle` });
    }
    for (const [what, ref] of [
      ['principal', b.principal],
      ['resource', b.resource],
    ] as const) {
      if (!analysis.schema.entityTypes.has(ref.type)) {
        issues.push({
          field,
          message: `${what} ${entityText(ref)}: the schema has no entity type ${ref.type}`,
        });
      }
    }
  }
  if (issues.length > 0) throw invalidInput(issues);
}

function cedarEntities(entities: readonly EntityData[]): EntityJson[] {
  return entities.map((e) => ({
    uid: e.uid,
    attrs: (e.attrs ?? {}) as Record<string, CedarValue>,
    parents: (e.parents ?? []) as EntityRef[],
  }));
}

/** The entity and its ancestors, by Cedar text, as far as the request's entities tell. */
function ancestorsOrSelf(ref: EntityRef, entities: readonly EntityData[]): string[] {
  const parents = new Map(entities.map((e) => [entityText(e.uid), (e.parents ?? []).map(entityText)]));
  const out = new Set<string>([entityText(ref)]);
  const queue = [...out];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const p of parents.get(next) ?? []) {
      if (!out.has(p)) {
        out.add(p);
        queue.push(p);
      }
    }
  }
  return [...out];
}

const frozenSorted = (items: Iterable<string>) => Object.freeze([...new Set(items)].sort());

/**
 * Decides Cedar requests against one bundle and a set of role bindings (template links). The bundle is
 * validated and preparsed once per (bundle hash, bindings version); `load` and `setBindings` swap the
 * compiled generation atomically, and a refused bundle or binding leaves the previous one in force.
 * Expired bindings never permit: they are left out at compile time, and the first decision after the
 * earliest expiry recompiles. Any Cedar error denies (fail closed).
 */
export class PolicyEngine {
  readonly #clock: Clock;
  readonly #slot: string;
  #generation = 0;
  #state: Compiled;

  constructor(
    bundle: PolicyBundle,
    bindings: readonly RoleBinding[] = [],
    options: PolicyEngineOptions = {},
  ) {
    this.#clock = options.clock ?? systemClock;
    engines += 1;
    this.#slot = `warden-policies:${engines}`;
    this.#state = this.#compile(bundle, bindings, undefined);
  }

  /** The bundle in force. */
  get bundle(): PolicyBundle {
    return this.#state.bundle;
  }

  /** The hash of the bundle in force (see bundleHash). */
  get bundleHash(): string {
    return this.#state.analysis.hash;
  }

  /** SHA-256 of the bindings that are in force now (expired ones excluded). */
  get bindingsVersion(): string {
    return this.#current().bindingsVersion;
  }

  /** When the next binding expires (epoch ms), if any will. */
  get nextExpiry(): number | undefined {
    return this.#current().nextExpiry;
  }

  /** Validation warnings of the bundle in force (they do not refuse it). */
  get warnings(): readonly BundleIssue[] {
    return this.#state.analysis.warnings;
  }

  /** The entity types the schema declares. */
  get entityTypes(): ReadonlySet<string> {
    return this.#state.analysis.schema.entityTypes;
  }

  /** The schema's actions, by name. */
  get actions(): ReadonlyMap<string, ActionInfo> {
    return this.#state.analysis.schema.actions;
  }

  /** Swaps in a new bundle (and optionally new bindings); throws, keeping the old state, if either is refused. */
  load(bundle: PolicyBundle, bindings?: readonly RoleBinding[]): void {
    const given = bindings ?? this.#state.bindings.slice(this.#state.bundle.bindings.length);
    this.#state = this.#compile(bundle, given, this.#state);
  }

  /** Swaps in a new set of bindings; throws, keeping the old state, if one is refused. */
  setBindings(bindings: readonly RoleBinding[]): void {
    this.#state = this.#compile(this.#state.bundle, bindings, this.#state);
  }

  /** Decides one request. */
  decide(request: AuthorizationRequest): PolicyDecision {
    const state = this.#current();
    const action = state.analysis.schema.actions.get(request.action);
    const answer = statefulIsAuthorized({
      principal: request.principal,
      action: { type: action?.type ?? 'Action', id: request.action },
      resource: request.resource,
      context: request.context as Record<string, CedarValue>,
      entities: cedarEntities(request.entities),
      preparsedPolicySetId: state.policySetId,
      preparsedSchemaName: state.analysis.schemaName,
      validateRequest: true,
    });
    return decisionOf(state, request, answer);
  }

  /** Decides one request and reports which bindings and policies were weighed. */
  explain(request: AuthorizationRequest): Explanation {
    const decision = this.decide(request);
    const state = this.#current();
    const now = this.#clock.now();
    const principals = ancestorsOrSelf(request.principal, request.entities);
    const resources = ancestorsOrSelf(request.resource, request.entities);
    const covers = (id: string) => {
      const scope = state.analysis.scopes.get(id);
      return scope === undefined || scope.has(request.action);
    };
    const erroredBindings = new Set(decision.errors.map((e) => e.binding));
    const bindings = state.bindings
      .filter((b) => principals.includes(entityText(b.principal)))
      .map((binding): BindingConsideration => {
        let status: BindingStatus = 'in-scope';
        if (binding.expiresAt !== undefined && binding.expiresAt <= now) status = 'expired';
        else if (!covers(`role:${binding.role}`)) status = 'action-not-in-role';
        else if (!resources.includes(entityText(binding.resource))) status = 'resource-out-of-scope';
        else if (erroredBindings.has(binding.id)) status = 'errored';
        else if (decision.bindings.includes(binding.id)) status = 'permitted';
        return Object.freeze({ binding, status });
      });
    const erroredPolicies = new Set(decision.errors.map((e) => e.policy));
    const policies = [...state.analysis.policies.values()].map(
      (p): PolicyConsideration =>
        Object.freeze({
          id: p.id,
          kind: p.kind,
          effect: p.effect,
          file: p.file,
          line: p.line,
          coversAction: covers(p.id),
          determining: decision.policies.includes(p.id) && !erroredPolicies.has(p.id),
          errored: erroredPolicies.has(p.id),
        }),
    );
    return Object.freeze({
      decision,
      principalAncestors: Object.freeze(principals),
      resourceAncestors: Object.freeze(resources),
      bindings: Object.freeze(bindings),
      policies: Object.freeze(policies),
    });
  }

  /**
   * The actions `principal` may take on `resource`: every schema action that applies to both types,
   * decided with `context` (default: the schema's minimal context — no MFA, no purpose).
   */
  permissions(
    principal: EntityRef,
    resource: EntityRef,
    entities: readonly EntityData[],
    context?: Readonly<Record<string, CedarValue>>,
  ): readonly string[] {
    const allowed: string[] = [];
    for (const action of this.#current().analysis.schema.actions.values()) {
      if (!action.resourceTypes.includes(resource.type) || !action.principalTypes.includes(principal.type))
        continue;
      const request = {
        principal,
        action: action.name,
        resource,
        context: context ?? action.minimalContext,
        entities,
      };
      if (this.decide(request).allowed) allowed.push(action.name);
    }
    return frozenSorted(allowed);
  }

  /** The compiled state, recompiled first if a binding has expired since it was built. */
  #current(): Compiled {
    const state = this.#state;
    if (state.nextExpiry !== undefined && this.#clock.now() >= state.nextExpiry) {
      this.#state = this.#compile(state.bundle, state.bindings.slice(state.bundle.bindings.length), state);
    }
    return this.#state;
  }

  #compile(bundle: PolicyBundle, given: readonly RoleBinding[], previous: Compiled | undefined): Compiled {
    const analysis = analyse(bundle);
    const bindings = [...bundle.bindings, ...given];
    checkBindings(analysis, bindings);
    const now = this.#clock.now();
    const active = bindings
      .filter((b) => b.expiresAt === undefined || b.expiresAt > now)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const bindingsVersion = sha256Hex(
      canonicalJson(
        active.map((b) => ({ id: b.id, role: b.role, principal: b.principal, resource: b.resource })),
      ),
    );
    const expiries = active.map((b) => b.expiresAt).filter((t) => t !== undefined);
    const nextExpiry = expiries.length > 0 ? Math.min(...expiries) : undefined;

    let policySetId = previous?.policySetId;
    if (
      previous === undefined ||
      previous.analysis.hash !== analysis.hash ||
      previous.bindingsVersion !== bindingsVersion
    ) {
      // Two slots per engine: the new generation is preparsed beside the one in force, then swapped in.
      this.#generation += 1;
      policySetId = `${this.#slot}:${this.#generation % 2}`;
      const templateLinks: TemplateLink[] = active.map((b) => ({
        templateId: `role:${b.role}`,
        newId: linkId(b),
        values: { '?principal': b.principal, '?resource': b.resource },
      }));
      const answer = preparsePolicySet(policySetId, {
        staticPolicies: analysis.staticPolicies,
        templates: analysis.templates,
        templateLinks,
      });
      if (answer.type === 'failure')
        throw invalidInput(answer.errors.map((e) => ({ field: 'bindings', message: errorText(e) })));
    }
    return Object.freeze({
      analysis,
      bundle,
      bindings: Object.freeze(bindings),
      byLink: new Map(bindings.map((b) => [linkId(b), b])),
      bindingsVersion,
      nextExpiry,
      policySetId: policySetId as string,
    });
  }
}

function decisionOf(
  state: Compiled,
  request: AuthorizationRequest,
  answer: AuthorizationAnswer,
): PolicyDecision {
  const bundle = state.analysis.hash;
  const named = (id: string): { policy: string; binding?: string } => {
    const b = state.byLink.get(id);
    return b ? { policy: `role:${b.role}`, binding: b.id } : { policy: id };
  };
  const describe = (id: string): string => {
    const b = state.byLink.get(id);
    if (b) return `role:${b.role} (binding ${b.id}: ${entityText(b.principal)} on ${entityText(b.resource)})`;
    const why = state.analysis.policies.get(id)?.annotations.reason;
    return why ? `${id} (${why})` : id;
  };
  const freeze = (
    allowed: boolean,
    ids: readonly string[],
    reason: string,
    errors: readonly DecisionError[],
  ): PolicyDecision => {
    const names = ids.map(named);
    return Object.freeze({
      allowed,
      policies: frozenSorted(names.map((n) => n.policy)),
      bindings: frozenSorted(names.flatMap((n) => (n.binding === undefined ? [] : [n.binding]))),
      reason,
      errors: Object.freeze(errors.map((e) => Object.freeze(e))),
      bundle,
    });
  };

  if (answer.type === 'failure') {
    const errors = answer.errors.map((e) => ({ message: errorText(e) }));
    return freeze(
      false,
      [],
      `denied (fail closed): the request could not be evaluated: ${errors[0]?.message}`,
      errors,
    );
  }
  const { decision, diagnostics } = answer.response;
  if (diagnostics.errors.length > 0) {
    const errors = diagnostics.errors.map((e) => ({ ...named(e.policyId), message: errorText(e.error) }));
    const erroring = diagnostics.errors.map((e) => e.policyId);
    const ids = decision === 'deny' ? [...diagnostics.reason, ...erroring] : erroring;
    const first = diagnostics.errors[0];
    const what = first ? `${describe(first.policyId)} could not be evaluated: ${errorText(first.error)}` : '';
    return freeze(false, ids, `denied (fail closed): ${what}`, errors);
  }
  if (decision === 'allow') {
    return freeze(
      true,
      diagnostics.reason,
      `permitted by ${diagnostics.reason.map(describe).join('; ')}`,
      [],
    );
  }
  if (diagnostics.reason.length > 0) {
    return freeze(
      false,
      diagnostics.reason,
      `forbidden by ${diagnostics.reason.map(describe).join('; ')}`,
      [],
    );
  }
  return freeze(
    false,
    [],
    `no policy permits ${request.action} on ${entityText(request.resource)} for ${entityText(request.principal)}`,
    [],
  );
}
