import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callerResponseHeaders, upstreamRequestHeaders } from '../../src/gateway/index.js';

describe('proxy headers', () => {
  it('never forwards the caller credentials or hop-by-hop fields, and injects the upstream credential', () => {
    const out = upstreamRequestHeaders(
      {
        authorization: 'Bearer wdn_secret',
        cookie: 'warden_session=wds_x',
        host: 'warden.example',
        connection: 'keep-alive, X-Custom-Hop',
        'x-custom-hop': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        'x-warden-purpose': 'fraud',
        'content-type': 'application/json',
        'x-forwarded-for': '10.0.0.1',
      },
      { clientIp: '10.0.0.2', requestId: 'req-1', authorization: 'Bearer upstream-key' },
    );
    assert.deepEqual(out, {
      'content-type': 'application/json',
      'x-forwarded-for': '10.0.0.1, 10.0.0.2',
      'x-request-id': 'req-1',
      authorization: 'Bearer upstream-key',
    });
    const bare = upstreamRequestHeaders(
      { authorization: 'Bearer wdn_secret' },
      { clientIp: '::1', requestId: 'r' },
    );
    assert.equal(bare.authorization, undefined);
  });

  it('passes response headers back without hop-by-hop fields', () => {
    assert.deepEqual(
      callerResponseHeaders({
        'Content-Type': 'text/event-stream',
        Connection: 'close',
        'Transfer-Encoding': 'chunked',
        'x-model': 'fraud',
      }),
      { 'content-type': 'text/event-stream', 'x-model': 'fraud' },
    );
  });
});
