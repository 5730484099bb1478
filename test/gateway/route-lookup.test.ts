import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gateway, GatewayEndpoint } from '../../src/gateway/index.js';
import type { CallContext } from '../../src/server/route.js';
import { gatewayRoutes } from '../../src/server/routes/gateway.js';

// The guard authorizes `endpoint.invoke` on the endpoint the route resolves, with its environment as a
// fact, and the handler forwards to an endpoint: they must be one and the same, even when the endpoint
// directory answers differently from one lookup to the next (its one-second cache refreshed after the
// endpoint was replaced, say).

describe('gateway route', () => {
  it('authorizes and forwards the one endpoint it looked up for the call', async () => {
    let lookups = 0;
    const directory = {
      find: async (project: string, name: string): Promise<GatewayEndpoint> => {
        lookups++;
        return {
          id: `ep-${lookups}`,
          project,
          name,
          environment: lookups === 1 ? 'staging' : 'production',
        } as GatewayEndpoint;
      },
    };
    const forwarded: GatewayEndpoint[] = [];
    const gateway = {
      forward: async (call: { endpoint: GatewayEndpoint }) => {
        forwarded.push(call.endpoint);
      },
    } as unknown as Gateway;
    const post = gatewayRoutes({ gateway, endpointDirectory: directory }).find((r) => r.method === 'POST');
    assert.ok(post && 'action' in post.access);

    const input = {
      query: undefined,
      body: undefined,
      params: { project: 'fraud', endpoint: 'scorer', '*': 'x' },
    };
    const resource = await post.access.resource(input);
    const facts = await post.access.facts?.(input);
    const ctx = {
      actor: { type: 'user', id: 'u-1' },
      requestId: 'req-1',
      decision: { policies: [], reason: 'test' },
    } as unknown as CallContext;
    const request = { url: '/gw/fraud/scorer/x', headers: {}, ip: '127.0.0.1' } as unknown as FastifyRequest;
    const reply = { raw: {}, hijack: () => {} } as unknown as FastifyReply;
    await post.handler(ctx, input, request, reply);

    assert.equal(lookups, 1);
    assert.deepEqual(resource, { type: 'Endpoint', id: 'ep-1' });
    assert.deepEqual(facts, { environment: 'staging' });
    assert.equal(forwarded[0]?.id, 'ep-1');
  });
});
