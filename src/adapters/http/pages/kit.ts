import type { AppError } from '../../../core/errors.ts';
import { html, type Html } from '../html.ts';
import type { PageCtx } from './layout.ts';
import { errorMessage, type MsgKey } from './i18n.ts';

/**
 * Small building blocks of the pages: every input has a label, errors are tied to their field
 * with aria-describedby, and every form that changes something carries the session's token.
 */

export function csrfField(c: PageCtx): Html {
  return html`<input type="hidden" name="_csrf" value="${c.csrf ?? ''}">`;
}

/** The message of a refused form, announced to screen readers. */
export function errorBox(c: PageCtx, e: AppError | null): Html {
  if (!e) return html``;
  return html`<div class="notice error" role="alert"><strong>${c.t('error.title')}</strong> ${errorMessage(c.lang, e)} <code>${e.code}</code></div>`;
}

export function flash(c: PageCtx, key: MsgKey | null): Html {
  return key ? html`<div class="notice ok" role="status">${c.t(key)}</div>` : html``;
}

interface InputOpts {
  type?: string;
  value?: string | number | null;
  required?: boolean;
  autocomplete?: string;
  inputmode?: string;
  min?: number;
  max?: number;
  hint?: string;
  error?: AppError | null;
  /** The AppError field names this input answers for. */
  fields?: string[];
  pattern?: string;
  maxlength?: number;
}

function errorFor(name: string, o: { error?: AppError | null; fields?: string[] }): AppError | null {
  const e = o.error;
  if (!e?.field) return null;
  return [name, ...(o.fields ?? [])].some((f) => f.toLowerCase() === e.field!.toLowerCase()) ? e : null;
}

export function input(c: PageCtx, name: string, label: string, o: InputOpts = {}): Html {
  const id = `f-${name}`;
  const err = errorFor(name, o);
  const described = [o.hint ? `${id}-hint` : '', err ? `${id}-err` : ''].filter(Boolean).join(' ');
  return html`<div class="field${err ? ' invalid' : ''}"><label for="${id}">${label}</label>
<input id="${id}" name="${name}" type="${o.type ?? 'text'}" value="${o.value ?? ''}"${o.required ? html` required` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''}${o.min !== undefined ? html` min="${o.min}"` : ''}${o.max !== undefined ? html` max="${o.max}"` : ''}${o.pattern ? html` pattern="${o.pattern}"` : ''}${o.maxlength ? html` maxlength="${o.maxlength}"` : ''}${described ? html` aria-describedby="${described}"` : ''}${err ? html` aria-invalid="true"` : ''}>
${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}${err ? html`<p class="field-error" id="${id}-err">${errorMessage(c.lang, err)}</p>` : ''}</div>`;
}

export function checkbox(c: PageCtx, name: string, label: string, checked: boolean, o: { hint?: string; error?: AppError | null; fields?: string[] } = {}): Html {
  const id = `f-${name}`;
  const err = errorFor(name, o);
  return html`<div class="field check"><input id="${id}" name="${name}" type="checkbox" value="true"${checked ? html` checked` : ''}${o.hint ? html` aria-describedby="${id}-hint"` : ''}>
<label for="${id}">${label}</label>${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}${err ? html`<p class="field-error">${errorMessage(c.lang, err)}</p>` : ''}</div>`;
}

export function select(c: PageCtx, name: string, label: string, options: { value: string; label: string }[], selected: string | null, o: { hint?: string; error?: AppError | null } = {}): Html {
  const id = `f-${name}`;
  const err = errorFor(name, o);
  return html`<div class="field${err ? ' invalid' : ''}"><label for="${id}">${label}</label>
<select id="${id}" name="${name}"${err ? html` aria-invalid="true"` : ''}>${options.map((op) => html`<option value="${op.value}"${op.value === selected ? html` selected` : ''}>${op.label}</option>`)}</select>
${o.hint ? html`<p class="hint">${o.hint}</p>` : ''}${err ? html`<p class="field-error">${errorMessage(c.lang, err)}</p>` : ''}</div>`;
}

/** A one-button form posting to `action` (with an optional confirmation question). */
export function postButton(c: PageCtx, action: string, label: string, o: { confirm?: string; kind?: 'primary' | 'danger' | 'plain' } = {}): Html {
  return html`<form method="post" action="${action}" class="inline"${o.confirm ? html` data-confirm="${o.confirm}"` : ''}>${csrfField(c)}<button type="submit" class="${o.kind ?? 'plain'}">${label}</button></form>`;
}

/** A definition list of label → value pairs; empty values show a dash. */
export function facts(rows: [string, Html | string | null | undefined][]): Html {
  return html`<dl class="facts">${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v === null || v === undefined || v === '' ? '—' : v}</dd></div>`)}</dl>`;
}

/** Previous / next links for a paged list, with "page x of y". */
export function pager(c: PageCtx, base: string, params: Record<string, string>, page: number, pages: number): Html {
  if (pages <= 1) return html``;
  const link = (p: number) => `${base}?${new URLSearchParams({ ...params, page: String(p) }).toString()}`;
  return html`<nav class="pager" aria-label="${c.t('pager.label')}">${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">${c.t('pager.prev')}</a>` : ''}
<span>${c.t('pager.position', { page, pages })}</span>${page < pages ? html`<a href="${link(page + 1)}" rel="next">${c.t('pager.next')}</a>` : ''}</nav>`;
}
