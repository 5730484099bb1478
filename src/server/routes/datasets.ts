import { z } from 'zod';
import { type Datasets, GRANT_MINUTES, SENSITIVITIES } from '../../catalog/index.js';
import { PURPOSE_HEADER } from '../guard.js';
import { route } from '../route.js';

const label = z.string().trim().min(1).max(200);
const purpose = z.string().trim().min(1).max(200);
const datasetParams = z.object({ id: z.string().min(1).max(64) });
const ref = ({ params }: { params: { id: string } }) => ({ type: 'Dataset', id: params.id });

/** Datasets: register, list, show; access requests that return time-limited grants; recorded reads. */
export function datasetRoutes(deps: { datasets: Datasets }) {
  const { datasets } = deps;
  return [
    route({
      method: 'POST',
      url: '/api/v1/projects/:project/datasets',
      summary:
        'Register a dataset version (sensitivity, purposes, PII fields, location, digest); parents become lineage',
      access: {
        action: 'dataset.register',
        resource: ({ params }) => ({ type: 'Project', id: params.project }),
      },
      params: z.object({ project: z.string().min(1).max(63) }),
      body: z
        .object({
          name: label,
          versionDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 lowercase hex>'),
          sensitivity: z.enum(SENSITIVITIES),
          domain: label.optional(),
          owner: z.string().min(1).max(64).optional(),
          allowedPurposes: z.array(purpose).max(100),
          piiFields: z.array(label).max(1000),
          locationUri: z.url().max(2000),
          description: z.string().max(2000).optional(),
          parents: z.array(z.string().min(1).max(64)).max(100).optional(),
        })
        .strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await datasets.register(ctx!.actor, params.project, body)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/projects/:project/datasets',
      summary: "List a project's datasets (descriptions only)",
      access: { action: 'project.read', resource: ({ params }) => ({ type: 'Project', id: params.project }) },
      params: z.object({ project: z.string().min(1).max(63) }),
      handler: async (_ctx, { params }) => ({ datasets: await datasets.list(params.project) }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/datasets/:id',
      summary: "Show a dataset's description (not its location: that needs a grant)",
      access: { action: 'project.read', resource: ref },
      params: datasetParams,
      handler: async (_ctx, { params }) => datasets.get(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/v1/datasets/:id/access-requests',
      summary:
        'Ask to read a dataset for a purpose: decided as dataset.read with the purpose and your MFA; returns a time-limited grant',
      access: { action: 'dataset.request_access', resource: ref },
      params: datasetParams,
      body: z
        .object({ purpose, minutes: z.number().int().min(1).max(GRANT_MINUTES.max).optional() })
        .strict(),
      handler: async (ctx, { params, body }, req, reply) =>
        reply.status(201).send(await datasets.requestAccess(ctx!, params.id, body, { sourceIp: req.ip })),
    }),
    route({
      method: 'POST',
      url: '/api/v1/datasets/:id/reads',
      summary:
        "Read a dataset under your grant (send the grant's purpose in X-Warden-Purpose): its location and digest; recorded",
      access: { action: 'dataset.read', resource: ref },
      params: datasetParams,
      body: z.object({ grant: z.string().min(1).max(64) }).strict(),
      handler: async (ctx, { params, body }, req) => {
        const header = req.headers[PURPOSE_HEADER];
        return datasets.read(ctx!, params.id, body.grant, typeof header === 'string' ? header : undefined);
      },
    }),
  ];
}
