import { X509Certificate } from 'node:crypto';
import { decodeBase64 } from './base64.js';
import { OmsCheckFailure } from './failure.js';

/** The Sigstore bundle media type OMS uses (protobuf-specs bundle v0.3, JSON encoding). */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** What identifies the signer in a bundle. */
export type VerificationMaterial =
  /** A key delivered out of band; `hint` is absent in bundles made before model_signing v1.1. */
  | { readonly kind: 'publicKey'; readonly hint: string | undefined }
  /** The signing certificate first, then whatever chain certificates the signer included. */
  | { readonly kind: 'certificates'; readonly certificates: readonly X509Certificate[] };

/** A structurally valid OMS bundle, decoded but not yet verified. */
export interface ParsedBundle {
  readonly material: VerificationMaterial;
  readonly payloadType: string;
  readonly payload: Buffer;
  readonly signature: Buffer;
}

function fail(reason: string): never {
  throw new OmsCheckFailure('bundle', reason);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function base64Field(value: unknown, field: string): Buffer {
  const bytes = typeof value === 'string' ? decodeBase64(value) : undefined;
  return bytes ?? fail(`${field} is not base64`);
}

function certificate(raw: unknown, field: string): X509Certificate {
  const der = base64Field(isObject(raw) ? raw.rawBytes : undefined, `${field}.rawBytes`);
  try {
    return new X509Certificate(der);
  } catch {
    fail(`${field} is not a DER X.509 certificate`);
  }
}

function parseMaterial(raw: unknown): VerificationMaterial {
  if (!isObject(raw)) fail('verificationMaterial is missing');
  const present = ['publicKey', 'x509CertificateChain', 'certificate'].filter(
    (k) => raw[k] !== undefined && raw[k] !== null,
  );
  if (present.length !== 1) {
    fail('verificationMaterial must hold exactly one of publicKey, x509CertificateChain or certificate');
  }
  if (present[0] === 'publicKey') {
    // Bundles before v1.1 carry the PEM key in rawBytes instead of a hint; like the reference,
    // the embedded key is never trusted, so only the hint is kept.
    if (!isObject(raw.publicKey)) fail('verificationMaterial.publicKey is not an object');
    const hint = raw.publicKey.hint;
    if (hint !== undefined && hint !== null && typeof hint !== 'string') {
      fail('verificationMaterial.publicKey.hint is not a string');
    }
    return { kind: 'publicKey', hint: typeof hint === 'string' && hint !== '' ? hint : undefined };
  }
  if (present[0] === 'certificate') {
    return {
      kind: 'certificates',
      certificates: [certificate(raw.certificate, 'verificationMaterial.certificate')],
    };
  }
  const chain = isObject(raw.x509CertificateChain) ? raw.x509CertificateChain.certificates : undefined;
  if (!Array.isArray(chain) || chain.length === 0) {
    fail('verificationMaterial.x509CertificateChain.certificates must be a non-empty array');
  }
  const field = 'verificationMaterial.x509CertificateChain.certificates';
  return {
    kind: 'certificates',
    certificates: chain.map((c: unknown, i) => certificate(c, `${field}[${i}]`)),
  };
}

/**
 * Parses an OMS bundle: the v0.3 media type, one kind of verification material, and a DSSE
 * envelope with exactly one signature (the Sigstore bundle rule). `keyid` is ignored (absent, empty
 * or null are all accepted), and so are transparency-log entries, which key and certificate
 * bundles do not need.
 */
export function parseBundle(input: Buffer | string): ParsedBundle {
  let doc: unknown;
  try {
    doc = JSON.parse(
      typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input),
    );
  } catch {
    fail('the bundle is not UTF-8 JSON');
  }
  if (!isObject(doc)) fail('the bundle is not a JSON object');
  if (doc.mediaType !== BUNDLE_MEDIA_TYPE) {
    fail(`bundle mediaType ${JSON.stringify(doc.mediaType)} is not ${BUNDLE_MEDIA_TYPE}`);
  }
  const material = parseMaterial(doc.verificationMaterial);
  const envelope = doc.dsseEnvelope;
  if (!isObject(envelope)) fail('the bundle has no dsseEnvelope (OMS signs an in-toto statement in DSSE)');
  if (typeof envelope.payloadType !== 'string') fail('dsseEnvelope.payloadType is not a string');
  const payload = base64Field(envelope.payload, 'dsseEnvelope.payload');
  const signatures = envelope.signatures;
  if (!Array.isArray(signatures) || signatures.length !== 1) {
    fail('dsseEnvelope.signatures must hold exactly one signature');
  }
  const first: unknown = signatures[0];
  const signature = base64Field(isObject(first) ? first.sig : undefined, 'dsseEnvelope.signatures[0].sig');
  return Object.freeze({ material, payloadType: envelope.payloadType, payload, signature });
}

/** The bundle JSON the reference writes (compact, key order as in the reference's output). */
export function formatBundle(
  material: { hint: string } | { certificates: readonly X509Certificate[] },
  payloadType: string,
  payload: Buffer,
  signature: Buffer,
): string {
  const verificationMaterial =
    'hint' in material
      ? { publicKey: { hint: material.hint }, tlogEntries: [] }
      : {
          x509CertificateChain: {
            certificates: material.certificates.map((c) => ({ rawBytes: c.raw.toString('base64') })),
          },
          tlogEntries: [],
        };
  return JSON.stringify({
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial,
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType,
      signatures: [{ sig: signature.toString('base64'), keyid: '' }],
    },
  });
}
