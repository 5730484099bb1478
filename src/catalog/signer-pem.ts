import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { type FieldIssue, invalidInput } from '../core/index.js';
import { keyHint } from '../registry/oms/index.js';

/** The curves OMS key signers may use (Node's names for P-256 and P-384). */
const CURVES = new Set(['prime256v1', 'secp384r1']);

/** What a trusted signer is: an ECDSA public key, or a CA certificate at the root or middle of a chain. */
export type SignerKind = 'key' | 'root' | 'intermediate';

/** A checked signer: its PEM in canonical form and its fingerprint. */
export interface CheckedSigner {
  readonly pem: string;
  /** Keys: the OMS key hint (hex SHA-256 of the SPKI PEM), so bundles' hints match; certificates: hex SHA-256 of the DER. */
  readonly fingerprint: string;
}

const refuse = (message: string): never => {
  const issue: FieldIssue = { field: 'pem', message };
  throw invalidInput([issue]);
};

/** Checks a signer's PEM for its kind: an EC P-256/P-384 public key, or an X.509 CA certificate. */
export function checkSignerPem(kind: SignerKind, pem: string): CheckedSigner {
  if (kind === 'key') {
    if (!/^-----BEGIN PUBLIC KEY-----/m.test(pem) || /PRIVATE KEY/.test(pem))
      refuse('expected a PEM "PUBLIC KEY" (SubjectPublicKeyInfo), never a private key');
    let key: KeyObject | undefined;
    try {
      key = createPublicKey(pem);
    } catch {
      refuse('not a readable public key');
    }
    const curve = key?.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
    if (!key || curve === undefined || !CURVES.has(curve))
      return refuse('expected an ECDSA P-256 or P-384 public key');
    return { pem: key.export({ type: 'spki', format: 'pem' }) as string, fingerprint: keyHint(key) };
  }
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(pem);
  } catch {
    refuse('not a readable X.509 certificate');
  }
  if (!cert?.ca) return refuse('expected a CA certificate (basicConstraints CA:TRUE)');
  if (kind === 'root' && !(cert.checkIssued(cert) && cert.verify(cert.publicKey)))
    refuse('a root must be self-signed; add other CA certificates as intermediate');
  return { pem: cert.toString(), fingerprint: createHash('sha256').update(cert.raw).digest('hex') };
}
