// Cotenant console: data-sharing policies (the Grants views), permission sets, Explain, Lint.
'use strict';

(() => {
const { h, errorBox, field, check, select, button, table, badge, fmtMicros } = UI;
const { heading, section, form, submitButton } = window.ConsoleParts;

function scopeCell(scope, browseTenant) {
  if (!scope || !scope.length) return h('span', { class: 'muted', text: 'every object the user\'s roles reach' });
  return h('ul', { class: 'plain scope' }, scope.map(s => h('li', { test: 'scope' },
    browseTenant ? h('a', { href: '#/records/' + encodeURIComponent(s.object) + '/' + browseTenant, text: s.object })
      : h('strong', { text: s.object }),
    !s.rowFilter ? ' · every row'
      : /^<hidden/.test(s.rowFilter) ? h('span', { class: 'muted', text: ' · the rows a filter the publisher keeps to itself selects' })
      : [' · rows where ', h('code', { text: s.rowFilter })],
    (s.fields || []).length ? [' · fields ', h('code', { text: s.fields.join(', ') })] : ' · every field')));
}
function expiryCell(p) {
  const at = Number(p.expiresAt || 0);
  if (!at) return h('span', { class: 'muted', text: 'never' });
  return h('span', { class: at / 1000 < Date.now() ? 'bad-text' : '' }, fmtMicros(p.expiresAt), at / 1000 < Date.now() ? ' (expired)' : '');
}

// ---------------------------------------------------------------- Data-sharing policies
let policyTab = 'published';

page('policies', 'Data sharing', async main => {
  heading(main, 'Data-sharing policies', 'A policy lets a designated tenant\'s users act on this tenant\'s data as one of its users, within a scope of objects, rows and fields.');
  const tenantId = App.current;
  let users = [];
  try { users = (await Api.admin('listUsers', { tenantId })).users || []; } catch (e) { users = []; }
  const userName = id => { const u = users.find(x => String(x.id) === String(id)); return u ? u.name + ' (#' + id + ')' : 'user #' + id; };

  const tabs = h('div', { class: 'tabs', role: 'tablist', id: 'grants-tabs' });
  const pubTab = button('Who can reach my data', { id: 'tab-published', test: 'tab-published', role: 'tab' });
  const desTab = button('Whose data I can reach', { id: 'tab-designating', test: 'tab-designating', role: 'tab' });
  tabs.append(pubTab, desTab);
  const pubPanel = h('section', { id: 'panel-published', class: 'card tabpanel', role: 'tabpanel' });
  const desPanel = h('section', { id: 'panel-designating', class: 'card tabpanel', role: 'tabpanel' });
  const pubErr = errorBox('policies-published-error');
  const desErr = errorBox('policies-designating-error');
  const pubList = h('div');
  const desList = h('div');
  function showTab(t) {
    policyTab = t;
    pubTab.classList.toggle('active', t === 'published');
    desTab.classList.toggle('active', t === 'designating');
    pubTab.setAttribute('aria-selected', String(t === 'published'));
    desTab.setAttribute('aria-selected', String(t === 'designating'));
    pubPanel.hidden = t !== 'published';
    desPanel.hidden = t !== 'designating';
  }
  pubTab.addEventListener('click', () => showTab('published'));
  desTab.addEventListener('click', () => showTab('designating'));

  async function load() {
    pubErr.clear(); desErr.clear();
    try {
      const r = await Api.admin('listPolicies', { publishedBy: tenantId });
      pubList.replaceChildren(table('policies-published-table', [
        { title: 'Policy', cell: p => h('strong', { text: p.name }) },
        { title: 'Designated tenant', cell: p => p.global ? badge('global: every tenant it provides for', 'cross') : App.tenantName(p.designated) },
        { title: 'Acts as user', cell: p => userName(p.userId) },
        { title: 'Scope', cell: p => scopeCell(p.scope) },
        { title: 'Expires', cell: expiryCell },
        { title: '', cell: p => h('span', { class: 'buttons' },
          button('Edit', { class: 'small', test: 'policy-edit-' + p.name, onclick: () => editPolicy(p) }),
          button('Delete', { class: 'danger small', test: 'policy-delete-' + p.name, onclick: () => UI.confirmDialog({
            title: 'Delete policy ' + p.name + '?', message: 'The designated tenant loses access to this tenant\'s data at once.',
            action: () => Api.admin('deletePolicy', { tenantId, name: p.name }), done: load }) })) },
      ], r.policies || [], { rowTest: 'policy-row', rowAttrs: p => ({ 'data-name': p.name }), empty: 'No tenant can reach this tenant\'s data.' }));
    } catch (e) { pubErr.show(e); }
    try {
      const r = await Api.admin('listPolicies', { designating: tenantId });
      desList.replaceChildren(table('policies-designating-table', [
        { title: 'Policy', cell: p => h('strong', { text: p.name }) },
        { title: 'Publisher tenant', cell: p => h('span', null, App.tenantName(p.publisher), p.global ? [' ', badge('global', 'cross')] : null) },
        { title: 'Acts as user', cell: p => 'user #' + p.userId + ' of the publisher' },
        { title: 'Scope (open to browse)', cell: p => scopeCell(p.scope, p.publisher) },
        { title: 'Expires', cell: expiryCell },
      ], r.policies || [], { rowTest: 'policy-row', rowAttrs: p => ({ 'data-name': p.name }), empty: 'No tenant shares its data with this tenant.' }));
    } catch (e) { desErr.show(e); }
  }

  // Create / edit (publisher side).
  const formTitle = h('h2', { id: 'policy-form-title', text: 'Publish a policy' });
  const pname = h('input', { id: 'policy-name', test: 'policy-name', required: true, placeholder: 'share-with-globex' });
  const designated = h('input', { id: 'policy-designated', test: 'policy-designated', inputmode: 'numeric', placeholder: 'tenant id', list: 'tenant-ids' });
  const tenantIds = h('datalist', { id: 'tenant-ids' }, App.tenants.filter(t => String(t.id) !== tenantId).map(t => h('option', { value: String(t.id), text: t.name })));
  const global = h('input', { id: 'policy-global', test: 'policy-global', type: 'checkbox' });
  global.addEventListener('change', () => { designated.disabled = global.checked; });
  const puser = select({ id: 'policy-user', test: 'policy-user' }, users.map(u => [String(u.id), u.name + ' (#' + u.id + ', ' + u.level + ')']));
  const scopes = h('div', { id: 'policy-scopes', class: 'rows' });
  function addScopeRow(s) {
    s = s || {};
    const row = h('div', { class: 'row', test: 'scope-row' },
      field('Object', h('input', { class: 'scope-object', test: 'scope-object', value: s.object || '', placeholder: 'Customers' })),
      field('Row filter (criteria)', h('input', { class: 'scope-filter medium', test: 'scope-filter', value: s.rowFilter || '', placeholder: 'empty: every row' })),
      field('Fields (comma-separated)', h('input', { class: 'scope-fields', test: 'scope-fields', value: (s.fields || []).join(', '), placeholder: 'empty: every field' })),
      button('Remove', { class: 'link', onclick: () => row.remove() }));
    scopes.append(row);
  }
  const expires = h('input', { id: 'policy-expires', test: 'policy-expires', type: 'datetime-local' });
  const perr = errorBox('policy-error');
  const pok = h('div', { id: 'policy-result', class: 'ok', hidden: true });
  const save = submitButton('policy-save', 'Publish policy');
  const cancel = button('Cancel edit', { id: 'policy-cancel', test: 'policy-cancel', hidden: true });
  let editing = null;
  function resetForm() {
    editing = null;
    formTitle.textContent = 'Publish a policy';
    save.textContent = 'Publish policy';
    cancel.hidden = true;
    pname.value = ''; pname.disabled = false;
    designated.value = ''; designated.disabled = false;
    global.checked = false; global.disabled = false;
    expires.value = '';
    scopes.replaceChildren();
    addScopeRow();
  }
  function editPolicy(p) {
    editing = p;
    formTitle.textContent = 'Edit policy ' + p.name;
    save.textContent = 'Save policy';
    cancel.hidden = false;
    pname.value = p.name; pname.disabled = true;
    designated.value = p.global ? '' : String(p.designated); designated.disabled = true;
    global.checked = !!p.global; global.disabled = true;
    puser.value = String(p.userId);
    expires.value = UI.microsToLocal(p.expiresAt);
    scopes.replaceChildren();
    (p.scope && p.scope.length ? p.scope : [{}]).forEach(addScopeRow);
    perr.clear(); pok.hidden = true;
    formTitle.scrollIntoView({ block: 'nearest' });
  }
  cancel.addEventListener('click', resetForm);
  resetForm();

  main.append(tabs, pubPanel, desPanel);
  pubPanel.append(h('h2', { text: 'Who can reach my data' }),
    h('p', { class: 'muted', text: 'Policies ' + App.tenantLabel(tenantId) + ' published: the tenants admitted, as which user, with what scope.' }),
    pubErr, pubList,
    h('div', { class: 'subcard' }, formTitle, form('policy-form', async () => {
      perr.clear(); pok.hidden = true;
      const scope = [...scopes.querySelectorAll('[data-test=scope-row]')].map(r => ({
        object: r.querySelector('.scope-object').value.trim(),
        rowFilter: r.querySelector('.scope-filter').value.trim(),
        fields: UI.ids(r.querySelector('.scope-fields').value),
      })).filter(s => s.object);
      const policy = { name: pname.value.trim(), userId: puser.value || '0', scope, expiresAt: UI.localToMicros(expires.value) };
      if (global.checked) policy.global = true; else policy.designated = designated.value.trim() || '0';
      save.disabled = true;
      try {
        const r = await Api.admin(editing ? 'updatePolicy' : 'createPolicy', { tenantId, policy });
        pok.textContent = (editing ? 'Saved' : 'Published') + ' policy ' + r.policy.name + '.';
        pok.hidden = false;
        resetForm();
        await load();
      } catch (e) { perr.show(e); } finally { save.disabled = false; }
    }, h('div', { class: 'row' }, field('Name', pname), field('Designated tenant', designated), tenantIds,
        check('Global (ISVs and MSPs: every tenant they provide for)', global)),
      h('div', { class: 'row' }, field('Acts as user', puser), field('Expires (empty: never)', expires)),
      h('h3', { text: 'Scope' }), h('p', { class: 'muted', text: 'No object listed: every object the user\'s roles reach.' }), scopes,
      button('Add an object', { id: 'policy-add-scope', test: 'policy-add-scope', class: 'small', onclick: () => addScopeRow() }),
      perr, pok, h('div', { class: 'actions' }, save, cancel))));
  desPanel.append(h('h2', { text: 'Whose data I can reach' }),
    h('p', { class: 'muted', text: 'Policies of other tenants designating ' + App.tenantLabel(tenantId) + ' (global policies of its providers included). Open an object to browse it.' }),
    desErr, desList);
  showTab(policyTab);
  await load();
});

// ---------------------------------------------------------------- Permission sets, Explain, Lint
const COMMON_APIS = ['getRecord', 'getRecords', 'searchRecords', 'addRecord', 'addRecords', 'updateRecord', 'deleteRecord',
  'describeObject', 'upsertRecord', 'createObject', 'createUser', 'createPolicy', 'deletePolicy', 'queryAudit', 'usage'];

page('permsets', 'Permission sets', async main => {
  heading(main, 'Permission sets', 'API-level allow and deny rules: any matching deny denies; else a matching allow allows; else the call is denied.');
  const listErr = errorBox('permsets-error');
  const list = h('div', { id: 'permsets-list' });

  async function load() {
    listErr.clear();
    let sets;
    try { sets = (await Api.admin('listPermissionSets')).sets || []; } catch (e) { listErr.show(e); return; }
    list.replaceChildren(table('permsets-table', [
      { title: 'Set', cell: s => h('strong', { text: s.name }) },
      { title: 'Applies to', cell: s => s.systemScope ? 'every user' : 'users ' + (s.users || []).map(u => '#' + u).join(', ') },
      { title: 'Tenants', cell: s => s.allTenants ? 'every tenant' : (s.tenants || []).map(t => App.tenantName(t)).join(', ') || 'none' },
      { title: 'Rules (in order)', cell: s => h('ol', { class: 'rules' }, (s.policies || []).map(p => h('li', null,
          badge(p.effect, p.effect === 'deny' ? 'bad' : 'good'), ' resource ', h('code', { text: p.resourceTypeRegex || '.*' }),
          ' api ', h('code', { text: p.apiNameRegex || '.*' }), ' method ', h('code', { text: p.methodRegex || '.*' })))) },
      { title: '', cell: s => App.isSys ? button('Delete', { class: 'danger small', test: 'permset-delete-' + s.name,
          onclick: () => UI.confirmDialog({ title: 'Delete permission set ' + s.name + '?', message: 'Its rules stop applying at once.',
            action: () => Api.admin('deletePermissionSet', { name: s.name }), done: reload }) }) : '' },
    ], sets, { rowTest: 'permset-row', rowAttrs: s => ({ 'data-name': s.name }), empty: 'No permission sets.' }));
  }

  // Create.
  const sname = h('input', { id: 'permset-name', test: 'permset-name', required: true, placeholder: 'no-deletes' });
  const system = h('input', { id: 'permset-system', test: 'permset-system', type: 'checkbox', checked: true });
  const users = h('input', { id: 'permset-users', test: 'permset-users', placeholder: 'user ids, comma-separated' });
  const allTenants = h('input', { id: 'permset-all-tenants', test: 'permset-all-tenants', type: 'checkbox', checked: true });
  const tenants = h('input', { id: 'permset-tenants', test: 'permset-tenants', placeholder: 'tenant ids, comma-separated' });
  const syncScope = () => { users.disabled = system.checked; tenants.disabled = allTenants.checked; };
  system.addEventListener('change', syncScope);
  allTenants.addEventListener('change', syncScope);
  syncScope();
  const rules = h('div', { id: 'permset-rules', class: 'rows' });
  function addRule() {
    const row = h('div', { class: 'row', test: 'rule-row' },
      field('Effect', select({ class: 'rule-effect', test: 'rule-effect' }, ['allow', 'deny'])),
      field('Resource regex', h('input', { class: 'rule-resource', test: 'rule-resource', value: '.*', placeholder: 'records/Customers' })),
      field('API regex', h('input', { class: 'rule-api', test: 'rule-api', value: '.*', placeholder: 'deleteRecord' })),
      field('Method regex', h('input', { class: 'rule-method', test: 'rule-method', value: '.*', placeholder: 'GET|POST' })),
      button('Remove', { class: 'link', onclick: () => row.remove() }));
    rules.append(row);
  }
  addRule();
  const cerr = errorBox('permset-error');
  const create = submitButton('permset-create', 'Create permission set');

  // Explain.
  const euser = h('input', { id: 'explain-user', test: 'explain-user', inputmode: 'numeric', placeholder: 'user id (empty: you)' });
  const etenant = h('input', { id: 'explain-tenant', test: 'explain-tenant', inputmode: 'numeric', placeholder: 'tenant id (empty: the caller\'s own)' });
  const eapi = h('input', { id: 'explain-api', test: 'explain-api', list: 'api-names', value: 'getRecord', required: true });
  const apiNames = h('datalist', { id: 'api-names' }, COMMON_APIS.map(a => h('option', { value: a })));
  const eobject = h('input', { id: 'explain-object', test: 'explain-object', placeholder: 'record calls: the object' });
  const eerr = errorBox('explain-error');
  const eresult = h('div', { id: 'explain-result', test: 'explain-result', hidden: true });

  function showExplanation(x) {
    const denied = !x.allowed;
    const row = (k, v) => v || v === 0 ? [h('dt', { text: k }), h('dd', null, v)] : null;
    // The deciding set and rule; when the answer leaves them unset, the first set considered
    // whose rules matched the way the verdict went.
    let set = x.decidingSet, rule = x.decidingPolicy, derived = false;
    if (!set) {
      const key = denied ? 'matchedDeny' : 'matchedAllow';
      const c = (x.permissionSets || []).find(c => (c[key] || []).length);
      if (c) { set = c.name; rule = c[key][0]; derived = true; }
    }
    eresult.replaceChildren(
      h('div', { id: 'explain-verdict', test: 'explain-verdict', class: 'verdict ' + (denied ? 'denied' : 'allowed') },
        denied ? 'Denied — ' + x.code + (x.message ? ': ' + x.message : '') : 'Allowed'),
      h('dl', { class: 'facts' },
        row('Context', x.contextPath),
        row('Data-sharing policy', x.policy),
        row('Runs as', x.principal && x.principal !== '0' ? 'user #' + x.principal : ''),
        row('Deciding set', set ? h('span', { id: 'explain-deciding' }, h('strong', { text: set }),
          rule ? ', rule ' + rule : '', derived ? h('span', { class: 'muted', text: ' (from the sets considered)' }) : null)
          : h('span', { id: 'explain-deciding', text: 'no rule matched (default deny)' })),
        row('Role rights', x.roleRights),
        row('Scope', x.scope)),
      (x.permissionSets || []).length ? h('div', null, h('h3', { text: 'Sets considered' }), table('explain-sets', [
        { title: 'Set', cell: c => c.name },
        { title: 'For user', cell: c => '#' + c.forUser },
        { title: 'Matched allow rules', cell: c => (c.matchedAllow || []).join(', ') || '—' },
        { title: 'Matched deny rules', cell: c => (c.matchedDeny || []).join(', ') || '—' },
      ], x.permissionSets)) : null,
      h('h3', { text: 'Step by step' }),
      h('ol', { id: 'explain-steps', test: 'explain-steps', class: 'steps' }, (x.steps || []).map(s => h('li', { text: s }))));
    eresult.hidden = false;
  }

  // Lint.
  const lintErr = errorBox('lint-error');
  const lintBox = h('div', { id: 'lint-results' });
  const lintRun = button('Run lint', { id: 'lint-run', test: 'lint-run' });
  async function lint() {
    lintErr.clear();
    try {
      const r = await Api.admin('lintPermissionSets');
      const f = r.findings || [];
      lintBox.replaceChildren(h('p', { id: 'lint-summary', class: f.length ? 'bad-text' : 'ok-text',
        text: f.length ? f.length + ' finding' + (f.length === 1 ? '' : 's') + '.' : 'No findings: every set can match and reaches its users.' }),
        f.length ? table('lint-table', [
          { title: 'Set', cell: x => h('strong', { text: x.set }) },
          { title: 'Rule', cell: x => x.policy ? String(x.policy) : 'the set' },
          { title: 'Kind', cell: x => badge(x.kind, 'warn') },
          { title: 'Finding', cell: x => x.message },
        ], f, { rowTest: 'lint-row' }) : null);
    } catch (e) { lintErr.show(e); }
  }
  lintRun.addEventListener('click', lint);
  // After a change the findings may change too.
  const reload = () => Promise.all([load(), lint()]);

  main.append(section('Permission sets', listErr, list));
  if (App.isSys) {
    main.append(section('Create a permission set', form('permset-form', async () => {
      cerr.clear();
      const set = {
        name: sname.value.trim(), systemScope: system.checked, allTenants: allTenants.checked,
        users: system.checked ? [] : UI.ids(users.value), tenants: allTenants.checked ? [] : UI.ids(tenants.value),
        policies: [...rules.querySelectorAll('[data-test=rule-row]')].map(r => ({
          effect: r.querySelector('.rule-effect').value, resourceTypeRegex: r.querySelector('.rule-resource').value,
          apiNameRegex: r.querySelector('.rule-api').value, methodRegex: r.querySelector('.rule-method').value })),
      };
      create.disabled = true;
      try {
        await Api.admin('createPermissionSet', set);
        sname.value = '';
        await reload();
      } catch (e) { cerr.show(e); } finally { create.disabled = false; }
    }, field('Name', sname),
      h('div', { class: 'row' }, check('Every user', system), field('Or these users', users)),
      h('div', { class: 'row' }, check('Every tenant', allTenants), field('Or these tenants', tenants)),
      h('h3', { text: 'Rules' }), rules,
      button('Add a rule', { id: 'permset-add-rule', test: 'permset-add-rule', class: 'small', onclick: addRule }),
      cerr, create)));
  }
  main.append(
    section('Explain a call', h('p', { class: 'muted', text: 'Decide a call without making it: how its tenant context resolves, which permission set and rule decide, the role rights and the policy scope.' }),
      form('explain-form', async () => {
        eerr.clear(); eresult.hidden = true;
        const req = { userId: euser.value.trim() || '0', tenantId: etenant.value.trim() || '0', api: eapi.value.trim(), object: eobject.value.trim() };
        try { showExplanation((await Api.admin('explain', req)).explanation || {}); } catch (e) { eerr.show(e); }
      }, h('div', { class: 'row' }, field('User', euser), field('Tenant named', etenant), field('API', eapi), apiNames, field('Object', eobject),
        h('div', { class: 'field end' }, submitButton('explain-submit', 'Explain'))), eerr), eresult),
    section('Lint', h('p', { class: 'muted', text: 'Sets and rules that never match, rules a deny shadows, sets that reach no user.' }),
      lintRun, lintErr, lintBox));
  await load();
  if (App.isSys) await lint();
});
})();
