import type { Kysely } from 'kysely';
import { notFound, WardenError } from '../core/index.js';
import type { SecretBox } from '../identity/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import type { Database, Store } from '../store/index.js';
import type { EndpointDirectory } from './endpoint-directory.js';
import {
  type GatewaySettings,
  type GatewaySettingsInput,
  type StoredSettings,
  storedSettings,
} from './settings.js';

/** An endpoint's gateway settings as the API shows them: the upstream credential only as set or not. */
export interface GatewaySettingsView {
  readonly endpoint: string;
  readonly project: string;
  readonly name: string;
  readonly environment: string;
  readonly settings: GatewaySettings;
  readonly upstreamAuthorization: 'set' | 'unset';
  readonly revision: number;
}

/**
 * Reads and changes an endpoint's gateway settings. Each change is recorded (`endpoint.configure`)
 * in the transaction that makes it; an upstream credential is sealed with the deployment key (bound
 * to the endpoint id) and never shown again. Replicas pick a change up within the endpoint
 * directory's one-second cache (this one at once); Cedar sees none of these settings, so the
 * authorization epoch stays.
 */
export class EndpointSettings {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #box: SecretBox;
  readonly #directory: EndpointDirectory;

  constructor(deps: { store: Store; ledger: Ledger; box: SecretBox; directory: EndpointDirectory }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#box = deps.box;
    this.#directory = deps.directory;
  }

  /** The endpoint's gateway settings, or 404. */
  async get(id: string): Promise<GatewaySettingsView> {
    return view(await endpointRow(this.#store.db, id));
  }

  /** Replaces the endpoint's gateway settings (the credential: set, removed with null, kept if absent). */
  async put(actor: EventActor, id: string, input: GatewaySettingsInput): Promise<GatewaySettingsView> {
    const { upstreamAuthorization, ...settings } = input;
    const updated = await this.#store.db.transaction().execute(async (trx) => {
      const before = await endpointRow(trx, id);
      const old = storedSettings(before.settings);
      const sealed =
        upstreamAuthorization === undefined
          ? old.upstreamAuthorizationSealed
          : upstreamAuthorization === null
            ? undefined
            : this.#box.seal(upstreamAuthorization, id);
      const stored: StoredSettings = {
        ...settings,
        ...(sealed !== undefined ? { upstreamAuthorizationSealed: sealed } : {}),
      };
      const row = { ...before, settings: JSON.stringify(stored), revision: before.revision + 1 };
      const res = await trx
        .updateTable('endpoints')
        .set({ settings: row.settings, revision: row.revision })
        .where('id', '=', id)
        .where('revision', '=', before.revision)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1)
        throw new WardenError(
          'WARDEN_CONFLICT',
          `endpoint ${id} changed concurrently; read it and try again`,
        );
      const credential =
        upstreamAuthorization === undefined
          ? sealed === undefined
            ? 'none'
            : 'kept'
          : upstreamAuthorization === null
            ? 'removed'
            : 'set';
      const wasOpen = old.onLedgerUnavailable === 'fail-open';
      const isOpen = settings.onLedgerUnavailable === 'fail-open';
      await this.#ledger.record(trx, {
        actor,
        action: 'endpoint.configure',
        resource: { type: 'Endpoint', id },
        outcome: 'succeeded',
        context: { project: before.project_id, environment: before.environment },
        details: {
          endpoint: `${before.project_id}/${before.name}`,
          before: publicSettings(old),
          after: settings,
          upstreamAuthorization: credential,
          onLedgerUnavailable: settings.onLedgerUnavailable,
          ...(isOpen !== wasOpen
            ? {
                ledgerFailure: isOpen
                  ? 'fail-open: calls are now served unrecorded while the ledger cannot take events (counted and recorded afterwards as endpoint.audit_gap)'
                  : 'fail-closed: calls are now refused while the ledger cannot take events',
              }
            : {}),
        },
      });
      return row;
    });
    this.#ledger.committed();
    this.#directory.forget(updated.project_id, updated.name);
    return view(updated);
  }
}

type EndpointRow = Pick<
  Database['endpoints'],
  'id' | 'project_id' | 'name' | 'environment' | 'settings' | 'revision'
>;

async function endpointRow(db: Kysely<Database>, id: string): Promise<EndpointRow> {
  const row = await db
    .selectFrom('endpoints')
    .select(['id', 'project_id', 'name', 'environment', 'settings', 'revision'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (row === undefined) throw notFound(`endpoint ${id}`);
  return { ...row, revision: Number(row.revision) };
}

function publicSettings(stored: StoredSettings): GatewaySettings {
  const { upstreamAuthorizationSealed: _sealed, ...settings } = stored;
  return settings;
}

function view(row: EndpointRow): GatewaySettingsView {
  const stored = storedSettings(row.settings);
  return {
    endpoint: row.id,
    project: row.project_id,
    name: row.name,
    environment: row.environment,
    settings: publicSettings(stored),
    upstreamAuthorization: stored.upstreamAuthorizationSealed === undefined ? 'unset' : 'set',
    revision: row.revision,
  };
}
