const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Strict base64 decoding of standard or URL-safe text (DSSE allows both). Unlike Buffer.from, it
 * rejects stray characters and non-canonical trailing bits, so one text has one meaning.
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const body = text.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  if (text.length !== body.length && text.length % 4 !== 0) return undefined;
  const standard = body.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Buffer.from(standard, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== standard) return undefined;
  return bytes;
}
