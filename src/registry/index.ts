export { compareUtf8, type ManifestFile, manifestDigest } from './manifest.js';
export { type ModelDetail, Models } from './models.js';
export {
  type ParsedProvenance,
  type ProvenanceDataset,
  type ProvenanceFacts,
  parseProvenance,
  provenanceFacts,
  SLSA_PROVENANCE_V1,
  STATEMENT_V1,
} from './provenance.js';
export { Provenances } from './provenances.js';
export { Signatures } from './signatures.js';
export { type VersionFileStream, Versions } from './versions.js';
export type { ModelView, ProvenanceView, SignatureView, VersionView } from './views.js';
