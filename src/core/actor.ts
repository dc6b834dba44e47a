/**
 * Who acted, read from an audit row's actor: `web:<admin e-mail>` (the admin center),
 * `web:sip:<user>` (a user on their settings page), `sso:<identity>` (signed in with the
 * organisation's identity), `api:<token name>`, `cli:<OS user>@<host>` (older rows: `cli:<OS user>`),
 * `directory-sync`. Anything else is shown as written.
 */
export type ActorKind = 'admin' | 'sso' | 'user' | 'token' | 'cli' | 'directory' | 'other';

export interface Actor {
  kind: ActorKind;
  /** The e-mail, token name, SIP address or OS user. */
  name: string;
  /** The machine a CLI change was made on, when recorded. */
  host: string | null;
}

export function describeActor(actor: string): Actor {
  const at = actor.indexOf(':');
  const scheme = at < 0 ? actor : actor.slice(0, at);
  const rest = at < 0 ? '' : actor.slice(at + 1);
  if (actor === 'directory-sync') return { kind: 'directory', name: actor, host: null };
  if (scheme === 'web' && rest.startsWith('sip:')) return { kind: 'user', name: rest.slice(4), host: null };
  if (scheme === 'web' && rest) return { kind: 'admin', name: rest, host: null };
  if (scheme === 'sso' && rest) return { kind: 'sso', name: rest, host: null };
  if (scheme === 'api' && rest) return { kind: 'token', name: rest, host: null };
  if (scheme === 'cli' && rest) {
    const h = rest.lastIndexOf('@');
    return h > 0 ? { kind: 'cli', name: rest.slice(0, h), host: rest.slice(h + 1) || null } : { kind: 'cli', name: rest, host: null };
  }
  return { kind: 'other', name: actor, host: null };
}

/** The actor a CLI change is recorded under: the OS user and the machine, `cli:alice@host1`. */
export function cliActorName(user: string, host: string): string {
  const clean = (v: string) => v.replace(/[^\p{L}\p{N}._-]/gu, '') || 'unknown';
  return `cli:${clean(user)}@${clean(host)}`;
}
