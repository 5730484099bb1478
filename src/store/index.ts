export { type ArchiveFile, type ArchiveLimits, extractTar } from './archive.js';
export { BlobStore, type StoredBlob } from './blobs.js';
export { openStore, redactUrl, type Store, type StoreOptions } from './database.js';
export type { Dialect } from './dialect.js';
export { endOnce } from './end-once.js';
export { bumpAuthzEpoch, readAuthzEpoch } from './epoch.js';
export type * from './schema.js';
export { checkFolderEntries, type FolderEntry } from './upload-folder.js';
export { checkManifestPaths, PATH_LIMITS } from './upload-paths.js';
