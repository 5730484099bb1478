import { type Command, Option } from 'commander';
import { type ApiFlags, call, callJson, clientOptions, print, withApi } from '../client.js';

type RegisterFlags = ApiFlags & {
  project: string;
  name: string;
  digest: string;
  sensitivity: string;
  location: string;
  purpose?: string[];
  pii?: string[];
  domain?: string;
  owner?: string;
  description?: string;
  parent?: string[];
};

const datasetPath = (id: string, ...rest: string[]) =>
  `/api/v1/datasets/${[id, ...rest].map(encodeURIComponent).join('/')}`;

/** `warden dataset register|list|show|request-access|read`. */
export function datasetCommand(program: Command): void {
  const dataset = program.command('dataset').description('datasets, access grants and recorded reads');
  withApi(
    dataset
      .command('register')
      .description('register a dataset version in a project')
      .requiredOption('--project <id>', 'project')
      .requiredOption('--name <name>', 'dataset name')
      .requiredOption('--digest <sha256:hex>', 'version digest, sha256:<64 hex>')
      .addOption(
        new Option('--sensitivity <level>', 'how guarded it is')
          .choices(['public', 'internal', 'confidential', 'restricted'])
          .makeOptionMandatory(),
      )
      .requiredOption('--location <uri>', 'where the data lives (URI), returned only with a granted read')
      .option('--purpose <purpose...>', 'purposes it may be read for')
      .option('--pii <field...>', 'fields holding personal data')
      .option('--domain <domain>', 'business domain')
      .option('--owner <principal-id>', 'owning user or service account')
      .option('--description <text>', 'description')
      .option('--parent <dataset-id...>', 'datasets it was derived from (same project)'),
  ).action(async (flags: RegisterFlags) =>
    print(
      await callJson(
        clientOptions(flags),
        'POST',
        `/api/v1/projects/${encodeURIComponent(flags.project)}/datasets`,
        {
          name: flags.name,
          versionDigest: flags.digest,
          sensitivity: flags.sensitivity,
          locationUri: flags.location,
          allowedPurposes: flags.purpose ?? [],
          piiFields: flags.pii ?? [],
          ...(flags.domain ? { domain: flags.domain } : {}),
          ...(flags.owner ? { owner: flags.owner } : {}),
          ...(flags.description ? { description: flags.description } : {}),
          ...(flags.parent ? { parents: flags.parent } : {}),
        },
      ),
    ),
  );
  withApi(
    dataset.command('list').description("a project's datasets").requiredOption('--project <id>', 'project'),
  ).action(async (flags: ApiFlags & { project: string }) =>
    print(
      await callJson(
        clientOptions(flags),
        'GET',
        `/api/v1/projects/${encodeURIComponent(flags.project)}/datasets`,
      ),
    ),
  );
  withApi(dataset.command('show <id>').description("a dataset's description and parents")).action(
    async (id: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', datasetPath(id))),
  );
  withApi(
    dataset
      .command('request-access <id>')
      .description('ask for a time-limited grant to read a dataset for a purpose')
      .requiredOption('--purpose <purpose>', 'why you need the data')
      .option('--minutes <n>', 'grant lifetime in minutes (default 60, at most 1440)', Number),
  ).action(async (id: string, flags: ApiFlags & { purpose: string; minutes?: number }) =>
    print(
      await callJson(clientOptions(flags), 'POST', datasetPath(id, 'access-requests'), {
        purpose: flags.purpose,
        ...(flags.minutes !== undefined ? { minutes: flags.minutes } : {}),
      }),
    ),
  );
  withApi(
    dataset
      .command('read <id>')
      .description('read a dataset under your grant: prints its location and digest (recorded)')
      .requiredOption('--grant <id>', 'the grant from request-access')
      .requiredOption('--purpose <purpose>', "the grant's purpose"),
  ).action(async (id: string, flags: ApiFlags & { grant: string; purpose: string }) => {
    const res = await call(
      clientOptions(flags),
      'POST',
      datasetPath(id, 'reads'),
      { grant: flags.grant },
      undefined,
      {
        'x-warden-purpose': flags.purpose,
      },
    );
    print(await res.json());
  });
}
