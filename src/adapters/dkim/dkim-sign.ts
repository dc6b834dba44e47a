import crypto, { type KeyObject } from 'node:crypto';
import RelaxedBody from 'nodemailer/lib/dkim/relaxed-body';
import type { DkimAlgorithm } from '../../core/deliverability.ts';

/** A key a message is signed with (opened from its seal by the worker, handed to the compose thread). */
export interface DkimSigningKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
}

/**
 * The header fields signed (RFC 6376 §5.4.1), each as often as listed: a name listed once more
 * than the message has it signs "no further field of that name" (§5.4.2), so a From, To,
 * Subject… added on the way fails the signature instead of being shown to the reader.
 */
const SIGNED = ['from', 'reply-to', 'to', 'cc', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding', 'content-language', 'auto-submitted', 'feedback-id', 'list-unsubscribe'];
const OVERSIGNED = new Set(['from', 'reply-to', 'to', 'cc', 'subject', 'date', 'message-id']);

/** Relaxed header canonicalization (§3.4.2) of one field as it appears ("Name: value", folded). */
const relaxedField = (name: string, field: string): string =>
  `${name}:${field
    .slice(field.indexOf(':') + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '')}\r\n`;

const keyObjects = new Map<string, KeyObject>();
function keyObject(pem: string): KeyObject {
  let k = keyObjects.get(pem);
  if (!k) {
    if (keyObjects.size > 64) keyObjects.clear();
    keyObjects.set(pem, (k = crypto.createPrivateKey(pem)));
  }
  return k;
}

/** The relaxed body hash (§3.4.4), computed by nodemailer's DKIM body canonicalizer. */
function bodyHash(body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const rb = new RelaxedBody({ hashAlgo: 'sha256' });
    rb.once('hash', (h: string) => resolve(h));
    rb.once('error', reject);
    rb.resume();
    rb.end(body);
  });
}

/**
 * Signs a composed message (CRLF line ends) with each key, relaxed/relaxed, and returns it with
 * the DKIM-Signature fields in front: rsa-sha256, and ed25519-sha256 (RFC 8463: Ed25519 over the
 * SHA-256 of the canonicalized header data) when an Ed25519 key is given. nodemailer's own signer
 * lists each field once (no oversigning) and signs RSA only, so the header part is done here.
 */
export async function signDkim(raw: Buffer, keys: DkimSigningKey[], unixTime: number): Promise<Buffer> {
  if (!keys.length) return raw;
  const split = raw.indexOf('\r\n\r\n');
  const headerEnd = split < 0 ? raw.length : split + 2;
  const head = raw.subarray(0, headerEnd).toString('latin1');
  const bh = await bodyHash(split < 0 ? Buffer.alloc(0) : raw.subarray(split + 4));
  // Header fields with their folded continuation lines, bottom first (§5.4.2 signs from the bottom).
  const fields = head.split(/\r\n(?![ \t])/).filter((f) => f.length);
  const byName = new Map<string, string[]>();
  for (const f of fields.reverse()) {
    const name = f.slice(0, f.indexOf(':')).trim().toLowerCase();
    byName.set(name, [...(byName.get(name) ?? []), f]);
  }
  // Each present field as often as it occurs, plus once more for those that must occur only once.
  const names = SIGNED.flatMap((n) => Array<string>((byName.get(n)?.length ?? 0) + (OVERSIGNED.has(n) ? 1 : 0)).fill(n));
  const used = new Map<string, number>();
  let data = '';
  for (const n of names) {
    const i = used.get(n) ?? 0;
    used.set(n, i + 1);
    const f = byName.get(n)?.[i];
    if (f) data += relaxedField(n, f);
  }
  const out: string[] = [];
  for (const k of keys) {
    const tags = `v=1; a=${k.algorithm}-sha256; c=relaxed/relaxed; d=${k.domain}; s=${k.selector};\r\n t=${unixTime};\r\n h=${names.map((n, i) => (i && i % 6 === 0 ? `\r\n ${n}` : n)).join(':')};\r\n bh=${bh};\r\n b=`;
    const field = `DKIM-Signature: ${tags}`;
    const signed = data + relaxedField('dkim-signature', field).slice(0, -2);
    const key = keyObject(k.privateKeyPem);
    const b = k.algorithm === 'rsa' ? crypto.sign('sha256', Buffer.from(signed, 'latin1'), key) : crypto.sign(null, crypto.createHash('sha256').update(signed, 'latin1').digest(), key);
    out.push(`${field}${b.toString('base64').replace(/.{1,72}/g, '$&\r\n ').replace(/\r\n $/, '')}\r\n`);
  }
  return Buffer.concat([Buffer.from(out.join(''), 'latin1'), raw]);
}
