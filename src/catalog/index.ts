export {
  type Caller,
  Datasets,
  type DatasetView,
  GRANT_MINUTES,
  type GrantView,
  type NewDataset,
  SENSITIVITIES,
} from './datasets.js';
export { LINEAGE_LIMITS, Lineage, type LineageGraph, type LineageNode } from './lineage.js';
export { addLineageEdges, type LineageEdge, type LineageKind } from './lineage-edges.js';
export { type ProjectSettings, parseProjectSettings, projectSettingsSchema } from './project-settings.js';
export { DEFAULT_ENVIRONMENTS, Projects, type ProjectView, projectRow, type SignerView } from './projects.js';
export { catalogResolver } from './resolver.js';
export { type CheckedSigner, checkSignerPem, type SignerKind } from './signer-pem.js';
export { type ProjectTrust, projectTrust } from './trust.js';
