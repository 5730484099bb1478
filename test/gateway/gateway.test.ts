import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { eventually } from '../support/process.js';
import { type TestServer, testServer } from '../support/runtime.js';
import { startUpstream, type Upstream } from './upstream.js';

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

for (const dialect of await backends()) {
  describe(`gateway on ${dialect}`, () => {
    let s: TestServer;
    let upstream: Upstream;
    let base: string;
    let outsider: string;

    async function endpoint(name: string, protocol: string, upstreamUrl: string, settings: object = {}) {
      await s.rt.store.db
        .insertInto('endpoints')
        .values({
          id: `ep-${name}`,
          project_id: 'fraud',
          name,
          environment: 'staging',
          upstream_url: upstreamUrl,
          protocol: protocol as 'http',
          settings: JSON.stringify(settings),
          revision: 1,
          created_by: 'test',
          created_ms: Date.now(),
        })
        .execute();
    }

    const call = (path: string, init: RequestInit & { token?: string | null } = {}) => {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== null) headers.set('authorization', `Bearer ${token ?? s.token}`);
      return fetch(`${base}${path}`, { ...rest, headers });
    };

    /** The gateway events (integrated) whose request id or detail matches. */
    async function invokeEvents(count: number, filter: (e: LedgerEvent) => boolean): Promise<LedgerEvent[]> {
      return eventually(`${count} gateway event(s)`, async () => {
        const found = (await allEvents(s, 'action=endpoint.invoke&wait=integrated'))
          .map((e) => e.event as LedgerEvent)
          .filter(filter);
        return found.length >= count ? found : undefined;
      });
    }

    before(async () => {
      upstream = await startUpstream();
      s = await testServer(dialect, { gatewayTimeoutMs: '300' });
      await s.rt.store.db
        .insertInto('projects')
        .values({
          id: 'fraud',
          description: '',
          environments: '["staging"]',
          settings: '{}',
          created_by: 'test',
          created_ms: Date.now(),
          updated_ms: Date.now(),
        })
        .execute();
      await endpoint('scorer', 'open-inference-v2', `${upstream.url}/`);
      await endpoint('chat', 'openai', upstream.url, { redactFields: ['content'] });
      await endpoint('limited', 'http', upstream.url, { principalRateLimit: { perSecond: 0.01, burst: 2 } });
      await endpoint('small', 'http', upstream.url, { maxPayloadBytes: 64 });
      await endpoint('down', 'http', 'http://127.0.0.1:1');
      await endpoint('plain', 'http', upstream.url);
      await s.rt.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(s.rt.app.server.address() as AddressInfo).port}`;
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'service', name: 'outsider' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const token = await s.inject({
        method: 'POST',
        url: `/api/v1/principals/${created.json().id}/tokens`,
        body: { description: 'no bindings', scopes: ['*'] },
      });
      outsider = token.json().token;
    });

    after(async () => {
      await s?.close();
      await upstream?.close();
    });

    it('forwards an Open Inference Protocol call and records who called what, with the payload digest', async () => {
      const body = JSON.stringify({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 3] }] });
      const res = await call('/gw/fraud/scorer/v2/models/fraud-scorer/versions/2/infer', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          cookie: 'warden_session=secret',
          'x-warden-purpose': 'fraud',
        },
        body,
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-model-server'), 'test');
      assert.deepEqual(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data, [6]);
      const seen = upstream.seen.at(-1);
      assert.equal(seen?.url, '/v2/models/fraud-scorer/versions/2/infer');
      assert.equal(seen?.headers.authorization, undefined, 'the caller token never reaches the model server');
      assert.equal(seen?.headers.cookie, undefined);
      assert.equal(seen?.headers['x-warden-purpose'], undefined);
      const [event] = await invokeEvents(
        1,
        (e) => e.resource.id === 'ep-scorer' && e.outcome === 'succeeded',
      );
      assert.equal(event?.actor.via, 'gateway');
      assert.equal(event?.request?.payloadSha256, sha256(body));
      assert.equal(event?.context?.purpose, 'fraud');
      assert.equal(event?.context?.project, 'fraud');
      assert.deepEqual(event?.decision?.policies, ['role:platform-admin']);
      const d = event?.details as Record<string, unknown>;
      assert.deepEqual(
        [d.status, d.operation, d.model, d.modelVersion, d.bytesIn],
        [200, 'infer', 'fraud-scorer', '2', Buffer.byteLength(body)],
      );
      assert.ok((d.bytesOut as number) > 0);
      assert.equal(JSON.stringify(event).includes('"data":[1,2,3]'), false, 'the raw payload is not stored');
    });

    it('streams an OpenAI-compatible response through, counts its tokens and stores the redacted payload', async () => {
      const res = await call('/gw/fraud/chat/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-fraud',
          stream: true,
          messages: [{ role: 'user', content: 'card 4111' }],
        }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const reader = res.body!.getReader();
      const chunks: string[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(Buffer.from(value).toString());
      }
      const text = chunks.join('');
      assert.ok(chunks.length > 1, 'the response arrives in pieces, as the model writes it');
      assert.match(text, /Hello/);
      assert.match(text, /\[DONE\]/);
      const [event] = await invokeEvents(1, (e) => e.resource.id === 'ep-chat');
      const d = event?.details as Record<string, unknown>;
      assert.equal(d.model, 'gpt-fraud');
      assert.equal(d.operation, 'chat.completions');
      assert.deepEqual(d.tokens, { prompt: 9, completion: 4, total: 13 });
      assert.deepEqual((d.payload as { messages: unknown[] }).messages, [
        { role: 'user', content: '[redacted]' },
      ]);
    });

    it('refuses and records a caller without credentials (401) or without a permit (403)', async () => {
      const anon = await call('/gw/fraud/scorer/v2/health/ready', { token: null });
      assert.equal(anon.status, 401);
      const denied = await call('/gw/fraud/scorer/v2/health/ready', { token: outsider });
      assert.equal(denied.status, 403);
      const events = await eventually('the refusals', async () => {
        const list = (await allEvents(s, 'outcome=denied&wait=integrated')).map(
          (e) => e.event as LedgerEvent,
        );
        const a = list.find((e) => e.action === 'auth.authenticate' && e.resource.id.startsWith('GET /gw/'));
        const b = list.find((e) => e.action === 'endpoint.invoke' && e.resource.id === 'ep-scorer');
        return a && b ? [a, b] : undefined;
      });
      assert.equal(events[1]?.actor.type, 'service');
      assert.equal(
        upstream.seen.some((r) => r.url === '/v2/health/ready'),
        false,
        'nothing reached the model server',
      );
    });

    it('rate-limits a principal with 429 and Retry-After, and records it', async () => {
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await call('/gw/fraud/limited/anything')).status);
      assert.deepEqual(
        codes.slice(0, 2).every((c) => c === 404),
        true,
        'the first two reach the model server',
      );
      assert.equal(codes[2], 429);
      const res = await call('/gw/fraud/limited/anything');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      await invokeEvents(
        2,
        (e) => e.resource.id === 'ep-limited' && (e.details as { status?: number }).status === 429,
      );
    });

    it('refuses oversized payloads (413), declared or streamed, before the model server gets them whole', async () => {
      const big = 'x'.repeat(1000);
      const declared = await call('/gw/fraud/small/echo', { method: 'POST', body: big });
      assert.equal(declared.status, 413);
      const streamed = await new Promise<number>((resolve, reject) => {
        const req = request(`${base}/gw/fraud/small/echo`, {
          method: 'POST',
          headers: { authorization: `Bearer ${s.token}`, 'transfer-encoding': 'chunked' },
        });
        req.on('response', (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write(big);
        req.end(big);
      });
      assert.equal(streamed, 413);
      await invokeEvents(
        2,
        (e) => e.resource.id === 'ep-small' && (e.details as { status?: number }).status === 413,
      );
      assert.equal(
        upstream.seen.some((r) => r.url === '/echo' && r.body.length > 64),
        false,
      );
    });

    it('answers 502 when the model server is unreachable and 504 when it is too slow, and records both', async () => {
      const down = await call('/gw/fraud/down/v1/models');
      assert.equal(down.status, 502);
      assert.match(
        ((await down.json()) as { error: { message: string } }).error.message,
        /could not be reached/,
      );
      const slow = await call('/gw/fraud/plain/slow');
      assert.equal(slow.status, 504);
      const events = await invokeEvents(
        2,
        (e) => e.outcome === 'failed' && ['ep-down', 'ep-plain'].includes(e.resource.id),
      );
      assert.deepEqual(events.map((e) => (e.details as { status: number }).status).sort(), [502, 504]);
    });

    it('records calls the client abandoned, before or during the answer, and one the model server cut off', async () => {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${base}/gw/fraud/plain/drip`, {
          headers: { authorization: `Bearer ${s.token}` },
        });
        req.on('response', (r) => {
          r.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (err) =>
          (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err),
        );
        req.end();
      });
      const cut = await call('/gw/fraud/plain/reset');
      await cut.text().catch(() => 'aborted');
      // A caller that gives up before the model server answers: the call ends then, not at the timeout.
      await new Promise<void>((resolve) => {
        const req = request(`${base}/gw/fraud/plain/slow`, {
          headers: { authorization: `Bearer ${s.token}` },
        });
        req.on('error', () => resolve());
        req.end();
        setTimeout(() => req.destroy(), 50);
      });
      const events = await invokeEvents(
        3,
        (e) => e.outcome === 'failed' && (e.details as { ended?: string }).ended !== undefined,
      );
      const seen = events.map((e) => {
        const d = e.details as { ended: string; status: number };
        return `${d.ended} ${d.status}`;
      });
      assert.deepEqual(seen.sort(), ['client-aborted 200', 'client-aborted 499', 'upstream-error 200']);
    });

    it('answers 404 for an endpoint the project does not have (to a caller allowed to know)', async () => {
      const res = await call('/gw/fraud/nope/v2/health/ready');
      assert.equal(res.status, 404);
    });
  });
}
