import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type ApiFlags, callJson, clientOptions, print, withApi } from '../client.js';

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

/** The body fields shared by `project create` and `project update`. */
async function projectFields(flags: {
  description?: string;
  environment?: string[];
  settings?: string;
}): Promise<Record<string, unknown>> {
  return {
    ...(flags.description !== undefined ? { description: flags.description } : {}),
    ...(flags.environment ? { environments: flags.environment } : {}),
    ...(flags.settings ? { settings: JSON.parse(await readFile(flags.settings, 'utf8')) } : {}),
  };
}

type ProjectFlags = ApiFlags & { description?: string; environment?: string[]; settings?: string };

/** `warden project create|list|show|update` and `warden project signer add|list|revoke`. */
export function projectCommand(program: Command): void {
  const project = program
    .command('project')
    .description('projects: environments, promotion settings, trusted signers');
  withApi(
    project
      .command('create <id>')
      .description('create a project (id: lowercase letters, digits, dashes)')
      .option('--description <text>', 'what the project is for')
      .option('--environment <name...>', 'environments it may deploy to (default: dev staging production)')
      .option('--settings <file.json>', 'promotion settings: approvals, metricThresholds, requestTtlHours'),
  ).action(async (id: string, flags: ProjectFlags) =>
    print(
      await callJson(clientOptions(flags), 'POST', '/api/v1/projects', {
        id,
        ...(await projectFields(flags)),
      }),
    ),
  );
  withApi(project.command('list').description('the projects you may read')).action(async (flags: ApiFlags) =>
    print(await callJson(clientOptions(flags), 'GET', '/api/v1/projects')),
  );
  withApi(project.command('show <id>').description('one project with its settings')).action(
    async (id: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/projects/${path(id)}`)),
  );
  withApi(
    project
      .command('update <id>')
      .description('change the description, environments or settings (settings are replaced whole)')
      .option('--description <text>', 'new description')
      .option('--environment <name...>', 'the new list of environments')
      .option('--settings <file.json>', 'the new promotion settings'),
  ).action(async (id: string, flags: ProjectFlags) =>
    print(
      await callJson(
        clientOptions(flags),
        'PATCH',
        `/api/v1/projects/${path(id)}`,
        await projectFields(flags),
      ),
    ),
  );

  const signer = project.command('signer').description("a project's trusted OMS signers");
  withApi(
    signer
      .command('add <project> <pem-file>')
      .description('trust an ECDSA P-256/P-384 public key, or a root or intermediate CA certificate')
      .requiredOption('--name <name>', 'a name for the signer')
      .option('--kind <kind>', 'key | root | intermediate', 'key'),
  ).action(async (projectId: string, file: string, flags: ApiFlags & { name: string; kind: string }) =>
    print(
      await callJson(clientOptions(flags), 'POST', `/api/v1/projects/${path(projectId, 'signers')}`, {
        name: flags.name,
        kind: flags.kind,
        pem: await readFile(file, 'utf8'),
      }),
    ),
  );
  withApi(signer.command('list <project>').description('trusted signers, revoked ones included')).action(
    async (projectId: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/projects/${path(projectId, 'signers')}`)),
  );
  withApi(
    signer
      .command('revoke <project> <id>')
      .description('stop trusting a signer')
      .option('--reason <text>', 'why'),
  ).action(async (projectId: string, id: string, flags: ApiFlags & { reason?: string }) =>
    print(
      await callJson(
        clientOptions(flags),
        'POST',
        `/api/v1/projects/${path(projectId, 'signers', id, 'revoke')}`,
        flags.reason ? { reason: flags.reason } : {},
      ),
    ),
  );
}
