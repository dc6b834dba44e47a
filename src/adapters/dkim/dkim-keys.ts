import crypto from 'node:crypto';
import type { DkimAlgorithm } from '../../core/deliverability.ts';

/** A new signing key: the private key (PKCS#8 PEM, to be sealed at once) and the p= value of its DNS record. */
export interface NewDkimKey {
  privateKeyPem: string;
  publicKey: string;
}

/**
 * RSA 2048 (RFC 8301: at least 1024, 2048 recommended) with p= the base64 SubjectPublicKeyInfo,
 * or Ed25519 (RFC 8463) with p= the bare 32-byte public key.
 */
export function newDkimKey(algorithm: DkimAlgorithm): NewDkimKey {
  if (algorithm === 'rsa') {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    return { privateKeyPem: privateKey, publicKey: publicKey.toString('base64') };
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  // The SPKI of an Ed25519 key is a 12-byte prefix and the 32-byte key.
  return { privateKeyPem: privateKey, publicKey: publicKey.subarray(publicKey.length - 32).toString('base64') };
}

/** The record as a zone-file line: TXT strings are at most 255 bytes, so a long value is split. */
export function zoneFileLine(name: string, value: string): string {
  const parts = value.match(/.{1,250}/g) ?? [''];
  return `${name}. 3600 IN TXT ${parts.length === 1 ? `"${parts[0]}"` : `( ${parts.map((p) => `"${p}"`).join('\n        ')} )`}`;
}
