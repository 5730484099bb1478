export { BlobStore } from './blobs.js';
export { openStore, redactUrl, type Store, type StoreOptions } from './database.js';
export type { Dialect } from './dialect.js';
export { endOnce } from './end-once.js';
export { bumpAuthzEpoch, readAuthzEpoch } from './epoch.js';
export type * from './schema.js';
