import type { FastifyInstance } from 'fastify';
import { isAppError, type AppError } from '../../../core/errors.ts';
import type { TenantSettings } from '../../../core/tenant-settings.ts';
import type { PinPolicy } from '../../../core/pin-policy.ts';
import { MAIL_LANGUAGES } from '../../../core/languages.ts';
import { getTenantSettings, setTenantSettings } from '../../../app/tenant-settings.ts';
import { getPinPolicies, setPinPolicy } from '../../../app/pin-policies.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { chooseSender } from '../../../core/sender.ts';
import { domainOf } from '../../../core/deliverability.ts';
import { checkSenderDomain, type DeliverabilityFinding } from '../../../app/deliverability.ts';
import { createDnsClient } from '../../dns/resolver.ts';
import { checkbox, csrfField, errorBox, flash, input, select } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import { LANGUAGE_NAMES } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

type Form = Record<string, string | undefined>;

/** The DNS check of the sender domain, in plain words (shown after an override is saved, or on request). */
function dnsPanel(c: PageCtx, d: { domain: string; findings: DeliverabilityFinding[] }): Html {
  return html`<section class="card" aria-labelledby="dns-h" data-testid="dns-check"><h2 id="dns-h">${c.t('dns.title', { domain: d.domain })}</h2><ul class="checks">
${d.findings.map((f) => html`<li class="${f.ok ? 'ok' : f.warning ? 'warning' : 'problem'}" data-check="${f.check}"><strong>${c.t(f.ok ? 'dns.ok' : f.warning ? 'dns.warning' : 'dns.problem')}</strong> ${f.detail}${f.fix ? html`<br><span class="hint">${f.fix}</span>` : ''}</li>`)}
</ul></section>`;
}

function settingsPage(c: PageCtx, s: TenantSettings, policy: PinPolicy, opts: { saved?: boolean; error?: AppError | null; errorIn?: 'settings' | 'policy'; dns?: { domain: string; findings: DeliverabilityFinding[] } | null }): string {
  const e = opts.error ?? null;
  const se = opts.errorIn === 'settings' ? e : null;
  const pe = opts.errorIn === 'policy' ? e : null;
  return page(
    c,
    c.t('settings.title'),
    html`${flash(c, opts.saved ? 'flash.saved' : null)}${opts.dns ? dnsPanel(c, opts.dns) : ''}
<form method="post" action="/admin/settings" class="card" novalidate>
${csrfField(c)}${errorBox(c, se)}
<fieldset><legend>${c.t('settings.mail')}</legend>
${checkbox(c, 'AutomaticallySendEmailsToUsers', c.t('settings.autoMail'), s.AutomaticallySendEmailsToUsers, { hint: c.t('settings.autoMailHint'), error: se })}
${checkbox(c, 'SendEmailFromOverride', c.t('settings.override'), s.SendEmailFromOverride, { hint: c.t('settings.overrideHint'), error: se })}
${input(c, 'SendEmailFromAddress', c.t('settings.fromAddress'), { type: 'email', value: s.SendEmailFromAddress, error: se, autocomplete: 'off' })}
${input(c, 'SendEmailFromDisplayName', c.t('settings.fromName'), { value: s.SendEmailFromDisplayName, error: se, maxlength: 256 })}
<p><a href="/admin/settings?dns=1">${c.t('dns.check')}</a></p>
${select(c, 'DefaultLanguage', c.t('settings.defaultLanguage'), MAIL_LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] ?? l })), s.DefaultLanguage, { hint: c.t('settings.defaultLanguageHint'), error: se })}
</fieldset>
<fieldset><legend>${c.t('settings.security')}</legend>
${input(c, 'PinLength', c.t('settings.pinLength'), { type: 'number', value: s.PinLength, min: 4, max: 12, hint: c.t('settings.pinLengthHint'), error: se, inputmode: 'numeric' })}
</fieldset>
<fieldset><legend>${c.t('settings.join')}</legend>
${checkbox(c, 'EnableEntryExitNotifications', c.t('settings.entryExit'), s.EnableEntryExitNotifications, { error: se })}
${select(c, 'EntryExitAnnouncementsType', c.t('settings.announcements'), [{ value: 'UseNames', label: c.t('settings.useNames') }, { value: 'ToneOnly', label: c.t('settings.toneOnly') }], s.EntryExitAnnouncementsType, { error: se })}
${checkbox(c, 'EnableNameRecording', c.t('settings.nameRecording'), s.EnableNameRecording, { error: se })}
${checkbox(c, 'AllowPSTNOnlyMeetingsByDefault', c.t('settings.pstnOnly'), s.AllowPSTNOnlyMeetingsByDefault, { hint: c.t('settings.pstnOnlyHint'), error: se })}
</fieldset>
<button type="submit" class="primary">${c.t('action.save')}</button>
</form>
<form method="post" action="/admin/settings/pin-policy" class="card" novalidate>
${csrfField(c)}${errorBox(c, pe)}
<fieldset><legend>${c.t('policy.title')}</legend>
${input(c, 'MinPasswordLength', c.t('policy.minLength'), { type: 'number', value: policy.MinPasswordLength, min: 4, max: 24, error: pe, inputmode: 'numeric' })}
${input(c, 'PINHistoryCount', c.t('policy.history'), { type: 'number', value: policy.PINHistoryCount, min: 0, max: 20, hint: c.t('policy.historyHint'), error: pe, inputmode: 'numeric' })}
${input(c, 'PINLifetime', c.t('policy.lifetime'), { type: 'number', value: policy.PINLifetime, min: 0, max: 999, hint: c.t('policy.lifetimeHint'), error: pe, inputmode: 'numeric' })}
${input(c, 'MaximumLogonAttempts', c.t('policy.attempts'), { type: 'number', value: policy.MaximumLogonAttempts, min: 1, max: 999, hint: c.t('policy.attemptsHint'), error: pe, inputmode: 'numeric' })}
${checkbox(c, 'AllowCommonPatterns', c.t('policy.patterns'), policy.AllowCommonPatterns, { hint: c.t('policy.patternsHint'), error: pe })}
</fieldset>
<button type="submit" class="primary">${c.t('action.save')}</button>
</form>`,
  );
}

/** A form number field: empty → null (e.g. "automatic"), else the number as typed (the core checks ranges). */
function num(v: string | undefined): number | null {
  const s = (v ?? '').trim();
  return s === '' ? null : /^-?[0-9]+$/.test(s) ? Number(s) : Number.NaN;
}

/** Dial-in conferencing → bridge settings: the tenant settings and the global PIN policy. */
export function adminSettingsPages(app: FastifyInstance, deps: PageDeps): void {
  const load = async (req: Parameters<typeof scopeFor>[1]) => {
    const s = scopeFor(deps.ctx, req);
    return { s, settings: await getTenantSettings(s), policy: (await getPinPolicies(s, { identity: 'Global' }))[0]! };
  };

  app.get<{ Querystring: { done?: string; dns?: string } }>('/admin/settings', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const { s, settings, policy } = await load(req);
    let dns = null;
    if (req.query.dns === '1') {
      const domain = domainOf(chooseSender(settings, deps.ctx.defaultFrom).address);
      dns = { domain, findings: await checkSenderDomain(s.db, deps.config, createDnsClient(deps.config.dns), domain) };
    }
    return sendPage(reply, settingsPage(adminCtx(req), settings, policy, { saved: req.query.done === 'saved', dns }));
  });

  app.post<{ Body: Form }>('/admin/settings', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const f = req.body ?? {};
    const { s } = await load(req);
    // An unticked checkbox is absent from the form: absent means false.
    const patch: Partial<TenantSettings> = {
      AutomaticallySendEmailsToUsers: f.AutomaticallySendEmailsToUsers === 'true',
      SendEmailFromOverride: f.SendEmailFromOverride === 'true',
      SendEmailFromAddress: (f.SendEmailFromAddress ?? '').trim() || null,
      SendEmailFromDisplayName: (f.SendEmailFromDisplayName ?? '').trim() || null,
      DefaultLanguage: f.DefaultLanguage ?? 'en',
      PinLength: num(f.PinLength) ?? Number.NaN,
      EnableEntryExitNotifications: f.EnableEntryExitNotifications === 'true',
      EntryExitAnnouncementsType: (f.EntryExitAnnouncementsType ?? 'UseNames') as TenantSettings['EntryExitAnnouncementsType'],
      EnableNameRecording: f.EnableNameRecording === 'true',
      AllowPSTNOnlyMeetingsByDefault: f.AllowPSTNOnlyMeetingsByDefault === 'true',
    };
    try {
      const before = (await load(req)).settings;
      const after = await setTenantSettings(s, patch);
      // A new sender address: say at once what its DNS needs (the seed's "inbound policies must accept it").
      const newSender = after.SendEmailFromOverride && (after.SendEmailFromAddress !== before.SendEmailFromAddress || !before.SendEmailFromOverride);
      return reply.redirect(`/admin/settings?done=saved${newSender ? '&dns=1' : ''}`, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      const { settings, policy } = await load(req);
      return sendPage(reply, settingsPage(adminCtx(req), { ...settings, ...patch, PinLength: Number.isNaN(patch.PinLength) ? settings.PinLength : patch.PinLength! }, policy, { error: e, errorIn: 'settings' }), 400);
    }
  });

  app.post<{ Body: Form }>('/admin/settings/pin-policy', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const f = req.body ?? {};
    const { s } = await load(req);
    const patch: Partial<PinPolicy> = {
      MinPasswordLength: num(f.MinPasswordLength) ?? Number.NaN,
      PINHistoryCount: num(f.PINHistoryCount) ?? 0,
      PINLifetime: num(f.PINLifetime) ?? 0,
      MaximumLogonAttempts: num(f.MaximumLogonAttempts),
      AllowCommonPatterns: f.AllowCommonPatterns === 'true',
    };
    try {
      await setPinPolicy(s, 'Global', patch);
      return reply.redirect('/admin/settings?done=saved', 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      const { settings, policy } = await load(req);
      return sendPage(reply, settingsPage(adminCtx(req), settings, policy, { error: e, errorIn: 'policy' }), 400);
    }
  });
}
