import { addLineageEdges } from '../catalog/index.js';
import {
  type Clock,
  canonicalJson,
  type FieldIssue,
  invalidInput,
  sha256Hex,
  WardenError,
} from '../core/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import { parseProvenance } from './provenance.js';
import { type ProvenanceView, versionRow, versionView } from './views.js';

const DEPENDENCIES = 'predicate.buildDefinition.resolvedDependencies';

/**
 * Provenance of versions: an in-toto statement with a SLSA v1 predicate, set once per version. Its
 * subject must name the version's manifest digest; the datasets it names must be registered in the
 * version's project with the same digest, and become `trained_on` lineage edges.
 */
export class Provenances {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /** Sets a version's provenance; 400 naming the field at fault, 409 when it is already set. */
  async set(actor: EventActor, versionId: string, statement: unknown): Promise<ProvenanceView> {
    const db = this.#store.db;
    const parsed = parseProvenance(statement);
    const version = await versionRow(db, versionId);
    const project = version.project_id;
    const manifestHex = version.manifest_digest.slice('sha256:'.length);
    const issues: FieldIssue[] = [];
    if (!parsed.subjects.includes(manifestHex))
      issues.push({
        field: 'subject',
        message: `must include the version's manifest digest ${version.manifest_digest}`,
      });
    const { facts } = parsed;
    const datasets = facts.datasets.length
      ? await db
          .selectFrom('datasets')
          .select(['id', 'project_id', 'name', 'version_digest'])
          .where(
            'id',
            'in',
            facts.datasets.map((d) => d.id),
          )
          .execute()
      : [];
    facts.datasets.forEach((d) => {
      const field = `${DEPENDENCIES}[dataset:${d.name}]`;
      const row = datasets.find((r) => r.id === d.id);
      if (!row || row.project_id !== project)
        issues.push({ field, message: `no dataset ${d.id} is registered in project ${project}` });
      else if (row.version_digest !== `sha256:${d.sha256}`)
        issues.push({ field, message: `digest differs from the registered ${row.version_digest}` });
      else if (row.name !== d.name)
        issues.push({ field, message: `dataset ${d.id} is named ${JSON.stringify(row.name)}` });
    });
    if (facts.trainer !== undefined) {
      const trainer = await db
        .selectFrom('principals')
        .select('type')
        .where('id', '=', facts.trainer)
        .executeTakeFirst();
      if (!trainer || trainer.type === 'group')
        issues.push({
          field: 'predicate.buildDefinition.externalParameters.trainer',
          message: 'no user or service account with this id',
        });
    }
    if (issues.length > 0) throw invalidInput(issues);

    const text = canonicalJson(statement);
    const digest = `sha256:${sha256Hex(text)}`;
    const now = this.#clock.now();
    await db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('model_versions')
        .set({ provenance: text, provenance_digest: digest, trainer: facts.trainer ?? null })
        .where('id', '=', versionId)
        .where('provenance', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0)
        throw new WardenError(
          'WARDEN_CONFLICT',
          `model version ${versionId} already has provenance; it is set once`,
        );
      await addLineageEdges(
        trx,
        facts.datasets.map((d) => ({
          from: { kind: 'dataset', id: d.id },
          to: { kind: 'model_version', id: versionId },
          relation: 'trained_on',
        })),
        now,
      );
      await this.#ledger.record(trx, {
        actor,
        action: 'model_version.provenance',
        resource: {
          type: 'ModelVersion',
          id: versionId,
          version: String(version.number),
          digest: version.manifest_digest,
        },
        outcome: 'succeeded',
        context: { project },
        details: { provenanceDigest: digest, ...facts },
      });
    });
    this.#ledger.committed();
    return (await versionView(db, versionId)).provenance as ProvenanceView;
  }

  /** The stored statement of a version; 404 when none is set. */
  async statement(versionId: string): Promise<unknown> {
    const version = await versionRow(this.#store.db, versionId);
    if (version.provenance === null)
      throw new WardenError('WARDEN_NOT_FOUND', `model version ${versionId} has no provenance`);
    return JSON.parse(version.provenance) as unknown;
  }
}
