// Cotenant console: small DOM helpers (no inline handlers or styles: the CSP forbids them).
'use strict';

const UI = (() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';

  function setAttrs(e, attrs, svg) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') svg ? e.setAttribute('class', v) : (e.className = v);
      else if (k === 'test') e.setAttribute('data-test', v);
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'value') e.value = v;
      else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') e[k] = !!v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(e, kids) {
    for (const kid of kids.flat(Infinity)) {
      if (kid === undefined || kid === null || kid === false) continue;
      e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
  }
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs, false);
    append(e, kids);
    return e;
  }
  function s(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs, true);
    append(e, kids);
    return e;
  }

  // An inline error box: hidden until show(err).
  function errorBox(id) {
    const box = h('div', { id, class: 'error', role: 'alert', test: 'error', hidden: true });
    box.show = err => {
      box.textContent = err && err.code ? err.code + ': ' + err.message : String(err);
      box.hidden = false;
    };
    box.clear = () => { box.textContent = ''; box.hidden = true; };
    return box;
  }
  function note(id, text) { return h('div', { id, class: 'note', text }); }

  function field(label, input, hint) {
    return h('label', { class: 'field' }, h('span', { class: 'label', text: label }), input,
      hint ? h('span', { class: 'hint', text: hint }) : null);
  }
  function check(label, input) {
    return h('label', { class: 'check' }, input, h('span', { text: label }));
  }
  function select(attrs, options, value) {
    const sel = h('select', attrs);
    for (const o of options) {
      const [v, t] = Array.isArray(o) ? o : [o, o];
      sel.append(h('option', { value: v, text: t }));
    }
    if (value !== undefined) sel.value = value;
    return sel;
  }
  function button(text, attrs) {
    return h('button', Object.assign({ type: 'button' }, attrs || {}), text);
  }

  // A table: columns [{title, cell: row => Node|string}]; rows get data-test rowTest.
  function table(id, columns, rows, opts) {
    opts = opts || {};
    const t = h('table', { id, class: 'grid', test: opts.test || id },
      h('thead', null, h('tr', null, columns.map(c => h('th', { text: c.title })))));
    const body = h('tbody');
    if (!rows.length) {
      body.append(h('tr', { class: 'empty' },
        h('td', { colspan: columns.length, text: opts.empty || 'Nothing here yet.' })));
    }
    for (const r of rows) {
      const tr = h('tr', { test: opts.rowTest || 'row' });
      if (opts.rowAttrs) setAttrs(tr, opts.rowAttrs(r), false);
      for (const c of columns) {
        const v = c.cell(r);
        tr.append(h('td', { class: c.class }, v));
      }
      body.append(tr);
    }
    t.append(body);
    return t;
  }

  function badge(text, kind) { return h('span', { class: 'badge ' + (kind || ''), test: 'badge', text }); }

  // Microseconds since the epoch (a decimal string) to a readable UTC time.
  function fmtMicros(us) {
    const n = Number(us || 0);
    if (!n) return '';
    return new Date(n / 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
  }
  // <input type=datetime-local> value (local time) to microseconds, as a decimal string.
  function localToMicros(v) {
    if (!v) return '0';
    const ms = new Date(v).getTime();
    return isNaN(ms) ? '0' : String(ms * 1000);
  }
  function microsToLocal(us) {
    const n = Number(us || 0);
    if (!n) return '';
    const d = new Date(n / 1000);
    const p = x => String(x).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
  }
  function fmtBytes(b) {
    let n = Number(b || 0);
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
  }
  function ids(text) {
    return String(text || '').split(/[\s,]+/).filter(Boolean);
  }

  // An in-page confirmation: a modal with a message, optionally a name to type, and an
  // action run on confirm; the action's error is shown inside the dialog.
  function confirmDialog({ title, message, expect, confirmText, action, done }) {
    const overlay = h('div', { id: 'confirm-dialog', class: 'overlay', test: 'confirm-dialog' });
    const err = errorBox('confirm-error');
    const input = expect !== undefined
      ? h('input', { id: 'confirm-input', test: 'confirm-input', autocomplete: 'off' }) : null;
    const ok = button(confirmText || 'Delete', { id: 'confirm-ok', test: 'confirm-ok', class: 'danger' });
    const cancel = button('Cancel', { id: 'confirm-cancel', test: 'confirm-cancel' });
    const close = () => { overlay.remove(); document.removeEventListener('keydown', onKey); };
    const onKey = e => { if (e.key === 'Escape') close(); };
    if (input) {
      ok.disabled = true;
      input.addEventListener('input', () => { ok.disabled = input.value !== expect; });
    }
    ok.addEventListener('click', async () => {
      ok.disabled = true;
      err.clear();
      try {
        await action();
        close();
        if (done) done();
      } catch (e) {
        err.show(e);
        ok.disabled = input ? input.value !== expect : false;
      }
    });
    cancel.addEventListener('click', close);
    document.addEventListener('keydown', onKey);
    overlay.append(h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true' },
      h('h2', { text: title }), h('p', { text: message }),
      input ? field('Type "' + expect + '" to confirm', input) : null,
      err, h('div', { class: 'actions' }, ok, cancel)));
    document.body.append(overlay);
    (input || ok).focus();
  }

  return { h, s, errorBox, note, field, check, select, button, table, badge, fmtMicros,
    localToMicros, microsToLocal, fmtBytes, ids, confirmDialog };
})();
