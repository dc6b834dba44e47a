import type { DirectoryPerson, MappedEntry, SkippedEntry } from './directory-mapping.ts';
import { defaultMaxDisable } from './directory-settings.ts';
import { normalizeDn } from './ldap-dn.ts';

/**
 * What a sync would do, computed from the directory's entries and the tenant's users alone (no
 * I/O): who is created, adopted (an existing user with the same SIP address, now linked to the
 * entry), updated, enabled, disabled or skipped, each with its reason; and whether the disables
 * exceed the guard. The use-case applies the plan; `--dry-run` prints it.
 */

/** The fields of every user the plan reads (a few, so 100,000 of them fit in memory). */
export interface LinkedUser {
  id: string;
  sip: string;
  provider: string;
  dialin_enabled: number;
  directory_id: string | null;
  directory_key: string | null;
  directory_dn: string | null;
  /** Whether the entry was in the licence group at the last pass that read the group (migration 0024); null: not known. */
  directory_licensed?: number | null;
}

/** The fields compared with an entry: needed only for the users an entry links to or whose SIP address it has. */
export interface UserDetails {
  email: string;
  display_name: string;
  language: string;
  phone: string | null;
  directory_attrs: string | null;
}

export type CurrentUser = LinkedUser & UserDetails;
/** A user as the use-case hands it over: with details when `usersToCompare` named it. */
export type PlanUser = LinkedUser & Partial<UserDetails>;

/** The users whose details the plan compares: those an entry links to (same key) or whose SIP address an entry has. */
export function usersToCompare(connectionId: string, entries: readonly MappedEntry[], users: readonly LinkedUser[]): string[] {
  const keys = new Set<string>();
  const sips = new Set<string>();
  for (const e of entries) {
    if ('person' in e) {
      keys.add(e.person.key);
      sips.add(e.person.sip);
    }
  }
  return users.filter((u) => (u.directory_id === connectionId && u.directory_key && keys.has(u.directory_key)) || sips.has(u.sip)).map((u) => u.id);
}

export interface PlanInput {
  connectionId: string;
  /** A full pass sees every entry, so a linked user whose entry is missing has left. */
  full: boolean;
  entries: readonly MappedEntry[];
  /** Normalised DNs of the licence group's members, nested groups resolved; null: no licence group. */
  licensed: ReadonlySet<string> | null;
  users: readonly PlanUser[];
  /**
   * No group changed since the last pass (an incremental pass): the users it did not read keep their
   * membership, so they are not checked, and `users` may hold only those the entries name.
   */
  groupsUnchanged?: boolean;
  /** With `groupsUnchanged`: how many of the connection's users are enabled, and how many are licence group members (for the guard and the counts). */
  enabledBefore?: number;
  licensedCount?: number;
  /** The connection's --max-disable, or null for the default guard. */
  maxDisable: number | null;
  /**
   * An incremental pass reads only changed entries: for a new person's SIP address, the DNs of
   * every entry of the directory that has it (looked up by the use-case), so a twin that did not
   * change is still seen.
   */
  sipHolders?: ReadonlyMap<string, readonly string[]>;
}

export type PlanAction = 'create' | 'adopt' | 'update' | 'none' | 'gone' | 'skip';

export interface PlanItem {
  action: PlanAction;
  key: string | null;
  dn: string;
  sip: string | null;
  userId: string | null;
  /** Changed user fields (update, adopt). */
  changes: string[];
  licence: 'enable' | 'disable' | null;
  /** In the licence group at this pass (null: no licence group, or not a person). */
  member: boolean | null;
  reason: string | null;
  person: DirectoryPerson | null;
}

export interface PlanCounts {
  entries: number;
  licensed: number;
  create: number;
  adopt: number;
  update: number;
  enable: number;
  disable: number;
  gone: number;
  skip: number;
}

export interface SyncPlan {
  items: PlanItem[];
  counts: PlanCounts;
  /** The most users this sync may disable without --allow-mass-disable. */
  disableLimit: number;
  /** More disables than the limit: nothing is applied until allowed. */
  overLimit: boolean;
  /** Existing users whose stored membership (directory_licensed) is not this pass's; new users get theirs when created. */
  memberships: { userId: string; member: boolean }[];
}

const isEnabled = (u: Pick<CurrentUser, 'provider' | 'dialin_enabled'>) => u.provider === 'Microsoft' && u.dialin_enabled === 1;

/** The user-visible fields of a person that differ from the user's. */
function changedFields(u: PlanUser, p: DirectoryPerson): string[] {
  if (u.email === undefined) throw new Error(`planSync: user ${u.id} was handed over without the details usersToCompare asks for`);
  const out: string[] = [];
  if (u.sip !== p.sip) out.push('sip');
  if (u.email !== p.email) out.push('email');
  if (u.display_name !== p.displayName) out.push('displayName');
  if (p.language && u.language !== p.language) out.push('language');
  if ((u.phone ?? null) !== p.phone) out.push('phone');
  if (u.directory_dn !== p.dn) out.push('dn');
  if ((u.directory_attrs ?? '{}') !== JSON.stringify(p.attrs)) out.push('attributes');
  return out;
}

export function planSync(input: PlanInput): SyncPlan {
  const items: PlanItem[] = [];
  const skip = (s: SkippedEntry, userId: string | null = null) => items.push({ action: 'skip', key: s.key, dn: s.dn, sip: s.sip, userId, changes: [], licence: null, member: null, reason: s.reason, person: null });

  const byKey = new Map<string, PlanUser>();
  const bySip = new Map<string, PlanUser>();
  const memberships: SyncPlan['memberships'] = [];
  const noteMembership = (u: PlanUser, member: boolean | null) => {
    if (member !== null && (u.directory_licensed ?? null) !== (member ? 1 : 0)) memberships.push({ userId: u.id, member });
  };
  for (const u of input.users) {
    if (u.directory_id === input.connectionId && u.directory_key) byKey.set(u.directory_key, u);
    bySip.set(u.sip, u);
  }

  // Entries seen (mapped or not): a linked user whose entry is only unreadable has not left.
  const seenKeys = new Set<string>();
  const persons: DirectoryPerson[] = [];
  for (const e of input.entries) {
    if ('person' in e) {
      seenKeys.add(e.person.key);
      persons.push(e.person);
    } else {
      if (e.skipped.key) seenKeys.add(e.skipped.key);
      const linked = e.skipped.key ? byKey.get(e.skipped.key) : undefined;
      // Kept true while skipped, so a later pass that trusts the stored membership is right.
      if (linked && input.licensed) noteMembership(linked, input.licensed.has(normalizeDn(e.skipped.dn)));
      skip(e.skipped, linked?.id ?? null);
    }
  }

  // Two entries with one SIP address: neither is taken, since either could be the wrong person.
  const sipCount = new Map<string, DirectoryPerson[]>();
  for (const p of persons) {
    const twins = sipCount.get(p.sip);
    if (twins) twins.push(p);
    else sipCount.set(p.sip, [p]);
  }

  const licenceFor = (p: DirectoryPerson, enabled: boolean): 'enable' | 'disable' | null => {
    if (!input.licensed) return null;
    const member = input.licensed.has(p.ndn) && !p.disabled;
    if (member && !enabled) return 'enable';
    if (!member && enabled) return 'disable';
    return null;
  };

  let licensedBefore = 0;
  const touched = new Set<string>();
  for (const p of persons) {
    const twins = sipCount.get(p.sip)!;
    const linked = byKey.get(p.key);
    const holders = input.sipHolders?.get(p.sip);
    const others = twins.length === 1 && !holders ? [] : [...new Set([...twins.filter((t) => t !== p).map((t) => t.dn), ...(holders ?? []).filter((dn) => normalizeDn(dn) !== p.ndn)])];
    const member = input.licensed ? input.licensed.has(p.ndn) : null;
    if (others.length > 0) {
      skip({ key: p.key, dn: p.dn, sip: p.sip, reason: `the SIP address ${p.sip} is also that of ${others.join('; ')}` }, linked?.id ?? null);
      if (linked) {
        touched.add(linked.id);
        noteMembership(linked, member);
      }
      continue;
    }
    let user = linked;
    let action: PlanAction;
    if (user) {
      const holder = bySip.get(p.sip);
      if (holder && holder.id !== user.id) {
        skip({ key: p.key, dn: p.dn, sip: p.sip, reason: `its new SIP address ${p.sip} belongs to another user` }, user.id);
        touched.add(user.id);
        noteMembership(user, member);
        continue;
      }
      action = 'update';
    } else {
      const holder = bySip.get(p.sip);
      if (holder && holder.directory_id && !(holder.directory_id === input.connectionId && input.full && holder.directory_key && !seenKeys.has(holder.directory_key))) {
        skip({ key: p.key, dn: p.dn, sip: p.sip, reason: holder.directory_id === input.connectionId ? `another entry of this directory (${holder.directory_dn ?? holder.directory_key}) holds ${p.sip}` : `${p.sip} comes from another directory connection` });
        continue;
      }
      user = holder;
      action = holder ? 'adopt' : 'create';
    }
    if (user) {
      touched.add(user.id);
      if (isEnabled(user)) licensedBefore++;
      noteMembership(user, member);
    }
    const changes = user ? changedFields(user, p) : [];
    const licence = licenceFor(p, user ? isEnabled(user) : false);
    if (action === 'update' && changes.length === 0) action = 'none';
    if (action === 'none' && !licence) continue;
    items.push({ action, key: p.key, dn: p.dn, sip: p.sip, userId: user?.id ?? null, changes, licence, member, reason: null, person: p });
  }

  // Linked users whose entry the search did not return.
  for (const u of byKey.values()) {
    if (touched.has(u.id) || seenKeys.has(u.directory_key!)) continue;
    if (isEnabled(u)) licensedBefore++;
    if (input.full) {
      items.push({ action: 'gone', key: u.directory_key, dn: u.directory_dn ?? '', sip: u.sip, userId: u.id, changes: [], licence: input.licensed && isEnabled(u) ? 'disable' : null, member: null, reason: 'the entry is no longer in the directory (or no longer matches the filter)', person: null });
      if (input.licensed) noteMembership(u, false);
    } else if (input.licensed && u.directory_dn && !input.groupsUnchanged) {
      // Unchanged since the last pass: only the group may have changed.
      const member = input.licensed.has(normalizeDn(u.directory_dn));
      noteMembership(u, member);
      const licence = member && !isEnabled(u) ? 'enable' : !member && isEnabled(u) ? 'disable' : null;
      if (licence) items.push({ action: 'none', key: u.directory_key, dn: u.directory_dn, sip: u.sip, userId: u.id, changes: [], licence, member, reason: null, person: null });
    }
  }

  const counts: PlanCounts = { entries: input.entries.length, licensed: input.licensedCount ?? input.licensed?.size ?? 0, create: 0, adopt: 0, update: 0, enable: 0, disable: 0, gone: 0, skip: 0 };
  for (const i of items) {
    if (i.action === 'create' || i.action === 'adopt' || i.action === 'update' || i.action === 'gone' || i.action === 'skip') counts[i.action]++;
    if (i.licence) counts[i.licence]++;
  }
  const disableLimit = input.maxDisable ?? defaultMaxDisable(Math.max(licensedBefore, input.enabledBefore ?? 0));
  return { items, counts, disableLimit, overLimit: counts.disable > disableLimit, memberships };
}
