import type { Kysely } from 'kysely';
import { type Caller, parseProjectSettings, projectRow } from '../catalog/index.js';
import { type Clock, newId, rfc3339, WardenError } from '../core/index.js';
import type { EventActor, EventInput, Ledger } from '../ledger/index.js';
import type { Authorizer } from '../policy/index.js';
import type {
  Database,
  ModelVersionTable,
  PromotionApprovalTable,
  PromotionRequestTable,
  Store,
} from '../store/index.js';
import { type GateResult, runGates } from './gates.js';
import { lockVersion, type Stage, setStage, versionResource, versionRow } from './versions.js';

/** Stages a promotion may target, and the stage each starts from. */
export const PROMOTION_FROM = { staging: 'registered', production: 'staging' } as const;

/** A promotion target. */
export type PromotionTarget = keyof typeof PROMOTION_FROM;

/** A promotion request as the API shows it; `status` reads `expired` once a pending request's time is up. */
export interface PromotionView {
  readonly id: string;
  readonly version: string;
  readonly project: string;
  readonly from: string;
  readonly target: string;
  readonly rationale: string;
  readonly status: PromotionRequestTable['status'];
  readonly gates: readonly GateResult[];
  readonly requiredApprovals: number;
  readonly approvals: readonly {
    readonly approver: string;
    readonly decision: 'approve' | 'reject';
    readonly comment: string | null;
    readonly at: string;
  }[];
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly closedAt: string | null;
  readonly closedReason: string | null;
}

/** What a transaction decided to refuse: recorded inside it, thrown once it committed. */
type Outcome = { readonly view: PromotionView } | { readonly refused: WardenError };

const GATE_POLICY = 'workflow:gates';
const CLOSE_ACTIONS: Partial<Record<PromotionRequestTable['status'], string>> = {
  expired: 'promotion.expire',
  cancelled: 'promotion.cancel',
  failed: 'promotion.fail',
};
const SOD_POLICY = 'workflow:separation-of-duties';

/**
 * Promotion requests and their approvals. A request runs the gates (recorded) and waits for the
 * approvals the project requires; the approval that completes the count re-runs the gates and moves
 * the stage. All changes to one version's requests run under that version's row lock, so concurrent
 * requests or approvals cannot both win.
 */
export class Promotions {
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

  /**
   * Requests moving a version to `target` (registered → staging, staging → production). To
   * production the requester must also be allowed `model_version.promote_production` (users with a
   * fresh MFA). Failing gates refuse the request (kept as `failed`, 409 naming each gate); with no
   * approvals required the stage changes at once.
   */
  async request(
    caller: Caller,
    versionId: string,
    req: { target: PromotionTarget; rationale: string },
  ): Promise<PromotionView> {
    const before = await versionRow(this.#store.db, versionId);
    if (req.target === 'production') await this.#mayPromoteProduction(caller, before);
    const now = this.#clock.now();
    const outcome = await this.#store.db.transaction().execute(async (trx): Promise<Outcome> => {
      const v = await lockVersion(trx, versionId);
      const from = PROMOTION_FROM[req.target];
      if (v.stage !== from)
        throw new WardenError(
          'WARDEN_CONFLICT',
          v.stage === 'retired'
            ? 'a retired version cannot be promoted'
            : `a promotion to ${req.target} starts from ${from}; this version is ${v.stage}`,
          { issues: [{ field: 'target', message: `the version is ${v.stage}` }] },
        );
      await this.#expirePending(trx, v, now);
      const pending = await trx
        .selectFrom('promotion_requests')
        .select('id')
        .where('version_id', '=', v.id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (pending)
        throw new WardenError(
          'WARDEN_CONFLICT',
          `promotion request ${pending.id} is already pending for this version; cancel it or let it finish`,
        );
      const settings = parseProjectSettings((await projectRow(trx, v.project_id)).settings);
      const gates = await runGates(trx, v, settings);
      const failed = gates.filter((g) => !g.passed);
      const row: PromotionRequestTable = {
        id: newId(now),
        version_id: v.id,
        from_stage: from,
        target_stage: req.target,
        rationale: req.rationale,
        status: failed.length > 0 ? 'failed' : 'pending',
        gates: JSON.stringify(gates),
        required_approvals: settings.approvals[req.target],
        requested_by: caller.actor.id,
        requested_ms: now,
        expires_ms: now + settings.requestTtlHours * 3_600_000,
        closed_ms: failed.length > 0 ? now : null,
        closed_reason: failed.length > 0 ? 'gates failed' : null,
      };
      await trx.insertInto('promotion_requests').values(row).execute();
      await this.#ledger.record(trx, {
        ...this.#event(caller.actor, 'promotion.request', v),
        outcome: failed.length > 0 ? 'failed' : 'succeeded',
        details: {
          request: row.id,
          from,
          target: req.target,
          rationale: req.rationale,
          requiredApprovals: row.required_approvals,
          expiresAt: rfc3339(row.expires_ms),
        },
      });
      await this.#recordGates(trx, caller.actor, v, row.id, 'request', gates);
      if (failed.length > 0) return { refused: gatesRefused(row.id, failed) };
      if (row.required_approvals === 0) await this.#complete(trx, caller.actor, v, row, [], now);
      return { view: await this.#view(trx, row.id) };
    });
    this.#ledger.committed();
    if ('refused' in outcome) throw outcome.refused;
    return outcome.view;
  }

  /**
   * Records an approval or a rejection. Refused (recorded, 403): the requester, the version's
   * creator, the provenance's trainer. Refused (recorded, 409): a second decision by the same
   * approver, a request that is not pending or has expired (then marked expired). A rejection closes
   * the request; the approval that completes the required count re-runs the gates and, when they
   * pass, changes the stage.
   */
  async decide(
    caller: Caller,
    requestId: string,
    d: { decision: 'approve' | 'reject'; comment?: string | undefined },
  ): Promise<PromotionView> {
    const versionId = await this.#requestVersion(requestId);
    const now = this.#clock.now();
    const approver = caller.actor.id;
    const outcome = await this.#store.db.transaction().execute(async (trx): Promise<Outcome> => {
      const v = await lockVersion(trx, versionId);
      const req = await this.#requestRow(trx, requestId);
      const action = d.decision === 'approve' ? 'model_version.approve' : 'model_version.reject';
      const refuse = async (code: 'WARDEN_FORBIDDEN' | 'WARDEN_CONFLICT', reason: string) => {
        await this.#ledger.record(trx, {
          ...this.#event(caller.actor, action, v),
          outcome: 'denied',
          decision: { policies: [SOD_POLICY], reason },
          details: { request: req.id, decision: d.decision, target: req.target_stage },
        });
        return { refused: new WardenError(code, `${d.decision} refused: ${reason}`) };
      };
      if (req.status === 'pending' && now >= Number(req.expires_ms)) {
        await this.#close(trx, caller.actor, v, req, 'expired', 'the request expired', now);
        return refuse('WARDEN_CONFLICT', `request ${req.id} expired at ${rfc3339(Number(req.expires_ms))}`);
      }
      if (req.status !== 'pending') return refuse('WARDEN_CONFLICT', `request ${req.id} is ${req.status}`);
      if (approver === req.requested_by)
        return refuse('WARDEN_FORBIDDEN', 'the requester cannot approve their own request');
      if (approver === v.created_by)
        return refuse('WARDEN_FORBIDDEN', "the version's creator cannot approve it");
      if (approver === v.trainer)
        return refuse('WARDEN_FORBIDDEN', "the provenance's trainer cannot approve the version");
      const earlier = await trx
        .selectFrom('promotion_approvals')
        .select('decision')
        .where('request_id', '=', req.id)
        .where('approver_id', '=', approver)
        .executeTakeFirst();
      if (earlier) return refuse('WARDEN_CONFLICT', `${approver} already decided (${earlier.decision})`);
      await trx
        .insertInto('promotion_approvals')
        .values({
          request_id: req.id,
          approver_id: approver,
          decision: d.decision,
          comment: d.comment ?? null,
          created_ms: now,
        })
        .execute();
      await this.#ledger.record(trx, {
        ...this.#event(caller.actor, action, v),
        outcome: 'succeeded',
        details: {
          request: req.id,
          decision: d.decision,
          target: req.target_stage,
          ...(d.comment !== undefined ? { comment: d.comment } : {}),
        },
      });
      if (d.decision === 'reject') {
        await this.#close(trx, caller.actor, v, req, 'rejected', `rejected by ${approver}`, now);
        return { view: await this.#view(trx, req.id) };
      }
      const approvals = await approvalsOf(trx, req.id);
      const approvers = approvals.filter((a) => a.decision === 'approve').map((a) => a.approver_id);
      if (approvers.length < req.required_approvals) return { view: await this.#view(trx, req.id) };
      if (v.stage !== req.from_stage) {
        await this.#close(trx, caller.actor, v, req, 'cancelled', `the version is now ${v.stage}`, now);
        return { refused: new WardenError('WARDEN_CONFLICT', `the version is now ${v.stage}`) };
      }
      const settings = parseProjectSettings((await projectRow(trx, v.project_id)).settings);
      const gates = await runGates(trx, v, settings);
      await this.#recordGates(trx, caller.actor, v, req.id, 'completion', gates);
      const failed = gates.filter((g) => !g.passed);
      if (failed.length > 0) {
        await trx
          .updateTable('promotion_requests')
          .set({ gates: JSON.stringify(gates) })
          .where('id', '=', req.id)
          .execute();
        await this.#close(trx, caller.actor, v, req, 'failed', 'gates failed at completion', now);
        return { refused: gatesRefused(req.id, failed) };
      }
      await this.#complete(trx, caller.actor, v, { ...req, gates: JSON.stringify(gates) }, approvers, now);
      return { view: await this.#view(trx, req.id) };
    });
    this.#ledger.committed();
    if ('refused' in outcome) throw outcome.refused;
    return outcome.view;
  }

  /** Withdraws a pending request (409 when it is not pending or has expired, then marked so), recorded with the reason. */
  async cancel(caller: Caller, requestId: string, reason: string): Promise<PromotionView> {
    const versionId = await this.#requestVersion(requestId);
    const now = this.#clock.now();
    const outcome = await this.#store.db.transaction().execute(async (trx): Promise<Outcome> => {
      const v = await lockVersion(trx, versionId);
      const req = await this.#requestRow(trx, requestId);
      if (req.status === 'pending' && now >= Number(req.expires_ms)) {
        await this.#close(trx, caller.actor, v, req, 'expired', 'the request expired', now);
        return { refused: new WardenError('WARDEN_CONFLICT', `request ${req.id} has expired`) };
      }
      if (req.status !== 'pending')
        throw new WardenError(
          'WARDEN_CONFLICT',
          `request ${req.id} is ${req.status}; only pending requests are cancelled`,
        );
      await this.#close(trx, caller.actor, v, req, 'cancelled', reason, now);
      return { view: await this.#view(trx, req.id) };
    });
    this.#ledger.committed();
    if ('refused' in outcome) throw outcome.refused;
    return outcome.view;
  }

  /** One request with its approvals. */
  async get(requestId: string): Promise<PromotionView> {
    return this.#view(this.#store.db, requestId);
  }

  /** A version's requests, newest first. */
  async list(versionId: string): Promise<PromotionView[]> {
    await versionRow(this.#store.db, versionId);
    const rows = await this.#store.db
      .selectFrom('promotion_requests')
      .select('id')
      .where('version_id', '=', versionId)
      .orderBy('requested_ms', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return Promise.all(rows.map((r) => this.#view(this.#store.db, r.id)));
  }

  /** The version a request is about (for the route's authorization); undefined when there is no such request. */
  async versionOf(requestId: string): Promise<string | undefined> {
    const row = await this.#store.db
      .selectFrom('promotion_requests')
      .select('version_id')
      .where('id', '=', requestId)
      .executeTakeFirst();
    return row?.version_id;
  }

  async #requestVersion(requestId: string): Promise<string> {
    const id = await this.versionOf(requestId);
    if (id === undefined)
      throw new WardenError('WARDEN_NOT_FOUND', `promotion request ${requestId} not found`);
    return id;
  }

  async #requestRow(db: Kysely<Database>, id: string): Promise<PromotionRequestTable> {
    const row = await db.selectFrom('promotion_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new WardenError('WARDEN_NOT_FOUND', `promotion request ${id} not found`);
    return row;
  }

  /** Production needs `model_version.promote_production` for the requester; a refusal is recorded. */
  async #mayPromoteProduction(caller: Caller, v: ModelVersionTable): Promise<void> {
    const decision = await this.#authorizer.decide(
      caller.principal,
      'model_version.promote_production',
      { type: 'ModelVersion', id: v.id },
      { ...(caller.actor.ip !== undefined ? { sourceIp: caller.actor.ip } : {}) },
    );
    if (decision.allowed) return;
    await this.#ledger.recordAlone({
      ...this.#event(caller.actor, 'model_version.promote_production', v),
      outcome: 'denied',
      decision: { policies: decision.policies, reason: decision.reason, bundle: decision.bundle },
      details: { phase: 'request' },
    });
    throw new WardenError('WARDEN_FORBIDDEN', `promotion to production refused: ${decision.reason}`);
  }

  /** Pending requests of `v` whose time is up become `expired` (recorded). */
  async #expirePending(trx: Kysely<Database>, v: ModelVersionTable, now: number): Promise<void> {
    const stale = await trx
      .selectFrom('promotion_requests')
      .selectAll()
      .where('version_id', '=', v.id)
      .where('status', '=', 'pending')
      .where('expires_ms', '<=', now)
      .execute();
    const system: EventActor = { type: 'system', id: 'promotion-expiry', via: 'system' };
    for (const req of stale) await this.#close(trx, system, v, req, 'expired', 'the request expired', now);
  }

  /** Closes a pending request with `status`, recorded as `promotion.<status>`. */
  async #close(
    trx: Kysely<Database>,
    actor: EventActor,
    v: ModelVersionTable,
    req: PromotionRequestTable,
    status: 'expired' | 'rejected' | 'cancelled' | 'failed' | 'completed',
    reason: string,
    now: number,
  ): Promise<void> {
    await trx
      .updateTable('promotion_requests')
      .set({ status, closed_ms: now, closed_reason: reason })
      .where('id', '=', req.id)
      .where('status', '=', 'pending')
      .execute();
    // A completion and a rejection are recorded by their own events (promote, reject).
    const action = CLOSE_ACTIONS[status];
    if (action === undefined) return;
    await this.#ledger.record(trx, {
      ...this.#event(actor, action, v),
      outcome: 'succeeded',
      details: { request: req.id, target: req.target_stage, reason },
    });
  }

  /**
   * Moves the stage (compare-and-set), recorded as `model_version.promote` or, to production,
   * `model_version.promote_production` with rationale, requester, approvers and gates. A model has
   * one production version: the one it replaces goes back to staging, and is remembered so a
   * rollback restores it.
   */
  async #complete(
    trx: Kysely<Database>,
    actor: EventActor,
    v: ModelVersionTable,
    req: PromotionRequestTable,
    approvers: readonly string[],
    now: number,
  ): Promise<void> {
    const target = req.target_stage as Stage;
    let replaced: string | null = null;
    if (target === 'production') {
      // At most one other, unless rows were written around the workflow: demote them all.
      const current = await trx
        .selectFrom('model_versions')
        .select(['id', 'revision', 'manifest_digest'])
        .where('model_id', '=', v.model_id)
        .where('stage', '=', 'production')
        .where('id', '!=', v.id)
        .orderBy('stage_changed_ms', 'desc')
        .execute();
      replaced = current[0]?.id ?? null;
      for (const c of current) {
        await setStage(trx, c, 'staging', `replaced in production by ${v.id}`, now);
        await this.#ledger.record(trx, {
          ...this.#event(actor, 'model_version.demote', { ...v, ...c }),
          outcome: 'succeeded',
          details: { from: 'production', to: 'staging', replacedBy: v.id, request: req.id },
        });
      }
      await trx
        .insertInto('production_history')
        .values({ version_id: v.id, model_id: v.model_id, previous_version_id: replaced, promoted_ms: now })
        .onConflict((oc) =>
          oc.column('version_id').doUpdateSet({ previous_version_id: replaced, promoted_ms: now }),
        )
        .execute();
    }
    await setStage(trx, v, target, req.rationale, now);
    await this.#close(trx, actor, v, req, 'completed', 'promoted', now);
    await this.#ledger.record(trx, {
      ...this.#event(
        actor,
        target === 'production' ? 'model_version.promote_production' : 'model_version.promote',
        v,
      ),
      outcome: 'succeeded',
      details: {
        request: req.id,
        from: req.from_stage,
        to: target,
        rationale: req.rationale,
        requestedBy: req.requested_by,
        approvers,
        gates: JSON.parse(req.gates) as GateResult[],
        ...(target === 'production' ? { replaced } : {}),
      },
    });
  }

  async #recordGates(
    trx: Kysely<Database>,
    actor: EventActor,
    v: ModelVersionTable,
    request: string,
    phase: 'request' | 'completion',
    gates: readonly GateResult[],
  ): Promise<void> {
    const failed = gates.filter((g) => !g.passed);
    await this.#ledger.record(trx, {
      ...this.#event(actor, 'model_version.gate', v),
      outcome: failed.length > 0 ? 'failed' : 'succeeded',
      decision: {
        policies: [GATE_POLICY],
        reason:
          failed.length > 0 ? failed.map((g) => `${g.gate}: ${g.reason}`).join('; ') : 'all gates passed',
      },
      details: { request, phase, gates },
    });
  }

  #event(
    actor: EventActor,
    action: string,
    v: Pick<ModelVersionTable, 'id' | 'manifest_digest' | 'project_id'>,
  ): Pick<EventInput, 'actor' | 'action' | 'resource' | 'context'> {
    return { actor, action, resource: versionResource(v), context: { project: v.project_id } };
  }

  async #view(db: Kysely<Database>, id: string): Promise<PromotionView> {
    const r = await this.#requestRow(db, id);
    const v = await versionRow(db, r.version_id);
    const approvals = await approvalsOf(db, id);
    const expired = r.status === 'pending' && this.#clock.now() >= Number(r.expires_ms);
    return {
      id: r.id,
      version: r.version_id,
      project: v.project_id,
      from: r.from_stage,
      target: r.target_stage,
      rationale: r.rationale,
      status: expired ? 'expired' : r.status,
      gates: JSON.parse(r.gates) as GateResult[],
      requiredApprovals: r.required_approvals,
      approvals: approvals.map((a) => ({
        approver: a.approver_id,
        decision: a.decision,
        comment: a.comment,
        at: rfc3339(Number(a.created_ms)),
      })),
      requestedBy: r.requested_by,
      requestedAt: rfc3339(Number(r.requested_ms)),
      expiresAt: rfc3339(Number(r.expires_ms)),
      closedAt: r.closed_ms === null ? null : rfc3339(Number(r.closed_ms)),
      closedReason: r.closed_reason,
    };
  }
}

async function approvalsOf(db: Kysely<Database>, requestId: string): Promise<PromotionApprovalTable[]> {
  return db
    .selectFrom('promotion_approvals')
    .selectAll()
    .where('request_id', '=', requestId)
    .orderBy('created_ms')
    .orderBy('approver_id')
    .execute();
}

function gatesRefused(request: string, failed: readonly GateResult[]): WardenError {
  return new WardenError(
    'WARDEN_CONFLICT',
    `promotion refused (request ${request} failed): ${failed.map((g) => `${g.gate}: ${g.reason}`).join('; ')}`,
    { issues: failed.map((g) => ({ field: `gates.${g.gate}`, message: g.reason })) },
  );
}
