import { canonicalJson, sha256Hex } from '../core/index.js';

/** One file of a version's manifest: relative path, `sha256:<hex>` digest, size in bytes. */
export interface ManifestFile {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

/** Orders paths by their UTF-8 bytes, the manifest's fixed order. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The files sorted by the UTF-8 bytes of their paths, as the manifest lists them. */
export function sortManifest(files: readonly ManifestFile[]): ManifestFile[] {
  return [...files].sort((a, b) => compareUtf8(a.path, b.path));
}

/**
 * The manifest digest: `sha256:` + hex SHA-256 of the JCS text of `{files: [{path, digest, size}]}`
 * with files sorted by the UTF-8 bytes of their paths. Anyone holding the manifest can recompute it.
 */
export function manifestDigest(files: readonly ManifestFile[]): string {
  const sorted = sortManifest(files).map((f) => ({ path: f.path, digest: f.digest, size: f.size }));
  return `sha256:${sha256Hex(canonicalJson({ files: sorted }))}`;
}
