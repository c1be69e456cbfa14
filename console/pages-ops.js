// Cotenant console: the audit log and usage with its charts (inline SVG built here).
'use strict';

(() => {
const { h, s, errorBox, field, select, button, table, badge, fmtMicros } = UI;
const { heading, section, form, submitButton } = window.ConsoleParts;

// ---------------------------------------------------------------- Audit log
const OUTCOMES = ['OK', 'PermissionDenied', 'NotFound', 'InvalidArgument', 'Conflict', 'ResourceExhausted', 'Unauthenticated', 'Internal', 'Busy', 'Unavailable'];

page('audit', 'Audit log', async main => {
  heading(main, 'Audit log', 'Calls made through tenant contexts (in both tenants\' logs) and administrative changes of ' + App.tenantLabel(App.current) + '.');
  const tenantId = App.current;
  const direction = select({ id: 'audit-direction', test: 'audit-direction' },
    [['', 'any'], ['in', 'in: other tenants\' calls into this tenant'], ['out', 'out: this tenant\'s calls into others']]);
  const caller = h('input', { id: 'audit-caller', test: 'audit-caller', inputmode: 'numeric', placeholder: 'any' });
  const outcome = select({ id: 'audit-outcome', test: 'audit-outcome' }, [['', 'any'], ...OUTCOMES.map(o => [o, o])]);
  const from = h('input', { id: 'audit-from', test: 'audit-from', type: 'datetime-local' });
  const to = h('input', { id: 'audit-to', test: 'audit-to', type: 'datetime-local' });
  const limit = h('input', { id: 'audit-limit', test: 'audit-limit', type: 'number', min: 1, max: 10000, value: '200' });
  const err = errorBox('audit-error');
  const count = h('p', { id: 'audit-count', class: 'muted' });
  const results = h('div', { id: 'audit-results' });

  async function load() {
    err.clear();
    const q = { tenantId, direction: direction.value, callerTenant: caller.value.trim() || '0', outcome: outcome.value,
      from: UI.localToMicros(from.value), to: UI.localToMicros(to.value), limit: parseInt(limit.value, 10) || 0 };
    let entries;
    try { entries = (await Api.admin('queryAudit', q)).entries || []; } catch (e) { err.show(e); return; }
    entries = entries.slice().reverse();   // newest first on screen
    count.textContent = entries.length + ' entr' + (entries.length === 1 ? 'y' : 'ies') + ', newest first.';
    const tid = String(tenantId);
    results.replaceChildren(table('audit-table', [
      { title: 'Time', cell: e => fmtMicros(e.time) },
      { title: 'Direction', cell: e => String(e.callerTenant) !== tid ? badge('in', 'cross') : String(e.targetTenant) !== tid ? badge('out', 'cross') : badge('own', '') },
      { title: 'Caller', cell: e => 'user #' + e.callerUser + ' of ' + App.tenantName(e.callerTenant) },
      { title: 'Ran as', cell: e => 'user #' + e.principal },
      { title: 'Target tenant', cell: e => App.tenantName(e.targetTenant) },
      { title: 'API', cell: e => h('code', { text: e.api }) },
      { title: 'Object', cell: e => e.object + (e.recordId && e.recordId !== '0' ? ' #' + e.recordId : '') },
      { title: 'Outcome', cell: e => badge(e.outcome, e.outcome === 'OK' ? 'good' : 'bad') },
      { title: 'Detail', cell: e => e.detail },
    ], entries, { rowTest: 'audit-row', empty: 'No entry matches.' }));
  }
  main.append(section('Filters', form('audit-form', load,
    h('div', { class: 'row' }, field('Direction', direction), field('Caller tenant', caller), field('Outcome', outcome)),
    h('div', { class: 'row' }, field('From', from), field('To', to), field('Limit (newest)', limit),
      h('div', { class: 'field end' }, submitButton('audit-submit', 'Show entries'))), err)),
  section('Entries', count, results));
  await load();
});

// ---------------------------------------------------------------- Usage
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

// The top of the y axis: 4, 8, 10, 20, 40, 80, 100, ... so that its 4 ticks are whole numbers.
function niceMax(v) {
  if (v <= 4) return 4;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 4, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
function fmtTime(sec) {
  return new Date(sec * 1000).toISOString().substr(11, 8);
}

// A line chart: series [{name, color, points: [[seconds, value]]}].
function lineChart(id, title, series, fmt) {
  fmt = fmt || (v => String(Math.round(v * 100) / 100));
  const W = 560, H = 200, L = 64, R = 12, T = 14, B = 26;
  const all = series.flatMap(x => x.points);
  const xs = all.map(p => p[0]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const ymax = niceMax(Math.max(0, ...all.map(p => p[1])));
  const X = t => L + (x1 === x0 ? (W - L - R) : (t - x0) / (x1 - x0) * (W - L - R));
  const Y = v => T + (H - T - B) * (1 - v / ymax);
  const svg = s('svg', { id, class: 'chart', test: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title });
  svg.append(s('title', { text: title }));
  for (let i = 0; i <= 4; i++) {
    const v = ymax * i / 4;
    svg.append(s('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: 'gridline' }),
      s('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'axis', text: fmt(v) }));
  }
  if (all.length) {
    svg.append(s('text', { x: L, y: H - 6, class: 'axis', text: fmtTime(x0) }),
      s('text', { x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis', text: fmtTime(x1) }));
  } else {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis', text: 'no samples yet' }));
  }
  for (const ser of series) {
    if (!ser.points.length) continue;
    svg.append(s('polyline', { class: 'series', fill: 'none', stroke: ser.color, 'stroke-width': 2,
      points: ser.points.map(p => X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1)).join(' '), 'data-series': ser.name }));
    for (const p of ser.points) {
      svg.append(s('circle', { class: 'point', test: 'point', cx: X(p[0]).toFixed(1), cy: Y(p[1]).toFixed(1), r: ser.points.length > 60 ? 1.5 : 2.5, fill: ser.color },
        s('title', { text: ser.name + ' at ' + fmtTime(p[0]) + ': ' + fmt(p[1]) })));
    }
  }
  const legend = series.length > 1 ? h('div', { class: 'legend' }, series.map(x => h('span', { class: 'legend-item' },
    swatch(x.color), x.name))) : null;
  return h('figure', { class: 'chart-box', test: 'chart-' + id }, h('figcaption', { text: title }), svg, legend);
}
function swatch(color) {
  const sw = h('span', { class: 'swatch' });
  sw.style.backgroundColor = color;   // set from JS: the CSP forbids inline style attributes
  return sw;
}

page('usage', 'Usage', async main => {
  heading(main, 'Usage', 'Metering of ' + App.tenantLabel(App.current) + ': the tenant is the unit of usage and billing. Refreshed every few seconds while this page is open.');
  const tenantId = App.current;
  const err = errorBox('usage-error');
  const figures = h('div', { id: 'usage-figures', class: 'figures' });
  const callsBox = h('div', { id: 'usage-calls' });
  const charts = h('div', { id: 'usage-charts', class: 'charts' });
  const updated = h('span', { id: 'usage-updated', class: 'muted' });
  const auto = h('input', { id: 'usage-auto', test: 'usage-auto', type: 'checkbox', checked: true });
  const refresh = button('Refresh now', { id: 'usage-refresh', test: 'usage-refresh', class: 'small' });

  const figure = (id, label, value) => h('div', { class: 'figure' }, h('div', { class: 'value', id, test: id, text: value }), h('div', { class: 'label', text: label }));
  let busy = false;
  async function load() {
    if (busy || !main.isConnected) return;
    busy = true;
    try {
      const [u, hist] = await Promise.all([Api.admin('usage', { tenantId }), Api.admin('usageHistory', { tenantId })]);
      err.clear();
      const usage = u.usage || {};
      const calls = (usage.calls || []).slice().sort((a, b) => Number(b.calls) - Number(a.calls));
      const total = calls.reduce((a, c) => a + Number(c.calls), 0);
      const q = usage.quota || {};
      const quota = (v, unit) => v && v !== '0' ? ' of ' + (unit ? UI.fmtBytes(v) : v) : '';
      figures.replaceChildren(
        figure('usage-records', 'records stored' + quota(q.records), String(usage.records || 0)),
        figure('usage-bytes', 'stored' + quota(q.bytes, true), UI.fmtBytes(usage.bytes)),
        figure('usage-calls-total', 'calls by its users', String(total)),
        figure('usage-served', 'calls served to other tenants', String(usage.servedToOthers || 0)),
        figure('usage-consumed', 'calls into other tenants', String(usage.consumedFromOthers || 0)));
      callsBox.replaceChildren(table('usage-calls-table', [
        { title: 'API', cell: c => h('code', { text: c.api }) },
        { title: 'Calls', cell: c => String(c.calls), class: 'num' },
      ], calls, { rowTest: 'usage-call-row', empty: 'No calls yet.' }));

      const samples = hist.samples || [];
      const pts = f => samples.map(x => [Number(x.at), f(x)]);
      const apis = [...new Set(samples.flatMap(x => (x.calls || []).map(c => c.api)))].sort();
      const callsOf = (x, api) => { const c = (x.calls || []).find(y => y.api === api); return c ? Number(c.calls) : 0; };
      charts.replaceChildren(
        lineChart('chart-records', 'Records', [{ name: 'records', color: PALETTE[0], points: pts(x => Number(x.records)) }]),
        lineChart('chart-bytes', 'Bytes stored', [{ name: 'bytes', color: PALETTE[1], points: pts(x => Number(x.bytes)) }], v => UI.fmtBytes(Math.round(v))),
        lineChart('chart-calls', 'Calls (all APIs)', [{ name: 'calls', color: PALETTE[2], points: pts(x => (x.calls || []).reduce((a, c) => a + Number(c.calls), 0)) }]),
        lineChart('chart-sharing', 'Served to others and consumed from others', [
          { name: 'served to others', color: PALETTE[3], points: pts(x => Number(x.servedToOthers)) },
          { name: 'consumed from others', color: PALETTE[4], points: pts(x => Number(x.consumedFromOthers)) }]),
        lineChart('chart-apis', 'Calls by API', apis.map((a, i) => ({ name: a, color: PALETTE[i % PALETTE.length], points: pts(x => callsOf(x, a)) }))));
      updated.textContent = 'Updated ' + new Date().toLocaleTimeString() + ' · ' + samples.length + ' samples, one every ' + hist.intervalSeconds + ' s';
    } catch (e) {
      err.show(e);
    } finally {
      busy = false;
    }
  }
  refresh.addEventListener('click', load);
  App.every(3000, () => { if (auto.checked) load(); });
  main.append(h('div', { class: 'toolbar' }, UI.check('Refresh automatically', auto), refresh, updated), err,
    section('Now', figures), section('Over time', charts), section('Calls by API, now', callsBox));
  await load();
});
})();
