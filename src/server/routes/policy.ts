import { z } from 'zod';
import { type Authorizer, PLATFORM } from '../../policy/index.js';
import { route } from '../route.js';

const files = z.record(
  z.string().regex(/^[A-Za-z0-9._/-]+$/, 'a relative file path'),
  z.string().max(1_000_000),
);

/** The active policy bundle, and applying a new one (policy as code). */
export function policyRoutes(deps: { authorizer: Authorizer }) {
  const { authorizer } = deps;
  return [
    route({
      method: 'GET',
      url: '/api/v1/policy',
      summary: 'The active policy bundle: version, content hash, policy ids and roles',
      access: { action: 'policy.read', resource: () => PLATFORM },
      handler: async () => authorizer.activeBundle(),
    }),
    route({
      method: 'GET',
      url: '/api/v1/policy/files',
      summary: 'The files of the active policy bundle',
      access: { action: 'policy.read', resource: () => PLATFORM },
      handler: async () => ({ files: (await authorizer.bundle()).files }),
    }),
    route({
      method: 'POST',
      url: '/api/v1/policy/bundles',
      summary:
        'Apply a bundle (files by relative path): validated, versioned by hash, recorded, swapped atomically',
      access: { action: 'policy.apply', resource: () => PLATFORM },
      body: z.object({ files }).strict(),
      handler: async (ctx, { body }, _req, reply) =>
        reply.status(201).send(await authorizer.apply(ctx!.actor, body.files)),
    }),
  ];
}
