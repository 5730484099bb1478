import type { Kysely } from 'kysely';
import { addLineageEdges, type Caller, projectRow } from '../catalog/index.js';
import { type Clock, newId, rfc3339, WardenError } from '../core/index.js';
import type { EventInput, Ledger } from '../ledger/index.js';
import type { Authorizer } from '../policy/index.js';
import {
  type Database,
  type DeploymentTable,
  type EndpointTable,
  insertUnique,
  type ModelVersionTable,
  type Store,
} from '../store/index.js';
import { versionRow } from './versions.js';

/** Protocols an endpoint speaks (the gateway understands each). */
export const PROTOCOLS = ['open-inference-v2', 'openai', 'http'] as const;

/** The environment whose endpoints serve only signed production versions. */
export const PRODUCTION_ENVIRONMENT = 'production';

/** An endpoint as the API shows it, with the deployment it serves now. */
export interface EndpointView {
  readonly id: string;
  readonly project: string;
  readonly name: string;
  readonly environment: string;
  readonly upstreamUrl: string;
  readonly protocol: EndpointTable['protocol'];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly active: DeploymentView | null;
}

/** One deployment of a version to an endpoint. */
export interface DeploymentView {
  readonly id: string;
  readonly endpoint: string;
  readonly version: string;
  readonly status: DeploymentTable['status'];
  readonly rationale: string | null;
  readonly deployedBy: string;
  readonly deployedAt: string;
  readonly endedAt: string | null;
}

const GUARDRAIL_POLICY = 'workflow:production-endpoint';

/**
 * Endpoints and their deployments. A deployment supersedes the endpoint's active one (compare-and-set
 * on the endpoint's revision, so concurrent deploys cannot both win), adds a `deployed_as` lineage
 * edge and is recorded. A production endpoint serves only signed production versions: deploys need
 * `endpoint.deploy_production` (whose guardrail checks stage and signature), rollbacks check both.
 */
export class Endpoints {
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

  /** Registers an endpoint; the environment must be one the project lists (when it lists any). */
  async create(
    caller: Caller,
    project: string,
    e: { name: string; environment: string; upstreamUrl: string; protocol: EndpointTable['protocol'] },
  ): Promise<EndpointView> {
    const now = this.#clock.now();
    const row: EndpointTable = {
      id: newId(now),
      project_id: project,
      name: e.name,
      environment: e.environment,
      upstream_url: e.upstreamUrl,
      protocol: e.protocol,
      settings: '{}',
      revision: 0,
      created_by: caller.actor.id,
      created_ms: now,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      const environments = JSON.parse((await projectRow(trx, project)).environments) as string[];
      if (environments.length > 0 && !environments.includes(e.environment))
        throw new WardenError(
          'WARDEN_INVALID_INPUT',
          `project ${project} has no environment ${e.environment}`,
          {
            issues: [{ field: 'environment', message: `must be one of ${environments.join(', ')}` }],
          },
        );
      await insertUnique(trx, 'endpoints', row, ['project_id', 'name'], {
        message: `project ${project} already has an endpoint ${e.name}`,
        field: 'name',
        issue: 'already taken in this project',
      });
      await this.#ledger.record(trx, {
        ...event(caller, 'endpoint.create', row),
        outcome: 'succeeded',
        details: { name: e.name, upstreamUrl: e.upstreamUrl, protocol: e.protocol },
      });
    });
    this.#ledger.committed();
    return this.get(row.id);
  }

  /** A project's endpoints by name. */
  async list(project: string): Promise<EndpointView[]> {
    await projectRow(this.#store.db, project);
    const rows = await this.#store.db
      .selectFrom('endpoints')
      .selectAll()
      .where('project_id', '=', project)
      .orderBy('name')
      .execute();
    return Promise.all(rows.map((r) => this.#view(r)));
  }

  async get(id: string): Promise<EndpointView> {
    return this.#view(await endpointRow(this.#store.db, id));
  }

  /** An endpoint's deployments, newest first. */
  async history(id: string): Promise<DeploymentView[]> {
    await endpointRow(this.#store.db, id);
    const rows = await this.#store.db
      .selectFrom('deployments')
      .selectAll()
      .where('endpoint_id', '=', id)
      .orderBy('deployed_ms', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toDeployment);
  }

  /**
   * Deploys a version of the endpoint's project (never a retired one). To a production endpoint the
   * caller must also be allowed `endpoint.deploy_production` on the version; a refusal is recorded.
   */
  async deploy(
    caller: Caller,
    endpointId: string,
    d: { version: string; rationale?: string | undefined },
  ): Promise<DeploymentView> {
    const ep = await endpointRow(this.#store.db, endpointId);
    const v = await versionRow(this.#store.db, d.version);
    if (v.project_id !== ep.project_id)
      throw new WardenError('WARDEN_INVALID_INPUT', `version ${v.id} is not in project ${ep.project_id}`, {
        issues: [{ field: 'version', message: "not a version of the endpoint's project" }],
      });
    if (v.stage === 'retired')
      throw new WardenError('WARDEN_CONFLICT', 'a retired version cannot be deployed');
    if (ep.environment === PRODUCTION_ENVIRONMENT) {
      const decision = await this.#authorizer.decide(
        caller.principal,
        'endpoint.deploy_production',
        { type: 'ModelVersion', id: v.id },
        {
          environment: ep.environment,
          ...(caller.actor.ip !== undefined ? { sourceIp: caller.actor.ip } : {}),
        },
      );
      if (!decision.allowed) {
        await this.#ledger.recordAlone({
          ...event(caller, 'endpoint.deploy_production', ep),
          outcome: 'denied',
          decision: { policies: decision.policies, reason: decision.reason, bundle: decision.bundle },
          details: { version: v.id, stage: v.stage },
        });
        throw new WardenError('WARDEN_FORBIDDEN', `production deploy refused: ${decision.reason}`);
      }
    }
    return this.#activate(caller, ep, v, d.rationale ?? null, 'endpoint.deploy');
  }

  /**
   * Re-deploys the version the endpoint served before (the latest superseded deployment of another
   * version) as a new deployment; the current one becomes `rolled_back`. 409 when there is nothing to
   * go back to, or (on a production endpoint) that version is no longer signed production (recorded).
   */
  async rollback(caller: Caller, endpointId: string, rationale: string): Promise<DeploymentView> {
    const db = this.#store.db;
    const ep = await endpointRow(db, endpointId);
    const current = await activeDeployment(db, ep.id);
    if (!current)
      throw new WardenError('WARDEN_CONFLICT', 'the endpoint has no active deployment to roll back');
    const previous = await db
      .selectFrom('deployments')
      .selectAll()
      .where('endpoint_id', '=', ep.id)
      .where('status', '=', 'superseded')
      .where('version_id', '!=', current.version_id)
      .orderBy('deployed_ms', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (!previous)
      throw new WardenError('WARDEN_CONFLICT', 'no earlier deployment of another version to roll back to');
    const v = await versionRow(db, previous.version_id);
    const problem =
      v.stage === 'retired'
        ? `version ${v.id} is retired`
        : ep.environment === PRODUCTION_ENVIRONMENT &&
            !(v.stage === 'production' && (await isSigned(db, v.id)))
          ? `version ${v.id} is not a signed production version (it is ${v.stage})`
          : undefined;
    if (problem !== undefined) {
      await this.#ledger.recordAlone({
        ...event(caller, 'endpoint.rollback', ep),
        outcome: 'denied',
        decision: { policies: [GUARDRAIL_POLICY], reason: problem },
        details: { rationale, from: current.version_id, to: v.id },
      });
      throw new WardenError('WARDEN_CONFLICT', `rollback refused: ${problem}`);
    }
    return this.#activate(caller, ep, v, rationale, 'endpoint.rollback', current.id);
  }

  /**
   * Makes `v` the endpoint's active deployment: compare-and-set on the endpoint revision (409 when
   * another deploy won), the previous active one superseded (or rolled back), lineage edge, event.
   */
  async #activate(
    caller: Caller,
    ep: EndpointTable,
    v: ModelVersionTable,
    rationale: string | null,
    action: 'endpoint.deploy' | 'endpoint.rollback',
    expectedActive?: string,
  ): Promise<DeploymentView> {
    const now = this.#clock.now();
    const row: DeploymentTable = {
      id: newId(now),
      endpoint_id: ep.id,
      version_id: v.id,
      status: 'active',
      rationale,
      deployed_by: caller.actor.id,
      deployed_ms: now,
      ended_ms: null,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('endpoints')
        .set({ revision: ep.revision + 1 })
        .where('id', '=', ep.id)
        .where('revision', '=', ep.revision)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1)
        throw new WardenError('WARDEN_CONFLICT', `endpoint ${ep.id} was changed concurrently; read it again`);
      const stage = await trx
        .selectFrom('model_versions')
        .select('stage')
        .where('id', '=', v.id)
        .executeTakeFirstOrThrow();
      if (stage.stage !== v.stage)
        throw new WardenError('WARDEN_CONFLICT', `version ${v.id} changed stage meanwhile; try again`);
      const before = await activeDeployment(trx, ep.id);
      if (expectedActive !== undefined && before?.id !== expectedActive)
        throw new WardenError('WARDEN_CONFLICT', 'the active deployment changed meanwhile; try again');
      if (before)
        await trx
          .updateTable('deployments')
          .set({ status: action === 'endpoint.rollback' ? 'rolled_back' : 'superseded', ended_ms: now })
          .where('id', '=', before.id)
          .execute();
      await trx.insertInto('deployments').values(row).execute();
      await addLineageEdges(
        trx,
        [
          {
            from: { kind: 'model_version', id: v.id },
            to: { kind: 'deployment', id: row.id },
            relation: 'deployed_as',
          },
        ],
        now,
      );
      await this.#ledger.record(trx, {
        ...event(caller, action, ep),
        outcome: 'succeeded',
        details: {
          deployment: row.id,
          version: v.id,
          digest: v.manifest_digest,
          stage: v.stage,
          previous: before ? { deployment: before.id, version: before.version_id } : null,
          ...(rationale !== null ? { rationale } : {}),
        },
      });
    });
    this.#ledger.committed();
    return toDeployment(row);
  }

  async #view(r: EndpointTable): Promise<EndpointView> {
    const active = await activeDeployment(this.#store.db, r.id);
    return {
      id: r.id,
      project: r.project_id,
      name: r.name,
      environment: r.environment,
      upstreamUrl: r.upstream_url,
      protocol: r.protocol,
      createdBy: r.created_by,
      createdAt: rfc3339(Number(r.created_ms)),
      active: active ? toDeployment(active) : null,
    };
  }
}

async function endpointRow(db: Kysely<Database>, id: string): Promise<EndpointTable> {
  const row = await db.selectFrom('endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new WardenError('WARDEN_NOT_FOUND', `endpoint ${id} not found`);
  return row;
}

async function activeDeployment(
  db: Kysely<Database>,
  endpointId: string,
): Promise<DeploymentTable | undefined> {
  return db
    .selectFrom('deployments')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .where('status', '=', 'active')
    .executeTakeFirst();
}

/** Signed by a signer the project still trusts (as the policies' `signed` attribute). */
async function isSigned(db: Kysely<Database>, versionId: string): Promise<boolean> {
  const row = await db
    .selectFrom('model_signatures as s')
    .innerJoin('project_signers as p', 'p.id', 's.signer_id')
    .select('s.id')
    .where('s.version_id', '=', versionId)
    .where('p.revoked_ms', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

function toDeployment(r: DeploymentTable): DeploymentView {
  return {
    id: r.id,
    endpoint: r.endpoint_id,
    version: r.version_id,
    status: r.status,
    rationale: r.rationale,
    deployedBy: r.deployed_by,
    deployedAt: rfc3339(Number(r.deployed_ms)),
    endedAt: r.ended_ms === null ? null : rfc3339(Number(r.ended_ms)),
  };
}

function event(
  caller: Caller,
  action: string,
  ep: Pick<EndpointTable, 'id' | 'project_id' | 'environment'>,
): Pick<EventInput, 'actor' | 'action' | 'resource' | 'context'> {
  return {
    actor: caller.actor,
    action,
    resource: { type: 'Endpoint', id: ep.id },
    context: { project: ep.project_id, environment: ep.environment },
  };
}
