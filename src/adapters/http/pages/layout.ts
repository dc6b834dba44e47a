import type { FastifyRequest } from 'fastify';
import { html, type Html } from '../html.ts';
import { pickLanguage, translate, LANGUAGE_NAMES, type Lang, type MsgKey } from './i18n.ts';
import type { Role } from '../auth.ts';

/** What every page knows about its request: language, the signed-in person, the form token. */
export interface PageCtx {
  lang: Lang;
  t(key: MsgKey, vars?: Record<string, string | number>): string;
  /** Path and query of this page, for the language switch to come back to. */
  path: string;
  csrf: string | null;
  admin: { email: string; role: Role } | null;
  /** The end user signed in on the settings page. */
  user: { displayName: string } | null;
}

export function pageCtx(req: FastifyRequest, extra: Partial<Pick<PageCtx, 'csrf' | 'admin' | 'user'>> = {}): PageCtx {
  const lang = pickLanguage(req);
  // After a form post, the switch goes back to the page the form belongs to (one level up), not to the action.
  const path = req.method === 'GET' ? req.url : req.url.split('?')[0]!.replace(/\/[^/]*$/, '') || '/';
  return { lang, t: (k, v) => translate(lang, k, v), path, csrf: extra.csrf ?? null, admin: extra.admin ?? null, user: extra.user ?? null };
}

interface NavItem {
  href: string;
  key: MsgKey;
  adminOnly: boolean;
}

const ADMIN_NAV: NavItem[] = [
  { href: '/admin/dashboard', key: 'nav.dashboard', adminOnly: true },
  { href: '/admin/settings', key: 'nav.settings', adminOnly: true },
  { href: '/admin/users', key: 'nav.users', adminOnly: false },
  { href: '/admin/bridges', key: 'nav.bridges', adminOnly: true },
  { href: '/admin/directories', key: 'nav.directories', adminOnly: true },
  { href: '/admin/templates', key: 'nav.templates', adminOnly: true },
  { href: '/admin/mail', key: 'nav.mail', adminOnly: true },
  { href: '/admin/audit', key: 'nav.audit', adminOnly: true },
];

function languageSwitch(c: PageCtx): Html {
  const other: Lang = c.lang === 'en' ? 'fr' : 'en';
  return html`<a class="lang" href="/lang/${other}?back=${encodeURIComponent(c.path)}" lang="${other}" hreflang="${other}">${LANGUAGE_NAMES[other]}</a>`;
}

function adminHeader(c: PageCtx): Html {
  const a = c.admin!;
  const items = ADMIN_NAV.filter((n) => a.role === 'admin' || !n.adminOnly);
  const current = c.path.split('?')[0]!;
  return html`<nav class="nav" aria-label="${c.t('nav.label')}"><ul>${items.map(
    (n) => html`<li><a href="${n.href}"${current.startsWith(n.href) ? html` aria-current="page"` : ''}>${c.t(n.key)}</a></li>`,
  )}</ul></nav>
  <div class="account"><span class="who">${a.email} · ${c.t(a.role === 'admin' ? 'role.admin' : 'role.helpdesk')}</span>
  <form method="post" action="/admin/logout"><input type="hidden" name="_csrf" value="${c.csrf ?? ''}"><button class="link" type="submit">${c.t('auth.signOut')}</button></form>
  ${languageSwitch(c)}</div>`;
}

function userHeader(c: PageCtx): Html {
  return html`<div class="account">${c.user ? html`<span class="who">${c.user.displayName}</span>
  <form method="post" action="/dialin/sign-out"><input type="hidden" name="_csrf" value="${c.csrf ?? ''}"><button class="link" type="submit">${c.t('auth.signOut')}</button></form>` : ''}
  ${languageSwitch(c)}</div>`;
}

/** A whole page: header with navigation (admin center) or the settings page header, then `body`. */
export function page(c: PageCtx, title: string, body: Html, opts: { area: 'admin' | 'dialin' | 'plain' | 'public'; refreshTo?: string } = { area: 'admin' }): string {
  // 'public': a page for anyone (Find a local number), under the end users' name, with no account.
  const brand = opts.area === 'dialin' || opts.area === 'public' ? c.t('dialin.brand') : c.t('admin.brand');
  const header = opts.area === 'admin' && c.admin ? adminHeader(c) : opts.area === 'dialin' ? userHeader(c) : html`<div class="account">${languageSwitch(c)}</div>`;
  return html`<!doctype html>
<html lang="${c.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${brand}</title>
<link rel="icon" href="data:,">
${opts.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${opts.refreshTo}">` : html``}
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${c.t('skip')}</a>
<header class="top"><span class="brand">${brand}</span>${header}</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`.toString();
}
