import { html, type Html } from '../html.ts';
import type { PageCtx } from './layout.ts';

/**
 * Charts drawn on the server as SVG: no script, nothing from elsewhere, so the CSP stays strict.
 * Each chart is an image with a title and a one-line description for screen readers, and the
 * numbers behind it follow as a table (in <details>) that every reader can reach.
 */
export interface Series {
  key: string;
  label: string;
}

const W = 720;
const H = 200;
const PAD = { left: 44, right: 8, top: 10, bottom: 24 };

/** A round upper bound for the y axis (1, 2, 5 × 10^n) and its ticks. */
function scale(max: number): { top: number; ticks: number[] } {
  if (max <= 0) return { top: 1, ticks: [0, 1] };
  const p = 10 ** Math.floor(Math.log10(max));
  const top = [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max)!;
  return { top, ticks: [0, top / 2, top] };
}

function frame(id: string, title: string, desc: string, inner: Html, top: number, ticks: number[], labels: { x: number; text: string }[]): Html {
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / top);
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" focusable="false" data-testid="${id}">
<title id="${id}-t">${title}</title><desc id="${id}-d">${desc}</desc>
${ticks.map((v) => html`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}"></line><text class="axis" x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toLocaleString('en-US')}</text>`)}
${inner}
${labels.map((l) => html`<text class="axis" x="${l.x}" y="${H - 6}" text-anchor="middle">${l.text}</text>`)}
</svg>`;
}

/** The table behind a chart: one row per bucket, one column per series. */
function dataTable(c: PageCtx, id: string, caption: string, head: string, series: Series[], rows: { label: string; values: number[] }[]): Html {
  return html`<details class="chart-data"><summary>${c.t('dash.table')}</summary><div class="table-wrap"><table data-testid="${id}-table"><caption>${caption}</caption>
<thead><tr><th scope="col">${head}</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr><th scope="row">${r.label}</th>${r.values.map((v) => html`<td>${v}</td>`)}</tr>`)}</tbody></table></div></details>`;
}

function legend(series: Series[]): Html {
  return html`<ul class="legend" aria-hidden="true">${series.map((s) => html`<li><span class="swatch s-${s.key}"></span>${s.label}</li>`)}</ul>`;
}

/** Stacked bars, one per bucket, a segment per series; every `labelEvery`-th bucket labelled. */
export function stackedBars(c: PageCtx, o: { id: string; title: string; desc: string; head: string; series: Series[]; buckets: { label: string; short: string; values: number[] }[]; labelEvery: number }): Html {
  const max = Math.max(0, ...o.buckets.map((b) => b.values.reduce((a, v) => a + v, 0)));
  const { top, ticks } = scale(max);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(1, o.buckets.length);
  const bw = Math.max(1, step * 0.72);
  const bars = o.buckets.map((b, i) => {
    let base = 0;
    const x = PAD.left + i * step + (step - bw) / 2;
    return html`<g>${b.values.map((v, k) => {
      if (v <= 0) return html``;
      const h = (plotH * v) / top;
      const y = PAD.top + plotH - (plotH * base) / top - h;
      base += v;
      return html`<rect class="s-${o.series[k]!.key}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}"><title>${b.label}: ${o.series[k]!.label} ${v}</title></rect>`;
    })}</g>`;
  });
  const labels = o.buckets.flatMap((b, i) => (i % o.labelEvery === 0 ? [{ x: PAD.left + i * step + step / 2, text: b.short }] : []));
  return html`<figure class="chart-box">${frame(o.id, o.title, o.desc, html`${bars}`, top, ticks, labels)}${legend(o.series)}
${dataTable(c, o.id, o.title, o.head, o.series, o.buckets.map((b) => ({ label: b.label, values: b.values })))}</figure>`;
}

/** One line over time (enabled users). */
export function lineChart(c: PageCtx, o: { id: string; title: string; desc: string; head: string; series: Series; points: { label: string; short: string; value: number }[]; labelEvery: number }): Html {
  const max = Math.max(0, ...o.points.map((p) => p.value));
  const { top, ticks } = scale(max);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(1, o.points.length - 1);
  const xy = o.points.map((p, i) => [PAD.left + i * step, PAD.top + plotH * (1 - p.value / top)] as const);
  const line = html`<polyline class="line s-${o.series.key}" points="${xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"></polyline>`;
  const labels = o.points.flatMap((p, i) => (i % o.labelEvery === 0 ? [{ x: PAD.left + i * step, text: p.short }] : []));
  return html`<figure class="chart-box">${frame(o.id, o.title, o.desc, line, top, ticks, labels)}
${dataTable(c, o.id, o.title, o.head, [o.series], o.points.map((p) => ({ label: p.label, values: [p.value] })))}</figure>`;
}
