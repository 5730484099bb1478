export { addLineageEdges, type LineageEdge, type LineageKind } from './lineage-edges.js';
export { type ProjectSettings, parseProjectSettings, projectSettingsSchema } from './project-settings.js';
export { catalogResolver } from './resolver.js';
export { type ProjectTrust, projectTrust } from './trust.js';
