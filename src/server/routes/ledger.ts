import { z } from 'zod';
import { WardenError } from '../../core/index.js';
import { type Ledger, parseTilePath, TILE_WIDTH } from '../../ledger/index.js';
import { route } from '../route.js';
import { index } from '../schemas.js';

const b64 = (hashes: readonly Buffer[]) => hashes.map((h) => h.toString('base64'));

/** Ledger facts and proofs (authenticated), and the read-only C2SP checkpoint and tiles (public). */
export function ledgerRoutes(deps: { ledger: Ledger }) {
  const { ledger } = deps;
  const resource = () => ({ type: 'Ledger', id: ledger.origin });
  return [
    route({
      method: 'GET',
      url: '/api/v1/ledger/info',
      summary: 'Origin, verifier key, size and latest checkpoint of the ledger',
      access: { action: 'ledger.read', resource },
      handler: async () => ledger.info(),
    }),
    route({
      method: 'GET',
      url: '/api/v1/ledger/proof/inclusion',
      summary: 'RFC 9162 inclusion proof of leaf `index` in the tree of `size` (default: latest checkpoint)',
      access: { action: 'ledger.read', resource },
      query: z.object({ index, size: index.optional() }),
      handler: async (_ctx, { query }) => {
        const { size, proof } = await ledger.inclusionProof(query.index, query.size);
        return { index: query.index, size, proof: b64(proof) };
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/ledger/proof/consistency',
      summary: 'RFC 9162 consistency proof between tree sizes `from` and `to` (default: latest checkpoint)',
      access: { action: 'ledger.read', resource },
      query: z.object({ from: index, to: index.optional() }),
      handler: async (_ctx, { query }) => {
        const { from, to, proof } = await ledger.consistencyProof(query.from, query.to);
        return { from, to, proof: b64(proof) };
      },
    }),
    route({
      method: 'GET',
      url: '/ledger/checkpoint',
      summary: 'The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)',
      access: { public: true },
      produces: 'text/plain',
      handler: async (_ctx, _input, _req, reply) =>
        reply
          .type('text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .send((await ledger.checkpoint()).note),
    }),
    route({
      method: 'GET',
      url: '/ledger/tile/*',
      summary: 'C2SP tlog-tiles hash tiles and entry bundles (immutable once full)',
      access: { public: true },
      produces: 'application/octet-stream',
      handler: async (_ctx, _input, request, reply) => {
        const path = `tile/${(request.params as { '*': string })['*']}`;
        const tile = parseTilePath(path);
        if (tile === null) {
          throw new WardenError('WARDEN_INVALID_INPUT', `not a tlog-tiles path: ${path}`, {
            issues: [{ field: 'path', message: 'expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]' }],
          });
        }
        const width = tile.width;
        const body =
          tile.kind === 'entries'
            ? await ledger.entryBundle(tile.index, width)
            : await ledger.tile(tile.level, tile.index, width);
        const immutable = tile.width === TILE_WIDTH;
        return reply
          .type('application/octet-stream')
          .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-store')
          .send(body);
      },
    }),
  ];
}
