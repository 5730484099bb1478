import { createHash, type KeyObject, sign, verify } from 'node:crypto';

/** An ECDSA curve OMS accepts, with the digest the reference pairs with it. */
export interface EcCurve {
  readonly name: 'P-256' | 'P-384' | 'P-521';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
}

const CURVES: Readonly<Record<string, EcCurve>> = {
  prime256v1: { name: 'P-256', hash: 'sha256' },
  secp384r1: { name: 'P-384', hash: 'sha384' },
  secp521r1: { name: 'P-521', hash: 'sha512' },
};

/** The curve of an EC key, or undefined for any other key type or curve. */
export function ecCurve(key: KeyObject): EcCurve | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const named = key.asymmetricKeyDetails?.namedCurve;
  return named === undefined ? undefined : CURVES[named];
}

/**
 * The OMS key hint: hex SHA-256 of the public key as SubjectPublicKeyInfo PEM text (64-column
 * lines, trailing newline), which is what the reference writes to `verificationMaterial.publicKey.hint`.
 */
export function keyHint(publicKey: KeyObject): string {
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  return createHash('sha256').update(pem).digest('hex');
}

/** ECDSA signature (ASN.1 DER, as the reference produces) with the curve's digest. */
export function signEcdsa(privateKey: KeyObject, curve: EcCurve, message: Uint8Array): Buffer {
  return sign(curve.hash, message, { key: privateKey, dsaEncoding: 'der' });
}

/** Checks a DER ECDSA signature with the curve's digest; malformed signatures are simply invalid. */
export function verifyEcdsa(
  publicKey: KeyObject,
  curve: EcCurve,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return verify(curve.hash, message, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
