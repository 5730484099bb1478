import type { Kysely } from 'kysely';
import { type Clock, newId, rfc3339, WardenError } from '../core/index.js';
import type { Principal } from '../identity/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import type { Authorizer, RequestFacts } from '../policy/index.js';
import {
  bumpAuthzEpoch,
  type Database,
  insertUnique,
  type ProjectSignerTable,
  type ProjectTable,
  type Store,
} from '../store/index.js';
import { type ProjectSettings, parseProjectSettings } from './project-settings.js';
import { checkSignerPem, type SignerKind } from './signer-pem.js';

/** A project as the API shows it. */
export interface ProjectView {
  readonly id: string;
  readonly description: string;
  readonly environments: readonly string[];
  readonly settings: ProjectSettings;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A trusted signer as the API shows it (with its PEM, which is public material). */
export interface SignerView {
  readonly id: string;
  readonly project: string;
  readonly name: string;
  readonly kind: SignerKind;
  readonly fingerprint: string;
  readonly pem: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** The environments a project gets when none are named. */
export const DEFAULT_ENVIRONMENTS: readonly string[] = ['dev', 'staging', 'production'];

/** Projects, their settings and their trusted signers; every change is recorded and moves the authz epoch. */
export class Projects {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #authorizer: Authorizer;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock; authorizer: Authorizer }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#authorizer = deps.authorizer;
  }

  /** Creates a project; 409 when the id is taken. */
  async create(
    actor: EventActor,
    p: {
      id: string;
      description?: string | undefined;
      environments?: readonly string[] | undefined;
      settings: ProjectSettings;
    },
  ): Promise<ProjectView> {
    const now = this.#clock.now();
    const row: ProjectTable = {
      id: p.id,
      description: p.description ?? '',
      environments: JSON.stringify(p.environments ?? DEFAULT_ENVIRONMENTS),
      settings: JSON.stringify(p.settings),
      created_by: actor.id,
      created_ms: now,
      updated_ms: now,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      await insertUnique(trx, 'projects', row, ['id'], {
        message: `project ${p.id} already exists`,
        field: 'id',
        issue: 'already taken',
      });
      // A decision cached for this id before it existed must not outlive its creation.
      await bumpAuthzEpoch(trx);
      await this.#ledger.record(trx, {
        actor,
        action: 'project.create',
        resource: { type: 'Project', id: p.id },
        outcome: 'succeeded',
        context: { project: p.id },
        details: {
          description: row.description,
          environments: JSON.parse(row.environments),
          settings: p.settings,
        },
      });
    });
    this.#ledger.committed();
    return toProject(row);
  }

  /** The projects `principal` may `project.read`. */
  async listVisible(principal: Principal, facts: RequestFacts): Promise<ProjectView[]> {
    const rows = await this.#store.db.selectFrom('projects').selectAll().orderBy('id').execute();
    const out: ProjectView[] = [];
    for (const row of rows) {
      const d = await this.#authorizer.decide(
        principal,
        'project.read',
        { type: 'Project', id: row.id },
        facts,
      );
      if (d.allowed) out.push(toProject(row));
    }
    return out;
  }

  async get(id: string): Promise<ProjectView> {
    return toProject(await projectRow(this.#store.db, id));
  }

  /** Changes the description, environments and/or settings (which are replaced whole, defaults filled in). */
  async update(
    actor: EventActor,
    id: string,
    patch: {
      description?: string | undefined;
      environments?: readonly string[] | undefined;
      settings?: ProjectSettings | undefined;
    },
  ): Promise<ProjectView> {
    const now = this.#clock.now();
    const updated = await this.#store.db.transaction().execute(async (trx) => {
      const before = await projectRow(trx, id);
      const row: ProjectTable = {
        ...before,
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.environments !== undefined ? { environments: JSON.stringify(patch.environments) } : {}),
        ...(patch.settings !== undefined ? { settings: JSON.stringify(patch.settings) } : {}),
        updated_ms: now,
      };
      // Only the named columns are written, so concurrent changes of different fields both stand.
      await trx
        .updateTable('projects')
        .set({
          ...(patch.description !== undefined ? { description: row.description } : {}),
          ...(patch.environments !== undefined ? { environments: row.environments } : {}),
          ...(patch.settings !== undefined ? { settings: row.settings } : {}),
          updated_ms: now,
        })
        .where('id', '=', id)
        .execute();
      if (row.environments !== before.environments) await bumpAuthzEpoch(trx);
      await this.#ledger.record(trx, {
        actor,
        action: 'project.update',
        resource: { type: 'Project', id },
        outcome: 'succeeded',
        context: { project: id },
        details: {
          changed: Object.keys(patch).filter((k) => patch[k as keyof typeof patch] !== undefined),
          before: {
            description: before.description,
            environments: JSON.parse(before.environments),
            settings: JSON.parse(before.settings),
          },
          after: {
            description: row.description,
            environments: JSON.parse(row.environments),
            settings: JSON.parse(row.settings),
          },
        },
      });
      return row;
    });
    this.#ledger.committed();
    return toProject(updated);
  }

  /** Trusts a signer for the project's OMS signatures; 409 when the same key or certificate is already trusted. */
  async addSigner(
    actor: EventActor,
    project: string,
    s: { name: string; kind: SignerKind; pem: string },
  ): Promise<SignerView> {
    const checked = checkSignerPem(s.kind, s.pem);
    const now = this.#clock.now();
    const row: ProjectSignerTable = {
      id: newId(now),
      project_id: project,
      name: s.name,
      kind: s.kind,
      pem: checked.pem,
      fingerprint: checked.fingerprint,
      created_by: actor.id,
      created_ms: now,
      revoked_ms: null,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      await projectRow(trx, project);
      const clash = await trx
        .selectFrom('project_signers')
        .select('id')
        .where('project_id', '=', project)
        .where('fingerprint', '=', checked.fingerprint)
        .where('revoked_ms', 'is', null)
        .executeTakeFirst();
      if (clash)
        throw new WardenError(
          'WARDEN_CONFLICT',
          `the project already trusts this ${s.kind} as signer ${clash.id}`,
          {
            issues: [{ field: 'pem', message: 'already trusted' }],
          },
        );
      await trx.insertInto('project_signers').values(row).execute();
      await this.#ledger.record(trx, {
        actor,
        action: 'project_signer.add',
        resource: { type: 'ProjectSigner', id: row.id },
        outcome: 'succeeded',
        context: { project },
        details: { name: row.name, kind: row.kind, fingerprint: row.fingerprint },
      });
    });
    this.#ledger.committed();
    return toSigner(row);
  }

  /** The project's signers, revoked ones included. */
  async listSigners(project: string): Promise<SignerView[]> {
    await projectRow(this.#store.db, project);
    const rows = await this.#store.db
      .selectFrom('project_signers')
      .selectAll()
      .where('project_id', '=', project)
      .orderBy('created_ms')
      .orderBy('id')
      .execute();
    return rows.map(toSigner);
  }

  /** Stops trusting a signer: versions signed only by it are no longer `signed`. 409 when already revoked. */
  async revokeSigner(
    actor: EventActor,
    project: string,
    id: string,
    reason: string | undefined,
  ): Promise<SignerView> {
    const now = this.#clock.now();
    const row = await this.#store.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('project_signers')
        .set({ revoked_ms: now })
        .where('id', '=', id)
        .where('project_id', '=', project)
        .where('revoked_ms', 'is', null)
        .executeTakeFirst();
      const current = await trx
        .selectFrom('project_signers')
        .selectAll()
        .where('id', '=', id)
        .where('project_id', '=', project)
        .executeTakeFirst();
      if (!current) throw new WardenError('WARDEN_NOT_FOUND', `signer ${id} not found in project ${project}`);
      if (Number(res.numUpdatedRows) === 0)
        throw new WardenError('WARDEN_CONFLICT', `signer ${id} is already revoked`);
      await bumpAuthzEpoch(trx);
      await this.#ledger.record(trx, {
        actor,
        action: 'project_signer.revoke',
        resource: { type: 'ProjectSigner', id },
        outcome: 'succeeded',
        context: { project },
        details: {
          name: current.name,
          kind: current.kind,
          fingerprint: current.fingerprint,
          reason: reason ?? null,
        },
      });
      return current;
    });
    this.#ledger.committed();
    return toSigner(row);
  }
}

/** The project row, or 404. */
export async function projectRow(db: Kysely<Database>, id: string): Promise<ProjectTable> {
  const row = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new WardenError('WARDEN_NOT_FOUND', `project ${id} not found`);
  return row;
}

function toProject(r: ProjectTable): ProjectView {
  return {
    id: r.id,
    description: r.description,
    environments: JSON.parse(r.environments) as string[],
    settings: parseProjectSettings(r.settings),
    createdBy: r.created_by,
    createdAt: rfc3339(Number(r.created_ms)),
    updatedAt: rfc3339(Number(r.updated_ms)),
  };
}

function toSigner(r: ProjectSignerTable): SignerView {
  return {
    id: r.id,
    project: r.project_id,
    name: r.name,
    kind: r.kind,
    fingerprint: r.fingerprint,
    pem: r.pem,
    createdBy: r.created_by,
    createdAt: rfc3339(Number(r.created_ms)),
    revokedAt: r.revoked_ms === null ? null : rfc3339(Number(r.revoked_ms)),
  };
}
