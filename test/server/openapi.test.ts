import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';

type Operation = {
  operationId: string;
  security: unknown[];
  'x-warden-action': string | null;
  parameters: { name: string; in: string; required: boolean }[];
  responses: Record<string, { $ref?: string }>;
  requestBody?: unknown;
};

for (const dialect of await backends()) {
  describe(`OpenAPI document on ${dialect}`, () => {
    let s: TestServer;
    before(async () => {
      s = await testServer(dialect);
    });
    after(() => s.close());

    it('is a public OpenAPI 3.1 document listing every route of the table with its action', async () => {
      const res = await s.inject({ method: 'GET', url: '/api/v1/openapi.json', token: null });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const doc = res.json();
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(typeof doc.info.title, 'string');
      assert.equal(typeof doc.info.version, 'string');
      assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
      const rt = s.rt;
      const table = rt.routes;
      const operationIds = new Set<string>();
      let listed = 0;
      for (const r of table) {
        const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{path}');
        const op: Operation | undefined = doc.paths[path]?.[r.method.toLowerCase()];
        assert.ok(op, `${r.method} ${r.url} is missing as ${path}`);
        listed++;
        const isPublic = 'public' in r.access;
        assert.equal(op['x-warden-action'], isPublic ? null : (r.access as { action: string }).action);
        assert.deepEqual(op.security, isPublic ? [] : [{ bearer: [] }]);
        if (!isPublic) assert.ok(op.responses['401'] && op.responses['403'], `${path} omits 401/403`);
        assert.ok(op.responses['200']);
        assert.ok(!operationIds.has(op.operationId), `duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
        // OpenAPI: every template in a path is a required path parameter of the operation.
        const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const declared = op.parameters.filter((p) => p.in === 'path');
        assert.deepEqual(declared.map((p) => p.name).sort(), templated.sort(), `${path} path parameters`);
        assert.ok(declared.every((p) => p.required));
        assert.equal(
          op.requestBody !== undefined,
          r.body !== undefined || r.streamedBody !== undefined,
          `${path} request body`,
        );
        for (const resp of Object.values(op.responses)) {
          if (resp.$ref === undefined) continue;
          const name = resp.$ref.replace('#/components/responses/', '');
          assert.ok(doc.components.responses[name], `dangling ${resp.$ref}`);
        }
      }
      const documented = Object.values(doc.paths).reduce(
        (n: number, ops) => n + Object.keys(ops as object).length,
        0,
      );
      assert.equal(documented, listed, 'the document lists operations that are not in the table');
    });
  });
}
