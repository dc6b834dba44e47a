import crypto from 'node:crypto';

/**
 * Secrets handed to people or machines (passwords, API tokens, session cookies, sign-in links)
 * and how they are kept: passwords as Argon2id hashes, random tokens as SHA-256 digests. A
 * token has 256 bits of entropy, so a fast digest is enough: nothing can be guessed from it.
 */

/** A fresh random token, base64url, with an optional readable prefix (`dlt_` for API tokens). */
export function newToken(prefix = ''): string {
  return prefix + crypto.randomBytes(32).toString('base64url');
}

/** The digest under which a random token is stored and looked up. */
export function tokenDigest(token: string): string {
  return crypto.createHash('sha256').update(token).digest('base64url');
}

/** Constant-time comparison of two strings (CSRF tokens). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A generated password: 20 characters without look-alikes (about 116 bits). */
export function generatePassword(): string {
  let out = '';
  for (let i = 0; i < 20; i++) out += PASSWORD_ALPHABET[crypto.randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

/**
 * Argon2id with the OWASP minimum (19 MiB, t=2, p=1), which is the library's default (a test
 * checks the PHC string says argon2id).
 */
export async function hashPassword(password: string): Promise<string> {
  return (await argon2()).hash(password);
}

/** Loaded at the first password: a cmdlet that needs none does not load the native add-on. */
const argon2 = () => import('@node-rs/argon2');

export async function passwordMatches(phc: string, password: string): Promise<boolean> {
  try {
    return await (await argon2()).verify(phc, password);
  } catch {
    return false;
  }
}

/**
 * A hash of a password nobody knows, verified when the account does not exist so an unknown
 * e-mail address costs the same time as a wrong password.
 */
let decoy: Promise<string> | null = null;
export function decoyPasswordHash(): Promise<string> {
  decoy ??= hashPassword(newToken());
  return decoy;
}
