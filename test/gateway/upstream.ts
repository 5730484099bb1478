import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the test model server saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A model server for gateway tests: Open Inference Protocol infer, an OpenAI streaming chat, a slow path. */
export interface Upstream {
  readonly url: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

/** Starts the test model server on a free loopback port. */
export async function startUpstream(): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = req.url ?? '';
      if (url.startsWith('/slow')) {
        setTimeout(() => res.end('late'), 2000).unref();
        return;
      }
      if (url.startsWith('/reset')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        setTimeout(() => res.destroy(), 20);
        return;
      }
      if (url.startsWith('/drip')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('tick\n'), 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      const infer = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/infer$/.exec(url);
      if (infer && req.method === 'POST') {
        const input = JSON.parse(body.toString('utf8')) as { inputs: { data: number[] }[] };
        const sum = input.inputs[0]?.data.reduce((a, b) => a + b, 0) ?? 0;
        res.writeHead(200, {
          'content-type': 'application/json',
          connection: 'keep-alive',
          'x-model-server': 'test',
        });
        res.end(
          JSON.stringify({
            model_name: infer[1],
            outputs: [{ name: 'sum', datatype: 'FP32', shape: [1], data: [sum] }],
          }),
        );
        return;
      }
      if (url === '/v1/chat/completions' && req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const words = ['Hello', ' from', ' the', ' model'];
        let i = 0;
        const timer = setInterval(() => {
          if (i < words.length) {
            res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: words[i] } }] })}\n\n`);
            i++;
            return;
          }
          clearInterval(timer);
          res.write(
            'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}\n\n',
          );
          res.end('data: [DONE]\n\n');
        }, 10);
        return;
      }
      if (url === '/ok') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"no such path"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
