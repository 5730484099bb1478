import { z } from 'zod';
import type { AnyRoute } from './route.js';

/** The OpenAPI 3.1 document generated from the route table, so it cannot drift from the code. */
export function openApiDocument(routes: readonly AnyRoute[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{path}');
    const op: Record<string, unknown> = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      security: 'public' in r.access ? [] : [{ bearer: [] }],
      'x-warden-action': 'action' in r.access ? r.access.action : null,
      parameters: [
        // OpenAPI requires every path template, the `*` tail's `{path}` too, to be a declared parameter.
        ...(r.url.endsWith('*')
          ? [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }]
          : []),
        ...parameters(r.params, 'path'),
        ...parameters(r.query, 'query'),
      ],
      responses: {
        '200': { description: 'OK', content: { [r.produces ?? 'application/json']: {} } },
        ...('public' in r.access
          ? {}
          : {
              '401': { $ref: '#/components/responses/Error' },
              '403': { $ref: '#/components/responses/Error' },
            }),
        '400': { $ref: '#/components/responses/Error' },
      },
    };
    if (r.body !== undefined) {
      op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } };
    }
    paths[path] ??= {};
    (paths[path] as Record<string, object>)[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Warden API', version: '1' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Error: {
          description: 'An error: a stable code, a message, and the offending fields',
          content: { 'application/json': { schema: { type: 'object', required: ['error'] } } },
        },
      },
    },
  };
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): object[] {
  if (schema === undefined) return [];
  const js = jsonSchema(schema) as { properties?: Record<string, object>; required?: string[] };
  // A `*` tail is documented as `{path}` above.
  return Object.entries(js.properties ?? {})
    .filter(([name]) => name !== '*')
    .map(([name, s]) => ({
      name,
      in: where,
      required: where === 'path' || (js.required ?? []).includes(name),
      schema: s,
    }));
}

function jsonSchema(schema: z.ZodType): object {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}
