import type { Generated } from 'kysely';
import type { LifecycleTables } from './schema-lifecycle.js';
import type { MonitorTables } from './schema-monitor.js';
import type { WorkflowTables } from './schema-workflow.js';

/**
 * An audit event row, written once by `record`; `body` is null once purged. Its place in the log is the
 * `seq` of the leaf whose `pos` is this row's `pos` (none while the event waits in `ledger_queue`).
 */
export interface LedgerEventTable {
  pos: Generated<number>;
  id: string;
  body: string | null;
  time_ms: number;
  actor_type: string;
  actor_id: string;
  action: string;
  resource_type: string;
  resource_id: string;
  outcome: string;
  project: string | null;
  purged_at: number | null;
}

/** Leaf hashes by sequence number, each with the position of the event it hashes: insert-only. */
export interface LedgerLeafTable {
  seq: number;
  hash: Buffer;
  /** `ledger_events.pos` of the event (unique; null only for leaves written without an event row). */
  pos: number | null;
}

/** Recorded events not yet integrated, with their leaf hashes; the integrator deletes the rows it takes. */
export interface LedgerQueueTable {
  pos: number;
  hash: Buffer;
}

/** Audit query keys of integrated events (`ledger_actor_keys`, `ledger_resource_keys`): insert-only. */
export interface LedgerActorKeyTable {
  actor_id: string;
  pos: number;
}

export interface LedgerResourceKeyTable {
  resource_id: string;
  pos: number;
}

/** One row: the leaves [0, indexed) have their events' keys stored (it only grows). */
export interface LedgerKeysStateTable {
  id: number;
  indexed: number;
}

/** Hashes at tree level 8·tile_level (tile_level ≥ 1) of completed subtrees: insert-only. */
export interface LedgerTileHashTable {
  tile_level: number;
  idx: number;
  hash: Buffer;
}

/** Signed checkpoints, one per integrated batch: insert-only. */
export interface LedgerCheckpointTable {
  size: number;
  note: string;
  created_ms: number;
}

/** Legal holds that block retention purges of matching event bodies. */
export interface LegalHoldTable {
  id: string;
  project: string | null;
  resource_type: string | null;
  resource_id: string | null;
  from_ms: number | null;
  to_ms: number | null;
  reason: string;
  created_by: string;
  created_ms: number;
  released_ms: number | null;
  released_by: string | null;
}

/** Users, groups and service accounts. */
export interface PrincipalTable {
  id: string;
  type: 'user' | 'service' | 'group';
  name: string;
  status: 'active' | 'suspended' | 'deactivated';
  is_admin: number;
  created_ms: number;
  display_name: string | null;
  email: string | null;
  /** SCIM externalId. */
  external_id: string | null;
  /** OIDC issuer and subject, for federated users. */
  issuer: string | null;
  subject: string | null;
  password_hash: string | null;
  /** TOTP seed sealed with the deployment key. */
  totp_secret: string | null;
  totp_last_step: number | null;
  /** JSON object of attributes the policy sees. */
  attributes: string | null;
  updated_ms: number | null;
  /** Until when a detector suspended the principal (migration 008); authentication refuses it before then. */
  suspended_until_ms?: number | null;
}

/** API tokens, kept only as SHA-256 of the secret. */
export interface ApiTokenTable {
  id: string;
  principal_id: string;
  token_sha256: string;
  description: string;
  scopes: string;
  created_ms: number;
  expires_ms: number | null;
  last_used_ms: number | null;
  revoked_ms: number | null;
  mfa_until_ms: number | null;
  /** Until when a detector suspended the token (migration 008); authentication refuses it before then. */
  suspended_until_ms: Generated<number | null>;
}

/** Group membership (groups are principals of type `group`). */
export interface GroupMemberTable {
  group_id: string;
  member_id: string;
}

/** Interactive sessions, kept only as SHA-256 of the session secret. */
export interface SessionTable {
  id: string;
  principal_id: string;
  token_sha256: string;
  method: string;
  created_ms: number;
  last_seen_ms: number;
  idle_timeout_ms: number;
  expires_ms: number;
  mfa_until_ms: number | null;
  revoked_ms: number | null;
  /** JSON array of group names an identity provider asserted at sign-in (single sign-on sessions). */
  claim_groups: string | null;
}

/** A role granted to a principal or group on a resource, optionally until a time. */
export interface RoleBindingTable {
  id: string;
  principal_type: string;
  principal_id: string;
  role: string;
  resource_type: string;
  resource_id: string;
  expires_ms: number | null;
  reason: string | null;
  created_by: string;
  created_ms: number;
  revoked_ms: number | null;
  revoked_by: string | null;
}

/** Every applied policy bundle; the highest version is active. */
export interface PolicyBundleTable {
  version: number;
  hash: string;
  files: string;
  applied_by: string;
  applied_ms: number;
}

/** A counter bumped by every change that can alter a decision; replicas drop caches when it moves. */
export interface AuthzEpochTable {
  id: number;
  epoch: number;
}

/** Small deployment-wide facts (bootstrap state). */
export interface SettingTable {
  key: string;
  value: string;
}

export interface Database extends LifecycleTables, WorkflowTables, MonitorTables {
  ledger_events: LedgerEventTable;
  ledger_leaves: LedgerLeafTable;
  ledger_queue: LedgerQueueTable;
  ledger_actor_keys: LedgerActorKeyTable;
  ledger_resource_keys: LedgerResourceKeyTable;
  ledger_keys_state: LedgerKeysStateTable;
  ledger_tile_hashes: LedgerTileHashTable;
  ledger_checkpoints: LedgerCheckpointTable;
  legal_holds: LegalHoldTable;
  principals: PrincipalTable;
  api_tokens: ApiTokenTable;
  settings: SettingTable;
  group_members: GroupMemberTable;
  sessions: SessionTable;
  role_bindings: RoleBindingTable;
  policy_bundles: PolicyBundleTable;
  authz_epoch: AuthzEpochTable;
}
