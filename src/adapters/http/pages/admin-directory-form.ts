import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../../core/errors.ts';
import { addDirectoryConnection, directoryConnectionSettings, editDirectoryConnection, type NewDirectoryConnection } from '../../../app/directory-connections.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { acceptMultipart } from '../multipart.ts';
import { errorMessage } from './i18n.ts';
import { checkbox, csrfField, errorBox, input, select } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

/** A CA file and the form around it: far below this. */
const MAX_FORM = 256 * 1024;

type Form = Omit<NewDirectoryConnection, 'password'> & { hasPassword?: boolean };

/**
 * The add and edit forms of a directory connection: the same settings and checks as
 * `dialin directory add` (app/directory-connections.ts). The bind password is a password field,
 * sealed at once and never shown back (an edit left empty keeps it); the CA certificate is pasted
 * or uploaded as PEM and kept with the connection. Multipart, for the upload.
 */
function formPage(c: PageCtx, f: Form, o: { editing: boolean; error: AppError | null }): string {
  const e = o.error;
  const action = o.editing ? `/admin/directories/${encodeURIComponent(f.name)}/edit` : '/admin/directories/new';
  const title = o.editing ? c.t('dir.editTitle', { name: f.name }) : c.t('dir.addTitle');
  const caErr = e?.field === 'ca-pem' || e?.field === 'ca-file' ? e : null;
  return page(
    c,
    title,
    html`${errorBox(c, e)}${e?.field ? '' : e ? html`<p class="detail">${e.message}</p>` : ''}<p><a href="/admin/directories">${c.t('dir.back')}</a></p>
<form method="post" action="${action}" enctype="multipart/form-data" class="card" data-testid="directory-form">${csrfField(c)}
${o.editing ? '' : input(c, 'name', c.t('dir.name'), { value: f.name, required: true, maxlength: 64, hint: c.t('dir.nameHint'), error: e })}
${select(c, 'kind', c.t('dir.kind'), [{ value: 'openldap', label: 'OpenLDAP / inetOrgPerson' }, { value: 'ad', label: 'Active Directory' }], f.kind ?? 'openldap', { error: e })}
${input(c, 'url', c.t('dir.url'), { value: f.url, required: true, hint: c.t('dir.urlHint'), error: e })}
${checkbox(c, 'insecurePlaintext', c.t('dir.plaintext'), !!f.insecurePlaintext, { hint: c.t('dir.plaintextHint'), error: e, fields: ['insecure-plaintext'] })}
${input(c, 'base', c.t('dir.base'), { value: f.base, required: true, hint: 'ou=people,dc=contoso,dc=com', error: e })}
${input(c, 'bindDn', c.t('dir.bindDn'), { value: f.bindDn, autocomplete: 'off', error: e, fields: ['bind-dn'] })}
${input(c, 'password', c.t('dir.password'), { type: 'password', autocomplete: 'new-password', hint: f.hasPassword ? c.t('dir.passwordKept') : c.t('dir.passwordHint'), error: e, fields: ['password-file'] })}
${input(c, 'licenceGroup', c.t('dir.licenceGroup'), { value: f.licenceGroup, hint: c.t('dir.licenceGroupHint'), error: e, fields: ['licence-group'] })}
${input(c, 'filter', c.t('dir.filter'), { value: f.filter, hint: c.t('dir.filterHint'), error: e })}
<div class="field${caErr ? ' invalid' : ''}"><label for="f-caPem">${c.t('dir.caPem')}</label>
<textarea id="f-caPem" name="caPem" spellcheck="false" aria-describedby="f-caPem-hint${caErr ? ' f-caPem-err' : ''}"${caErr ? html` aria-invalid="true"` : ''}>${f.caPem ?? ''}</textarea>
<p class="hint" id="f-caPem-hint">${c.t('dir.caPemHint')}${f.caFile ? html` ${c.t('dir.caFileKept', { file: f.caFile })}` : ''}</p>${caErr ? html`<p class="field-error" id="f-caPem-err">${errorMessage(c.lang, caErr)}</p>` : ''}</div>
<div class="field"><label for="f-caUpload">${c.t('dir.caUpload')}</label><input id="f-caUpload" name="caUpload" type="file" accept=".pem,.crt,.cer,application/x-pem-file"></div>
${input(c, 'interval', c.t('dir.interval'), { value: f.interval ?? '5m', hint: c.t('dir.intervalHint'), error: e })}
${input(c, 'maxDisable', c.t('dir.maxDisable'), { type: 'number', min: 0, value: f.maxDisable, hint: c.t('dir.maxDisableHint'), error: e, fields: ['max-disable'] })}
<button type="submit" class="primary">${o.editing ? c.t('dir.save') : c.t('dir.add')}</button></form>`,
  );
}

const text = (b: Record<string, string | Buffer>, k: string): string => {
  const v = b[k];
  return typeof v === 'string' ? v.trim() : '';
};

/** The form's fields as the use-case takes them; an uploaded CA file is read as PEM text. */
function readForm(b: Record<string, string | Buffer>, editing: Form | null): NewDirectoryConnection {
  const upload = b.caUpload;
  const uploaded = Buffer.isBuffer(upload) && upload.length ? upload.toString('utf8') : '';
  const pasted = text(b, 'caPem');
  // The box may show the kept PEM (an edit) or the one uploaded before a refusal: an upload replaces
  // what the box shows, unless the box was changed to something else too.
  const same = (a: string, b: string) => a.replace(/\s+/g, '') === b.replace(/\s+/g, '');
  if (uploaded && pasted && !same(pasted, uploaded) && !same(pasted, editing?.caPem ?? '')) throw new AppError('CONFLICTING_PARAMETERS', 'Paste the CA certificate or upload it, not both.', { field: 'ca-pem' });
  const caPem = uploaded || pasted || null;
  return {
    name: editing?.name ?? text(b, 'name'),
    kind: text(b, 'kind') || null,
    url: text(b, 'url'),
    insecurePlaintext: b.insecurePlaintext === 'true',
    base: text(b, 'base'),
    bindDn: text(b, 'bindDn') || null,
    // A password is taken as typed (spaces may be part of it).
    password: typeof b.password === 'string' && b.password !== '' ? b.password : null,
    licenceGroup: text(b, 'licenceGroup') || null,
    filter: text(b, 'filter') || null,
    caPem,
    // A file named by the CLI stays until a PEM replaces it.
    caFile: caPem ? null : (editing?.caFile ?? null),
    interval: text(b, 'interval') || null,
    maxDisable: text(b, 'maxDisable') || null,
    map: editing?.map ?? [],
  };
}

const statusOf = (e: AppError) => (e.kind === 'validation' ? 400 : e.kind === 'not_found' ? 404 : e.kind === 'unavailable' ? 503 : 409);

export function adminDirectoryFormPages(app: FastifyInstance, deps: PageDeps, done: (req: FastifyRequest, reply: FastifyReply, notice: string) => Promise<FastifyReply>): void {
  const blank: Form = { name: '', url: '', base: '' };
  app.get('/admin/directories/new', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => sendPage(reply, formPage(adminCtx(req), blank, { editing: false, error: null })));
  app.get<{ Params: { name: string } }>('/admin/directories/:name/edit', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) =>
    sendPage(reply, formPage(adminCtx(req), await directoryConnectionSettings(scopeFor(deps.ctx, req), req.params.name), { editing: true, error: null })),
  );

  app.register(async (sub) => {
    acceptMultipart(sub, MAX_FORM);
    sub.post<{ Body: Record<string, string | Buffer> }>('/admin/directories/new', { schema: { hide: true }, config: { access: 'admin', multiline: ['caPem'] } }, async (req, reply) => {
      const c = adminCtx(req);
      let f: NewDirectoryConnection = { ...blank };
      try {
        f = readForm(req.body ?? {}, null);
        const view = await addDirectoryConnection(scopeFor(deps.ctx, req), f);
        return done(req, reply, c.t('dir.added', { name: view.Name }));
      } catch (e) {
        if (!isAppError(e)) throw e;
        // The password is never sent back: the form asks for it again.
        return sendPage(reply, formPage(c, { ...f, password: undefined } as Form, { editing: false, error: e }), statusOf(e));
      }
    });
    sub.post<{ Params: { name: string }; Body: Record<string, string | Buffer> }>('/admin/directories/:name/edit', { schema: { hide: true }, config: { access: 'admin', multiline: ['caPem'] } }, async (req, reply) => {
      const c = adminCtx(req);
      const s = scopeFor(deps.ctx, req);
      const kept = await directoryConnectionSettings(s, req.params.name);
      let f: NewDirectoryConnection = kept;
      try {
        f = readForm(req.body ?? {}, kept);
        const view = await editDirectoryConnection(s, kept.name, f);
        return done(req, reply, c.t('dir.saved', { name: view.Name }));
      } catch (e) {
        if (!isAppError(e)) throw e;
        return sendPage(reply, formPage(c, { ...f, password: undefined, hasPassword: kept.hasPassword } as Form, { editing: true, error: e }), statusOf(e));
      }
    });
  });
}
