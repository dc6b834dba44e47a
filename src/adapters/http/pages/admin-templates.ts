import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../../core/errors.ts';
import { MAIL_LANGUAGES, type MailLanguage } from '../../../core/languages.ts';
import { TEMPLATE_KINDS, TEMPLATE_PARTS, TEMPLATE_VARIABLES, toMailKind, toMailLanguage, type TemplateKind, type TemplatePart } from '../../../core/templates/variables.ts';
import { getTemplate, previewTemplate, resetTemplate, setTemplate, testSendTemplate, type TemplateDraft } from '../../../app/templates.ts';
import type { RenderedMail } from '../../../core/templates/engine.ts';
import { scopeFor } from '../auth.ts';
import { html } from '../html.ts';
import { CONTENT_SECURITY_POLICY } from '../security-headers.ts';
import { WindowLimiter } from '../rate-limit.ts';
import { csrfField, errorBox, flash, input, select } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import { LANGUAGE_NAMES, type MsgKey } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

/** The preview frame shows the mail's own inline styles; it is sandboxed (no script, no same origin). */
const EDITOR_CSP = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

interface EditorState {
  kind: TemplateKind;
  language: MailLanguage;
  identity: string;
  parts: Record<TemplatePart, string>;
  sources: Record<TemplatePart, string>;
  preview: RenderedMail | null;
}

function editorPage(c: PageCtx, st: EditorState, o: { error?: AppError | null; done?: MsgKey | null; sentTo?: string }): string {
  const kinds = TEMPLATE_KINDS.map((k) => ({ value: k, label: c.t(`kind.${k}` as MsgKey) }));
  const langs = MAIL_LANGUAGES.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] ?? l }));
  const p = st.preview;
  return page(
    c,
    c.t('templates.title'),
    html`${flash(c, o.done ?? null)}${o.sentTo ? html`<div class="notice ok" role="status">${c.t('templates.sent', { to: o.sentTo })}</div>` : ''}${errorBox(c, o.error ?? null)}
<form method="get" action="/admin/templates" class="card choose">
${select(c, 'kind', c.t('templates.kind'), kinds, st.kind)}${select(c, 'language', c.t('templates.language'), langs, st.language)}
${input(c, 'user', c.t('templates.user'), { value: st.identity, hint: c.t('templates.userHint'), error: o.error, fields: ['Identity'] })}
<button type="submit">${c.t('templates.open')}</button></form>
<div class="editor">
<form method="post" action="/admin/templates/save" class="card" data-preview="/api/v1/templates/preview" novalidate>
${csrfField(c)}<input type="hidden" name="kind" value="${st.kind}"><input type="hidden" name="language" value="${st.language}"><input type="hidden" name="user" value="${st.identity}">
<p class="hint">${c.t('templates.variables')} ${Object.keys(TEMPLATE_VARIABLES).map((v, i) => html`${i ? ', ' : ''}<code>{{ ${v} }}</code>`)}</p>
${input(c, 'subject', `${c.t('templates.subject')} (${c.t(st.sources.subject === 'tenant' ? 'templates.own' : 'templates.builtIn')})`, { value: st.parts.subject, error: o.error })}
<div class="field"><label for="f-html">${c.t('templates.html')} (${c.t(st.sources.html === 'tenant' ? 'templates.own' : 'templates.builtIn')})</label><textarea id="f-html" name="html" spellcheck="false">${st.parts.html}</textarea></div>
<div class="field"><label for="f-text">${c.t('templates.text')} (${c.t(st.sources.text === 'tenant' ? 'templates.own' : 'templates.builtIn')})</label><textarea id="f-text" name="text" spellcheck="false">${st.parts.text}</textarea></div>
<div class="actions"><button type="submit" class="primary">${c.t('action.save')}</button>
<button type="submit" formaction="/admin/templates/test-send">${c.t('templates.testSend', { to: c.admin?.email ?? '' })}</button>
<button type="submit" formaction="/admin/templates/reset" data-confirm="${c.t('templates.resetConfirm')}">${c.t('templates.reset')}</button></div>
</form>
<section class="card" aria-labelledby="pv-h"><h2 id="pv-h">${c.t('templates.preview')}</h2><p class="hint" id="preview-status" role="status">${c.t('templates.previewHint')}</p>
<p><strong>${c.t('templates.subject')}:</strong> <span id="preview-subject" data-testid="preview-subject">${p?.subject ?? ''}</span></p>
<iframe class="preview" id="preview-html" title="${c.t('templates.html')}" sandbox srcdoc="${p?.html ?? ''}"></iframe>
<pre class="preview-text" id="preview-text">${p?.text ?? ''}</pre></section>
</div>`,
  );
}

type Form = Record<string, string | undefined>;

/** E-mail templates: edit each part with a live preview for a chosen user and language, test send to yourself, reset. */
export function adminTemplatesPages(app: FastifyInstance, deps: PageDeps): void {
  const testSends = new WindowLimiter(5, 60_000, deps.ctx.now);
  const load = async (req: FastifyRequest, kind: TemplateKind, language: MailLanguage, identity: string, draft?: TemplateDraft): Promise<EditorState> => {
    const s = scopeFor(deps.ctx, req);
    const parts = {} as Record<TemplatePart, string>;
    const sources = {} as Record<TemplatePart, string>;
    for (const part of TEMPLATE_PARTS) {
      const t = await getTemplate(s, kind, language, part);
      parts[part] = draft?.[part] ?? t.Body;
      sources[part] = t.Source;
    }
    let preview: RenderedMail | null = null;
    try {
      preview = await previewTemplate(s, { kind, language, identity: identity || null, draft });
    } catch (e) {
      if (!isAppError(e)) throw e;
    }
    return { kind, language, identity, parts, sources, preview };
  };
  const show = async (req: FastifyRequest, reply: FastifyReply, f: Form, o: { error?: AppError; done?: MsgKey; sentTo?: string; draft?: TemplateDraft }, status = 200) => {
    reply.header('content-security-policy', EDITOR_CSP);
    const st = await load(req, toMailKind(f.kind ?? 'welcome', 'kind'), toMailLanguage(f.language ?? adminCtx(req).lang, 'language'), String(f.user ?? '').trim(), o.draft);
    return sendPage(reply, editorPage(adminCtx(req), st, o), status);
  };
  const draftOf = (f: Form): TemplateDraft => ({ subject: f.subject ?? '', html: f.html ?? '', text: f.text ?? '' });
  const back = (f: Form, done: string) => `/admin/templates?${new URLSearchParams({ kind: f.kind ?? '', language: f.language ?? '', user: f.user ?? '', done }).toString()}`;
  const action = (name: string, run: (req: FastifyRequest<{ Body: Form }>, f: Form) => Promise<{ redirect: string } | { sentTo: string }>) => {
    app.post<{ Body: Form }>(`/admin/templates/${name}`, { schema: { hide: true }, config: { access: 'admin', multiline: ['html', 'text'] } }, async (req, reply) => {
      const f = req.body ?? {};
      try {
        const res = await run(req, f);
        if ('redirect' in res) return reply.redirect(res.redirect, 303);
        return show(req, reply, f, { sentTo: res.sentTo, draft: draftOf(f) });
      } catch (e) {
        if (!isAppError(e)) throw e;
        return show(req, reply, f, { error: e, draft: name === 'reset' ? undefined : draftOf(f) }, e.kind === 'validation' ? 400 : e.kind === 'not_found' ? 404 : 409);
      }
    });
  };

  app.get<{ Querystring: Form }>('/admin/templates', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const done = { saved: 'flash.saved', reset: 'templates.wasReset' }[req.query.done ?? ''] as MsgKey | undefined;
    try {
      return await show(req, reply, req.query, { done });
    } catch (e) {
      if (!isAppError(e) || e.code !== 'USER_NOT_FOUND') throw e;
      return show(req, reply, { ...req.query, user: '' }, { error: e }, 404);
    }
  });

  action('save', async (req, f) => {
    const s = scopeFor(deps.ctx, req);
    const kind = toMailKind(f.kind ?? '', 'kind');
    const language = toMailLanguage(f.language ?? '', 'language');
    const draft = draftOf(f);
    // Every part is checked (by rendering the draft) before any is saved: all or nothing.
    await previewTemplate(s, { kind, language, draft });
    for (const part of TEMPLATE_PARTS) {
      if ((await getTemplate(s, kind, language, part)).Body !== draft[part]) await setTemplate(s, kind, language, part, draft[part]!);
    }
    return { redirect: back(f, 'saved') };
  });
  action('test-send', async (req, f) => {
    const email = req.principal!.email;
    if (!email) throw new AppError('FORBIDDEN', 'Only a signed-in administrator can send a test mail from here.');
    if (!testSends.take(req.principal!.id)) throw new AppError('RATE_LIMITED', 'At most 5 test mails a minute.');
    const s = scopeFor(deps.ctx, req);
    await testSendTemplate(s, { kind: toMailKind(f.kind ?? '', 'kind'), language: toMailLanguage(f.language ?? '', 'language'), identity: (f.user ?? '').trim() || null, draft: draftOf(f), to: email });
    return { sentTo: email };
  });
  action('reset', async (req, f) => {
    await resetTemplate(scopeFor(deps.ctx, req), toMailKind(f.kind ?? '', 'kind'), toMailLanguage(f.language ?? '', 'language'), null);
    return { redirect: back(f, 'reset') };
  });
}
