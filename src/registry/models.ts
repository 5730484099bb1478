import { projectRow } from '../catalog/index.js';
import { type Clock, newId, rfc3339, WardenError } from '../core/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import type { ModelTable, Store } from '../store/index.js';
import { isUniqueViolation } from './unique.js';
import { type ModelView, modelRow, toModel } from './views.js';

/** A model with a summary of its versions and its aliases. */
export interface ModelDetail extends ModelView {
  readonly versions: readonly {
    readonly id: string;
    readonly number: number;
    readonly manifestDigest: string;
    readonly stage: string;
    readonly createdAt: string;
  }[];
  readonly aliases: Readonly<Record<string, string>>;
}

/** Named models in projects; each creation is recorded. */
export class Models {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /** Creates a model in a project; 404 without the project, 409 when the name is taken there. */
  async create(
    actor: EventActor,
    project: string,
    m: { name: string; description?: string | undefined },
  ): Promise<ModelView> {
    const now = this.#clock.now();
    const row: ModelTable = {
      id: newId(now),
      project_id: project,
      name: m.name,
      description: m.description ?? null,
      created_by: actor.id,
      created_ms: now,
    };
    try {
      await this.#store.db.transaction().execute(async (trx) => {
        await projectRow(trx, project);
        await trx.insertInto('models').values(row).execute();
        await this.#ledger.record(trx, {
          actor,
          action: 'model.create',
          resource: { type: 'Model', id: row.id },
          outcome: 'succeeded',
          context: { project },
          details: { name: row.name, description: row.description },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new WardenError('WARDEN_CONFLICT', `project ${project} already has a model named ${m.name}`, {
          issues: [{ field: 'name', message: 'already taken in this project' }],
        });
      throw err;
    }
    this.#ledger.committed();
    return toModel(row);
  }

  /** The project's models by name; 404 without the project. */
  async list(project: string): Promise<ModelView[]> {
    await projectRow(this.#store.db, project);
    const rows = await this.#store.db
      .selectFrom('models')
      .selectAll()
      .where('project_id', '=', project)
      .orderBy('name')
      .execute();
    return rows.map(toModel);
  }

  /** A model, its versions (newest first) and its aliases. */
  async get(id: string): Promise<ModelDetail> {
    const db = this.#store.db;
    const model = await modelRow(db, id);
    const versions = await db
      .selectFrom('model_versions')
      .select(['id', 'number', 'manifest_digest', 'stage', 'created_ms'])
      .where('model_id', '=', id)
      .orderBy('number', 'desc')
      .execute();
    const aliases = await db
      .selectFrom('model_aliases')
      .select(['alias', 'version_id'])
      .where('model_id', '=', id)
      .orderBy('alias')
      .execute();
    return {
      ...toModel(model),
      versions: versions.map((v) => ({
        id: v.id,
        number: Number(v.number),
        manifestDigest: v.manifest_digest,
        stage: v.stage,
        createdAt: rfc3339(Number(v.created_ms)),
      })),
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version_id])),
    };
  }

  /** The id of the model named `name` in `project`, if any (for authorizing by name). */
  async findId(project: string, name: string): Promise<string | undefined> {
    const row = await this.#store.db
      .selectFrom('models')
      .select('id')
      .where('project_id', '=', project)
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.id;
  }
}
