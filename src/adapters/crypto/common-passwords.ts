/**
 * The list of common and breached passwords that administrators' passwords are checked against:
 * the 49,000 of @zxcvbn-ts/language-common (from leaked-password corpora, MIT). Loaded on first
 * use only: decompressing it takes tens of milliseconds that a cmdlet line should not pay.
 */
let list: Promise<ReadonlySet<string>> | null = null;

export function commonPasswords(): Promise<ReadonlySet<string>> {
  list ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common'].map((p) => p.toLowerCase())));
  return list;
}
