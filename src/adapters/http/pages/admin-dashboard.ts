import type { FastifyInstance } from 'fastify';
import { dashboard, dashboardCache, DAY_MS, DELIVERY_SERIES, warmDashboards, type Bucket } from '../../../app/dashboard.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { page, type PageCtx } from './layout.ts';
import type { MsgKey } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';
import { lineChart, stackedBars } from './svg-chart.ts';
import { deploymentChecks } from './deployment-checks.ts';

const iso = (t: number) => new Date(t).toISOString();

function deliveryChart(c: PageCtx, id: string, title: MsgKey, buckets: Bucket[], by: 'hour' | 'day'): Html {
  const series = DELIVERY_SERIES.map((k) => ({ key: k, label: c.t(`dash.series.${k}` as MsgKey) }));
  const total = (k: (typeof DELIVERY_SERIES)[number]) => buckets.reduce((a, b) => a + b.counts[k], 0);
  return stackedBars(c, {
    id,
    title: c.t(title),
    desc: c.t('dash.deliveryDesc', { sent: total('sent'), failed: total('failed'), bounced: total('bounced'), queued: total('queued') }),
    head: c.t(by === 'hour' ? 'dash.hour' : 'dash.day'),
    series,
    buckets: buckets.map((b) => ({
      label: by === 'hour' ? `${iso(b.start).slice(0, 13).replace('T', ' ')}:00` : iso(b.start).slice(0, 10),
      short: by === 'hour' ? iso(b.start).slice(11, 13) : iso(b.start).slice(8, 10),
      values: DELIVERY_SERIES.map((k) => b.counts[k]),
    })),
    labelEvery: by === 'hour' ? 3 : 5,
  });
}

/** The admin center's home: how delivery goes, enabled users over time, PIN lockouts, directory syncs, the doctor's checks. */
export function adminDashboardPages(app: FastifyInstance, deps: PageDeps): void {
  const checks = deploymentChecks(app, deps.ctx, deps.config);
  const cache = dashboardCache();
  cache.onError = (err) => app.log.warn({ err }, 'dashboard: counting the days before today failed; the figures kept are shown');
  // Counted once the server listens, in the background (an app only injected into — tests, the CLI —
  // never starts a count of its own); afterwards refreshed behind the requests (app/dashboard.ts).
  app.addHook('onListen', async () => {
    void warmDashboards(deps.ctx, cache).catch((err: unknown) => cache.onError?.(err));
  });
  app.addHook('onClose', async () => {
    cache.closed = true;
    await Promise.allSettled([...cache.pending.values()]);
  });
  app.get('/admin/dashboard', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const c = adminCtx(req);
    const d = await dashboard(scopeFor(deps.ctx, req), cache);
    const run = checks.latest();
    const last = d.enabled[d.enabled.length - 1]?.count ?? 0;
    const first = d.enabled[0]?.count ?? 0;
    const body = html`<ul class="figures" data-testid="figures">
<li>${c.t('dash.enabledNow')} <strong data-testid="enabled-now">${last}</strong></li>
<li>${c.t('dash.lockedNow')} <strong data-testid="locked-now">${d.pinLockedNow}</strong></li>
<li>${c.t('dash.lockouts30')} <strong data-testid="lockouts-30">${d.pinLockouts30d}</strong></li>
<li>${c.t('dash.failed24')} <strong data-testid="failed-24">${d.hours.reduce((a, b) => a + b.counts.failed + b.counts.bounced, 0)}</strong></li>
</ul>
<div class="dash">
<section class="card" aria-labelledby="h-24"><h2 id="h-24">${c.t('dash.mail24')}</h2>${deliveryChart(c, 'chart-24h', 'dash.mail24', d.hours, 'hour')}<p><a href="/admin/mail?status=failed">${c.t('dash.seeFailed')}</a></p></section>
<section class="card" aria-labelledby="h-30"><h2 id="h-30">${c.t('dash.mail30')}</h2>${deliveryChart(c, 'chart-30d', 'dash.mail30', d.days, 'day')}<p class="hint" data-testid="days-as-of">${c.t('dash.daysAsOf', { at: Math.floor(d.daysAsOf / DAY_MS) === Math.floor(d.now / DAY_MS) ? iso(d.daysAsOf).slice(11, 16) : iso(d.daysAsOf).slice(0, 16).replace('T', ' ') })}</p></section>
<section class="card" aria-labelledby="h-en"><h2 id="h-en">${c.t('dash.enabled')}</h2>${lineChart(c, {
      id: 'chart-enabled',
      title: c.t('dash.enabled'),
      desc: c.t('dash.enabledDesc', { first, last }),
      head: c.t('dash.day'),
      series: { key: 'enabled', label: c.t('dash.series.enabled') },
      points: d.enabled.map((p) => ({ label: iso(p.start).slice(0, 10), short: iso(p.start).slice(8, 10), value: p.count })),
      labelEvery: 5,
    })}<p class="hint">${c.t('dash.enabledHint')}</p></section>
<section class="card" aria-labelledby="h-dir"><h2 id="h-dir">${c.t('dash.directories')}</h2>
${d.directories.length === 0 ? html`<p>${c.t('dash.noDirectories')}</p>` : html`<ul class="checks" data-testid="directories">${d.directories.map((x) => {
      const state = x.status === null ? 'warning' : x.status === 'applied' || x.status === 'dry-run' ? 'ok' : 'problem';
      return html`<li class="${state}"><strong>${x.name}</strong>: ${x.lastRunAt === null ? c.t('dash.neverSynced') : c.t('dash.lastSync', { at: iso(x.lastRunAt).slice(0, 16).replace('T', ' '), status: c.t(`dash.sync.${x.status}` as MsgKey) })}${x.error ? html`<br><span class="hint">${x.error}</span>` : ''}</li>`;
    })}</ul>`}
</section>
<section class="card" aria-labelledby="h-doc"><h2 id="h-doc">${c.t('dash.checks')}</h2>
${run === null ? html`<p role="status" data-testid="checks-pending">${c.t('dash.checksPending')}</p>` : html`<p class="hint">${c.t('dash.checksAt', { at: iso(run.at).slice(0, 19).replace('T', ' ') })}</p><ul class="checks" data-testid="checks">${run.findings.map((f) => html`<li class="${f.ok ? 'ok' : f.warning ? 'warning' : 'problem'}" data-check="${f.check}"><strong>${c.t(f.ok ? 'dns.ok' : f.warning ? 'dns.warning' : 'dns.problem')}</strong> ${f.detail}${f.fix ? html`<br><span class="hint">${f.fix}</span>` : ''}</li>`)}</ul>`}
</section>
</div>`;
    return sendPage(reply, page(c, c.t('dash.title'), body));
  });
}
