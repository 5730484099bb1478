import type { Readable } from 'node:stream';
import { type Clock, newId, WardenError } from '../core/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import {
  type ArchiveLimits,
  type BlobStore,
  extractTar,
  type ModelFileTable,
  type ModelVersionTable,
  type Store,
} from '../store/index.js';
import { type ManifestFile, manifestDigest, sortManifest } from './manifest.js';
import { isUniqueViolation } from './unique.js';
import { modelRow, type VersionView, versionRow, versionView } from './views.js';

/** Attempts at taking the next version number before a concurrent upload's win is reported as 409. */
const NUMBER_ATTEMPTS = 5;
/** model_files rows per INSERT statement (keeps within SQLite's bound-parameter limit). */
const FILE_BATCH = 200;

/** One file of a version, opened for download. */
export interface VersionFileStream {
  readonly file: ManifestFile;
  readonly body: Readable;
}

/**
 * Immutable model versions: an upload streams a tar archive into the blob store, and one
 * transaction inserts the version, its manifest and the `model.register` event. Nothing changes a
 * version's files afterwards; a failed upload leaves no version and removes the blobs it newly wrote.
 */
export class Versions {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #blobs: BlobStore;
  readonly #limits: ArchiveLimits;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock; blobs: BlobStore; limits: ArchiveLimits }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#blobs = deps.blobs;
    this.#limits = deps.limits;
  }

  /** Registers the next version of a model from a tar (optionally gzip) stream; 404 without the model. */
  async register(
    actor: EventActor,
    creatorType: 'user' | 'service',
    modelId: string,
    archive: Readable,
  ): Promise<VersionView> {
    const model = await modelRow(this.#store.db, modelId);
    const written: string[] = [];
    try {
      const files = sortManifest(
        await extractTar(archive, this.#blobs, this.#limits, (b) => {
          if (!b.deduplicated) written.push(b.digest);
        }),
      );
      const id = await this.#insert(actor, creatorType, model.id, model.project_id, model.name, files);
      return await versionView(this.#store.db, id);
    } catch (err) {
      archive.destroy();
      await this.#removeUnreferenced(written);
      throw err;
    }
  }

  async #insert(
    actor: EventActor,
    creatorType: 'user' | 'service',
    modelId: string,
    project: string,
    modelName: string,
    files: readonly ManifestFile[],
  ): Promise<string> {
    const digest = manifestDigest(files);
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    for (let attempt = 1; ; attempt++) {
      const now = this.#clock.now();
      const id = newId(now);
      try {
        await this.#store.db.transaction().execute(async (trx) => {
          const last = await trx
            .selectFrom('model_versions')
            .select((eb) => eb.fn.max('number').as('n'))
            .where('model_id', '=', modelId)
            .executeTakeFirst();
          const number = Number(last?.n ?? 0) + 1;
          const row: ModelVersionTable = {
            id,
            model_id: modelId,
            project_id: project,
            number,
            manifest_digest: digest,
            total_bytes: totalBytes,
            file_count: files.length,
            stage: 'registered',
            revision: 1,
            created_by: actor.id,
            created_by_type: creatorType,
            created_ms: now,
            provenance: null,
            provenance_digest: null,
            trainer: null,
            stage_changed_ms: now,
            stage_rationale: null,
          };
          await trx.insertInto('model_versions').values(row).execute();
          for (let i = 0; i < files.length; i += FILE_BATCH) {
            const rows: ModelFileTable[] = files
              .slice(i, i + FILE_BATCH)
              .map((f) => ({ version_id: id, path: f.path, digest: f.digest, size: f.size }));
            await trx.insertInto('model_files').values(rows).execute();
          }
          await this.#ledger.record(trx, {
            actor,
            action: 'model.register',
            resource: { type: 'ModelVersion', id, version: String(number), digest },
            outcome: 'succeeded',
            context: { project },
            details: {
              model: modelId,
              modelName,
              number,
              fileCount: files.length,
              totalBytes,
              files: files.map((f) => ({ path: f.path, digest: f.digest, size: f.size })),
            },
          });
        });
        this.#ledger.committed();
        return id;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        if (attempt >= NUMBER_ATTEMPTS)
          throw new WardenError(
            'WARDEN_CONFLICT',
            `concurrent uploads to model ${modelId} kept taking the next version number; retry`,
          );
      }
    }
  }

  /**
   * Deletes blobs this upload newly wrote that no version references. A concurrent upload of the
   * same bytes that deduplicated against one of them and commits between the check and the delete
   * loses it (docs/design/uploads.md: the narrow race).
   */
  async #removeUnreferenced(digests: readonly string[]): Promise<void> {
    for (const digest of new Set(digests)) {
      const used = await this.#store.db
        .selectFrom('model_files')
        .select('version_id')
        .where('digest', '=', digest)
        .limit(1)
        .executeTakeFirst();
      if (!used) await this.#blobs.delete(digest);
    }
  }

  /** Everything about one version. */
  get(id: string): Promise<VersionView> {
    return versionView(this.#store.db, id);
  }

  /** The id of version `ref` (a number or an alias) of the model named `name` in `project`, if any. */
  async findId(project: string, name: string, ref: string): Promise<string | undefined> {
    const db = this.#store.db;
    const model = await db
      .selectFrom('models')
      .select('id')
      .where('project_id', '=', project)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!model) return undefined;
    if (/^[1-9][0-9]{0,8}$/.test(ref)) {
      const v = await db
        .selectFrom('model_versions')
        .select('id')
        .where('model_id', '=', model.id)
        .where('number', '=', Number(ref))
        .executeTakeFirst();
      return v?.id;
    }
    const alias = await db
      .selectFrom('model_aliases')
      .select('version_id')
      .where('model_id', '=', model.id)
      .where('alias', '=', ref)
      .executeTakeFirst();
    return alias?.version_id;
  }

  /** Version `ref` (number or alias) of a model by project and name; 404 when there is none. */
  async resolve(project: string, name: string, ref: string): Promise<VersionView> {
    const id = await this.findId(project, name, ref);
    if (id === undefined)
      throw new WardenError(
        'WARDEN_NOT_FOUND',
        `model ${project}/${name} has no version ${JSON.stringify(ref)}`,
      );
    return versionView(this.#store.db, id);
  }

  /**
   * Opens one file of a version for download and records the download (path and digest). The path
   * must equal a manifest path exactly; 404 otherwise.
   */
  async openFile(actor: EventActor, versionId: string, path: string): Promise<VersionFileStream> {
    const db = this.#store.db;
    const version = await versionRow(db, versionId);
    const row = await db
      .selectFrom('model_files')
      .select(['path', 'digest', 'size'])
      .where('version_id', '=', versionId)
      .where('path', '=', path)
      .executeTakeFirst();
    if (!row)
      throw new WardenError(
        'WARDEN_NOT_FOUND',
        `model version ${versionId} has no file ${JSON.stringify(path)}`,
      );
    const file = { path: row.path, digest: row.digest, size: Number(row.size) };
    const body = await this.#blobs.open(file.digest);
    try {
      await this.#ledger.recordAlone({
        actor,
        action: 'model_version.download',
        resource: {
          type: 'ModelVersion',
          id: versionId,
          version: String(version.number),
          digest: version.manifest_digest,
        },
        outcome: 'succeeded',
        context: { project: version.project_id },
        details: { path: file.path, digest: file.digest, size: file.size },
      });
    } catch (err) {
      body.destroy();
      throw err;
    }
    return { file, body };
  }
}
