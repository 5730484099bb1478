// Test-only X.509 builder: node:crypto parses certificates but cannot make them, and the OMS
// tests need their own CAs and signing certificates (ECDSA, SHA-256 or SHA-384 signatures).
import { generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const groups: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}

function integer(bytes: Buffer): Buffer {
  const trimmed = bytes[0] === 0 ? bytes.subarray(1) : bytes;
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** A test certificate with its key pair. */
export interface TestCert {
  readonly commonName: string;
  readonly cert: X509Certificate;
  readonly pem: string;
  readonly privateKey: KeyObject;
}

/** Options for one test certificate. */
export interface CertOptions {
  readonly subject: string;
  /** The issuing CA; omitted for a self-signed root. */
  readonly issuer?: TestCert;
  readonly ca?: boolean;
  /** The subject's curve (default P-256). */
  readonly curve?: 'P-256' | 'P-384';
  /** Key usage for a non-CA certificate: digitalSignature (default) or none at all. */
  readonly digitalSignature?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

let serial = 1;

/** Makes an ECDSA certificate (CA or leaf), signed by its issuer or by itself. */
export function makeCert(o: CertOptions): TestCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: o.curve === 'P-384' ? 'secp384r1' : 'prime256v1',
  });
  const signerKey = o.issuer?.privateKey ?? privateKey;
  const p384Signer = signerKey.asymmetricKeyDetails?.namedCurve === 'secp384r1';
  const sigAlg = seq(oid(p384Signer ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2'));
  const keyUsage = o.ca
    ? bits(Buffer.from([0x06]), 1) // keyCertSign, cRLSign
    : bits(Buffer.from([o.digitalSignature === false ? 0x00 : 0x80]), 7);
  const extensions = [
    extension('2.5.29.19', true, o.ca ? seq(bool(true)) : seq()),
    ...(o.ca || o.digitalSignature !== false ? [extension('2.5.29.15', true, keyUsage)] : []),
  ];
  const notBefore = o.notBefore ?? new Date(Date.now() - 3_600_000);
  const notAfter = o.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(Buffer.from([0x10, (serial >> 8) & 0xff, serial++ & 0xff])),
    sigAlg,
    name(o.issuer?.commonName ?? o.subject),
    seq(time(notBefore), time(notAfter)),
    name(o.subject),
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign(p384Signer ? 'sha384' : 'sha256', tbs, signerKey);
  const der = seq(tbs, sigAlg, bits(signature));
  const cert = new X509Certificate(der);
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  return { commonName: o.subject, cert, pem: pem.replace(/\n\n/g, '\n'), privateKey };
}
