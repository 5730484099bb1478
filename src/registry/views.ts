import type { Kysely } from 'kysely';
import { rfc3339, WardenError } from '../core/index.js';
import type { Database, ModelTable, ModelVersionTable } from '../store/index.js';
import { type ManifestFile, sortManifest } from './manifest.js';
import type { OmsSigner } from './oms/index.js';
import { type ProvenanceFacts, provenanceFacts } from './provenance.js';

/** A model as the API shows it. */
export interface ModelView {
  readonly id: string;
  readonly project: string;
  readonly name: string;
  readonly description: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
}

/** A verified signature attached to a version, with the project signer it chained to. */
export interface SignatureView {
  readonly id: string;
  readonly bundleDigest: string;
  readonly signer: {
    readonly id: string;
    readonly name: string;
    readonly kind: string;
    readonly fingerprint: string;
    readonly revokedAt: string | null;
  };
  /** What the verifier established (key fingerprint, or certificate chain). */
  readonly verified: OmsSigner;
  /** Version files the bundle's ignore paths leave uncovered. */
  readonly ignored: readonly string[];
  readonly createdBy: string;
  readonly createdAt: string;
}

/** A version's provenance: its digest and the facts the gates read. */
export type ProvenanceView = { readonly digest: string } & ProvenanceFacts;

/** A model version as the API shows it: manifest, signatures, provenance summary, stage, aliases. */
export interface VersionView {
  readonly id: string;
  readonly project: string;
  readonly model: { readonly id: string; readonly name: string };
  readonly number: number;
  readonly manifestDigest: string;
  readonly totalBytes: number;
  readonly fileCount: number;
  readonly files: readonly ManifestFile[];
  readonly stage: ModelVersionTable['stage'];
  readonly revision: number;
  /** Signed by a signer the project still trusts. */
  readonly signed: boolean;
  readonly signatures: readonly SignatureView[];
  readonly provenance: ProvenanceView | null;
  readonly aliases: readonly string[];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly stageChangedAt: string;
}

/** The model row, or 404. */
export async function modelRow(db: Kysely<Database>, id: string): Promise<ModelTable> {
  const row = await db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new WardenError('WARDEN_NOT_FOUND', `model ${id} not found`);
  return row;
}

/** The version row, or 404. */
export async function versionRow(db: Kysely<Database>, id: string): Promise<ModelVersionTable> {
  const row = await db.selectFrom('model_versions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new WardenError('WARDEN_NOT_FOUND', `model version ${id} not found`);
  return row;
}

/** A version's manifest in manifest order. */
export async function versionFiles(db: Kysely<Database>, versionId: string): Promise<ManifestFile[]> {
  const rows = await db
    .selectFrom('model_files')
    .select(['path', 'digest', 'size'])
    .where('version_id', '=', versionId)
    .execute();
  return sortManifest(rows.map((r) => ({ path: r.path, digest: r.digest, size: Number(r.size) })));
}

/** The model as the API shows it. */
export function toModel(r: ModelTable): ModelView {
  return {
    id: r.id,
    project: r.project_id,
    name: r.name,
    description: r.description,
    createdBy: r.created_by,
    createdAt: rfc3339(Number(r.created_ms)),
  };
}

/** Everything the API shows about one version. */
export async function versionView(db: Kysely<Database>, id: string): Promise<VersionView> {
  const v = await versionRow(db, id);
  const model = await modelRow(db, v.model_id);
  const files = await versionFiles(db, id);
  const sigs = await db
    .selectFrom('model_signatures as s')
    .innerJoin('project_signers as p', 'p.id', 's.signer_id')
    .select([
      's.id',
      's.bundle_digest',
      's.signer',
      's.created_by',
      's.created_ms',
      'p.id as signer_id',
      'p.name',
      'p.kind',
      'p.fingerprint',
      'p.revoked_ms',
    ])
    .where('s.version_id', '=', id)
    .orderBy('s.created_ms')
    .orderBy('s.id')
    .execute();
  const aliases = await db
    .selectFrom('model_aliases')
    .select('alias')
    .where('version_id', '=', id)
    .orderBy('alias')
    .execute();
  const signatures = sigs.map((s): SignatureView => {
    const stored = JSON.parse(s.signer) as { verified: OmsSigner; ignored: string[] };
    return {
      id: s.id,
      bundleDigest: s.bundle_digest,
      signer: {
        id: s.signer_id,
        name: s.name,
        kind: s.kind,
        fingerprint: s.fingerprint,
        revokedAt: s.revoked_ms === null ? null : rfc3339(Number(s.revoked_ms)),
      },
      verified: stored.verified,
      ignored: stored.ignored,
      createdBy: s.created_by,
      createdAt: rfc3339(Number(s.created_ms)),
    };
  });
  return {
    id: v.id,
    project: v.project_id,
    model: { id: model.id, name: model.name },
    number: Number(v.number),
    manifestDigest: v.manifest_digest,
    totalBytes: Number(v.total_bytes),
    fileCount: Number(v.file_count),
    files,
    stage: v.stage,
    revision: Number(v.revision),
    signed: signatures.some((s) => s.signer.revokedAt === null),
    signatures,
    provenance:
      v.provenance === null ? null : { digest: v.provenance_digest ?? '', ...provenanceFacts(v.provenance) },
    aliases: aliases.map((a) => a.alias),
    createdBy: v.created_by,
    createdAt: rfc3339(Number(v.created_ms)),
    stageChangedAt: rfc3339(Number(v.stage_changed_ms)),
  };
}
