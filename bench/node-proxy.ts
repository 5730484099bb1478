// The floor for any Node.js gateway: a reverse proxy with nothing but node:http in front and an undici
// pool behind (bodies read whole, the answer written straight into the response, as Warden's gateway
// does), no authentication, authorization, rate limit or audit. Run as its own process by
// bench/gateway.ts: `node dist/bench/node-proxy.js <upstream port>` prints the port it listens on.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const pool = new Pool(`http://127.0.0.1:${process.argv[2]}`, { connections: 256 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    pool.dispatch(
      {
        method: req.method as 'POST',
        path: req.url ?? '/',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
        body: Buffer.concat(chunks),
      },
      {
        onRequestStart() {},
        onResponseStart(controller, status, headers) {
          res.writeHead(status, { 'content-type': String(headers['content-type'] ?? '') });
          res.on('drain', () => controller.resume());
        },
        onResponseData(controller, chunk) {
          if (!res.write(chunk)) controller.pause();
        },
        onResponseEnd() {
          res.end();
        },
        onResponseError() {
          if (res.headersSent) res.destroy();
          else res.writeHead(502).end();
        },
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
