import type { Kysely } from 'kysely';
import { AppError } from '../core/errors.ts';
import { normalizeEmail } from '../core/email-address.ts';
import { KIND_CARRIES_PIN, type MailData, type MailKind } from '../core/mail-kinds.ts';
import { MAIL_LANGUAGES, type MailLanguage } from '../core/languages.ts';
import { DEFAULT_TEMPLATES } from '../core/templates/defaults.ts';
import { renderTemplateSet, SAMPLE_VALUES, validateTemplatePart, type RenderedMail } from '../core/templates/engine.ts';
import { SAMPLE_MAIL_DATA, TEMPLATE_KINDS, TEMPLATE_PARTS, templateValues, type TemplateKind, type TemplatePart, type TemplateSet } from '../core/templates/variables.ts';
import { DEFAULT_INVITATIONS, withInvitation } from '../core/templates/invitation.ts';
import type { Database, MailTemplatesTable } from '../adapters/db/schema.ts';
import { audit } from './audit.ts';
import { bridgeNameOf, mailData, numberCities } from './dialin-user-view.ts';
import { loadLocalNumberTokens, localNumbersUrl, tokenFor } from './local-numbers.ts';
import { insertMailRows, mailRow } from './mail-queue.ts';
import { readSettings } from './tenant-settings.ts';
import { findUser } from './users.ts';
import type { TenantScope } from './context.ts';

/** A tenant's overrides, as the worker and previews need them. */
export type TemplateOverrides = Pick<MailTemplatesTable, 'kind' | 'language' | 'part' | 'body'>[];

/** The built-in template of a kind and language. */
function builtIn(kind: TemplateKind, language: MailLanguage): TemplateSet {
  return kind === 'invitation' ? DEFAULT_INVITATIONS[language] : DEFAULT_TEMPLATES[kind][language];
}

/** One kind's parts as the tenant has them, else the built-in ones (the invitation marker left as is). */
function ownOrBuiltIn(overrides: TemplateOverrides, kind: TemplateKind, language: MailLanguage): TemplateSet {
  const base = builtIn(kind, language);
  const own = (part: TemplatePart) => overrides.find((o) => o.kind === kind && o.language === language && o.part === part)?.body;
  return { subject: own('subject') ?? base.subject, html: own('html') ?? base.html, text: own('text') ?? base.text };
}

/**
 * The template a mail of `kind` in `language` uses: the tenant's parts where it has them, else the
 * built-in; the invitation block (the tenant's or the built-in one) in place of its marker.
 */
export function resolveTemplate(overrides: TemplateOverrides, kind: TemplateKind, language: MailLanguage): TemplateSet {
  const set = ownOrBuiltIn(overrides, kind, language);
  return kind === 'invitation' ? set : withInvitation(set, ownOrBuiltIn(overrides, 'invitation', language));
}

/** The overrides of several tenants in one query (the worker loads them per claimed batch). */
export async function loadTemplateOverrides(db: Kysely<Database>, tenantIds: string[]): Promise<Map<string, TemplateOverrides>> {
  const out = new Map<string, TemplateOverrides>(tenantIds.map((t) => [t, []]));
  if (!tenantIds.length) return out;
  const rows = await db.selectFrom('mail_templates').select(['tenant_id', 'kind', 'language', 'part', 'body']).where('tenant_id', 'in', tenantIds).execute();
  for (const r of rows) out.get(r.tenant_id)?.push(r);
  return out;
}

export interface TemplateListing {
  Kind: TemplateKind;
  Language: MailLanguage;
  Part: TemplatePart;
  Source: 'built-in' | 'tenant';
  UpdatedAt: string | null;
  UpdatedBy: string | null;
}

/** Every kind × language × part, and whether the tenant overrides it. */
export async function listTemplates(s: TenantScope): Promise<TemplateListing[]> {
  const rows = await s.db.kysely.selectFrom('mail_templates').selectAll().where('tenant_id', '=', s.tenant.id).execute();
  return TEMPLATE_KINDS.flatMap((Kind) =>
    MAIL_LANGUAGES.flatMap((Language) =>
      TEMPLATE_PARTS.map((Part): TemplateListing => {
        const r = rows.find((x) => x.kind === Kind && x.language === Language && x.part === Part);
        return { Kind, Language, Part, Source: r ? 'tenant' : 'built-in', UpdatedAt: r ? new Date(r.updated_at).toISOString() : null, UpdatedBy: r?.updated_by ?? null };
      }),
    ),
  );
}

/** One part's source, the tenant's or the built-in one. */
export async function getTemplate(s: TenantScope, kind: TemplateKind, language: MailLanguage, part: TemplatePart): Promise<{ Source: 'built-in' | 'tenant'; Body: string }> {
  const r = await s.db.kysely.selectFrom('mail_templates').select('body').where('tenant_id', '=', s.tenant.id).where('kind', '=', kind).where('language', '=', language).where('part', '=', part).executeTakeFirst();
  return r ? { Source: 'tenant', Body: r.body } : { Source: 'built-in', Body: builtIn(kind, language)[part] };
}

/** Validates then saves the tenant's version of one part; an invalid template changes nothing. */
export async function setTemplate(s: TenantScope, kind: TemplateKind, language: MailLanguage, part: TemplatePart, body: string): Promise<void> {
  validateTemplatePart(kind, part, body);
  const now = s.now();
  await s.db.kysely.transaction().execute(async (trx) => {
    await trx
      .insertInto('mail_templates')
      .values({ tenant_id: s.tenant.id, kind, language, part, body, updated_at: now, updated_by: s.actor })
      .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'language', 'part']).doUpdateSet({ body, updated_at: now, updated_by: s.actor }))
      .execute();
    await audit(trx, s, 'template.set', { label: `${kind}/${language}/${part}` }, { kind, language, part, characters: body.length });
  });
}

/** Back to the built-in template: one part, or every part of the kind and language. Returns how many were reset. */
export async function resetTemplate(s: TenantScope, kind: TemplateKind, language: MailLanguage, part: TemplatePart | null): Promise<number> {
  return s.db.kysely.transaction().execute(async (trx) => {
    let q = trx.deleteFrom('mail_templates').where('tenant_id', '=', s.tenant.id).where('kind', '=', kind).where('language', '=', language);
    if (part) q = q.where('part', '=', part);
    const n = Number((await q.executeTakeFirst()).numDeletedRows);
    await audit(trx, s, 'template.reset', { label: `${kind}/${language}${part ? `/${part}` : ''}` }, { kind, language, part, reset: n });
    return n;
  });
}

/** A draft to preview or test-send before saving: any parts, the others come from the current template. */
export type TemplateDraft = Partial<Record<TemplatePart, string>>;

export interface PreviewRequest {
  kind: TemplateKind;
  language: MailLanguage;
  /** Render with this user's data; sample data otherwise. The PIN is always a placeholder. */
  identity?: string | null;
  draft?: TemplateDraft;
}

const SAMPLE_DATA: MailData = SAMPLE_MAIL_DATA;

async function previewInputs(s: TenantScope, r: PreviewRequest): Promise<{ templates: TemplateSet; data: MailData; draft: TemplateDraft }> {
  const draft: TemplateDraft = {};
  for (const part of TEMPLATE_PARTS) {
    const body = r.draft?.[part];
    if (body === undefined) continue;
    validateTemplatePart(r.kind, part, body);
    draft[part] = body;
  }
  const overrides = (await loadTemplateOverrides(s.db.kysely, [s.tenant.id])).get(s.tenant.id)!;
  // A draft of a mail may place the invitation block too; a draft of the block shows as it is.
  const own = { ...ownOrBuiltIn(overrides, r.kind, r.language), ...draft };
  const templates = r.kind === 'invitation' ? own : withInvitation(own, ownOrBuiltIn(overrides, 'invitation', r.language));
  let data = SAMPLE_DATA;
  if (r.identity) {
    const user = await findUser(s.db.kysely, s.tenant.id, r.identity);
    data = mailData(user, await bridgeNameOf(s.db.kysely, user.bridge_id), await numberCities(s.db.kysely, s.tenant.id));
  }
  return { templates, data, draft };
}

/** The mail as it would be rendered (the PIN shown as a placeholder), for the editor's live preview. */
export async function previewTemplate(s: TenantScope, r: PreviewRequest): Promise<RenderedMail & { Kind: TemplateKind; Language: MailLanguage }> {
  const { templates, data } = await previewInputs(s, r);
  const tokens = (await loadLocalNumberTokens(s.db.kysely, [s.tenant.id])).get(s.tenant.id);
  const values = templateValues(data, s.settingsUrl, r.kind !== 'invitation' && KIND_CARRIES_PIN[r.kind] ? SAMPLE_VALUES.pin : null, `${s.settingsUrl}#pin-h`, localNumbersUrl(s.settingsUrl, tokenFor(tokens, data.bridgeId)));
  return { Kind: r.kind, Language: r.language, ...renderTemplateSet(templates, values) };
}

/**
 * Queues a test mail of the template (or of a draft) to `to`, through the real delivery path.
 * It ignores AutomaticallySendEmailsToUsers (an administrator asked for it) and never holds a PIN.
 */
export async function testSendTemplate(s: TenantScope, r: PreviewRequest & { to: string }): Promise<{ Id: string; MessageId: string; Recipient: string }> {
  if (r.kind === 'invitation') throw new AppError('TEMPLATE_NOT_FOUND', 'Kind "invitation" is a block of the settings page and the welcome mail, not a mail: preview it, or test-send the welcome.', { field: 'Kind' });
  const kind: MailKind = r.kind;
  const to = normalizeEmail(r.to, 'To');
  const { templates, data, draft } = await previewInputs(s, r);
  const subject = renderTemplateSet({ ...templates, html: '', text: '' }, templateValues(data, s.settingsUrl, SAMPLE_VALUES.pin), { plainText: true }).subject;
  const row = await s.db.kysely.transaction().execute(async (trx) => {
    const settings = await readSettings(trx, s.tenant.id);
    const options = { sample: true, subject, ...(draft.html !== undefined ? { templateHtml: draft.html } : {}), ...(draft.text !== undefined ? { templateText: draft.text } : {}) };
    const built = mailRow(s, { ...settings, AutomaticallySendEmailsToUsers: true }, { kind, user: { id: '', email: to, language: r.language }, data, options });
    if (!built) throw new AppError('INTERNAL_ERROR', 'The test mail could not be queued.');
    const test = { ...built, user_id: null, language: r.language };
    await insertMailRows(trx, [test]);
    await audit(trx, s, 'template.test-send', { label: `${r.kind}/${r.language}` }, { kind: r.kind, language: r.language, to, draft: Object.keys(draft) });
    return test;
  });
  s.onMailQueued?.();
  return { Id: row.id, MessageId: row.message_id, Recipient: row.recipient };
}
