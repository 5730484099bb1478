/** A project: the unit of ownership. `environments` and `settings` are JSON (see registry/project-settings). */
export interface ProjectTable {
  id: string;
  description: string;
  /** JSON array of environment names, e.g. ["dev","staging","production"]. */
  environments: string;
  /** JSON object: approvals required per stage, metric thresholds, request lifetime. */
  settings: string;
  created_by: string;
  created_ms: number;
  updated_ms: number;
}

/** A signer a project trusts for OMS signatures: an ECDSA public key or a CA certificate (PEM). */
export interface ProjectSignerTable {
  id: string;
  project_id: string;
  name: string;
  kind: 'key' | 'root' | 'intermediate';
  pem: string;
  /** The OMS key hint (hex SHA-256 of the SPKI PEM) for a key; hex SHA-256 of the DER certificate otherwise. */
  fingerprint: string;
  created_by: string;
  created_ms: number;
  revoked_ms: number | null;
}

/** One version of a dataset (a new version digest is a new row). JSON columns hold string arrays. */
export interface DatasetTable {
  id: string;
  project_id: string;
  name: string;
  version_digest: string;
  sensitivity: string;
  domain: string | null;
  owner_id: string | null;
  allowed_purposes: string;
  pii_fields: string;
  location_uri: string;
  description: string | null;
  created_by: string;
  created_ms: number;
}

/** A time-limited grant to read one dataset for one purpose. */
export interface DatasetGrantTable {
  id: string;
  dataset_id: string;
  principal_id: string;
  purpose: string;
  created_ms: number;
  expires_ms: number;
  revoked_ms: number | null;
}

/** A named model in a project; its versions hold the files. */
export interface ModelTable {
  id: string;
  project_id: string;
  name: string;
  description: string | null;
  created_by: string;
  created_ms: number;
}

/**
 * An immutable model version: the manifest (model_files) never changes once inserted. `stage` and
 * `revision` change through the workflow (compare-and-set on `revision`); provenance is set once.
 */
export interface ModelVersionTable {
  id: string;
  model_id: string;
  project_id: string;
  /** 1, 2, 3… per model. */
  number: number;
  /** `sha256:<hex>` of the canonical manifest JSON. */
  manifest_digest: string;
  total_bytes: number;
  file_count: number;
  stage: 'registered' | 'staging' | 'production' | 'retired';
  revision: number;
  created_by: string;
  created_by_type: 'user' | 'service';
  created_ms: number;
  /** The in-toto statement JSON, once attached. */
  provenance: string | null;
  provenance_digest: string | null;
  /** The Warden principal the provenance names as trainer, if any. */
  trainer: string | null;
  stage_changed_ms: number;
  stage_rationale: string | null;
}

/** One file of a version's manifest. */
export interface ModelFileTable {
  version_id: string;
  path: string;
  /** `sha256:<hex>`, the blob's address. */
  digest: string;
  size: number;
}

/** An OMS signature bundle verified against a project signer when attached. */
export interface ModelSignatureTable {
  id: string;
  version_id: string;
  bundle_digest: string;
  bundle: string;
  signer_id: string;
  /** JSON of the verified signer (OmsSigner). */
  signer: string;
  created_by: string;
  created_ms: number;
}

/** A movable name for a version of a model, e.g. `champion`. */
export interface ModelAliasTable {
  model_id: string;
  alias: string;
  version_id: string;
  set_by: string;
  set_ms: number;
}

/** A request to move a version to another stage, with its gate results and lifetime. */
export interface PromotionRequestTable {
  id: string;
  version_id: string;
  from_stage: string;
  target_stage: string;
  rationale: string;
  status: 'pending' | 'completed' | 'rejected' | 'expired' | 'cancelled' | 'failed';
  /** JSON array of gate results. */
  gates: string;
  required_approvals: number;
  requested_by: string;
  requested_ms: number;
  expires_ms: number;
  closed_ms: number | null;
  closed_reason: string | null;
}

/** One approver's approval or rejection of a request; one per approver (primary key). */
export interface PromotionApprovalTable {
  request_id: string;
  approver_id: string;
  decision: 'approve' | 'reject';
  comment: string | null;
  created_ms: number;
}

/** A model-serving endpoint registered in a project (the gateway fronts it). */
export interface EndpointTable {
  id: string;
  project_id: string;
  name: string;
  environment: string;
  upstream_url: string;
  protocol: 'open-inference-v2' | 'openai' | 'http';
  /** JSON object of gateway settings. */
  settings: string;
  revision: number;
  created_by: string;
  created_ms: number;
}

/** A version deployed to an endpoint; exactly one `active` per endpoint at a time. */
export interface DeploymentTable {
  id: string;
  endpoint_id: string;
  version_id: string;
  status: 'active' | 'superseded' | 'rolled_back';
  rationale: string | null;
  deployed_by: string;
  deployed_ms: number;
  ended_ms: number | null;
}

/** A directed lineage edge, e.g. dataset → derived dataset, dataset → model_version, model_version → deployment. */
export interface LineageEdgeTable {
  from_kind: string;
  from_id: string;
  to_kind: string;
  to_id: string;
  relation: string;
  created_ms: number;
}

/** An alert raised by a detector or a monitor; promotion gates refuse while a critical one is open. */
export interface AlertTable {
  id: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  status: 'open' | 'acknowledged' | 'resolved';
  project: string | null;
  subject_type: string;
  subject_id: string;
  summary: string;
  details: string;
  created_ms: number;
  updated_ms: number;
  updated_by: string | null;
  /** One alert per detector window (migration 008); null for alerts raised otherwise. */
  dedupe_key?: string | null;
}

/** The lifecycle tables (migration 004). */
export interface LifecycleTables {
  projects: ProjectTable;
  project_signers: ProjectSignerTable;
  datasets: DatasetTable;
  dataset_grants: DatasetGrantTable;
  models: ModelTable;
  model_versions: ModelVersionTable;
  model_files: ModelFileTable;
  model_signatures: ModelSignatureTable;
  model_aliases: ModelAliasTable;
  promotion_requests: PromotionRequestTable;
  promotion_approvals: PromotionApprovalTable;
  endpoints: EndpointTable;
  deployments: DeploymentTable;
  lineage_edges: LineageEdgeTable;
  alerts: AlertTable;
}
