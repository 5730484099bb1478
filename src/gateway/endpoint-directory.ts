import type { Clock } from '../core/index.js';
import type { SecretBox } from '../identity/index.js';
import type { Store } from '../store/index.js';
import type { GatewayProtocol } from './protocol.js';
import { type GatewaySettings, storedSettings } from './settings.js';

/** What the gateway needs to know about an endpoint to serve a call. */
export interface GatewayEndpoint {
  readonly id: string;
  readonly project: string;
  readonly name: string;
  readonly environment: string;
  readonly upstream: URL;
  readonly protocol: GatewayProtocol;
  readonly settings: GatewaySettings;
  /** The `Authorization` header value sent upstream instead of the caller's, if configured. */
  readonly upstreamAuthorization: string | undefined;
  /** The model version the endpoint serves now (its active deployment), if any. */
  readonly modelVersion: string | undefined;
}

// Deployments and settings changes reach every replica within this time.
const FRESH_MS = 1000;

/** Endpoints by project and name, cached for a second, so a call costs no query in the steady state. */
export class EndpointDirectory {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #box: SecretBox;
  readonly #cache = new Map<string, { at: number; endpoint: GatewayEndpoint | undefined }>();

  constructor(deps: { store: Store; clock: Clock; box: SecretBox }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#box = deps.box;
  }

  /** Forgets a cached endpoint at once (this replica), after its settings changed. */
  forget(project: string, name: string): void {
    this.#cache.delete(`${project}\u0000${name}`);
  }

  /** The endpoint, or undefined when the project has none of that name. */
  async find(project: string, name: string): Promise<GatewayEndpoint | undefined> {
    const key = `${project}\u0000${name}`;
    const now = this.#clock.now();
    const hit = this.#cache.get(key);
    if (hit !== undefined && now - hit.at < FRESH_MS) return hit.endpoint;
    const endpoint = await this.#load(project, name);
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(key, { at: now, endpoint });
    return endpoint;
  }

  async #load(project: string, name: string): Promise<GatewayEndpoint | undefined> {
    const row = await this.#store.db
      .selectFrom('endpoints as e')
      .leftJoin('deployments as d', (join) =>
        join.onRef('d.endpoint_id', '=', 'e.id').on('d.status', '=', 'active'),
      )
      .select([
        'e.id',
        'e.project_id',
        'e.name',
        'e.environment',
        'e.upstream_url',
        'e.protocol',
        'e.settings',
        'd.version_id',
      ])
      .where('e.project_id', '=', project)
      .where('e.name', '=', name)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const { upstreamAuthorizationSealed: sealed, ...settings } = storedSettings(row.settings);
    return Object.freeze({
      id: row.id,
      project: row.project_id,
      name: row.name,
      environment: row.environment,
      upstream: new URL(row.upstream_url),
      protocol: row.protocol,
      settings: Object.freeze(settings),
      upstreamAuthorization: sealed === undefined ? undefined : this.#box.open(sealed, row.id),
      modelVersion: row.version_id ?? undefined,
    });
  }
}
