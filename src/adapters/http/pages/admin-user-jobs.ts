import os from 'node:os';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../../core/errors.ts';
import { displayNumber } from '../../../core/phone-number.ts';
import { parseUserListQuery, type UserFilter } from '../../../core/user-filter.ts';
import { ADMIN_JOB_KINDS, claimUserJob, createUserJob, findUserJob, jobIsStalled, jobItems, runUserJob, type JobKind, type JobPins } from '../../../app/user-jobs.ts';
import { usersMatching } from '../../../app/user-list.ts';
import { importUsers, type ImportRecord } from '../../../app/import-users.ts';
import { auditRow, insertAuditRows } from '../../../app/audit.ts';
import type { TenantScope } from '../../../app/context.ts';
import type { UserJobsTable } from '../../db/schema.ts';
import { readCsvText } from '../../files/csv-records.ts';
import { csvLine } from '../../files/csv-cell.ts';
import { scopeFor } from '../auth.ts';
import { html } from '../html.ts';
import { acceptMultipart } from '../multipart.ts';
import { checkbox, csrfField, errorBox, facts, postButton } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import type { MsgKey } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';
import { usersListPage, usersListRefused } from './admin-users.ts';

/** This process's name as a job runner (leases are taken in its name). */
const RUNNER = `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
const IMPORT_COLUMNS = { required: ['UserUri', 'DisplayName', 'EmailAddress', 'Language'], optional: ['Phone', 'Extension'] };
const MAX_UPLOAD = 64 * 1024 * 1024;

/**
 * New PINs of a job when automatic mail is off: in this process's memory only, handed out once as
 * a CSV and then forgotten; never in the database, a log or the report.
 */
const pendingPins = new Map<string, { tenantId: string; pins: JobPins[] }>();

/** Holds the job's lease before the page answers (see claimUserJob), then runs it in the background. */
async function startRunner(s: TenantScope, req: FastifyRequest, id: string): Promise<void> {
  if (!(await claimUserJob(s, id, RUNNER))) return;
  const onPins = (pins: JobPins[]) => {
    const entry = pendingPins.get(id) ?? { tenantId: s.tenant.id, pins: [] };
    entry.pins.push(...pins);
    pendingPins.set(id, entry);
  };
  void runUserJob(s, id, RUNNER, { onPins }).catch((err: unknown) => req.log.error({ err, job: id }, 'bulk job failed'));
}

const statusCode = (e: AppError) => (e.kind === 'forbidden' ? 403 : e.kind === 'not_found' ? 404 : e.kind === 'validation' ? 400 : 409);

function jobPage(c: PageCtx, job: UserJobsTable, now: number, o: { sample?: { sip: string; name: string; email: string; language: string }[]; problems?: { line: number; code: string; message: string }[]; done?: MsgKey | null } = {}): string {
  const kindLabel = job.kind === 'import' ? c.t('import.title') : c.t(`users.bulk.${job.kind}` as MsgKey);
  const base = `/admin/users/jobs/${job.id}`;
  const stalled = jobIsStalled(job, now);
  const pins = pendingPins.get(job.id);
  const preview = job.status === 'preview';
  const body = html`${o.done ? html`<div class="notice ok" role="status">${c.t(o.done, { count: job.done })}</div>` : ''}<p><a href="/admin/users">${c.t('jobs.back')}</a></p>
${facts([
  [c.t('jobs.kind'), kindLabel],
  [c.t('jobs.status'), html`<span data-testid="job-status">${c.t(`jobs.status.${job.status}` as MsgKey)}</span>`],
])}
${preview
  ? html`<section aria-labelledby="preview-h"><h2 id="preview-h">${c.t('import.previewTitle')}</h2>
<p data-testid="import-will-add">${c.t('import.willAdd', { count: job.done })}</p>
${o.sample?.length ? html`<div class="table-wrap"><table data-testid="import-sample"><caption>${c.t('import.sample')}</caption><thead><tr><th scope="col">${c.t('user.sip')}</th><th scope="col">${c.t('user.displayName')}</th><th scope="col">${c.t('user.email')}</th><th scope="col">${c.t('user.language')}</th></tr></thead>
<tbody>${o.sample.map((r) => html`<tr><td>${r.sip.replace(/^sip:/, '')}</td><td>${r.name}</td><td>${r.email}</td><td>${r.language}</td></tr>`)}</tbody></table></div>` : ''}
${job.skipped ? html`<p data-testid="import-problems">${c.t('import.problems', { count: job.skipped })}</p>
<div class="table-wrap"><table data-testid="import-problems-table"><thead><tr><th scope="col">${c.t('import.line')}</th><th scope="col"><span class="sr-only">code</span></th><th scope="col">${c.t('audit.details')}</th></tr></thead>
<tbody>${(o.problems ?? []).map((p) => html`<tr><td>${p.line}</td><td><code>${p.code}</code></td><td>${p.message}</td></tr>`)}</tbody></table></div>
${JSON.parse(job.params).skipInvalid ? html`<p data-testid="import-will-skip">${c.t('import.willSkip')}</p>` : html`<p class="notice error">${c.t('import.nothing')}</p>`}` : ''}
${job.done > 0 && (job.skipped === 0 || JSON.parse(job.params).skipInvalid) ? postButton(c, `/admin/users/import/${job.id}/apply`, c.t('import.apply'), { kind: 'primary' }) : ''}
</section>`
  : html`<div class="field"><label for="job-progress">${c.t('jobs.progress')}</label>
<progress id="job-progress" max="${Math.max(job.total, 1)}" value="${job.status === 'done' ? Math.max(job.total, 1) : Math.min(job.processed, job.total)}" data-testid="job-progress">${job.processed}/${job.total}</progress></div>
<p role="status" data-testid="job-counts">${c.t('jobs.counts', { processed: job.processed, total: job.total, done: job.done, unchanged: job.unchanged, skipped: job.skipped })}</p>
${job.error ? html`<div class="notice error" role="alert">${job.error}</div>` : ''}
${(job.status === 'queued' || job.status === 'running') && !stalled ? html`<p class="hint">${c.t('jobs.refreshing')}</p>` : ''}
${stalled ? html`<div class="notice error" role="alert"><p>${c.t('jobs.stalled')}</p>${postButton(c, `${base}/resume`, c.t('jobs.resume'), { kind: 'primary' })}</div>` : ''}
${pins && pins.tenantId === job.tenant_id ? html`<div class="notice pin" role="alert"><p>${c.t('jobs.pinsHint')}</p><p><a href="${base}/pins.csv" download data-testid="pins-link">${c.t('jobs.pins')}</a></p></div>` : ''}
<p><a href="${base}/report.csv" download data-testid="report-link">${c.t('jobs.report')}</a></p>`}`;
  return page(c, `${c.t('jobs.title')}: ${kindLabel}`, body);
}

function parseFilter(raw: unknown): UserFilter {
  if (raw !== undefined && typeof raw !== 'string') throw new AppError('INVALID_ARGUMENT', 'filter is given more than once.', { field: 'filter' });
  const params = Object.fromEntries(new URLSearchParams(raw ?? ''));
  return parseUserListQuery(params).filter;
}

export function userJobPages(app: FastifyInstance, deps: PageDeps): void {
  type Body = Record<string, string | string[] | undefined>;
  app.post<{ Body: Body }>('/admin/users/jobs', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const c = adminCtx(req);
    const s = scopeFor(deps.ctx, req);
    const b = req.body ?? {};
    let filter: UserFilter;
    try {
      filter = parseFilter(b.filter);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return usersListRefused(c, req, reply, deps, e, parseUserListQuery({}));
    }
    try {
      const action = typeof b.action === 'string' ? b.action : '';
      if (ADMIN_JOB_KINDS.includes(action as JobKind) && c.admin?.role !== 'admin') throw new AppError('FORBIDDEN', 'Only an administrator may enable, disable or move users.');
      const scope = b.scope === 'all' ? 'all' : b.scope === 'selected' || b.scope === undefined ? 'selected' : null;
      if (!scope) throw new AppError('INVALID_ARGUMENT', 'scope must be selected or all.', { field: 'scope' });
      const ids = scope === 'all' ? null : [b.ids ?? []].flat().filter((x): x is string => typeof x === 'string');
      const one = (k: string) => {
        const v = b[k];
        if (Array.isArray(v)) throw new AppError('INVALID_ARGUMENT', `${k} is given more than once.`, { field: k });
        return v ? v.trim() : null;
      };
      const job = await createUserJob(s, action as JobKind, { filter, ids, bridgeId: one('BridgeId'), serviceNumber: one('ServiceNumber'), tollFreeServiceNumber: one('TollFreeServiceNumber') });
      await startRunner(s, req, job.id);
      return reply.redirect(`/admin/users/jobs/${job.id}`, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return sendPage(reply, await usersListPage(c, req, deps, { ...parseUserListQuery({}), filter }, e), statusCode(e));
    }
  });

  app.get<{ Params: { id: string } }>('/admin/users/jobs/:id', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const s = scopeFor(deps.ctx, req);
    const job = await findUserJob(s, req.params.id);
    if ((job.status === 'queued' || job.status === 'running') && !jobIsStalled(job, s.now())) reply.header('refresh', '1');
    // An applied import says so above its counts.
    return sendPage(reply, jobPage(adminCtx(req), job, s.now(), { done: job.kind === 'import' && job.status === 'done' ? 'import.applied' : null }));
  });

  app.post<{ Params: { id: string } }>('/admin/users/jobs/:id/resume', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const s = scopeFor(deps.ctx, req);
    const job = await findUserJob(s, req.params.id);
    if (ADMIN_JOB_KINDS.includes(job.kind as JobKind) && req.principal?.role !== 'admin') throw new AppError('FORBIDDEN', 'Only an administrator may resume this job.');
    if (jobIsStalled(job, s.now())) await startRunner(s, req, job.id);
    return reply.redirect(`/admin/users/jobs/${job.id}`, 303);
  });

  app.get<{ Params: { id: string } }>('/admin/users/jobs/:id/report.csv', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const s = scopeFor(deps.ctx, req);
    const job = await findUserJob(s, req.params.id);
    async function* lines() {
      yield `${csvLine(['Line', 'Input', 'SipAddress', 'Outcome', 'Code', 'Reason'])}\r\n`;
      for await (const rows of jobItems(s, job.id)) yield rows.map((r) => `${csvLine([String(r.seq + 1), r.input, r.user_sip ?? '', r.outcome, r.code ?? '', r.reason ?? ''])}\r\n`).join('');
    }
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="job-${job.id}.csv"`).send(Readable.from(lines()));
  });

  app.get<{ Params: { id: string } }>('/admin/users/jobs/:id/pins.csv', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const s = scopeFor(deps.ctx, req);
    const job = await findUserJob(s, req.params.id);
    const entry = pendingPins.get(job.id);
    if (!entry || entry.tenantId !== s.tenant.id) throw new AppError('JOB_NOT_FOUND', 'The new PINs were downloaded already or are no longer available (they are never stored).', { field: 'id' });
    // Once only: forgotten as soon as the file is handed out.
    pendingPins.delete(job.id);
    await s.db.kysely.transaction().execute((trx) => insertAuditRows(trx, [auditRow(s, 'users.job.pins-downloaded', {}, { job: job.id, count: entry.pins.length })]));
    const text = [csvLine(['SipAddress', 'ConferenceId', 'LeaderPin']), ...entry.pins.map((p) => csvLine([p.sip, p.conferenceId ?? '', p.pin]))].join('\r\n') + '\r\n';
    return reply.type('text/csv; charset=utf-8').header('cache-control', 'no-store').header('content-disposition', `attachment; filename="pins-${job.id}.csv"`).send(text);
  });

  app.get<{ Querystring: Record<string, unknown> }>('/admin/users/export.csv', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const s = scopeFor(deps.ctx, req);
    const q = parseUserListQuery(req.query);
    if (q.after || q.before || req.query.sort || req.query.dir) throw new AppError('INVALID_ARGUMENT', 'The export takes the filters only (every matching user, in SIP order).', { field: q.after ? 'after' : q.before ? 'before' : req.query.sort ? 'sort' : 'dir' });
    const bridges = new Map((await s.db.kysely.selectFrom('bridges').select(['id', 'name']).where('tenant_id', '=', s.tenant.id).execute()).map((b) => [b.id, b.name]));
    async function* lines() {
      yield `${csvLine(['SipAddress', 'DisplayName', 'EmailAddress', 'Language', 'DialInEnabled', 'Provider', 'BridgeName', 'ConferenceId', 'ServiceNumber', 'TollFreeServiceNumber', 'PinStatus', 'Source', 'LastMailKind', 'LastMailStatus'])}\r\n`;
      for await (const rows of usersMatching(s, q.filter)) {
        yield rows
          .map((u) => `${csvLine([u.sip, u.displayName, u.email, u.language, u.enabled ? 'True' : 'False', u.provider, u.bridgeId ? (bridges.get(u.bridgeId) ?? '') : '', u.conferenceId ?? '', u.serviceNumber ? displayNumber(u.serviceNumber) : '', u.tollFreeNumber ? displayNumber(u.tollFreeNumber) : '', u.pin, u.source, u.lastMailKind ?? '', u.lastMailStatus ?? ''])}\r\n`)
          .join('');
      }
    }
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="users.csv"').send(Readable.from(lines()));
  });

  const importForm = (c: PageCtx, error: AppError | null) =>
    page(
      c,
      c.t('import.title'),
      html`${errorBox(c, error)}<p><a href="/admin/users">${c.t('jobs.back')}</a></p>
<form method="post" action="/admin/users/import" enctype="multipart/form-data" class="card">${csrfField(c)}
<div class="field"><label for="f-file">${c.t('import.file')}</label><input id="f-file" name="file" type="file" accept=".csv,text/csv" required></div>
${checkbox(c, 'skipInvalid', c.t('import.skipInvalid'), false)}
<button type="submit" class="primary">${c.t('import.preview')}</button></form>`,
    );

  app.get('/admin/users/import', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => sendPage(reply, importForm(adminCtx(req), null)));

  app.register(async (sub) => {
    acceptMultipart(sub, MAX_UPLOAD);
    sub.post<{ Body: Record<string, string | Buffer> }>('/admin/users/import', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
      const c = adminCtx(req);
      const s = scopeFor(deps.ctx, req);
      try {
        const file = req.body?.file;
        if (!Buffer.isBuffer(file) || file.length === 0) throw new AppError('MISSING_ARGUMENT', 'Choose a CSV file to import.', { field: 'file' });
        const skipInvalid = req.body.skipInvalid === 'true';
        const sample: { sip: string; name: string; email: string; language: string }[] = [];
        // The same reading and checks as `dialin users import`, then rolled back: a preview.
        const res = await importUsers(s, readCsvText(file, IMPORT_COLUMNS) as AsyncIterable<ImportRecord>, {
          skipInvalid,
          dryRun: true,
          afterInsert: async (_trx, inserted) => {
            for (const r of inserted) if (sample.length < 20 && 'user' in r) sample.push({ sip: r.user.sip, name: r.user.display_name, email: r.user.email, language: r.user.language });
            return [];
          },
        });
        const now = s.now();
        const job: UserJobsTable = { id: s.newId(), tenant_id: s.tenant.id, kind: 'import', params: JSON.stringify({ skipInvalid, csv: file.toString('base64') }), status: 'preview', total: res.imported + res.skipped, processed: 0, done: res.imported, unchanged: 0, skipped: res.skipped, cursor: null, lease_owner: null, lease_until: null, error: null, created_by: s.actor, created_at: now, updated_at: now, finished_at: null };
        await s.db.kysely.transaction().execute(async (trx) => {
          await trx.insertInto('user_jobs').values(job).execute();
          const items = res.problems.map((p, i) => ({ job_id: job.id, seq: i, input: `line ${p.line}`, user_sip: null, outcome: 'skipped', code: p.code, reason: p.message }));
          for (let i = 0; i < items.length; i += 200) await trx.insertInto('user_job_items').values(items.slice(i, i + 200)).execute();
        });
        return sendPage(reply, jobPage(c, job, now, { sample, problems: res.problems }));
      } catch (e) {
        if (!isAppError(e)) throw e;
        return sendPage(reply, importForm(c, e), statusCode(e));
      }
    });
  });

  app.post<{ Params: { id: string } }>('/admin/users/import/:id/apply', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const s = scopeFor(deps.ctx, req);
    const job = await findUserJob(s, req.params.id);
    if (job.kind !== 'import' || job.status !== 'preview') throw new AppError('INVALID_ARGUMENT', 'This import was applied already, or is not an import.', { field: 'id' });
    const p = JSON.parse(job.params) as { skipInvalid: boolean; csv: string };
    // Claim the preview first, so two clicks cannot import twice.
    const claimed = await s.db.kysely.updateTable('user_jobs').set({ status: 'running', updated_at: s.now() }).where('id', '=', job.id).where('status', '=', 'preview').executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('INVALID_ARGUMENT', 'This import was applied already.', { field: 'id' });
    const res = await importUsers(s, readCsvText(Buffer.from(p.csv, 'base64'), IMPORT_COLUMNS) as AsyncIterable<ImportRecord>, { skipInvalid: p.skipInvalid });
    const at = s.now();
    // The uploaded file is dropped once applied: only the counts and the report stay.
    await s.db.kysely
      .updateTable('user_jobs')
      .set({ status: res.rolledBack ? 'failed' : 'done', params: JSON.stringify({ skipInvalid: p.skipInvalid }), processed: res.imported + res.skipped, done: res.imported, skipped: res.skipped, error: res.rolledBack ? 'CSV_INVALID: the file has invalid lines; nothing was imported.' : null, finished_at: at, updated_at: at })
      .where('id', '=', job.id)
      .execute();
    return reply.redirect(`/admin/users/jobs/${job.id}`, 303);
  });
}
