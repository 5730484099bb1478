import { z } from 'zod';
import { ALIAS_PATTERN, type Aliases, type Promotions, type Stages } from '../../workflow/index.js';
import { type CallContext, route } from '../route.js';

const rationale = z.string().trim().min(3, 'give a rationale of at least 3 characters').max(2000);
const versionParams = z.object({ id: z.string().min(1).max(64) });
const requestParams = z.object({ id: z.string().min(1).max(64) });
const aliasParams = z.object({
  id: z.string().min(1).max(64),
  alias: z.string().regex(ALIAS_PATTERN, 'a lowercase slug starting with a letter (≤ 63)'),
});
const versionRef = ({ params }: { params: { id: string } }) => ({ type: 'ModelVersion', id: params.id });

/** Promotion requests, approvals, rollback, retirement, artifact purge and aliases of model versions. */
export function promotionRoutes(deps: { promotions: Promotions; stages: Stages; aliases: Aliases }) {
  const { promotions, stages, aliases } = deps;
  // A request is authorized on its version; an unknown request on a version that does not exist
  // (403 without platform-wide rights, else the handler's 404).
  const requestRef = async ({ params }: { params: { id: string } }) => ({
    type: 'ModelVersion',
    id: (await promotions.versionOf(params.id)) ?? `promotion:${params.id}`,
  });
  return [
    route({
      method: 'POST',
      url: '/api/v1/model-versions/:id/promotions',
      summary:
        'Request a promotion (registered → staging, staging → production) with a rationale; gates run and are recorded',
      access: { action: 'model_version.promote', resource: versionRef },
      params: versionParams,
      body: z.object({ target: z.enum(['staging', 'production']), rationale }).strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await promotions.request(ctx!, params.id, body)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/model-versions/:id/promotions',
      summary: "A version's promotion requests, newest first",
      access: { action: 'model.read', resource: versionRef },
      params: versionParams,
      handler: async (_ctx, { params }) => ({ promotions: await promotions.list(params.id) }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/promotions/:id',
      summary: 'A promotion request with its gate results and approvals',
      access: { action: 'model.read', resource: requestRef },
      params: requestParams,
      handler: async (_ctx, { params }) => promotions.get(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/v1/promotions/:id/approvals',
      summary:
        'Approve or reject a pending request (never the requester, the creator or the trainer; once per approver)',
      access: { action: 'model_version.approve', resource: requestRef },
      params: requestParams,
      body: z
        .object({ decision: z.enum(['approve', 'reject']), comment: z.string().trim().max(2000).optional() })
        .strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await promotions.decide(ctx!, params.id, body)),
    }),
    route({
      method: 'POST',
      url: '/api/v1/promotions/:id/cancel',
      summary: 'Withdraw a pending promotion request',
      access: { action: 'model_version.promote', resource: requestRef },
      params: requestParams,
      body: z.object({ reason: rationale }).strict(),
      handler: async (ctx, { params, body }) => promotions.cancel(ctx!, params.id, body.reason),
    }),
    versionChange({
      url: '/api/v1/model-versions/:id/rollback',
      summary:
        'Roll a production version back: the version it replaced is production again, this one goes to staging',
      action: 'model_version.rollback',
      change: (ctx, id, rationale) => stages.rollback(ctx, id, rationale),
    }),
    versionChange({
      url: '/api/v1/model-versions/:id/retire',
      summary:
        'Retire a version (blocked by a legal hold or an active deployment); aliases go, pending requests close',
      action: 'model_version.retire',
      change: (ctx, id, rationale) => stages.retire(ctx, id, rationale),
    }),
    versionChange({
      url: '/api/v1/model-versions/:id/purge-artifacts',
      summary: "Delete a retired version's blobs no other version uses (blocked by a legal hold)",
      action: 'model_version.retire',
      change: (ctx, id, rationale) => stages.purgeArtifacts(ctx, id, rationale),
    }),
    route({
      method: 'PUT',
      url: '/api/v1/models/:id/aliases/:alias',
      summary: 'Point an alias (e.g. champion) at a version of the model',
      access: {
        action: 'model_version.alias',
        resource: ({ body }) => ({ type: 'ModelVersion', id: body.version }),
      },
      params: aliasParams,
      body: z.object({ version: z.string().min(1).max(64) }).strict(),
      handler: async (ctx, { params, body }) => aliases.set(ctx!, params.id, params.alias, body.version),
    }),
    route({
      method: 'DELETE',
      url: '/api/v1/models/:id/aliases/:alias',
      summary: 'Remove an alias',
      access: {
        action: 'model_version.alias',
        resource: async ({ params }) => ({
          type: 'ModelVersion',
          id: (await aliases.target(params.id, params.alias)) ?? `alias:${params.id}:${params.alias}`,
        }),
      },
      params: aliasParams,
      handler: async (ctx, { params }, _req, reply) => {
        await aliases.remove(ctx!, params.id, params.alias);
        return reply.status(204).send();
      },
    }),
  ];
}

/** A POST on a model version (`:id`) whose body is only a rationale; `change` does the work. */
function versionChange(spec: {
  url: string;
  summary: string;
  action: string;
  change: (ctx: CallContext, id: string, rationale: string) => Promise<unknown>;
}) {
  return route({
    method: 'POST',
    url: spec.url,
    summary: spec.summary,
    access: { action: spec.action, resource: versionRef },
    params: versionParams,
    body: z.object({ rationale }).strict(),
    handler: async (ctx, { params, body }) => spec.change(ctx!, params.id, body.rationale),
  });
}
