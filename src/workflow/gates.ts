import type { Kysely } from 'kysely';
import { type ProjectSettings, projectTrust } from '../catalog/index.js';
import { provenanceFacts } from '../registry/index.js';
import { verifyOmsBundle } from '../registry/oms/index.js';
import type { Database, ModelVersionTable } from '../store/index.js';

/** The gates every promotion passes, in the order they run. */
export const GATES = ['signature', 'provenance', 'metrics', 'alerts'] as const;

/** One gate's outcome and why. */
export interface GateResult {
  readonly gate: (typeof GATES)[number];
  readonly passed: boolean;
  readonly reason: string;
}

/**
 * Runs every gate on a version (each result says why it passed or failed):
 * - signature: a stored OMS bundle verifies against the version's manifest with the signers the
 *   project trusts now (a revoked signer no longer counts);
 * - provenance: attached and complete;
 * - metrics: every threshold of the project settings is met by the provenance metrics (a missing
 *   metric fails);
 * - alerts: no open critical alert on the model or the version.
 */
export async function runGates(
  db: Kysely<Database>,
  v: ModelVersionTable,
  settings: ProjectSettings,
): Promise<GateResult[]> {
  const facts = v.provenance === null ? undefined : provenanceFacts(v.provenance);
  return [
    await signatureGate(db, v),
    facts === undefined
      ? { gate: 'provenance', passed: false, reason: 'no provenance is attached' }
      : facts.complete
        ? { gate: 'provenance', passed: true, reason: 'provenance is attached and complete' }
        : {
            gate: 'provenance',
            passed: false,
            reason: `provenance is incomplete: missing ${facts.missing.join(', ')}`,
          },
    metricsGate(settings, facts?.metrics),
    await alertsGate(db, v),
  ];
}

async function signatureGate(db: Kysely<Database>, v: ModelVersionTable): Promise<GateResult> {
  const signatures = await db
    .selectFrom('model_signatures')
    .select(['id', 'bundle', 'created_ms'])
    .where('version_id', '=', v.id)
    .orderBy('created_ms')
    .execute();
  if (signatures.length === 0)
    return { gate: 'signature', passed: false, reason: 'the version is not signed' };
  const files = await db
    .selectFrom('model_files')
    .select(['path', 'digest'])
    .where('version_id', '=', v.id)
    .execute();
  const manifest = new Map(files.map((f) => [f.path, f.digest.replace(/^sha256:/, '')]));
  const { trust } = await projectTrust(db, v.project_id);
  const refusals: string[] = [];
  for (const s of signatures) {
    // Certificates are judged at the time the signature was attached (and verified) then.
    const result = await verifyOmsBundle({
      bundle: s.bundle,
      manifest,
      trust,
      // As when it was attached: every stored file must be covered, git paths included.
      ignoreGitPaths: false,
      at: new Date(Number(s.created_ms)),
    });
    if (result.ok)
      return {
        gate: 'signature',
        passed: true,
        reason: `signature ${s.id} verifies against the manifest with a trusted signer`,
      };
    refusals.push(`signature ${s.id}: ${result.check}: ${result.reason}`);
  }
  return { gate: 'signature', passed: false, reason: `no signature verifies: ${refusals.join('; ')}` };
}

function metricsGate(
  settings: ProjectSettings,
  metrics: Readonly<Record<string, number>> | undefined,
): GateResult {
  const thresholds = Object.entries(settings.metricThresholds);
  if (thresholds.length === 0)
    return { gate: 'metrics', passed: true, reason: 'the project sets no metric thresholds' };
  const failures: string[] = [];
  for (const [name, { min, max }] of thresholds) {
    const value = metrics?.[name];
    if (value === undefined) failures.push(`${name} is not reported`);
    else if (min !== undefined && value < min) failures.push(`${name} ${value} < min ${min}`);
    else if (max !== undefined && value > max) failures.push(`${name} ${value} > max ${max}`);
  }
  return failures.length > 0
    ? { gate: 'metrics', passed: false, reason: failures.join('; ') }
    : { gate: 'metrics', passed: true, reason: `meets ${thresholds.map(([n]) => n).join(', ')}` };
}

async function alertsGate(db: Kysely<Database>, v: ModelVersionTable): Promise<GateResult> {
  const open = await db
    .selectFrom('alerts')
    .select(['id', 'summary'])
    .where('severity', '=', 'critical')
    .where('status', '=', 'open')
    .where((eb) =>
      eb.or([
        eb.and([eb('subject_type', '=', 'Model'), eb('subject_id', '=', v.model_id)]),
        eb.and([eb('subject_type', '=', 'ModelVersion'), eb('subject_id', '=', v.id)]),
      ]),
    )
    .execute();
  return open.length > 0
    ? {
        gate: 'alerts',
        passed: false,
        reason: `open critical alert: ${open.map((a) => `${a.id} (${a.summary})`).join('; ')}`,
      }
    : { gate: 'alerts', passed: true, reason: 'no open critical alert on the model or version' };
}
