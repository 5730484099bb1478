import { z } from 'zod';
import { type Projects, projectSettingsSchema } from '../../catalog/index.js';
import { PLATFORM } from '../../policy/index.js';
import { route } from '../route.js';

const projectId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'lowercase letters, digits and dashes, starting with a letter or digit (≤ 63)',
  );
const environments = z
  .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'an environment name such as dev or production'))
  .max(20)
  .refine((a) => new Set(a).size === a.length, 'environments must be distinct');
const description = z.string().max(2000);
const projectParams = z.object({ project: z.string().min(1).max(63) });
const ref = ({ params }: { params: { project: string } }) => ({ type: 'Project', id: params.project });

/** Projects: create, list the visible ones, show, update settings; and their trusted OMS signers. */
export function projectRoutes(deps: { projects: Projects }) {
  const { projects } = deps;
  return [
    route({
      method: 'POST',
      url: '/api/v1/projects',
      summary: 'Create a project (id is a slug) with its environments and promotion settings',
      access: { action: 'project.create', resource: () => PLATFORM },
      body: z
        .object({
          id: projectId,
          description: description.optional(),
          environments: environments.optional(),
          settings: projectSettingsSchema.default(projectSettingsSchema.parse({})),
        })
        .strict(),
      handler: async (ctx, { body }, _req, reply) =>
        reply.status(201).send(await projects.create(ctx!.actor, body)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/projects',
      summary: 'List the projects the caller may read',
      // Everyone may ask; the answer holds only the projects `project.read` allows the caller.
      access: { action: 'self.read', resource: () => ({ type: 'Self', id: 'self' }) },
      handler: async (ctx, _input, req) => ({
        projects: await projects.listVisible(ctx!.principal, { sourceIp: req.ip }),
      }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/projects/:project',
      summary: 'Show a project: description, environments and settings',
      access: { action: 'project.read', resource: ref },
      params: projectParams,
      handler: async (_ctx, { params }) => projects.get(params.project),
    }),
    route({
      method: 'PATCH',
      url: '/api/v1/projects/:project',
      summary: "Change a project's description, environments or settings (settings are replaced whole)",
      access: { action: 'project.update', resource: ref },
      params: projectParams,
      body: z
        .object({
          description: description.optional(),
          environments: environments.optional(),
          settings: projectSettingsSchema.optional(),
        })
        .strict(),
      handler: async (ctx, { params, body }) => projects.update(ctx!.actor, params.project, body),
    }),
    route({
      method: 'POST',
      url: '/api/v1/projects/:project/signers',
      summary:
        'Trust a signer for OMS signatures: an ECDSA P-256/P-384 public key, or a root or intermediate CA certificate (PEM)',
      access: { action: 'project.update', resource: ref },
      params: projectParams,
      body: z
        .object({
          name: z.string().trim().min(1).max(200),
          kind: z.enum(['key', 'root', 'intermediate']),
          pem: z
            .string()
            .min(1)
            .max(64 * 1024),
        })
        .strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await projects.addSigner(ctx!.actor, params.project, body)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/projects/:project/signers',
      summary: "List a project's trusted signers, revoked ones included",
      access: { action: 'project.read', resource: ref },
      params: projectParams,
      handler: async (_ctx, { params }) => ({ signers: await projects.listSigners(params.project) }),
    }),
    route({
      method: 'POST',
      url: '/api/v1/projects/:project/signers/:id/revoke',
      summary: 'Stop trusting a signer; versions signed only by it are no longer signed',
      access: { action: 'project.update', resource: ref },
      params: projectParams.extend({ id: z.string().min(1).max(64) }),
      body: z
        .object({ reason: z.string().max(2000).optional() })
        .strict()
        .default({}),
      handler: async (ctx, { params, body }) =>
        projects.revokeSigner(ctx!.actor, params.project, params.id, body.reason),
    }),
  ];
}
