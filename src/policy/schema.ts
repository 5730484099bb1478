import { schemaToJsonWithResolvedTypes } from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValue } from './types.js';

/** One action of a schema and what it applies to. */
export interface ActionInfo {
  readonly name: string;
  /** The action's entity type: `Action`, or `NS::Action` in a namespace. */
  readonly type: string;
  readonly principalTypes: readonly string[];
  readonly resourceTypes: readonly string[];
  /** The smallest context the schema accepts: required Booleans false, strings empty, sets empty. */
  readonly minimalContext: Readonly<Record<string, CedarValue>>;
}

/** What the engine needs to know about a schema. */
export interface SchemaInfo {
  readonly entityTypes: ReadonlySet<string>;
  readonly actions: ReadonlyMap<string, ActionInfo>;
}

type JsonType = { type: string; name?: string; element?: JsonType; attributes?: Record<string, JsonAttr> };
type JsonAttr = JsonType & { required?: boolean };
interface JsonNamespace {
  commonTypes?: Record<string, JsonType>;
  entityTypes: Record<string, unknown>;
  actions: Record<
    string,
    { appliesTo?: { principalTypes: string[]; resourceTypes: string[]; context?: JsonType } }
  >;
}

const qualify = (ns: string, name: string) => (name.includes('::') || ns === '' ? name : `${ns}::${name}`);

function zero(t: JsonType | undefined, common: Record<string, JsonType>, depth = 0): CedarValue | undefined {
  if (t === undefined || depth > 32) return undefined;
  switch (t.type) {
    case 'Boolean':
    case 'Bool':
      return false;
    case 'String':
      return '';
    case 'Long':
      return 0;
    case 'Set':
      return [];
    case 'Record': {
      const out: Record<string, CedarValue> = {};
      for (const [k, a] of Object.entries(t.attributes ?? {})) {
        if (a.required === false) continue;
        const v = zero(a, common, depth + 1);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    default:
      // A common type by name; entities and extension values have no neutral value.
      return common[t.type] ? zero(common[t.type], common, depth + 1) : undefined;
  }
}

/** Reads a (parseable) Cedar schema's entity types and actions; throws when it does not parse. */
export function schemaInfo(schemaText: string): SchemaInfo {
  const answer = schemaToJsonWithResolvedTypes(schemaText);
  if (answer.type === 'failure') throw new Error(answer.errors.map((e) => e.message).join('; '));
  const entityTypes = new Set<string>();
  const actions = new Map<string, ActionInfo>();
  for (const [ns, def] of Object.entries(answer.json as unknown as Record<string, JsonNamespace>)) {
    for (const name of Object.keys(def.entityTypes)) entityTypes.add(qualify(ns, name));
    const common = Object.fromEntries(
      Object.entries(def.commonTypes ?? {}).map(([k, v]) => [k, v] as const),
    ) as Record<string, JsonType>;
    for (const [name, action] of Object.entries(def.actions)) {
      const applies = action.appliesTo;
      const context = zero(applies?.context ?? { type: 'Record', attributes: {} }, common);
      actions.set(
        name,
        Object.freeze({
          name,
          type: qualify(ns, 'Action'),
          principalTypes: Object.freeze((applies?.principalTypes ?? []).map((t) => qualify(ns, t))),
          resourceTypes: Object.freeze((applies?.resourceTypes ?? []).map((t) => qualify(ns, t))),
          minimalContext: Object.freeze((context ?? {}) as Record<string, CedarValue>),
        }),
      );
    }
  }
  return Object.freeze({ entityTypes, actions });
}
