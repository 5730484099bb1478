import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { WardenError } from '../core/index.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_SALT = 'warden/secret-box/v1';

function unopenable(): WardenError {
  return new WardenError('WARDEN_INTERNAL', 'sealed secret could not be opened (wrong key or tampered)');
}

/**
 * AES-256-GCM for small secrets at rest (TOTP seeds), under a key derived with HKDF-SHA256 from the
 * deployment key and a purpose label, so each purpose has its own key.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(deploymentKey: Uint8Array, purpose: string) {
    if (deploymentKey.length < 32) throw new WardenError('WARDEN_CONFIG', 'secret-box key must be 32+ bytes');
    this.#key = Buffer.from(hkdfSync('sha256', deploymentKey, HKDF_SALT, purpose, 32));
  }

  /**
   * Encrypts `plaintext` as `v1:<iv>:<ciphertext>:<tag>` (base64url). `context` (e.g. the owning user's
   * id) is authenticated but not stored: `open` must be given the same one, so a sealed value cannot be
   * moved to another row.
   */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(`${VERSION}\0${context}`));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, ct, cipher.getAuthTag()].map((b) => b.toString('base64url'));
    return [VERSION, ...parts].join(':');
  }

  /** Decrypts a value from `seal`; throws WARDEN_INTERNAL if it was altered, or sealed under another key or context. */
  open(sealed: string, context = ''): string {
    const [version, iv, ct, tag, ...rest] = sealed.split(':');
    if (version !== VERSION || iv === undefined || ct === undefined || tag === undefined || rest.length > 0) {
      throw unopenable();
    }
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw unopenable();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, ivBytes, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(`${VERSION}\0${context}`));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw unopenable();
    }
  }
}
