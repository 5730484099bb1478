import { type Clock, type FieldIssue, invalidInput, newId, rfc3339, WardenError } from '../core/index.js';
import type { Principal } from '../identity/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import type { Authorizer, RequestFacts } from '../policy/index.js';
import { type DatasetGrantTable, type DatasetTable, insertUnique, type Store } from '../store/index.js';
import { addLineageEdges } from './lineage-edges.js';
import { projectRow } from './projects.js';

/** Sensitivity levels, least to most guarded. */
export const SENSITIVITIES = ['public', 'internal', 'confidential', 'restricted'] as const;

/** How long an access grant lasts unless asked otherwise, and at most. */
export const GRANT_MINUTES = { default: 60, max: 24 * 60 } as const;

/** A dataset version to register. */
export interface NewDataset {
  readonly name: string;
  readonly versionDigest: string;
  readonly sensitivity: (typeof SENSITIVITIES)[number];
  readonly domain?: string | undefined;
  readonly owner?: string | undefined;
  readonly allowedPurposes: readonly string[];
  readonly piiFields: readonly string[];
  readonly locationUri: string;
  readonly description?: string | undefined;
  readonly parents?: readonly string[] | undefined;
}

/** A dataset's description (never its location: that comes with a granted read). */
export interface DatasetView {
  readonly id: string;
  readonly project: string;
  readonly name: string;
  readonly versionDigest: string;
  readonly sensitivity: string;
  readonly domain: string | null;
  readonly owner: string | null;
  readonly allowedPurposes: readonly string[];
  readonly piiFields: readonly string[];
  readonly description: string | null;
  /** Datasets this one was derived from. */
  readonly parents: readonly string[];
  readonly createdBy: string;
  readonly createdAt: string;
}

/** A time-limited grant to read a dataset for one purpose. */
export interface GrantView {
  readonly id: string;
  readonly dataset: string;
  readonly principal: string;
  readonly purpose: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** Who is asking: the authenticated principal and how events name it. */
export interface Caller {
  readonly principal: Principal;
  readonly actor: EventActor;
}

/**
 * Datasets, access grants and recorded reads. A grant is issued only when the policies allow the
 * caller `dataset.read` for the named purpose (with the caller's MFA state); a read needs the
 * caller's own live grant for the same dataset and purpose.
 */
export class Datasets {
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

  /** Registers a dataset version in a project; parents become `derived_from` lineage edges. */
  async register(actor: EventActor, project: string, d: NewDataset): Promise<DatasetView> {
    const now = this.#clock.now();
    const parents = [...new Set(d.parents ?? [])];
    const row: DatasetTable = {
      id: newId(now),
      project_id: project,
      name: d.name,
      version_digest: d.versionDigest,
      sensitivity: d.sensitivity,
      domain: d.domain ?? null,
      owner_id: d.owner ?? null,
      allowed_purposes: JSON.stringify([...new Set(d.allowedPurposes)]),
      pii_fields: JSON.stringify([...new Set(d.piiFields)]),
      location_uri: d.locationUri,
      description: d.description ?? null,
      created_by: actor.id,
      created_ms: now,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      await projectRow(trx, project);
      const issues: FieldIssue[] = [];
      if (d.owner !== undefined) {
        const owner = await trx
          .selectFrom('principals')
          .select('type')
          .where('id', '=', d.owner)
          .executeTakeFirst();
        if (!owner || owner.type === 'group')
          issues.push({ field: 'owner', message: 'no user or service account with this id' });
      }
      const found = parents.length
        ? await trx.selectFrom('datasets').select(['id', 'project_id']).where('id', 'in', parents).execute()
        : [];
      parents.forEach((p, i) => {
        const hit = found.find((f) => f.id === p);
        if (!hit) issues.push({ field: `parents.${i}`, message: 'no dataset with this id' });
        else if (hit.project_id !== project)
          issues.push({ field: `parents.${i}`, message: 'a parent must be in the same project' });
      });
      if (issues.length > 0) throw invalidInput(issues);
      await insertUnique(trx, 'datasets', row, ['project_id', 'name', 'version_digest'], {
        message: `dataset ${d.name} with digest ${d.versionDigest} is already registered`,
        field: 'versionDigest',
        issue: 'already registered under this name',
      });
      await addLineageEdges(
        trx,
        parents.map((p) => ({
          from: { kind: 'dataset', id: p },
          to: { kind: 'dataset', id: row.id },
          relation: 'derived_from',
        })),
        now,
      );
      await this.#ledger.record(trx, {
        actor,
        action: 'dataset.register',
        resource: { type: 'Dataset', id: row.id, digest: row.version_digest },
        outcome: 'succeeded',
        context: { project },
        details: {
          name: row.name,
          sensitivity: row.sensitivity,
          domain: row.domain,
          owner: row.owner_id,
          allowedPurposes: JSON.parse(row.allowed_purposes),
          piiFields: JSON.parse(row.pii_fields),
          parents,
        },
      });
    });
    this.#ledger.committed();
    return this.get(row.id);
  }

  /** The datasets of a project, newest first. */
  async list(project: string): Promise<DatasetView[]> {
    await projectRow(this.#store.db, project);
    const rows = await this.#store.db
      .selectFrom('datasets')
      .selectAll()
      .where('project_id', '=', project)
      .orderBy('created_ms', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return Promise.all(rows.map((r) => this.#view(r)));
  }

  async get(id: string): Promise<DatasetView> {
    return this.#view(await this.#row(id));
  }

  /**
   * Decides `dataset.read` for the caller with `purpose` and the caller's MFA; allowed → a grant
   * for `minutes`, recorded as `dataset.access_grant`; denied → recorded and 403 naming the policy.
   */
  async requestAccess(
    caller: Caller,
    id: string,
    req: { purpose: string; minutes?: number | undefined },
    facts: RequestFacts,
  ): Promise<GrantView> {
    const ds = await this.#row(id);
    const resource = { type: 'Dataset', id };
    const context = { project: ds.project_id, purpose: req.purpose };
    const decision = await this.#authorizer.decide(caller.principal, 'dataset.read', resource, {
      ...facts,
      purpose: req.purpose,
      mfa: caller.principal.mfa,
    });
    if (!decision.allowed) {
      await this.#ledger.recordAlone({
        actor: caller.actor,
        action: 'dataset.access_grant',
        resource,
        outcome: 'denied',
        decision: { policies: decision.policies, reason: decision.reason, bundle: decision.bundle },
        context,
      });
      throw new WardenError('WARDEN_FORBIDDEN', `access refused: ${decision.reason}`);
    }
    const now = this.#clock.now();
    const minutes = req.minutes ?? GRANT_MINUTES.default;
    const row: DatasetGrantTable = {
      id: newId(now),
      dataset_id: id,
      principal_id: caller.principal.id,
      purpose: req.purpose,
      created_ms: now,
      expires_ms: now + minutes * 60_000,
      revoked_ms: null,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      await trx.insertInto('dataset_grants').values(row).execute();
      await this.#ledger.record(trx, {
        actor: caller.actor,
        action: 'dataset.access_grant',
        resource,
        outcome: 'succeeded',
        decision: { policies: decision.policies, reason: decision.reason, bundle: decision.bundle },
        context,
        details: { grant: row.id, minutes, expiresAt: rfc3339(row.expires_ms) },
      });
    });
    this.#ledger.committed();
    return toGrant(row);
  }

  /**
   * A read under a grant: the grant must be the caller's, live, for this dataset and `purpose`;
   * otherwise the refusal is recorded and 403. The read itself is recorded too.
   */
  async read(
    caller: Caller,
    id: string,
    grantId: string,
    purpose: string | undefined,
  ): Promise<{ locationUri: string; versionDigest: string; grant: GrantView }> {
    const ds = await this.#row(id);
    const now = this.#clock.now();
    const grant = await this.#store.db
      .selectFrom('dataset_grants')
      .selectAll()
      .where('id', '=', grantId)
      .executeTakeFirst();
    const problem = !grant
      ? 'no such grant'
      : grant.principal_id !== caller.principal.id
        ? 'the grant belongs to someone else'
        : grant.dataset_id !== id
          ? 'the grant is for another dataset'
          : grant.revoked_ms !== null
            ? 'the grant was revoked'
            : Number(grant.expires_ms) <= now
              ? 'the grant has expired'
              : grant.purpose !== purpose
                ? `the grant is for purpose "${grant.purpose}", not "${purpose ?? ''}" (X-Warden-Purpose)`
                : undefined;
    const resource = { type: 'Dataset', id, digest: ds.version_digest };
    const context = { project: ds.project_id, ...(purpose !== undefined ? { purpose } : {}) };
    if (problem !== undefined || !grant) {
      await this.#ledger.recordAlone({
        actor: caller.actor,
        action: 'dataset.read',
        resource,
        outcome: 'denied',
        decision: { policies: ['dataset-grant'], reason: problem ?? 'no such grant' },
        context,
        details: { grant: grantId },
      });
      throw new WardenError('WARDEN_FORBIDDEN', `read refused: ${problem}`);
    }
    await this.#ledger.recordAlone({
      actor: caller.actor,
      action: 'dataset.read',
      resource,
      outcome: 'succeeded',
      context,
      details: { grant: grant.id, locationUri: ds.location_uri },
    });
    return { locationUri: ds.location_uri, versionDigest: ds.version_digest, grant: toGrant(grant) };
  }

  async #row(id: string): Promise<DatasetTable> {
    const row = await this.#store.db
      .selectFrom('datasets')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new WardenError('WARDEN_NOT_FOUND', `dataset ${id} not found`);
    return row;
  }

  async #view(r: DatasetTable): Promise<DatasetView> {
    const parents = await this.#store.db
      .selectFrom('lineage_edges')
      .select('from_id')
      .where('to_kind', '=', 'dataset')
      .where('to_id', '=', r.id)
      .where('from_kind', '=', 'dataset')
      .orderBy('from_id')
      .execute();
    return {
      id: r.id,
      project: r.project_id,
      name: r.name,
      versionDigest: r.version_digest,
      sensitivity: r.sensitivity,
      domain: r.domain,
      owner: r.owner_id,
      allowedPurposes: JSON.parse(r.allowed_purposes) as string[],
      piiFields: JSON.parse(r.pii_fields) as string[],
      description: r.description,
      parents: parents.map((p) => p.from_id),
      createdBy: r.created_by,
      createdAt: rfc3339(Number(r.created_ms)),
    };
  }
}

function toGrant(r: DatasetGrantTable): GrantView {
  return {
    id: r.id,
    dataset: r.dataset_id,
    principal: r.principal_id,
    purpose: r.purpose,
    createdAt: rfc3339(Number(r.created_ms)),
    expiresAt: rfc3339(Number(r.expires_ms)),
  };
}
