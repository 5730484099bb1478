import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';

/** A Cedar value as JSON (entity references as `{ "__entity": { type, id } }` or, where the schema expects one, `{ type, id }`). */
export type CedarValue = CedarValueJson;

/** An entity named by type and id, e.g. `{ type: 'Project', id: 'fraud' }` for `Project::"fraud"`. */
export interface EntityRef {
  readonly type: string;
  readonly id: string;
}

/** One entity a request touches: its attributes and its direct parents (groups, containing project…). */
export interface EntityData {
  readonly uid: EntityRef;
  readonly attrs?: Readonly<Record<string, CedarValue>>;
  readonly parents?: readonly EntityRef[];
}

/** "principal has role on resource (and everything inside it), optionally until expiresAt". */
export interface RoleBinding {
  readonly id: string;
  /** The role's name: the template `role:<name>`. */
  readonly role: string;
  /** A User, ServiceAccount or Group. */
  readonly principal: EntityRef;
  readonly resource: EntityRef;
  /** Epoch milliseconds after which the binding no longer permits anything. */
  readonly expiresAt?: number;
}

/** One authorization question. `entities` holds only what the request touches, with ancestors. */
export interface AuthorizationRequest {
  readonly principal: EntityRef;
  /** The action's name, e.g. `dataset.read` (the entity `Action::"dataset.read"`). */
  readonly action: string;
  readonly resource: EntityRef;
  readonly context: Readonly<Record<string, CedarValue>>;
  readonly entities: readonly EntityData[];
}

/** A Cedar error met while deciding; any of them turns the decision into a deny. */
export interface DecisionError {
  /** The policy that failed to evaluate (a binding's role id for links), absent for request-level errors. */
  readonly policy?: string;
  readonly binding?: string;
  readonly message: string;
}

/** The engine's answer: who decided, in words, and any errors (which always deny). */
export interface PolicyDecision {
  readonly allowed: boolean;
  /** Deciding policy ids: `role:<name>` for bindings, `@id` annotations otherwise. Sorted. */
  readonly policies: readonly string[];
  /** Ids of the bindings whose links decided. Sorted. */
  readonly bindings: readonly string[];
  readonly reason: string;
  readonly errors: readonly DecisionError[];
  /** The hash of the bundle that decided. */
  readonly bundle: string;
}
