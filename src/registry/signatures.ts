import { projectTrust } from '../catalog/index.js';
import { type Clock, canonicalJson, newId, sha256Hex, WardenError } from '../core/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import { bumpAuthzEpoch, type Store } from '../store/index.js';
import { type OmsSigner, verifyOmsBundle } from './oms/index.js';
import { isUniqueViolation } from './unique.js';
import { type SignatureView, versionFiles, versionRow, versionView } from './views.js';

/**
 * OMS signatures on versions: a bundle is verified against the version's stored manifest and the
 * signers its project trusts now; an accepted one is stored (the version becomes `signed`), a
 * rejected one is recorded with the failed check and refused.
 */
export class Signatures {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /**
   * Verifies and attaches a bundle (the `model.sig` JSON). Every version file must be covered unless
   * the signer's own `ignore_paths` names it (git paths get no default pass). 400 naming the failed
   * check (bundle, signature, trust, statement, files); 409 when the same bundle is already attached.
   */
  async attach(actor: EventActor, versionId: string, bundle: unknown): Promise<SignatureView> {
    const db = this.#store.db;
    const version = await versionRow(db, versionId);
    const project = version.project_id;
    const text = canonicalJson(bundle);
    const bundleDigest = `sha256:${sha256Hex(text)}`;
    const files = await versionFiles(db, versionId);
    const trust = await projectTrust(db, project);
    const result = await verifyOmsBundle({
      bundle: text,
      manifest: new Map(files.map((f) => [f.path, f.digest.slice('sha256:'.length)])),
      trust: trust.trust,
      ignoreGitPaths: false,
      at: new Date(this.#clock.now()),
    });
    const resource = {
      type: 'ModelVersion',
      id: versionId,
      version: String(version.number),
      digest: version.manifest_digest,
    };
    if (!result.ok) {
      await this.#ledger.recordAlone({
        actor,
        action: 'model_version.attach',
        resource,
        outcome: 'failed',
        context: { project },
        details: { kind: 'signature', bundleDigest, check: result.check, reason: result.reason },
      });
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        `signature rejected (${result.check}): ${result.reason}`,
        {
          issues: [{ field: `bundle (${result.check})`, message: result.reason }],
        },
      );
    }
    const anchor = anchorFingerprint(result.signer);
    const signer = trust.signers.find(
      (s) => s.fingerprint === anchor && (s.kind === 'key') === (result.signer.kind === 'key'),
    );
    if (!signer) throw new Error(`verified signer ${anchor} matches no trusted signer row`);
    const now = this.#clock.now();
    const id = newId(now);
    try {
      await db.transaction().execute(async (trx) => {
        // The signer may have been revoked since the trust was read.
        const live = await trx
          .selectFrom('project_signers')
          .select('id')
          .where('id', '=', signer.id)
          .where('revoked_ms', 'is', null)
          .executeTakeFirst();
        if (!live)
          throw new WardenError('WARDEN_CONFLICT', `signer ${signer.id} was revoked while verifying; retry`);
        await trx
          .insertInto('model_signatures')
          .values({
            id,
            version_id: versionId,
            bundle_digest: bundleDigest,
            bundle: text,
            signer_id: signer.id,
            signer: JSON.stringify({ verified: result.signer, ignored: result.ignored }),
            created_by: actor.id,
            created_ms: now,
          })
          .execute();
        await bumpAuthzEpoch(trx); // ModelVersion.signed may change
        await this.#ledger.record(trx, {
          actor,
          action: 'model_version.attach',
          resource,
          outcome: 'succeeded',
          context: { project },
          details: {
            kind: 'signature',
            signature: id,
            bundleDigest,
            signer: { id: signer.id, name: signer.name, kind: signer.kind, fingerprint: signer.fingerprint },
            verified: result.signer,
            subject: result.subject,
            ignored: result.ignored,
          },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new WardenError('WARDEN_CONFLICT', `this bundle is already attached to version ${versionId}`);
      throw err;
    }
    this.#ledger.committed();
    const view = await versionView(db, versionId);
    return view.signatures.find((s) => s.id === id) as SignatureView;
  }
}

/** The fingerprint of the trusted signer a verification ended at: the key, or the chain's trust anchor. */
function anchorFingerprint(signer: OmsSigner): string {
  if (signer.kind === 'key') return signer.fingerprint;
  return signer.chain[signer.chain.length - 1]?.fingerprint ?? signer.fingerprint;
}
