import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError, type AppError } from '../../../core/errors.ts';
import type { PlanCounts } from '../../../core/directory-plan.ts';
import { listDirectoryConnections, removeDirectoryConnection, type DirectoryConnectionView } from '../../../app/directory-connections.ts';
import { adminDirectoryFormPages } from './admin-directory-form.ts';
import { directoryStatus, syncDirectory, testDirectory, type DirectoryTestResult, type SyncReport, type SyncRunView } from '../../../app/directory-sync.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { errorMessage, type MsgKey } from './i18n.ts';
import { facts, postButton } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

interface Shown {
  error?: AppError | null;
  /** The connection the error, test or sync is about. */
  about?: string;
  tested?: DirectoryTestResult;
  synced?: SyncReport;
  /** Said at the top: a connection added, saved or removed. */
  notice?: string;
}

const counts = (c: PageCtx, n: PlanCounts) => c.t('dir.counts', { ...n });
const statusText = (c: PageCtx, s: string) => (['applied', 'held', 'failed', 'dry-run'].includes(s) ? c.t(`dir.status.${s}` as MsgKey) : s);
const enc = encodeURIComponent;

function errorNotice(c: PageCtx, e: AppError): Html {
  // The page language's sentence, then the core's message, which names the setting at fault.
  const detail = errorMessage(c.lang, e) === e.message ? '' : html`<p class="detail">${e.message}</p>`;
  return html`<div class="notice error" role="alert" data-testid="directory-error"><strong>${c.t('error.title')}</strong> ${errorMessage(c.lang, e)} <code>${e.code}</code>${detail}</div>`;
}

function testResult(c: PageCtx, name: string, r: DirectoryTestResult): Html {
  const members = r.LicenceGroupMembers === null ? '—' : String(r.LicenceGroupMembers);
  return html`<div class="notice ok" role="status" data-testid="directory-test"><p>${c.t('dir.tested', { name, bind: r.Bind, entries: r.Entries, members })}</p>
${r.Samples.length ? html`<p>${c.t('dir.samples')}:</p><ul>${r.Samples.map((s) => html`<li>${String(s.DisplayName ?? '')} — ${String(s.SipAddress ?? '')} <code>${String(s.Dn ?? '')}</code></li>`)}</ul>` : ''}
${r.Unusable.length ? html`<p>${c.t('dir.unusable')}:</p><ul>${r.Unusable.map((u) => html`<li><code>${u.Dn}</code>: ${u.Reason}</li>`)}</ul>` : ''}</div>`;
}

function syncResult(c: PageCtx, r: SyncReport): Html {
  if (r.Status === 'held') return html`<div class="notice error" role="alert" data-testid="directory-sync">${c.t('dir.heldNow', { name: r.Connection, disable: r.Counts.disable, limit: r.DisableLimit })}</div>`;
  return html`<div class="notice ok" role="status" data-testid="directory-sync">${c.t('dir.synced', { name: r.Connection, counts: counts(c, r.Counts) })}</div>`;
}

function connectionCard(c: PageCtx, d: DirectoryConnectionView, last: SyncRunView | undefined, o: Shown): Html {
  const base = `/admin/directories/${enc(d.Name)}`;
  const mine = o.about?.toLowerCase() === d.Name.toLowerCase();
  const held = last?.Status === 'held';
  return html`<section class="card" aria-labelledby="d-${d.Name}" data-testid="directory-${d.Name}"><h2 id="d-${d.Name}">${d.Name}</h2>
${mine && o.error ? errorNotice(c, o.error) : ''}${mine && o.tested ? testResult(c, d.Name, o.tested) : ''}${mine && o.synced ? syncResult(c, o.synced) : ''}
${facts([
    [c.t('dir.kind'), d.Kind],
    [c.t('dir.url'), html`<code>${d.Url}</code> (${d.Transport})`],
    [c.t('dir.base'), html`<code>${d.BaseDn}</code>`],
    [c.t('dir.licenceGroup'), d.LicenceGroup ? html`<code>${d.LicenceGroup}</code>` : null],
    [c.t('dir.interval'), d.Interval],
    [c.t('dir.lastSync'), last ? html`<span data-testid="last-sync">${last.StartedAt} · ${statusText(c, last.Status)} · ${last.Mode}</span>` : c.t('dir.never')],
  ])}
${last ? html`<p data-testid="last-counts">${counts(c, last.Counts)}</p>` : ''}
${last?.Error ? html`<p class="notice error" data-testid="last-error"><strong>${c.t('dir.error')}:</strong> ${last.Error}</p>` : ''}
${last && last.Skipped.length ? html`<details><summary>${c.t('dir.skipped')} (${last.Skipped.length})</summary><ul>${last.Skipped.slice(0, 20).map((s) => html`<li><code>${s.Dn}</code>: ${s.Reason}</li>`)}</ul></details>` : ''}
${held ? html`<div class="notice error" role="alert" data-testid="held"><p>${c.t('dir.held', { disable: last.Counts.disable, limit: d.MaxDisable })}</p>${postButton(c, `${base}/approve`, c.t('dir.approve'), { kind: 'danger', confirm: c.t('dir.approveConfirm', { disable: last.Counts.disable }) })}</div>` : ''}
<p class="row-actions">${postButton(c, `${base}/test`, c.t('dir.test'))} ${postButton(c, `${base}/sync`, c.t('dir.runNow'), { kind: 'primary' })} <a href="${base}/edit" class="button">${c.t('dir.edit')}</a> ${postButton(c, `${base}/remove`, c.t('dir.remove'), { kind: 'danger', confirm: c.t('dir.removeConfirm', { name: d.Name }) })}</p>
</section>`;
}

/**
 * The Directory page: each connection with its last sync (status, counts, skipped entries,
 * error), a Test button (the real bind and count, changing nothing), Run now, and, when the last
 * sync was held by the mass-disable guard, the approval (a sync with allow-mass-disable).
 */
export function adminDirectoriesPages(app: FastifyInstance, deps: PageDeps): void {
  const show = async (req: FastifyRequest, reply: FastifyReply, o: Shown, status = 200) => {
    const s = scopeFor(deps.ctx, req);
    const c = adminCtx(req);
    const conns = await listDirectoryConnections(s);
    const cards: Html[] = [];
    for (const d of conns) cards.push(connectionCard(c, d, (await directoryStatus(s, { name: d.Name, limit: 1 }))[0], o));
    const orphan = o.error && !conns.some((d) => d.Name.toLowerCase() === o.about?.toLowerCase()) ? errorNotice(c, o.error) : '';
    const notice = o.notice ? html`<div class="notice ok" role="status" data-testid="directory-notice">${o.notice}</div>` : '';
    const add = html`<p><a href="/admin/directories/new" class="button primary">${c.t('dir.addTitle')}</a></p>`;
    return sendPage(reply, page(c, c.t('dir.title'), html`${notice}${orphan}${add}${cards.length ? cards : html`<p class="card">${c.t('dir.none')}</p>`}`), status);
  };
  const statusOf = (e: AppError) => (e.kind === 'validation' ? 400 : e.kind === 'not_found' ? 404 : e.kind === 'unavailable' ? 503 : 409);
  const action = (suffix: string, run: (req: FastifyRequest<{ Params: { name: string } }>) => Promise<Shown>) => {
    app.post<{ Params: { name: string } }>(`/admin/directories/:name/${suffix}`, { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
      try {
        return await show(req, reply, { about: req.params.name, ...(await run(req)) });
      } catch (e) {
        if (!isAppError(e)) throw e;
        return show(req, reply, { about: req.params.name, error: e }, statusOf(e));
      }
    });
  };

  app.get('/admin/directories', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => show(req, reply, {}));
  // A result page's address (after Test or Run now) opened again, or by the language switch: the page itself, nothing run.
  // (A result's language link points at the connection: /admin/directories/NAME.)
  for (const url of ['/admin/directories/:name', '/admin/directories/:name/:action']) {
    app.get(url, { schema: { hide: true }, config: { access: 'admin' } }, async (_req, reply) => reply.redirect('/admin/directories', 303));
  }
  action('test', async (req) => ({ tested: await testDirectory(scopeFor(deps.ctx, req), req.params.name) }));
  action('sync', async (req) => ({ synced: await syncDirectory(scopeFor(deps.ctx, req), req.params.name, {}) }));
  action('remove', async (req) => {
    const r = await removeDirectoryConnection(scopeFor(deps.ctx, req), req.params.name);
    return { notice: adminCtx(req).t('dir.removed', { name: r.name, users: r.unlinkedUsers }) };
  });
  adminDirectoryFormPages(app, deps, (req, reply, notice) => show(req, reply, { notice }));
  action('approve', async (req) => ({ synced: await syncDirectory(scopeFor(deps.ctx, req), req.params.name, { allowMassDisable: true }) }));
}
