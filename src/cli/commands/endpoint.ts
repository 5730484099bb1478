import type { Command } from 'commander';
import { type ApiFlags, callJson, clientOptions, print, withApi } from '../client.js';

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

/** `warden endpoint create|list|show|deploy|rollback|history`. */
export function endpointCommand(program: Command): void {
  const endpoint = program.command('endpoint').description('model-serving endpoints and their deployments');
  withApi(
    endpoint
      .command('create <project> <name>')
      .description('register an endpoint in a project')
      .requiredOption('--environment <env>', 'one of the project environments (e.g. production)')
      .requiredOption('--upstream-url <url>', 'the model server (http or https)')
      .option('--protocol <protocol>', 'open-inference-v2 | openai | http', 'open-inference-v2'),
  ).action(
    async (
      project: string,
      name: string,
      flags: ApiFlags & { environment: string; upstreamUrl: string; protocol: string },
    ) =>
      print(
        await callJson(clientOptions(flags), 'POST', `/api/v1/projects/${path(project, 'endpoints')}`, {
          name,
          environment: flags.environment,
          upstreamUrl: flags.upstreamUrl,
          protocol: flags.protocol,
        }),
      ),
  );
  withApi(endpoint.command('list <project>').description("a project's endpoints")).action(
    async (project: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/projects/${path(project, 'endpoints')}`)),
  );
  withApi(endpoint.command('show <endpoint>').description('an endpoint and what it serves now')).action(
    async (id: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/endpoints/${path(id)}`)),
  );
  withApi(
    endpoint
      .command('deploy <endpoint> <version>')
      .description('deploy a version (production endpoints take only signed production versions)')
      .option('--rationale <text>', 'why'),
  ).action(async (id: string, version: string, flags: ApiFlags & { rationale?: string }) =>
    print(
      await callJson(clientOptions(flags), 'POST', `/api/v1/endpoints/${path(id, 'deployments')}`, {
        version,
        ...(flags.rationale !== undefined ? { rationale: flags.rationale } : {}),
      }),
    ),
  );
  withApi(
    endpoint
      .command('rollback <endpoint>')
      .description('serve the previously deployed version again')
      .requiredOption('--rationale <text>', 'why (at least 3 characters)'),
  ).action(async (id: string, flags: ApiFlags & { rationale: string }) =>
    print(
      await callJson(clientOptions(flags), 'POST', `/api/v1/endpoints/${path(id, 'rollback')}`, {
        rationale: flags.rationale,
      }),
    ),
  );
  withApi(endpoint.command('history <endpoint>').description('deployments, newest first')).action(
    async (id: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/endpoints/${path(id, 'deployments')}`)),
  );
}
