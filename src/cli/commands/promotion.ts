import type { Command } from 'commander';
import { type ApiFlags, callJson, clientOptions, print, withApi } from '../client.js';

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

/** `warden promotion show|list|cancel`. */
export function promotionCommand(program: Command): void {
  const promotion = program.command('promotion').description('promotion requests: gates, approvals, status');
  withApi(
    promotion.command('show <request>').description('a request with its gate results and approvals'),
  ).action(async (request: string, flags: ApiFlags) =>
    print(await callJson(clientOptions(flags), 'GET', `/api/v1/promotions/${path(request)}`)),
  );
  withApi(
    promotion.command('list <version>').description("a version's promotion requests, newest first"),
  ).action(async (version: string, flags: ApiFlags) =>
    print(
      await callJson(clientOptions(flags), 'GET', `/api/v1/model-versions/${path(version, 'promotions')}`),
    ),
  );
  withApi(
    promotion
      .command('cancel <request>')
      .description('withdraw a pending request')
      .requiredOption('--reason <text>', 'why (at least 3 characters)'),
  ).action(async (request: string, flags: ApiFlags & { reason: string }) =>
    print(
      await callJson(clientOptions(flags), 'POST', `/api/v1/promotions/${path(request, 'cancel')}`, {
        reason: flags.reason,
      }),
    ),
  );
}
