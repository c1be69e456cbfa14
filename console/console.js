// Cotenant console: login, layout and hash routing. The pages are in pages*.js.
'use strict';

const App = {
  me: null,            // the logged-in user (whoami)
  isSys: false,        // a system admin: sees every tenant, picks the one to manage
  tenants: [],         // listTenants, for names and the picker
  current: null,       // the tenant the pages manage (a decimal string)
  timers: [],          // cleared when the page changes

  // "acme (#2)" for a tenant the user may list, else "tenant #2" (tenant admins list only their own).
  tenantName(id) {
    const t = App.tenants.find(x => String(x.id) === String(id));
    return t ? t.name + ' (#' + t.id + ')' : 'tenant #' + id;
  },
  tenantLabel(id) {
    const t = App.tenants.find(x => String(x.id) === String(id));
    return t ? 'tenant ' + t.name + ' (#' + t.id + ')' : 'tenant #' + id;
  },
  async refreshTenants() {
    try {
      App.tenants = (await Api.admin('listTenants')).tenants || [];
    } catch (e) {
      App.tenants = [];
    }
    renderTenantPicker();
  },
  every(ms, fn) { App.timers.push(setInterval(fn, ms)); },
};

const PAGES = [];   // {route, title, sysOnly, render(main, arg)}
function page(route, title, render, opts) {
  PAGES.push(Object.assign({ route, title, render }, opts || {}));
}

const { h } = UI;

function renderLogin(message) {
  const app = document.getElementById('app');
  app.className = 'login-layout';
  app.replaceChildren();
  const tenant = h('input', { id: 'login-tenant', test: 'login-tenant', inputmode: 'numeric',
    autocomplete: 'username', required: true, placeholder: 'e.g. 1' });
  const key = h('input', { id: 'login-key', test: 'login-key', type: 'password',
    autocomplete: 'current-password', required: true, placeholder: 'ck_...' });
  const err = UI.errorBox('login-error');
  const submit = h('button', { id: 'login-submit', test: 'login-submit', type: 'submit' }, 'Log in');
  const form = h('form', { id: 'login-form', class: 'card login' },
    h('div', { class: 'brand' }, h('img', { src: 'logo.svg', alt: '' }), h('span', { text: 'Cotenant console' })),
    h('p', { class: 'muted', text: 'Log in with your tenant id and an API key of a tenant admin or system admin.' }),
    UI.field('Tenant id', tenant), UI.field('API key', key), err, submit);
  if (message) err.show(message);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    err.clear();
    const creds = { tenant: tenant.value.trim(), key: key.value.trim() };
    if (!/^\d+$/.test(creds.tenant)) { err.show('The tenant id is a number.'); return; }
    submit.disabled = true;
    try {
      const r = await Api.whoami(creds);
      Api.saveCredentials(creds.tenant, creds.key);
      await start(r.user);
    } catch (ex) {
      err.show(ex);
    } finally {
      submit.disabled = false;
    }
  });
  app.append(form);
  tenant.focus();
}

function logout(message) {
  Api.clear();
  App.me = null;
  App.timers.forEach(clearInterval);
  App.timers = [];
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  renderLogin(message);
}

function renderTenantPicker() {
  const slot = document.getElementById('tenant-slot');
  if (!slot || !App.me) return;
  slot.replaceChildren();
  if (!App.isSys) {
    slot.append(h('span', { id: 'current-tenant', class: 'tenant-label', text: 'Tenant ' + App.tenantName(App.current) }));
    return;
  }
  const options = App.tenants.map(t => [String(t.id), t.name + ' (#' + t.id + ', ' + t.kind + ')']);
  if (!options.find(o => o[0] === App.current)) options.unshift([App.current, '#' + App.current]);
  const sel = UI.select({ id: 'tenant-picker', test: 'tenant-picker', 'aria-label': 'Tenant to manage' },
    options, App.current);
  sel.addEventListener('change', () => {
    App.current = sel.value;
    Api.setCurrentTenant(sel.value);
    route();
  });
  slot.append(h('label', { class: 'picker' }, h('span', { text: 'Managing tenant' }), sel));
}

function renderShell() {
  const app = document.getElementById('app');
  app.className = 'shell';
  app.replaceChildren();
  const nav = h('nav', { id: 'nav' });
  for (const p of PAGES) {
    if (p.hidden || (p.sysOnly && !App.isSys)) continue;
    nav.append(h('a', { href: '#/' + p.route, id: 'nav-' + p.route, test: 'nav-' + p.route, text: p.title }));
  }
  const who = h('span', { id: 'whoami', class: 'whoami', test: 'whoami',
    text: App.me.name + ' · ' + App.me.level + ' · tenant #' + App.me.tenantId });
  const out = UI.button('Log out', { id: 'logout', test: 'logout' });
  out.addEventListener('click', () => logout());
  app.append(
    h('header', null,
      h('a', { class: 'brand', href: '#/' }, h('img', { src: 'logo.svg', alt: '' }), h('span', { text: 'Cotenant' })),
      h('div', { id: 'tenant-slot' }), h('div', { class: 'spacer' }), who, out),
    nav, h('main', { id: 'main' }));
  renderTenantPicker();
}

async function start(user) {
  App.me = user;
  App.isSys = user.level === 'systemAdmin';
  App.current = (App.isSys && Api.currentTenant()) || String(user.tenantId);
  renderShell();
  await App.refreshTenants();
  route();
}

function defaultRoute() { return App.isSys ? 'tenants' : 'objects'; }

function route() {
  if (!App.me) return;
  App.timers.forEach(clearInterval);
  App.timers = [];
  const path = (location.hash || '').replace(/^#\/?/, '');
  const [name, ...rest] = path.split('/');
  let p = PAGES.find(x => x.route === name && (!x.sysOnly || App.isSys));
  if (!p) {
    location.replace('#/' + defaultRoute());
    return;
  }
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.id === 'nav-' + (p.navAs || p.route));
  }
  const old = document.getElementById('main');
  const main = h('main', { id: 'main', test: 'page-' + p.route });
  old.replaceWith(main);
  document.title = p.title + ' · Cotenant console';
  Promise.resolve(p.render(main, rest.map(decodeURIComponent))).catch(e => {
    main.append(h('div', { class: 'error', role: 'alert', text: String(e) }));
  });
}

window.addEventListener('hashchange', route);
Api.onUnauthenticated.push(err => logout(err));

window.addEventListener('DOMContentLoaded', async () => {
  const creds = Api.credentials();
  if (!creds) { renderLogin(); return; }
  try {
    const r = await Api.whoami(creds);
    await start(r.user);
  } catch (e) {
    if (e.status === 401) logout(e); else renderLogin(e);
  }
});
