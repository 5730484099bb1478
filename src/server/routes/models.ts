import { Readable } from 'node:stream';
import { z } from 'zod';
import { WardenError } from '../../core/index.js';
import type { Models, Provenances, Signatures, Versions } from '../../registry/index.js';
import { route } from '../route.js';

/** Media types a version upload may use: a tar archive, optionally gzip-compressed. */
const TAR_TYPES = ['application/x-tar', 'application/gzip', 'application/x-gzip'];

const modelName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'letters, digits, dots, underscores and dashes, starting with a letter or digit (≤ 128)',
  );
const projectParams = z.object({ project: z.string().min(1).max(63) });
const idParams = z.object({ id: z.string().min(1).max(64) });
const jsonObject = z.record(z.string(), z.unknown());

/** Models, immutable versions uploaded as tar streams, file downloads, OMS signatures and provenance. */
export function modelRoutes(deps: {
  models: Models;
  versions: Versions;
  signatures: Signatures;
  provenances: Provenances;
}) {
  const { models, versions, signatures, provenances } = deps;
  const version = ({ params }: { params: { id: string } }) => ({ type: 'ModelVersion', id: params.id });
  return [
    route({
      method: 'POST',
      url: '/api/v1/projects/:project/models',
      summary: 'Create a model in a project',
      access: {
        action: 'model.register',
        resource: ({ params }) => ({ type: 'Project', id: params.project }),
      },
      params: projectParams,
      body: z.object({ name: modelName, description: z.string().max(2000).optional() }).strict(),
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await models.create(ctx!.actor, params.project, body)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/projects/:project/models',
      summary: "List a project's models",
      access: { action: 'project.read', resource: ({ params }) => ({ type: 'Project', id: params.project }) },
      params: projectParams,
      handler: async (_ctx, { params }) => ({ models: await models.list(params.project) }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/models/:id',
      summary: 'Show a model with its versions and aliases',
      access: { action: 'model.read', resource: ({ params }) => ({ type: 'Model', id: params.id }) },
      params: idParams,
      handler: async (_ctx, { params }) => models.get(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/v1/models/:id/versions',
      summary:
        'Register the next version from a tar archive of its files (application/x-tar, or application/gzip), streamed into the blob store',
      access: { action: 'model.register', resource: ({ params }) => ({ type: 'Model', id: params.id }) },
      params: idParams,
      streamedBody: TAR_TYPES,
      handler: async (ctx, { params }, request, reply) => {
        const body = request.body;
        if (!(body instanceof Readable)) {
          throw new WardenError('WARDEN_INVALID_INPUT', 'send the version as a tar archive', {
            issues: [{ field: 'content-type', message: `use ${TAR_TYPES.join(' or ')}` }],
          });
        }
        try {
          return reply
            .status(201)
            .send(await versions.register(ctx!.actor, ctx!.principal.type, params.id, body));
        } catch (err) {
          // The rest of a refused upload is not worth reading: close the connection after the answer.
          if (!body.readableEnded) reply.header('connection', 'close');
          throw err;
        }
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/model-versions/:id',
      summary: 'Show a version: manifest, signatures, provenance summary, stage and aliases',
      access: { action: 'model.read', resource: version },
      params: idParams,
      handler: async (_ctx, { params }) => versions.get(params.id),
    }),
    route({
      method: 'GET',
      url: '/api/v1/projects/:project/models/:name/versions/:ref',
      summary: 'Show a version of a model by number or alias',
      access: {
        action: 'model.read',
        // A version that does not exist is still named, so a caller without rights hears 403, not 404.
        resource: async ({ params }) => ({
          type: 'ModelVersion',
          id:
            (await versions.findId(params.project, params.name, params.ref)) ??
            `${params.project}/${params.name}@${params.ref}`,
        }),
      },
      params: projectParams.extend({ name: z.string().min(1).max(128), ref: z.string().min(1).max(128) }),
      handler: async (_ctx, { params }) => versions.resolve(params.project, params.name, params.ref),
    }),
    route({
      method: 'GET',
      url: '/api/v1/model-versions/:id/files/*',
      summary:
        "Download one file of a version (the path must be a manifest path); recorded, with the file's digest in headers",
      access: { action: 'model_version.download', resource: version },
      params: idParams.extend({ '*': z.string().min(1).max(4096) }),
      produces: 'application/octet-stream',
      handler: async (ctx, { params }, _req, reply) => {
        const { file, body } = await versions.openFile(ctx!.actor, params.id, params['*']);
        const hex = file.digest.slice('sha256:'.length);
        return reply
          .header('content-type', 'application/octet-stream')
          .header('content-length', String(file.size))
          .header('digest', `sha-256=${Buffer.from(hex, 'hex').toString('base64')}`)
          .header('x-warden-digest', file.digest)
          .send(body);
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/model-versions/:id/signatures',
      summary:
        "Attach an OpenSSF Model Signing bundle (model.sig JSON), verified against the version's files and the project's trusted signers",
      access: { action: 'model_version.attach', resource: version },
      params: idParams,
      body: jsonObject,
      handler: async (ctx, { params, body }, _req, reply) =>
        reply.status(201).send(await signatures.attach(ctx!.actor, params.id, body)),
    }),
    route({
      method: 'PUT',
      url: '/api/v1/model-versions/:id/provenance',
      summary:
        'Set the provenance of a version once: an in-toto statement with a SLSA v1 provenance predicate whose subject is the manifest digest',
      access: { action: 'model_version.attach', resource: version },
      params: idParams,
      body: jsonObject,
      handler: async (ctx, { params, body }) => provenances.set(ctx!.actor, params.id, body),
    }),
    route({
      method: 'GET',
      url: '/api/v1/model-versions/:id/provenance',
      summary: 'The provenance statement of a version, as attached',
      access: { action: 'model.read', resource: version },
      params: idParams,
      handler: async (_ctx, { params }) => provenances.statement(params.id),
    }),
  ];
}
