import type { Command } from 'commander';
import { type ApiFlags, call, callJson, clientOptions, print, withApi } from '../client.js';

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

type Rationale = ApiFlags & { rationale: string };

/**
 * The workflow's `warden model` subcommands: promote, approve, reject, rollback, retire,
 * purge-artifacts and alias. Adds them to the given `model` command.
 */
export function modelWorkflowCommands(model: Command): void {
  withApi(
    model
      .command('promote <version>')
      .description('request a promotion (registered → staging, staging → production); gates run at once')
      .requiredOption('--to <stage>', 'staging | production')
      .requiredOption('--rationale <text>', 'why (at least 3 characters)'),
  ).action(async (version: string, flags: Rationale & { to: string }) =>
    print(
      await callJson(clientOptions(flags), 'POST', `/api/v1/model-versions/${path(version, 'promotions')}`, {
        target: flags.to,
        rationale: flags.rationale,
      }),
    ),
  );
  for (const decision of ['approve', 'reject'] as const) {
    withApi(
      model
        .command(`${decision} <request>`)
        .description(
          decision === 'approve'
            ? 'approve a pending promotion request (never your own, nor a version you made or trained)'
            : 'reject a pending promotion request (closes it)',
        )
        .option('--comment <text>', 'a note for the record'),
    ).action(async (request: string, flags: ApiFlags & { comment?: string }) =>
      print(
        await callJson(clientOptions(flags), 'POST', `/api/v1/promotions/${path(request, 'approvals')}`, {
          decision,
          ...(flags.comment !== undefined ? { comment: flags.comment } : {}),
        }),
      ),
    );
  }
  for (const [name, description] of [
    ['rollback', 'roll a production version back: the version it replaced is production again'],
    ['retire', 'retire a version (refused under a legal hold or while deployed)'],
    ['purge-artifacts', "delete a retired version's blobs that no other version uses"],
  ] as const) {
    withApi(
      model
        .command(`${name} <version>`)
        .description(description)
        .requiredOption('--rationale <text>', 'why (at least 3 characters)'),
    ).action(async (version: string, flags: Rationale) =>
      print(
        await callJson(clientOptions(flags), 'POST', `/api/v1/model-versions/${path(version, name)}`, {
          rationale: flags.rationale,
        }),
      ),
    );
  }
  withApi(
    model
      .command('alias <model> <alias> [version]')
      .description('point an alias (e.g. champion) at a version of the model, or remove it with --remove')
      .option('--remove', 'remove the alias'),
  ).action(
    async (
      modelId: string,
      alias: string,
      version: string | undefined,
      flags: ApiFlags & { remove?: boolean },
    ) => {
      const url = `/api/v1/models/${path(modelId, 'aliases', alias)}`;
      if (flags.remove) {
        await call(clientOptions(flags), 'DELETE', url);
        return print({ model: modelId, alias, removed: true });
      }
      if (version === undefined) throw new Error('name the version to point the alias at, or pass --remove');
      return print(await callJson(clientOptions(flags), 'PUT', url, { version }));
    },
  );
}
