import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/index.js';

/** Adds a project row directly (the catalog API is not what these tests are about). */
export async function addProject(db: Kysely<Database>, id: string, environments: string[]): Promise<void> {
  await db
    .insertInto('projects')
    .values({
      id,
      description: '',
      environments: JSON.stringify(environments),
      settings: '{}',
      created_by: 'test',
      created_ms: Date.now(),
      updated_ms: Date.now(),
    })
    .execute();
}

/** Adds an endpoint row `ep-<name>` directly, with gateway `settings` as stored JSON. */
export async function addEndpoint(
  db: Kysely<Database>,
  ep: {
    project: string;
    name: string;
    upstreamUrl: string;
    protocol?: 'open-inference-v2' | 'openai' | 'http';
    environment?: string;
    settings?: object;
  },
): Promise<string> {
  const id = `ep-${ep.name}`;
  await db
    .insertInto('endpoints')
    .values({
      id,
      project_id: ep.project,
      name: ep.name,
      environment: ep.environment ?? 'staging',
      upstream_url: ep.upstreamUrl,
      protocol: ep.protocol ?? 'http',
      settings: JSON.stringify(ep.settings ?? {}),
      revision: 1,
      created_by: 'test',
      created_ms: Date.now(),
    })
    .execute();
  return id;
}
