import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { OmsTrust } from '../registry/oms/index.js';
import type { Database, ProjectSignerTable } from '../store/index.js';

/** A project's signers in force, as the OMS verifier takes them, and the rows they came from. */
export interface ProjectTrust {
  readonly trust: OmsTrust;
  readonly signers: readonly Pick<ProjectSignerTable, 'id' | 'name' | 'kind' | 'fingerprint'>[];
}

/** Loads the signers a project trusts now (revoked ones excluded). */
export async function projectTrust(db: Kysely<Database>, projectId: string): Promise<ProjectTrust> {
  const rows = await db
    .selectFrom('project_signers')
    .select(['id', 'name', 'kind', 'fingerprint', 'pem'])
    .where('project_id', '=', projectId)
    .where('revoked_ms', 'is', null)
    .orderBy('created_ms')
    .execute();
  const publicKeys: KeyObject[] = [];
  const rootCerts: X509Certificate[] = [];
  const intermediates: X509Certificate[] = [];
  for (const r of rows) {
    if (r.kind === 'key') publicKeys.push(createPublicKey(r.pem));
    else if (r.kind === 'root') rootCerts.push(new X509Certificate(r.pem));
    else intermediates.push(new X509Certificate(r.pem));
  }
  return {
    trust: { publicKeys, rootCerts, intermediates },
    signers: rows.map(({ pem: _pem, ...s }) => s),
  };
}
