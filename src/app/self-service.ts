import { AppError } from '../core/errors.ts';
import type { UsersTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { bridgeNameOf, mailData, numberCities } from './dialin-user-view.ts';
import { insertMailRows, mailRow } from './mail-queue.ts';
import { readSettings } from './tenant-settings.ts';
import { serviceNumberView, type ServiceNumberView } from './bridges.ts';
import { nextPin, storePin } from './pins.ts';
import { policyForUser } from './pin-policies.ts';
import { loadTemplateOverrides, resolveTemplate } from './templates.ts';
import { loadLocalNumberTokens, localNumbersUrl, tokenFor } from './local-numbers.ts';
import { renderTemplateSet, type RenderedMail } from '../core/templates/engine.ts';
import { templateValues } from '../core/templates/variables.ts';
import type { MailLanguage } from '../core/languages.ts';
import type { TenantScope, Trx } from './context.ts';

/** What the Dial-in Conferencing Settings page shows a signed-in user about themselves. */
export interface OwnDialIn {
  DisplayName: string;
  SipAddress: string;
  ConferenceId: string | null;
  BridgeName: string | null;
  ServiceNumber: string | null;
  TollFreeServiceNumber: string | null;
  IsPinSet: boolean;
  /** Every access number of the user's bridge, by city then number. */
  AccessNumbers: ServiceNumberView[];
  MinPinLength: number;
  PinHistoryCount: number;
}

/** The user of a session, only while they are still enabled for dial-in with dialin as provider. */
async function enabledUser(trx: Trx, s: TenantScope, userId: string): Promise<UsersTable> {
  const u = await trx.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('id', '=', userId).executeTakeFirst();
  if (!u || u.provider !== 'Microsoft' || u.dialin_enabled !== 1) {
    throw new AppError('USER_NOT_ENABLED', 'Your account is no longer enabled for dial-in conferencing.', { field: 'Identity' });
  }
  return u;
}

export async function ownDialIn(s: TenantScope, userId: string): Promise<OwnDialIn> {
  const trx = s.db.kysely;
  const u = await enabledUser(trx, s, userId);
  const bridgeName = await bridgeNameOf(trx, u.bridge_id);
  const numbers = u.bridge_id ? await trx.selectFrom('service_numbers').selectAll().where('tenant_id', '=', s.tenant.id).where('bridge_id', '=', u.bridge_id).execute() : [];
  // Numbers without a city come last.
  numbers.sort((a, b) => (a.city ?? '\uffff').localeCompare(b.city ?? '\uffff') || a.number.localeCompare(b.number));
  const policy = await policyForUser(trx, s.tenant.id, u);
  return {
    DisplayName: u.display_name,
    SipAddress: u.sip,
    ConferenceId: u.conference_id,
    BridgeName: bridgeName,
    ServiceNumber: u.service_number,
    TollFreeServiceNumber: u.toll_free_number,
    IsPinSet: u.pin_hash !== null,
    AccessNumbers: numbers.map((n) => serviceNumberView(n, bridgeName ?? '')),
    MinPinLength: policy.MinPasswordLength,
    PinHistoryCount: policy.PINHistoryCount,
  };
}

/**
 * The invitation block of the user's meetings in the page's language (subject: its heading): the
 * tenant's `invitation` template or the built-in one, rendered with the user's own numbers,
 * conference ID and "Find a local number" link, as the welcome mail shows it. Never the PIN.
 */
export async function ownInvitation(s: TenantScope, userId: string, language: MailLanguage): Promise<RenderedMail> {
  const trx = s.db.kysely;
  const u = await enabledUser(trx, s, userId);
  const data = mailData(u, await bridgeNameOf(trx, u.bridge_id), await numberCities(trx, s.tenant.id));
  const tokens = (await loadLocalNumberTokens(trx, [s.tenant.id])).get(s.tenant.id);
  const overrides = (await loadTemplateOverrides(trx, [s.tenant.id])).get(s.tenant.id) ?? [];
  const values = templateValues(data, s.settingsUrl, null, `${s.settingsUrl}#pin-h`, localNumbersUrl(s.settingsUrl, tokenFor(tokens, data.bridgeId)));
  // The strict 100 ms limit is for saving a template; a page on a busy server allows more, as delivery does.
  return renderTemplateSet(resolveTemplate(overrides, 'invitation', language), values, { renderLimitMs: 1000 });
}

/**
 * The user sets their own leader PIN (chosen, typed twice, or generated). Unlike an
 * administrator, the user is bound by the policy's history. The PIN is shown once on the page
 * and nowhere else; the user is mailed a notice that it changed (pin_changed_by_user, without
 * the PIN, saying what to do if it was not them) when the tenant sends automatic mails.
 */
export async function setOwnPin(s: TenantScope, userId: string, input: { pin: string | null; confirmation: string | null }): Promise<{ pin: string }> {
  if (input.pin !== null && input.pin !== input.confirmation) {
    throw new AppError('INVALID_ARGUMENT', 'The two PINs are not the same.', { field: 'PinConfirmation' });
  }
  const res = await s.db.kysely.transaction().execute(async (trx) => {
    const u = await enabledUser(trx, s, userId);
    if (u.pin_locked === 1) throw new AppError('PIN_LOCKED', 'Your PIN is locked; ask your administrator to unlock it.', { field: 'Pin' });
    const p = await nextPin(trx, s, u, input.pin, { checkHistory: true });
    await storePin(trx, s, u, p.hash, 'the user chose a new PIN on the settings page before this mail went out');
    const settings = await readSettings(trx, s.tenant.id);
    const notice = mailRow(s, settings, { kind: 'pin_changed_by_user', user: u, data: mailData(u, await bridgeNameOf(trx, u.bridge_id), await numberCities(trx, s.tenant.id)) });
    if (notice) await insertMailRows(trx, [notice]);
    await audit(trx, s, 'pin.self-set', { userId: u.id, label: u.sip }, { chosen: input.pin !== null, notice: notice !== null });
    return { pin: p.pin, queued: notice !== null };
  });
  if (res.queued) s.onMailQueued?.();
  return { pin: res.pin };
}
