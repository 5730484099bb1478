interface Tlv {
  readonly tag: number;
  /** First byte of the contents. */
  readonly start: number;
  /** One past the last byte of the contents. */
  readonly end: number;
}

function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new Error('truncated DER');
  const tag = der[pos]!;
  let len = der[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > limit) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end; ) {
    const tlv = readTlv(der, pos, parent.end);
    out.push(tlv);
    pos = tlv.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const EXTENSIONS = 0xa3;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const OBJECT_IDENTIFIER = 0x06;
const KEY_USAGE_OID = Buffer.from([0x55, 0x1d, 0x0f]); // 2.5.29.15

/**
 * The digitalSignature bit of a certificate's KeyUsage extension (RFC 5280 §4.2.1.3), or undefined
 * when the extension is absent. Node's X509Certificate exposes extended key usage but not these bits.
 */
export function digitalSignatureUsage(certDer: Uint8Array): boolean | undefined {
  const cert = readTlv(certDer, 0, certDer.length);
  const tbs = children(certDer, cert)[0];
  if (cert.tag !== SEQUENCE || tbs?.tag !== SEQUENCE) throw new Error('not a certificate');
  const wrapper = children(certDer, tbs).find((t) => t.tag === EXTENSIONS);
  if (wrapper === undefined) return undefined;
  const list = children(certDer, wrapper)[0];
  if (list?.tag !== SEQUENCE) throw new Error('bad extensions');
  for (const ext of children(certDer, list)) {
    const parts = children(certDer, ext);
    const oid = parts[0];
    if (oid?.tag !== OBJECT_IDENTIFIER) throw new Error('bad extension');
    if (!KEY_USAGE_OID.equals(certDer.subarray(oid.start, oid.end))) continue;
    const value = parts[parts.length - 1];
    if (value?.tag !== OCTET_STRING) throw new Error('bad KeyUsage extension');
    const bits = readTlv(certDer, value.start, value.end);
    if (bits.tag !== BIT_STRING || bits.end - bits.start < 1) throw new Error('bad KeyUsage bits');
    const first = bits.end - bits.start > 1 ? certDer[bits.start + 1]! : 0;
    return (first & 0x80) !== 0;
  }
  return undefined;
}
