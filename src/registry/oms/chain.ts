import type { X509Certificate } from 'node:crypto';
import { digitalSignatureUsage } from './der.js';
import { OmsCheckFailure } from './failure.js';

/** The code-signing extended key usage (RFC 5280 §4.2.1.12). */
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const MAX_DEPTH = 8;

/** Certificates a caller trusts: anchors, and untrusted intermediates that may help build a path. */
export interface ChainTrust {
  readonly rootCerts: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  // checkIssued compares names, key identifiers and the issuer's keyCertSign usage; verify checks the signature.
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function sameCert(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw);
}

/** Hex SHA-256 of a certificate's DER bytes. */
export function certFingerprint(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * Builds a path from the signing certificate to a trusted anchor, using the bundle's certificates
 * and the caller's intermediates (none of them trusted on their own), and checks that every
 * certificate on it is valid at `at`. Any configured root is an anchor, self-signed or not.
 * Returns the path, leaf first and anchor last.
 */
export function verifyChain(
  leaf: X509Certificate,
  bundled: readonly X509Certificate[],
  trust: ChainTrust,
  at: Date,
): X509Certificate[] {
  const pool = [...bundled, ...trust.intermediates];
  const extend = (path: X509Certificate[]): X509Certificate[] | undefined => {
    const current = path[path.length - 1]!;
    const anchor = trust.rootCerts.find((root) => sameCert(root, current) || issuedBy(current, root));
    if (anchor !== undefined) return sameCert(anchor, current) ? path : [...path, anchor];
    if (path.length >= MAX_DEPTH) return undefined;
    for (const candidate of pool) {
      if (path.some((c) => sameCert(c, candidate)) || !issuedBy(current, candidate)) continue;
      const found = extend([...path, candidate]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const path = extend([leaf]);
  if (path === undefined) {
    throw new OmsCheckFailure(
      'trust',
      `certificate chain does not lead to a trusted root: signing certificate "${leaf.subject}" issued by "${leaf.issuer}"`,
    );
  }
  for (const cert of path) {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    if (!(from.getTime() <= at.getTime() && at.getTime() <= to.getTime())) {
      throw new OmsCheckFailure(
        'trust',
        `certificate "${cert.subject}" is not valid at ${at.toISOString()} (valid ${from.toISOString()} to ${to.toISOString()})`,
      );
    }
  }
  return path;
}

/**
 * The reference's signing-certificate rule: KeyUsage must allow digitalSignature, or else the
 * extended key usage must include code signing.
 */
export function checkSigningUsage(leaf: X509Certificate): void {
  let digitalSignature: boolean | undefined;
  try {
    digitalSignature = digitalSignatureUsage(leaf.raw);
  } catch {
    throw new OmsCheckFailure('bundle', `signing certificate "${leaf.subject}" has a malformed extension`);
  }
  if (digitalSignature === true || (leaf.keyUsage ?? []).includes(CODE_SIGNING)) return;
  throw new OmsCheckFailure(
    'trust',
    `signing certificate "${leaf.subject}" may not sign: it needs keyUsage digitalSignature or extendedKeyUsage codeSigning`,
  );
}
