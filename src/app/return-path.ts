import crypto from 'node:crypto';
import type { Keys } from '../adapters/crypto/keys.ts';

/**
 * VERP return paths: each mail's envelope sender is bounce+<id>-<mac>@DIALIN_BOUNCE_DOMAIN, where
 * <id> is the outbox id (32 hex digits) and <mac> 80 bits of an HMAC of it under a key derived
 * from the master key. A return names its message; nobody without the key can make one that
 * names another. Lower-case only: some systems fold the case of local parts.
 */
const PREFIX = 'bounce+';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function mac(keys: Keys, id: string): string {
  return macOf(keys.derivedToken('verp-return-path', id));
}

function macOf(token: string): string {
  const bytes = Buffer.from(token, 'base64url');
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** The return path of an outbox message. */
export function returnPathOf(keys: Keys, outboxId: string, domain: string): string {
  return `${PREFIX}${outboxId.replace(/-/g, '')}-${mac(keys, outboxId)}@${domain}`;
}

/**
 * The outbox id a return path names, or null when it is not one of ours: another domain, not
 * the form, or a token that does not verify (forged or damaged).
 */
export function outboxIdOfReturnPath(keys: Keys, address: string, domain: string): string | null {
  const m = /^bounce\+([0-9a-f]{32})-([a-z2-7]{16})@(.+)$/.exec(address.trim().toLowerCase());
  if (!m || m[3] !== domain.toLowerCase()) return null;
  const h = m[1]!;
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  const given = Buffer.from(m[2]!);
  // Under every version of the key ring: a mail sent before a rotation may come back after it.
  let ok = false;
  for (const t of keys.derivedTokens('verp-return-path', id)) ok = crypto.timingSafeEqual(Buffer.from(macOf(t)), given) || ok;
  return ok ? id : null;
}
