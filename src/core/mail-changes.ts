/**
 * What an *information changed* mail says changed, old → new, as stored (numbers in E.164, the
 * bridge by name). Several changes queued for one user before delivery become one mail: the
 * newer mail takes over the older one's changes, keeping the oldest old value of each field.
 */
export const CHANGE_FIELDS = ['conferenceId', 'tollNumber', 'tollFreeNumber', 'bridge'] as const;
export type ChangeField = (typeof CHANGE_FIELDS)[number];

export interface MailChange {
  field: ChangeField;
  old: string | null;
  new: string | null;
}

export type ChangeSubject = Partial<Record<ChangeField, string | null>>;

/** The fields that differ between before and after, in CHANGE_FIELDS order. */
export function changesBetween(before: ChangeSubject, after: ChangeSubject): MailChange[] {
  return CHANGE_FIELDS.filter((f) => f in after && (before[f] ?? null) !== (after[f] ?? null)).map((f) => ({ field: f, old: before[f] ?? null, new: after[f] ?? null }));
}

/**
 * The changes of a newer mail folded over an older, unsent one: each field's old value from the
 * older mail, its new value from the newer; a field changed back to where it was is dropped.
 */
export function mergeChanges(older: readonly MailChange[], newer: readonly MailChange[]): MailChange[] {
  const byField = new Map<ChangeField, MailChange>();
  for (const c of older) byField.set(c.field, { ...c });
  for (const c of newer) {
    const prev = byField.get(c.field);
    byField.set(c.field, { field: c.field, old: prev ? prev.old : c.old, new: c.new });
  }
  return CHANGE_FIELDS.map((f) => byField.get(f)).filter((c): c is MailChange => !!c && c.old !== c.new);
}
