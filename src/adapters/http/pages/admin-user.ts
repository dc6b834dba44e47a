import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError, type AppError } from '../../../core/errors.ts';
import type { UsersTable } from '../../db/schema.ts';
import { findUser } from '../../../app/users.ts';
import { bridgeNameOf } from '../../../app/dialin-user-view.ts';
import { getBridges, type BridgeView } from '../../../app/bridges.ts';
import { pinInfo, type PinInfo } from '../../../app/pins.ts';
import { setDialInUsers } from '../../../app/set-dialin-user.ts';
import { enableUsers } from '../../../app/enable-users.ts';
import { disableUsers } from '../../../app/disable-user.ts';
import { unlockPin } from '../../../app/pins.ts';
import { perUser } from '../../../app/bulk.ts';
import { listOutbox, type OutboxView } from '../../../app/outbox.ts';
import { reportNote } from './admin-mail.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { runOne } from '../routes/api-deps.ts';
import { csrfField, errorBox, facts, flash, input, postButton, select } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import type { MsgKey } from './i18n.ts';
import { displayNumber } from '../../../core/phone-number.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

const DONE: Record<string, MsgKey> = { cid: 'flash.cidReset', info: 'flash.infoSent', disabled: 'flash.disabled', saved: 'flash.saved', unlocked: 'flash.unlocked' };

interface UserData {
  user: UsersTable;
  bridgeName: string | null;
  pin: PinInfo;
  bridges: BridgeView[];
  /** The user's newest mail (with what came back for it). */
  lastMail: OutboxView | null;
}

function numberOptions(c: PageCtx, b: BridgeView | undefined, type: 'Toll' | 'TollFree', allowNone: boolean) {
  const opts = (b?.ServiceNumbers ?? []).filter((n) => n.Type === type).map((n) => ({ value: n.Number, label: `${displayNumber(n.Number)}${n.City ? ` (${n.City})` : ''}` }));
  return allowNone ? [{ value: '', label: c.t('user.none') }, ...opts] : opts;
}

function userPage(c: PageCtx, d: UserData, o: { newPin?: string; error?: AppError | null; done?: MsgKey | null }): string {
  const u = d.user;
  const isAdmin = c.admin?.role === 'admin';
  const enabled = u.provider === 'Microsoft' && u.dialin_enabled === 1;
  const base = `/admin/users/${encodeURIComponent(u.id)}`;
  const bridge = d.bridges.find((b) => b.Identity === u.bridge_id);
  const bouncedPin = d.lastMail !== null && d.lastMail.Status === 'bounced' && (d.lastMail.Kind === 'welcome' || d.lastMail.Kind === 'pin_changed');
  const pinPanel: Html = o.newPin
    ? html`<div class="notice pin" role="alert" aria-live="assertive"><p>${c.t('user.newPin', { name: u.display_name })}</p><p class="pin-value" data-testid="new-pin">${o.newPin}</p><p>${c.t('user.newPinOnce')}</p></div>`
    : html``;
  const dialin = enabled
    ? html`${facts([
        [c.t('user.provider'), c.t('user.providerDialin')],
        [c.t('user.bridge'), d.bridgeName],
        [c.t('user.tollNumber'), u.service_number && displayNumber(u.service_number)],
        [c.t('user.tollFreeNumber'), u.toll_free_number && displayNumber(u.toll_free_number)],
        [c.t('user.conferenceId'), html`<span data-testid="conference-id">${u.conference_id}</span>`],
        [c.t('user.pin'), d.pin.IsPinSet ? '*****' : c.t('user.pinNotSet')],
        [c.t('user.pinStatus'), d.pin.IsLockedOut ? c.t('user.pinLocked') : c.t('user.pinOk')],
      ])}
<div class="actions">
${postButton(c, `${base}/reset-conference-id`, c.t('user.resetCid'), { confirm: c.t('user.resetCidConfirm') })}
${postButton(c, `${base}/reset-pin`, c.t('user.resetPin'), { confirm: c.t('user.resetPinConfirm') })}
${isAdmin && d.pin.IsLockedOut ? postButton(c, `${base}/unlock-pin`, c.t('user.unlockPin')) : ''}
</div>
<form method="post" action="${base}/send-info" class="card">
${csrfField(c)}<h3>${c.t('user.sendInfo')}</h3><p class="hint">${c.t('user.sendInfoHint')}</p>
${input(c, 'SendEmailToAddress', c.t('user.sendTo'), { type: 'email', hint: c.t('user.sendToHint', { email: u.email }), error: o.error, autocomplete: 'off' })}
<button type="submit">${c.t('user.sendInfoButton')}</button>
</form>
${isAdmin
  ? html`<form method="post" action="${base}/dialin" class="card">${csrfField(c)}<h3>${c.t('user.numbers')}</h3>
${select(c, 'BridgeId', c.t('user.bridge'), d.bridges.map((b) => ({ value: b.Identity, label: b.Name })), u.bridge_id, { error: o.error })}
${select(c, 'ServiceNumber', c.t('user.tollNumber'), numberOptions(c, bridge, 'Toll', false), u.service_number, { error: o.error })}
${select(c, 'TollFreeServiceNumber', c.t('user.tollFreeNumber'), numberOptions(c, bridge, 'TollFree', true), u.toll_free_number, { error: o.error })}
<button type="submit">${c.t('action.save')}</button></form>
<div class="actions">${postButton(c, `${base}/disable`, c.t('user.disable'), { confirm: c.t('user.disableConfirm'), kind: 'danger' })}</div>`
  : ''}`
    : html`<p>${u.provider === 'ThirdParty' ? c.t('user.onThirdParty') : c.t('user.notEnabledLong')}</p>
${isAdmin ? postButton(c, `${base}/enable`, c.t('user.enable'), { kind: 'primary', confirm: u.provider === 'ThirdParty' ? c.t('user.replaceConfirm') : undefined }) : ''}`;
  return page(
    c,
    u.display_name,
    html`${flash(c, o.done ?? null)}${errorBox(c, o.error ?? null)}${pinPanel}
<p><a href="/admin/users">${c.t('user.back')}</a></p>
${bouncedPin ? html`<div class="notice error" role="alert" data-testid="pin-bounced">${reportNote(c, d.lastMail!)}</div>` : ''}
<section aria-labelledby="dir-h"><h2 id="dir-h">${c.t('user.directory')}</h2>
${facts([[c.t('user.sip'), u.sip.replace(/^sip:/, '')], [c.t('user.email'), u.email], [c.t('user.language'), u.language], [c.t('user.phone'), u.phone], [c.t('user.extension'), u.extension], [c.t('user.lastMail'), d.lastMail ? html`<span data-testid="last-mail">${c.t(`kind.${d.lastMail.Kind}` as MsgKey)}: ${c.t(`mail.status.${d.lastMail.Status}` as MsgKey)}</span>${bouncedPin ? '' : html` ${reportNote(c, d.lastMail)}`}` : c.t('user.lastMailNone')]])}</section>
<section aria-labelledby="dialin-h"><h2 id="dialin-h">${c.t('user.dialinTitle')}</h2>${dialin}</section>`,
  );
}

/** A user's dial-in properties and the actions on them (Set-/Enable-/Disable-CsOnlineDialInConferencingUser). */
export function adminUserPages(app: FastifyInstance, deps: PageDeps): void {
  type Req = FastifyRequest<{ Params: { id: string } }>;
  const load = async (req: Req): Promise<UserData> => {
    const s = scopeFor(deps.ctx, req);
    const user = await findUser(s.db.kysely, s.tenant.id, req.params.id);
    const [lastMail] = await listOutbox(s, { user: user.sip, limit: 1 });
    return { user, bridgeName: await bridgeNameOf(s.db.kysely, user.bridge_id), pin: await pinInfo(s.db.kysely, s, user), bridges: await getBridges(s, {}), lastMail: lastMail ?? null };
  };
  const show = async (req: Req, reply: FastifyReply, o: { newPin?: string; error?: AppError; done?: MsgKey }, status = 200) => sendPage(reply, userPage(adminCtx(req), await load(req), o), status);
  type ActionReq = FastifyRequest<{ Params: { id: string }; Body: Record<string, string> }>;
  /** Registers an action; refusals are shown on the user's page, successes redirect (or show the new PIN once). */
  const action = (name: string, access: 'staff' | 'admin', run: (req: ActionReq) => Promise<{ newPin?: string; done?: string }>) => {
    app.post<{ Params: { id: string }; Body: Record<string, string> }>(`/admin/users/:id/${name}`, { schema: { hide: true }, config: { access } }, async (req, reply) => {
      try {
        const res = await run(req);
        if (res.newPin) return show(req, reply, { newPin: res.newPin });
        return reply.redirect(`/admin/users/${encodeURIComponent(req.params.id)}?done=${res.done ?? 'saved'}`, 303);
      } catch (e) {
        if (!isAppError(e) || e.code === 'USER_NOT_FOUND') throw e;
        return show(req, reply, { error: e }, e.kind === 'validation' ? 400 : 409);
      }
    });
  };

  app.get<{ Params: { id: string }; Querystring: { done?: string } }>('/admin/users/:id', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) =>
    show(req, reply, { done: DONE[req.query.done ?? ''] }),
  );

  action('reset-pin', 'staff', async (req) => {
    const s = scopeFor(deps.ctx, req);
    const res = await runOne(s, req.params.id, setDialInUsers(s, { resetLeaderPin: true }));
    return { newPin: String(res.Result?.LeaderPin) };
  });
  action('reset-conference-id', 'staff', async (req) => {
    const s = scopeFor(deps.ctx, req);
    await runOne(s, req.params.id, setDialInUsers(s, { resetConferenceId: true }));
    return { done: 'cid' };
  });
  action('send-info', 'staff', async (req) => {
    const s = scopeFor(deps.ctx, req);
    const to = String(req.body?.SendEmailToAddress ?? '').trim();
    await runOne(s, req.params.id, setDialInUsers(s, { sendEmail: true, sendEmailToAddress: to || null }));
    return { done: 'info' };
  });
  action('enable', 'admin', async (req) => {
    const s = scopeFor(deps.ctx, req);
    const res = await runOne(s, req.params.id, enableUsers(s, { bridge: {}, replaceProvider: true, returnPin: true }));
    return { newPin: String(res.Result?.LeaderPin) };
  });
  action('disable', 'admin', async (req) => {
    const s = scopeFor(deps.ctx, req);
    await runOne(s, req.params.id, disableUsers(s, {}));
    return { done: 'disabled' };
  });
  action('dialin', 'admin', async (req) => {
    const s = scopeFor(deps.ctx, req);
    const b = req.body ?? {};
    await runOne(s, req.params.id, setDialInUsers(s, { bridge: { id: b.BridgeId || null }, serviceNumber: b.ServiceNumber || null, tollFreeServiceNumber: b.TollFreeServiceNumber || null }));
    return { done: 'saved' };
  });
  action('unlock-pin', 'admin', async (req) => {
    const s = scopeFor(deps.ctx, req);
    await runOne(s, req.params.id, perUser(async (trx, u) => {
      await unlockPin(trx, s, u);
      return { outcome: 'done' };
    }));
    return { done: 'unlocked' };
  });
}
