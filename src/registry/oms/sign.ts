import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { WardenError } from '../../core/errors.js';
import { formatBundle } from './bundle.js';
import { IN_TOTO_PAYLOAD_TYPE, pae } from './dsse.js';
import { ecCurve, keyHint, signEcdsa } from './ecdsa.js';
import { hashModelDir, ignoreRulesFor } from './model-files.js';
import { canonicalIgnorePaths } from './paths.js';
import { buildStatement } from './statement.js';

/** What signOms signs, and with what. */
export interface OmsSignInput {
  readonly modelDir: string;
  /** PEM private key, ECDSA P-256, P-384 or P-521. */
  readonly privateKey: string;
  /** Passphrase of an encrypted PEM key. */
  readonly passphrase?: string;
  /** PEM certificates: the signing certificate (matching the key) first, then its chain. */
  readonly certificateChain?: readonly string[];
  /**
   * Model-relative paths to leave out and record in `ignore_paths`; include the signature file's
   * path when it will be written inside the folder.
   */
  readonly ignorePaths?: readonly string[];
  /** Leave out the git paths at the root (default true, as the reference). */
  readonly ignoreGitPaths?: boolean;
  /** Follow symlinks instead of refusing them (default false). */
  readonly allowSymlinks?: boolean;
}

function invalid(message: string, cause?: unknown): WardenError {
  return new WardenError('WARDEN_INVALID_INPUT', message, { cause });
}

function loadKey(pem: string, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
  } catch (err) {
    throw invalid('privateKey is not a readable PEM private key', err);
  }
}

function loadChain(pems: readonly string[], key: KeyObject): X509Certificate[] {
  const certs = pems.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      throw invalid(`certificateChain[${i}] is not a PEM certificate`, err);
    }
  });
  const leaf = certs[0];
  if (leaf === undefined) throw invalid('certificateChain is empty');
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(leaf.publicKey).equals(spki(createPublicKey(key)))) {
    throw invalid(
      'the signing certificate (certificateChain[0]) does not hold the public half of privateKey',
    );
  }
  return certs;
}

/**
 * Signs a model folder in the OMS v1.0 format the reference implementation (model_signing v1.1)
 * writes: per-file SHA-256 manifest in an in-toto statement, DSSE-signed with ECDSA, in a Sigstore
 * v0.3 bundle identifying the signer by key hint or by certificate chain. Returns the bundle JSON.
 */
export async function signOms(input: OmsSignInput): Promise<string> {
  const key = loadKey(input.privateKey, input.passphrase);
  const curve = ecCurve(key);
  if (curve === undefined) throw invalid('privateKey must be an ECDSA P-256, P-384 or P-521 key');
  const chain = input.certificateChain === undefined ? undefined : loadChain(input.certificateChain, key);
  const ignorePaths = canonicalIgnorePaths(input.ignorePaths ?? [], 'ignorePaths');

  const walk = {
    ignorePaths,
    ignoreGitPaths: input.ignoreGitPaths,
    allowSymlinks: input.allowSymlinks === true,
  };
  const manifest = await hashModelDir(input.modelDir, walk);
  const statement = buildStatement(basename(resolve(input.modelDir)), manifest.files, {
    allowSymlinks: walk.allowSymlinks,
    ignorePaths: ignoreRulesFor(walk).list(),
  });
  const payload = Buffer.from(JSON.stringify(statement, null, 2), 'utf8');
  const signature = signEcdsa(key, curve, pae(IN_TOTO_PAYLOAD_TYPE, payload));
  const material = chain === undefined ? { hint: keyHint(createPublicKey(key)) } : { certificates: chain };
  return formatBundle(material, IN_TOTO_PAYLOAD_TYPE, payload, signature);
}
