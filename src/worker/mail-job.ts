import { AppError } from '../core/errors.ts';
import { normalizeEmail } from '../core/email-address.ts';
import { KIND_CARRIES_PIN, MAIL_KINDS, type MailKind } from '../core/mail-kinds.ts';
import { MAIL_LANGUAGES, type MailLanguage } from '../core/languages.ts';
import { checkDisplayName, chooseSender, localizedDefaultSender, type Mailbox } from '../core/sender.ts';
import { SAMPLE_VALUES } from '../core/templates/engine.ts';
import { templateValues } from '../core/templates/variables.ts';
import { withInvitation } from '../core/templates/invitation.ts';
import type { TenantSettings } from '../core/tenant-settings.ts';
import type { OutboxTable } from '../adapters/db/schema.ts';
import type { Keys } from '../adapters/crypto/keys.ts';
import type { MailPayload } from '../app/mail-queue.ts';
import { resolveTemplate, type TemplateOverrides } from '../app/templates.ts';
import { loginLinkUrl } from '../app/login-links.ts';
import type { ComposeJob } from './compose.ts';
import { domainOf } from '../core/deliverability.ts';
import { returnPathOf } from '../app/return-path.ts';
import { keysForDomain, type SigningKeyOf } from '../app/dkim.ts';
import { localNumbersUrl, tokenFor, type LocalNumberTokens } from '../app/local-numbers.ts';

/** What the worker knows of a tenant while it sends the tenant's mail. */
export interface TenantMail {
  settings: TenantSettings;
  overrides: TemplateOverrides;
  /** Active DKIM keys that may sign this tenant's mail (its own, then the deployment's), opened. */
  dkim: SigningKeyOf[];
  /** The tokens of the tenant's bridges' "Find a local number" pages, read when the batch was claimed. */
  localNumbers: LocalNumberTokens;
}

/** Deployment-wide inputs of every job. */
export interface JobEnv {
  defaultFrom: Mailbox;
  settingsUrl: string;
  keys: Keys;
  /** DIALIN_BOUNCE_DOMAIN: envelope senders become per-message return paths there. */
  bounceDomain: string | null;
}

/**
 * Turns a claimed outbox row into a compose job: the template (tenant's or built-in, or the
 * command's own), the sender, the validated recipients and, for the PIN kinds, the PIN opened
 * from its seal. The PIN exists in clear only in the returned job, on its way to be rendered.
 * Bad data (a stored address that no longer validates) throws an AppError: the message fails.
 */
export function buildJob(row: OutboxTable, tenant: TenantMail, env: JobEnv, now: number): ComposeJob {
  if (!(MAIL_KINDS as readonly string[]).includes(row.kind)) throw new AppError('TEMPLATE_NOT_FOUND', `Unknown mail kind "${row.kind}".`);
  const kind = row.kind as MailKind;
  const language: MailLanguage = (MAIL_LANGUAGES as readonly string[]).includes(row.language) ? (row.language as MailLanguage) : 'en';
  const payload = JSON.parse(row.payload) as MailPayload;
  const o = payload.options ?? {};
  const explicitFrom = o.from ? { name: checkDisplayName(o.from.name, 'From'), address: normalizeEmail(o.from.address, 'From') } : null;
  let pin: string | null = null;
  if (KIND_CARRIES_PIN[kind]) {
    if (row.pin_enc) pin = env.keys.openPin(row.pin_enc);
    else if (o.sample) pin = SAMPLE_VALUES.pin;
    else throw new AppError('PIN_NOT_SET', `A ${kind} mail must carry a PIN, and this one has none.`);
  }
  const base = resolveTemplate(tenant.overrides, kind, language);
  const from = chooseSender(tenant.settings, localizedDefaultSender(env.defaultFrom, language), explicitFrom);
  return {
    // A template of the run's own (-TemplatePath, a test-sent draft) may place the invitation block too.
    templates: withInvitation({ subject: base.subject, html: o.templateHtml ?? base.html, text: o.templateText ?? base.text }, resolveTemplate(tenant.overrides, 'invitation', language)),
    // A sign-in link mail links to the page with its one-time token, derived from the link id.
    values: templateValues(payload.data, o.loginLinkId ? loginLinkUrl(env.settingsUrl, env.keys, o.loginLinkId) : env.settingsUrl, pin, `${env.settingsUrl}#pin-h`, localNumbersUrl(env.settingsUrl, tokenFor(tenant.localNumbers, payload.data.bridgeId))),
    plainText: !!o.plainText,
    subject: o.subject ?? null,
    from,
    to: { name: checkDisplayName(payload.data.displayName, 'DisplayName'), address: normalizeEmail(row.recipient, 'Recipient') },
    cc: (o.cc ?? []).map((a) => normalizeEmail(a, 'Cc')),
    bcc: (o.bcc ?? []).map((a) => normalizeEmail(a, 'Bcc')),
    messageId: row.message_id,
    language,
    date: now,
    envelopeFrom: env.bounceDomain ? returnPathOf(env.keys, row.id, env.bounceDomain) : from.address,
    dkim: keysForDomain(tenant.dkim, row.tenant_id, domainOf(from.address)),
  };
}
