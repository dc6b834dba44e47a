import { AppError } from '../core/errors.ts';
import { checkConferenceId, CONFERENCE_ID_QUARANTINE_MS, generateConferenceId } from '../core/conference-id.ts';
import type { TenantScope, Trx } from './context.ts';

/** Conference IDs among `ids` that are in use or released less than 30 days ago. */
async function takenIds(trx: Trx, s: TenantScope, ids: string[]): Promise<Set<string>> {
  const taken = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    for (const r of await trx.selectFrom('users').select('conference_id').where('tenant_id', '=', s.tenant.id).where('conference_id', 'in', chunk).execute()) taken.add(r.conference_id!);
    for (const r of await trx
      .selectFrom('released_conference_ids')
      .select('conference_id')
      .where('tenant_id', '=', s.tenant.id)
      .where('conference_id', 'in', chunk)
      .where('released_at', '>', s.now() - CONFERENCE_ID_QUARANTINE_MS)
      .execute()) taken.add(r.conference_id);
  }
  return taken;
}

/** Allocates `count` distinct random conference IDs that are free in the tenant. */
export async function allocateConferenceIds(trx: Trx, s: TenantScope, count: number, length: number): Promise<string[]> {
  const out = new Set<string>();
  for (let round = 0; out.size < count; round++) {
    if (round > 20) {
      throw new AppError('CONFERENCE_ID_SPACE_EXHAUSTED', `No free ${length}-digit conference IDs are left; raise ConferenceIdLength with Set-CsOnlineDialInConferencingTenantSettings.`);
    }
    const candidates: string[] = [];
    while (candidates.length < count - out.size) {
      const c = generateConferenceId(length, s.randomInt);
      if (!out.has(c) && !candidates.includes(c)) candidates.push(c);
    }
    const taken = await takenIds(trx, s, candidates);
    for (const c of candidates) if (!taken.has(c)) out.add(c);
  }
  return [...out];
}

/** Checks a chosen conference ID: form, check digit, and free in the tenant. */
export async function claimChosenConferenceId(trx: Trx, s: TenantScope, id: string, length: number, ownerUserId?: string): Promise<string> {
  checkConferenceId(id, length);
  const user = await trx.selectFrom('users').select('id').where('tenant_id', '=', s.tenant.id).where('conference_id', '=', id).executeTakeFirst();
  if (user && user.id !== ownerUserId) throw new AppError('CONFERENCE_ID_TAKEN', `Conference ID ${id} is already used by another user.`, { field: 'ConferenceId' });
  if (!user && (await takenIds(trx, s, [id])).has(id)) {
    throw new AppError('CONFERENCE_ID_TAKEN', `Conference ID ${id} was released less than 30 days ago and cannot be reused yet.`, { field: 'ConferenceId' });
  }
  return id;
}

/** Records that a conference ID was given up, so it is not handed out again for 30 days. */
export async function releaseConferenceIds(trx: Trx, s: TenantScope, ids: string[]): Promise<void> {
  for (const id of ids) {
    await trx
      .insertInto('released_conference_ids')
      .values({ tenant_id: s.tenant.id, conference_id: id, released_at: s.now() })
      .onConflict((oc) => oc.columns(['tenant_id', 'conference_id']).doUpdateSet({ released_at: s.now() }))
      .execute();
  }
}
