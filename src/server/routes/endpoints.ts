import { z } from 'zod';
import { type Endpoints, PROTOCOLS } from '../../workflow/index.js';
import { route } from '../route.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes (≤ 63)');
const projectParams = z.object({ project: z.string().min(1).max(63) });
const endpointParams = z.object({ id: z.string().min(1).max(64) });
const endpointRef = ({ params }: { params: { id: string } }) => ({ type: 'Endpoint', id: params.id });
const upstreamUrl = z.url({ protocol: /^https?$/, error: 'an http or https URL' }).max(2000);

/** Endpoints: create, list, show; deployments of versions to them, rollback and history. */
export function endpointRoutes(deps: { endpoints: Endpoints }) {
  const { endpoints } = deps;
  return [
    route({
      method: 'POST',
      url: '/api/v1/projects/:project/endpoints',
      summary: 'Register an endpoint (environment, upstream URL, protocol) in a project',
      access: {
        action: 'endpoint.create',
        resource: ({ params }) => ({ type: 'Project', id: params.project }),
      },
      params: projectParams,
      body: z.object({ name: slug, environment: slug, upstreamUrl, protocol: z.enum(PROTOCOLS) }).strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await endpoints.create(ctx!, params.project, body)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/projects/:project/endpoints',
      summary: "A project's endpoints with what each serves",
      access: { action: 'project.read', resource: ({ params }) => ({ type: 'Project', id: params.project }) },
      params: projectParams,
      handler: async (_ctx, { params }) => ({ endpoints: await endpoints.list(params.project) }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/endpoints/:id',
      summary: 'An endpoint and its active deployment',
      access: { action: 'project.read', resource: endpointRef },
      params: endpointParams,
      handler: async (_ctx, { params }) => endpoints.get(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/v1/endpoints/:id/deployments',
      summary:
        'Deploy a version to the endpoint (a production endpoint also needs endpoint.deploy_production: signed, production stage)',
      access: {
        action: 'endpoint.deploy',
        resource: ({ body }) => ({ type: 'ModelVersion', id: body.version }),
      },
      params: endpointParams,
      body: z
        .object({
          version: z.string().min(1).max(64),
          rationale: z
            .string()
            .trim()
            .min(3, 'give a rationale of at least 3 characters')
            .max(2000)
            .optional(),
        })
        .strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await endpoints.deploy(ctx!, params.id, body)),
    }),
    route({
      method: 'POST',
      url: '/api/v1/endpoints/:id/rollback',
      summary:
        'Serve the previously deployed version again (as a new deployment); the current one is rolled back',
      access: { action: 'endpoint.rollback', resource: endpointRef },
      params: endpointParams,
      body: z
        .object({
          rationale: z.string().trim().min(3, 'give a rationale of at least 3 characters').max(2000),
        })
        .strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await endpoints.rollback(ctx!, params.id, body.rationale)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/endpoints/:id/deployments',
      summary: "An endpoint's deployment history, newest first",
      access: { action: 'project.read', resource: endpointRef },
      params: endpointParams,
      handler: async (_ctx, { params }) => ({ deployments: await endpoints.history(params.id) }),
    }),
  ];
}
