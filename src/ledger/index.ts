export { type CallScope, currentCallScope, withCallScope } from './call-scope.js';
export { type CloudEvent, cloudEventToInput, MAX_BATCH, parseCloudEvents } from './cloudevents.js';
export type { EventActor, EventDecision, EventInput, EventOutcome, LedgerEvent } from './event.js';
export {
  EXPORT_FILES,
  type ExportEntry,
  type ExportHeader,
  exportLines,
  exportSource,
  writeExportDir,
} from './export.js';
export { Integrator, type IntegratorOptions } from './integrator.js';
export { readSignerKeyFile } from './keyfile.js';
export { type LedgerKeys, loadOrCreateLedgerKeys } from './keys.js';
export { AdvisoryLockLeadership, type Leadership, SoleLeadership } from './leadership.js';
export { type EventQuery, Ledger, type LedgerInfo, type StoredEvent } from './ledger.js';
export {
  storedCheckpoints,
  storedLeafPages,
  storedLeaves,
  storedTileHashes,
  verifyStore,
} from './live-source.js';
export { leafHash, leafHashOfText, verifyConsistency, verifyInclusion } from './merkle.js';
export { parseVkey } from './note.js';
export { parseTlogProof } from './proof-text.js';
export { Recorder } from './recorder.js';
export { type HoldScope, type LegalHold, MAX_RETENTION_DAYS, Retention } from './retention.js';
export { SensitiveFields } from './sensitive.js';
export { parseTilePath, TILE_WIDTH } from './tiles.js';
export { type FailureKind, type VerifyResult, verifyLog } from './verify.js';
