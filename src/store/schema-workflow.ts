/**
 * The production version a version replaced when it reached production (null for a model's first);
 * rolling a production version back restores `previous_version_id`.
 */
export interface ProductionHistoryTable {
  version_id: string;
  model_id: string;
  previous_version_id: string | null;
  promoted_ms: number;
}

/** The workflow's own tables (migration 007). */
export interface WorkflowTables {
  production_history: ProductionHistoryTable;
}
