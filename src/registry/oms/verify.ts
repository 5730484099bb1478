import type { KeyObject, X509Certificate } from 'node:crypto';
import { WardenError } from '../../core/errors.js';
import { type ParsedBundle, parseBundle } from './bundle.js';
import { certFingerprint, checkSigningUsage, verifyChain } from './chain.js';
import { IN_TOTO_PAYLOAD_TYPE, pae } from './dsse.js';
import { type EcCurve, ecCurve, keyHint, verifyEcdsa } from './ecdsa.js';
import { nameList, type OmsCheck, OmsCheckFailure } from './failure.js';
import { hashFile, ignoreRulesFor, listModelFiles } from './model-files.js';
import { canonicalIgnorePaths, canonicalRelativePath, comparePaths, type IgnoreRules } from './paths.js';
import { type OmsResource, type OmsStatement, parseStatement } from './statement.js';

/** The signers a project trusts: ECDSA public keys, and/or CA certificates with optional intermediates. */
export interface OmsTrust {
  readonly publicKeys?: readonly KeyObject[];
  /** Trust anchors; a chain may end at any of them, self-signed or not. */
  readonly rootCerts?: readonly X509Certificate[];
  /** Untrusted certificates that may complete a chain the bundle does not carry in full. */
  readonly intermediates?: readonly X509Certificate[];
}

/** A model as a map of relative POSIX path to lowercase hex SHA-256 (e.g. a registered version). */
export type OmsManifestInput = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

interface VerifyOptions {
  /** The bundle JSON (the `model.sig` file). */
  readonly bundle: Buffer | string;
  readonly trust: OmsTrust;
  /**
   * Paths to exclude besides the git defaults and the bundle's own `ignore_paths`: the signature
   * file when it sits in the folder, and what older bundles (no `ignore_paths`) were signed without.
   */
  readonly ignorePaths?: readonly string[];
  /** Exclude `.git`, `.gitattributes`, `.github`, `.gitignore` at the root (default true). */
  readonly ignoreGitPaths?: boolean;
  /** When certificates must be valid (default: now). */
  readonly at?: Date;
}

/** What verifyOmsBundle checks: a bundle against a model folder or an already-hashed manifest. */
export type OmsVerifyInput = VerifyOptions &
  (
    | { readonly modelDir: string; readonly manifest?: undefined }
    | { readonly manifest: OmsManifestInput; readonly modelDir?: undefined }
  );

/** One certificate of a verified chain. */
export interface OmsChainCertificate {
  readonly subject: string;
  readonly issuer: string;
  /** Hex SHA-256 of the DER certificate. */
  readonly fingerprint: string;
}

/** Who signed: a trusted key (fingerprint = the OMS key hint), or a certificate chained to a trusted root. */
export type OmsSigner =
  | { readonly kind: 'key'; readonly fingerprint: string; readonly curve: EcCurve['name'] }
  | {
      readonly kind: 'certificate';
      readonly subject: string;
      readonly issuer: string;
      readonly fingerprint: string;
      /** Leaf first, trust anchor last. */
      readonly chain: readonly OmsChainCertificate[];
    };

/** A verified bundle: the signer, the signed subject, every covered file, and what was ignored. */
export interface OmsVerified {
  readonly ok: true;
  readonly signer: OmsSigner;
  readonly subject: { readonly name: string; readonly sha256: string };
  readonly files: readonly OmsResource[];
  readonly ignored: readonly string[];
}

/** A rejected bundle: which check failed and why. */
export interface OmsRejected {
  readonly ok: false;
  readonly check: OmsCheck;
  readonly reason: string;
}

export type OmsVerification = OmsVerified | OmsRejected;

function trustedKeys(keys: readonly KeyObject[]): { key: KeyObject; curve: EcCurve; hint: string }[] {
  return keys.map((key, i) => {
    const curve = key.type === 'public' ? ecCurve(key) : undefined;
    if (curve === undefined) {
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        `trust.publicKeys[${i}] is not an ECDSA P-256, P-384 or P-521 public key`,
      );
    }
    return { key, curve, hint: keyHint(key) };
  });
}

function verifySignature(bundle: ParsedBundle, trust: OmsTrust, at: Date): OmsSigner {
  if (bundle.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new OmsCheckFailure(
      'bundle',
      `dsseEnvelope.payloadType ${JSON.stringify(bundle.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`,
    );
  }
  const message = pae(bundle.payloadType, bundle.payload);
  const material = bundle.material;

  if (material.kind === 'publicKey') {
    const keys = trustedKeys(trust.publicKeys ?? []);
    if (keys.length === 0)
      throw new OmsCheckFailure('trust', 'the bundle is signed with a key, and no keys are trusted');
    const candidates = material.hint === undefined ? keys : keys.filter((k) => k.hint === material.hint);
    if (candidates.length === 0) {
      throw new OmsCheckFailure(
        'trust',
        `the bundle's key hint ${material.hint} matches none of the trusted keys`,
      );
    }
    const signer = candidates.find((k) => verifyEcdsa(k.key, k.curve, message, bundle.signature));
    if (signer === undefined) {
      throw new OmsCheckFailure('signature', 'the DSSE signature does not verify with the trusted key');
    }
    return Object.freeze({ kind: 'key', fingerprint: signer.hint, curve: signer.curve.name });
  }

  const [leaf, ...bundled] = material.certificates;
  if (leaf === undefined) throw new OmsCheckFailure('bundle', 'the bundle carries no certificate');
  const curve = ecCurve(leaf.publicKey);
  if (curve === undefined) {
    throw new OmsCheckFailure(
      'bundle',
      `signing certificate "${leaf.subject}" does not hold an ECDSA P-256, P-384 or P-521 key`,
    );
  }
  if (!verifyEcdsa(leaf.publicKey, curve, message, bundle.signature)) {
    throw new OmsCheckFailure(
      'signature',
      `the DSSE signature does not verify with the key of "${leaf.subject}"`,
    );
  }
  if ((trust.rootCerts ?? []).length === 0) {
    throw new OmsCheckFailure(
      'trust',
      'the bundle is signed with a certificate, and no root certificates are trusted',
    );
  }
  const path = verifyChain(
    leaf,
    bundled,
    { rootCerts: trust.rootCerts ?? [], intermediates: trust.intermediates ?? [] },
    at,
  );
  checkSigningUsage(leaf);
  const chain = path.map((c) =>
    Object.freeze({ subject: c.subject, issuer: c.issuer, fingerprint: certFingerprint(c) }),
  );
  return Object.freeze({
    kind: 'certificate',
    subject: leaf.subject,
    issuer: leaf.issuer,
    fingerprint: certFingerprint(leaf),
    chain: Object.freeze(chain),
  });
}

/** A local file as the comparison sees it: its path and a way to get its digest. */
interface LocalFile {
  readonly path: string;
  readonly digest: () => Promise<string>;
}

async function compareFiles(
  resources: readonly OmsResource[],
  local: readonly LocalFile[],
  rules: IgnoreRules,
): Promise<void> {
  const byPath = new Map(local.map((f) => [f.path, f]));
  const listed = new Set(resources.map((r) => r.path));
  const missing = resources.filter((r) => !byPath.has(r.path)).map((r) => r.path);
  const extra = local.filter((f) => !listed.has(f.path)).map((f) => f.path);
  const problems: string[] = [];
  if (missing.length > 0) {
    const excluded = missing.filter((p) => rules.match(p) !== undefined);
    const note = excluded.length > 0 ? ` (${nameList(excluded)} excluded by ignore paths)` : '';
    problems.push(`missing ${nameList(missing)}${note}`);
  }
  if (extra.length > 0) problems.push(`not covered by the signature ${nameList(extra)}`);
  if (problems.length === 0) {
    const changed: string[] = [];
    for (const r of resources) {
      if ((await byPath.get(r.path)!.digest()) !== r.sha256) changed.push(r.path);
    }
    if (changed.length > 0) problems.push(`digest differs for ${nameList(changed)}`);
  }
  if (problems.length > 0) {
    throw new OmsCheckFailure('files', `model files do not match the signature: ${problems.join('; ')}`);
  }
}

function manifestEntries(manifest: OmsManifestInput): [string, string][] {
  const raw = manifest instanceof Map ? [...manifest.entries()] : Object.entries(manifest);
  const seen = new Set<string>();
  return raw.map(([p, digest]) => {
    const path = canonicalRelativePath(p);
    if (path === undefined || seen.has(path)) {
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        `manifest path ${JSON.stringify(p)} is invalid or repeated`,
      );
    }
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) {
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        `manifest digest for ${JSON.stringify(p)} is not lowercase hex SHA-256`,
      );
    }
    seen.add(path);
    return [path, digest];
  });
}

/** Runs a model-folder operation, turning its refusals (symlinks, unreadable files) into a failed check. */
async function filesCheck<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof WardenError) throw new OmsCheckFailure('files', err.message);
    throw err;
  }
}

async function checkFiles(
  statement: OmsStatement,
  input: OmsVerifyInput,
  extraIgnores: readonly string[],
): Promise<string[]> {
  const walk = {
    ignorePaths: [...(statement.serialization.ignorePaths ?? []), ...extraIgnores],
    ignoreGitPaths: input.ignoreGitPaths,
    allowSymlinks: statement.serialization.allowSymlinks,
  };
  const rules = ignoreRulesFor(walk);
  if (input.modelDir === undefined) {
    const ignored: string[] = [];
    const local: LocalFile[] = [];
    for (const [path, sha256] of manifestEntries(input.manifest)) {
      if (rules.match(path) !== undefined) ignored.push(path);
      else local.push({ path, digest: async () => sha256 });
    }
    await compareFiles(statement.resources, local, rules);
    return ignored.sort(comparePaths);
  }
  const modelDir = input.modelDir;
  const listing = await filesCheck(() => listModelFiles(modelDir, walk));
  const noFollow = !walk.allowSymlinks;
  const local = listing.files.map((f) => ({
    path: f.path,
    digest: async () => (await filesCheck(() => hashFile(f.absolutePath, noFollow))).sha256,
  }));
  await compareFiles(statement.resources, local, rules);
  return [...listing.ignored];
}

/**
 * Verifies an OpenSSF Model Signing bundle: its structure, the DSSE signature over the in-toto
 * statement (by a trusted key, or a certificate chaining to a trusted root), the statement, and
 * that the model's files are exactly the signed ones with the signed digests. Signature and trust
 * are checked before any file is hashed. Invalid trust or options throw; a bad bundle or model
 * gives `{ ok: false }` naming the failed check.
 */
export async function verifyOmsBundle(input: OmsVerifyInput): Promise<OmsVerification> {
  const extraIgnores = canonicalIgnorePaths(input.ignorePaths ?? [], 'ignorePaths');
  try {
    const bundle = parseBundle(input.bundle);
    const signer = verifySignature(bundle, input.trust, input.at ?? new Date());
    const statement = parseStatement(bundle.payload);
    const ignored = await checkFiles(statement, input, extraIgnores);
    return Object.freeze({
      ok: true,
      signer,
      subject: Object.freeze({ name: statement.subjectName, sha256: statement.subjectSha256 }),
      files: statement.resources,
      ignored: Object.freeze(ignored),
    });
  } catch (err) {
    if (err instanceof OmsCheckFailure)
      return Object.freeze({ ok: false, check: err.check, reason: err.message });
    throw err;
  }
}
