// Cotenant console: tenants, users and keys, roles, objects and the record browser.
'use strict';

(() => {
const { h, errorBox, field, check, select, button, table, badge, fmtMicros } = UI;

function heading(main, title, intro) {
  main.append(h('h1', { text: title }));
  if (intro) main.append(h('p', { class: 'muted intro', text: intro }));
}
function section(title, ...kids) {
  return h('section', { class: 'card' }, h('h2', { text: title }), kids);
}
function form(id, onSubmit, ...kids) {
  const f = h('form', { id, class: 'form' }, kids);
  f.addEventListener('submit', e => { e.preventDefault(); onSubmit(); });
  return f;
}
function submitButton(id, text) {
  return h('button', { id, test: id, type: 'submit' }, text);
}
window.ConsoleParts = { heading, section, form, submitButton };

// ---------------------------------------------------------------- Tenants
page('tenants', 'Tenants', async main => {
  heading(main, 'Tenants', 'Every live tenant of this installation. ISVs provide for MSPs and tenants; MSPs provide for tenants.');
  const listErr = errorBox('tenants-error');
  const list = h('div', { id: 'tenants-list' });
  const name = h('input', { id: 'tenant-name', test: 'tenant-name', required: true, placeholder: 'acme' });
  const kind = select({ id: 'tenant-kind', test: 'tenant-kind' },
    [['tenant', 'tenant (a customer)'], ['msp', 'MSP (managed service provider)'], ['isv', 'ISV (software vendor)']]);
  const provider = select({ id: 'tenant-provider', test: 'tenant-provider' }, [['0', 'none']]);
  const err = errorBox('tenant-create-error');
  const done = h('div', { id: 'tenant-create-result', class: 'ok', hidden: true });
  const create = submitButton('tenant-create', 'Create tenant');

  function fillProviders() {
    const k = kind.value;
    const ok = t => (k === 'msp' && t.kind === 'isv') || (k === 'tenant' && (t.kind === 'isv' || t.kind === 'msp'));
    const keep = provider.value;
    provider.replaceChildren(h('option', { value: '0', text: 'none' }));
    for (const t of App.tenants.filter(ok)) provider.append(h('option', { value: String(t.id), text: t.name + ' (#' + t.id + ', ' + t.kind + ')' }));
    provider.value = [...provider.options].some(o => o.value === keep) ? keep : '0';
    provider.disabled = k === 'isv';
  }
  kind.addEventListener('change', fillProviders);

  async function load() {
    listErr.clear();
    await App.refreshTenants();
    fillProviders();
    list.replaceChildren(table('tenants-table', [
      { title: 'Id', cell: t => String(t.id) },
      { title: 'Name', cell: t => t.name },
      { title: 'Kind', cell: t => badge(t.kind, 'kind-' + t.kind) },
      { title: 'Provider', cell: t => t.provider && t.provider !== '0' ? App.tenantName(t.provider) : '—' },
      { title: 'Created', cell: t => fmtMicros(t.createdAt) },
      { title: '', cell: t => t.kind === 'system' ? '' : button('Delete', {
          class: 'danger small', test: 'tenant-delete-' + t.id, id: 'tenant-delete-' + t.id,
          onclick: () => UI.confirmDialog({
            title: 'Delete tenant ' + t.name + '?',
            message: 'Tenant #' + t.id + ' and all its users, keys, objects, records and policies are deleted. Its id is never reused. This cannot be undone.',
            expect: t.name, confirmText: 'Delete tenant',
            action: () => Api.admin('deleteTenant', { tenantId: t.id }),
            done: load,
          }) }) },
    ], App.tenants, { rowTest: 'tenant-row', rowAttrs: t => ({ 'data-id': t.id }) }));
  }

  main.append(section('All tenants', listErr, list),
    section('Create a tenant', form('tenant-form', async () => {
      err.clear(); done.hidden = true;
      create.disabled = true;
      try {
        const r = await Api.admin('createTenant', { name: name.value.trim(), kind: kind.value, provider: provider.value || '0' });
        done.textContent = 'Created tenant ' + r.tenant.name + ' with id ' + r.tenant.id + '.';
        done.hidden = false;
        name.value = '';
        await load();
      } catch (e) { err.show(e); } finally { create.disabled = false; }
    }, h('div', { class: 'row' }, field('Name', name), field('Kind', kind), field('Provider', provider)), err, done, create)));
  try { await load(); } catch (e) { listErr.show(e); }
}, { sysOnly: true });

// ---------------------------------------------------------------- Users and keys
page('users', 'Users and keys', async main => {
  heading(main, 'Users and keys', 'Users of ' + App.tenantLabel(App.current) + '. An API key is shown once, when it is made: only its hash is kept.');
  const tenantId = App.current;
  const listErr = errorBox('users-error');
  const list = h('div', { id: 'users-list' });
  const keysBox = h('div', { id: 'keys-panel' });
  const newKey = h('div', { id: 'new-key-box', class: 'secret', hidden: true });
  let users = [];

  function showKey(label, key) {
    newKey.replaceChildren(h('div', { text: label + ' — copy it now, it is not shown again:' }),
      h('code', { id: 'new-api-key', test: 'new-api-key', text: key }));
    newKey.hidden = false;
  }

  async function showKeys(u) {
    const err = errorBox('keys-error');
    const body = h('div');
    const add = button('Create a key', { id: 'key-create', test: 'key-create' });
    keysBox.replaceChildren(section('Keys of ' + u.name + ' (user #' + u.id + ')', err, body, add));
    async function loadKeys() {
      err.clear();
      try {
        const r = await Api.admin('listApiKeys', { tenantId, userId: u.id });
        body.replaceChildren(table('keys-table', [
          { title: 'Key id', cell: k => h('code', { text: k.keyId }) },
          { title: 'Created', cell: k => fmtMicros(k.createdAt) },
          { title: 'State', cell: k => k.revoked ? badge('revoked', 'bad') : badge('active', 'good') },
          { title: '', cell: k => k.revoked ? '' : button('Revoke', { class: 'danger small', test: 'key-revoke-' + k.keyId,
              onclick: () => UI.confirmDialog({ title: 'Revoke key ' + k.keyId + '?',
                message: 'Every session opened with this key fails from its next call.', confirmText: 'Revoke',
                action: () => Api.admin('revokeApiKey', { tenantId, keyId: k.keyId }), done: loadKeys }) }) },
        ], r.keys || [], { rowTest: 'key-row', empty: 'No keys.' }));
      } catch (e) { err.show(e); }
    }
    add.addEventListener('click', async () => {
      err.clear();
      try {
        const r = await Api.admin('createApiKey', { tenantId, userId: u.id });
        showKey('New key of ' + u.name, r.apiKey);
        await loadKeys();
      } catch (e) { err.show(e); }
    });
    await loadKeys();
  }

  async function load() {
    listErr.clear();
    try {
      users = (await Api.admin('listUsers', { tenantId })).users || [];
    } catch (e) { listErr.show(e); return; }
    list.replaceChildren(table('users-table', [
      { title: 'Id', cell: u => String(u.id) },
      { title: 'Name', cell: u => u.name },
      { title: 'Level', cell: u => badge(u.level, 'level-' + u.level) },
      { title: 'Created', cell: u => fmtMicros(u.createdAt) },
      { title: '', cell: u => h('span', { class: 'buttons' },
          button('Keys', { class: 'small', test: 'user-keys-' + u.id, onclick: () => showKeys(u) }),
          String(u.id) === String(App.me.id) ? null : button('Delete', { class: 'danger small', test: 'user-delete-' + u.id,
            onclick: () => UI.confirmDialog({ title: 'Delete user ' + u.name + '?',
              message: 'Its keys and role memberships go too; policies naming it admit nobody until changed.',
              expect: u.name, action: () => Api.admin('deleteUser', { tenantId, userId: u.id }),
              done: () => { keysBox.replaceChildren(); load(); } }) })) },
    ], users, { rowTest: 'user-row', rowAttrs: u => ({ 'data-id': u.id }) }));
  }

  const name = h('input', { id: 'user-name', test: 'user-name', required: true, placeholder: 'ops' });
  const levels = [['user', 'user (data calls only)'], ['tenantAdmin', 'tenant admin']];
  if (App.isSys) levels.push(['systemAdmin', 'system admin']);
  const level = select({ id: 'user-level', test: 'user-level' }, levels);
  const err = errorBox('user-create-error');
  const create = submitButton('user-create', 'Create user');
  main.append(section('Users', listErr, list), newKey,
    section('Create a user', form('user-form', async () => {
      err.clear();
      create.disabled = true;
      try {
        const r = await Api.admin('createUser', { tenantId, name: name.value.trim(), level: level.value });
        showKey('API key of ' + r.user.name + ' (user #' + r.user.id + ')', r.apiKey);
        name.value = '';
        await load();
      } catch (e) { err.show(e); } finally { create.disabled = false; }
    }, h('div', { class: 'row' }, field('Name', name), field('Level', level)), err, create)),
    keysBox);
  await load();
});

// ---------------------------------------------------------------- Roles and members
function rightsText(r) {
  const names = ['read', 'add', 'update', 'delete'].filter(k => r && r[k]);
  return names.length ? names.join(', ') : 'none';
}

page('roles', 'Roles and members', async main => {
  heading(main, 'Roles and members', 'A role grants rights on objects ("*": every object not named). Members of a cross-tenant role may be users of other tenants.');
  const tenantId = App.current;
  const listErr = errorBox('roles-error');
  const list = h('div', { id: 'roles-list' });
  let roles = [];
  let userNames = {};
  const memberRole = select({ id: 'member-role', test: 'member-role' }, []);

  async function load() {
    listErr.clear();
    try {
      const [r, u] = await Promise.all([Api.admin('listRoles', { tenantId }),
        Api.admin('listUsers', { tenantId }).catch(() => ({ users: [] }))]);
      roles = r.roles || [];
      userNames = Object.fromEntries((u.users || []).map(x => [String(x.id), x.name]));
    } catch (e) { listErr.show(e); return; }
    const keep = memberRole.value;
    memberRole.replaceChildren(...roles.map(r => h('option', { value: r.name, text: r.name + (r.crossTenant ? ' (cross-tenant)' : '') })));
    if (roles.some(r => r.name === keep)) memberRole.value = keep;
    list.replaceChildren(table('roles-table', [
      { title: 'Role', cell: r => h('span', null, h('strong', { text: r.name }), r.crossTenant ? [' ', badge('cross-tenant role', 'cross')] : null) },
      { title: 'Rights', cell: r => h('ul', { class: 'plain' }, (r.rights || []).map(o =>
          h('li', null, h('code', { text: o.object }), ': ' + rightsText(o.rights)))) },
      { title: 'Members', cell: r => h('ul', { class: 'plain' }, (r.members || []).map(m => {
          const cross = String(m.tenantId) !== String(r.tenantId);
          const who = cross ? 'user #' + m.userId + ' of ' + App.tenantLabel(m.tenantId)
            : (userNames[String(m.userId)] || 'user') + ' (#' + m.userId + ')';
          return h('li', { test: 'member', class: cross ? 'cross' : '' }, who, cross ? [' ', badge('cross-tenant', 'cross')] : null, ' ',
            button('×', { class: 'link', title: 'Remove from the role', test: 'member-remove-' + r.name + '-' + m.tenantId + '-' + m.userId,
              onclick: async () => {
                listErr.clear();
                try {
                  await Api.admin('removeRoleMember', { tenantId, role: r.name, memberTenant: m.tenantId, userId: m.userId });
                  await load();
                } catch (e) { listErr.show(e); }
              } }));
        }), (r.members || []).length ? null : h('li', { class: 'muted', text: 'no members' })) },
      { title: '', cell: r => button('Delete', { class: 'danger small', test: 'role-delete-' + r.name,
          onclick: () => UI.confirmDialog({ title: 'Delete role ' + r.name + '?', message: 'Its members lose the rights it grants.',
            action: () => Api.admin('deleteRole', { tenantId, name: r.name }), done: load }) }) },
    ], roles, { rowTest: 'role-row', rowAttrs: r => ({ 'data-name': r.name }) }));
  }

  // Create a role: rows of object + rights.
  const rname = h('input', { id: 'role-name', test: 'role-name', required: true, placeholder: 'readers' });
  const cross = h('input', { id: 'role-cross', test: 'role-cross', type: 'checkbox' });
  const rows = h('div', { id: 'role-rights', class: 'rows' });
  function addRightRow() {
    const row = h('div', { class: 'row', test: 'right-row' },
      field('Object', h('input', { class: 'right-object', test: 'right-object', value: rows.children.length ? '' : '*', placeholder: 'Customers or *' })),
      ['read', 'add', 'update', 'delete'].map(k => check(k, h('input', { type: 'checkbox', class: 'right-' + k, test: 'right-' + k, checked: k === 'read' }))),
      button('Remove', { class: 'link', onclick: () => row.remove() }));
    rows.append(row);
  }
  addRightRow();
  const err = errorBox('role-create-error');
  const create = submitButton('role-create', 'Create role');

  const mtenant = h('input', { id: 'member-tenant', test: 'member-tenant', inputmode: 'numeric', placeholder: 'the role\'s own' });
  const muser = h('input', { id: 'member-user', test: 'member-user', inputmode: 'numeric', required: true, placeholder: 'user id' });
  const merr = errorBox('member-error');

  main.append(section('Roles', listErr, list),
    section('Create a role', form('role-form', async () => {
      err.clear();
      const rights = [...rows.querySelectorAll('[data-test=right-row]')].map(r => ({
        object: r.querySelector('.right-object').value.trim(),
        rights: Object.fromEntries(['read', 'add', 'update', 'delete'].map(k => [k, r.querySelector('.right-' + k).checked])),
      })).filter(x => x.object);
      create.disabled = true;
      try {
        await Api.admin('createRole', { tenantId, name: rname.value.trim(), rights, crossTenant: cross.checked });
        rname.value = '';
        await load();
      } catch (e) { err.show(e); } finally { create.disabled = false; }
    }, field('Name', rname), check('Cross-tenant: may have users of other tenants as members', cross),
      h('h3', { text: 'Rights' }), rows,
      button('Add an object', { id: 'role-add-right', test: 'role-add-right', class: 'small', onclick: addRightRow }),
      err, create)),
    section('Add a member', form('member-form', async () => {
      merr.clear();
      try {
        await Api.admin('addRoleMember', { tenantId, role: memberRole.value, memberTenant: mtenant.value.trim() || '0', userId: muser.value.trim() });
        muser.value = '';
        await load();
      } catch (e) { merr.show(e); }
    }, h('div', { class: 'row' }, field('Role', memberRole), field('Member\'s tenant', mtenant), field('User id', muser)),
      merr, submitButton('member-add', 'Add member'))));
  await load();
});

// ---------------------------------------------------------------- Objects
const FIELD_TYPES = ['text', 'int', 'float', 'bool', 'timestamp'];

page('objects', 'Objects', async main => {
  heading(main, 'Objects', 'The objects of ' + App.tenantLabel(App.current) + ' and their fields. Open an object to browse, search and change its records.');
  const tenantId = App.current;
  const listErr = errorBox('objects-error');
  const list = h('div', { id: 'objects-list' });

  async function load() {
    listErr.clear();
    let objects;
    try { objects = (await Api.admin('listObjects', { tenantId })).objects || []; } catch (e) { listErr.show(e); return; }
    if (!objects.length) { list.replaceChildren(h('p', { class: 'muted', text: 'No objects yet.' })); return; }
    list.replaceChildren(...objects.map(o => h('div', { class: 'object', test: 'object-' + o.name },
      h('div', { class: 'object-head' }, h('h3', { text: o.name }), h('span', { class: 'muted', text: 'object #' + o.id }),
        h('a', { class: 'button small', href: '#/records/' + encodeURIComponent(o.name), test: 'browse-' + o.name, id: 'browse-' + o.name, text: 'Browse records' })),
      table(null, [
        { title: 'Field', cell: f => h('code', { text: f.name }) },
        { title: 'Type', cell: f => f.type },
        { title: 'Required', cell: f => f.required ? 'yes' : '' },
        { title: 'Indexed', cell: f => f.indexed || f.unique ? 'yes' : '' },
        { title: 'Unique', cell: f => f.unique ? 'yes' : '' },
      ], o.fields || [], { test: 'fields-' + o.name, rowTest: 'field', empty: 'No fields.' }))));
  }

  const oname = h('input', { id: 'object-name', test: 'object-name', required: true, placeholder: 'Customers' });
  const rows = h('div', { id: 'object-fields', class: 'rows' });
  function addFieldRow() {
    const row = h('div', { class: 'row', test: 'field-row' },
      field('Field name', h('input', { class: 'field-name', test: 'field-name', placeholder: 'first_name' })),
      field('Type', select({ class: 'field-type', test: 'field-type' }, FIELD_TYPES)),
      check('required', h('input', { type: 'checkbox', class: 'field-required', test: 'field-required' })),
      check('indexed', h('input', { type: 'checkbox', class: 'field-indexed', test: 'field-indexed' })),
      check('unique', h('input', { type: 'checkbox', class: 'field-unique', test: 'field-unique' })),
      button('Remove', { class: 'link', onclick: () => row.remove() }));
    rows.append(row);
  }
  addFieldRow();
  const err = errorBox('object-create-error');
  const create = submitButton('object-create', 'Create object');
  main.append(section('Objects', listErr, list),
    section('Create an object', form('object-form', async () => {
      err.clear();
      const fields = [...rows.querySelectorAll('[data-test=field-row]')].map(r => ({
        name: r.querySelector('.field-name').value.trim(),
        type: r.querySelector('.field-type').value,
        required: r.querySelector('.field-required').checked,
        indexed: r.querySelector('.field-indexed').checked,
        unique: r.querySelector('.field-unique').checked,
      })).filter(f => f.name);
      create.disabled = true;
      try {
        await Api.admin('createObject', { tenantId, name: oname.value.trim(), fields });
        oname.value = '';
        rows.replaceChildren();
        addFieldRow();
        await load();
      } catch (e) { err.show(e); } finally { create.disabled = false; }
    }, field('Object name', oname), h('h3', { text: 'Fields' }), rows,
      button('Add a field', { id: 'object-add-field', test: 'object-add-field', class: 'small', onclick: addFieldRow }),
      err, create)));
  await load();
});

// ---------------------------------------------------------------- Record browser
function valueText(v, type) {
  if (!v || 'null' in v) return '';
  if ('text' in v) return v.text;
  if ('int' in v) return String(v.int);
  if ('float' in v) return String(v.float);
  if ('bool' in v) return v.bool ? 'true' : 'false';
  if ('timestamp' in v) {
    const d = new Date(Number(v.timestamp) / 1000);
    return isNaN(d) ? String(v.timestamp) : d.toISOString().replace(/\.000Z$/, 'Z');
  }
  return JSON.stringify(v);
}
// A typed-in value: text as it is; other types as text, which the server converts strictly
// (so its own error names a bad value).
function inputValue(s, type) {
  if (type === 'bool') return { bool: s === 'true' };
  return { text: s };
}

page('records', 'Records', async (main, args) => {
  const objectName = args[0] || '';
  const context = args[1] || (App.current !== String(App.me.tenantId) ? App.current : '');
  const ctxLabel = context && context !== String(App.me.tenantId) ? ' of ' + App.tenantLabel(context) : '';
  heading(main, 'Records of ' + objectName + ctxLabel,
    ctxLabel ? 'Reached through the data-sharing policy ' + App.tenantLabel(context) + ' published for your tenant: you see the rows and fields its scope allows.' : null);
  main.append(h('p', null, h('a', { href: '#/objects', text: '← Objects' })));
  const topErr = errorBox('records-error');
  main.append(topErr);
  let def;
  try { def = (await Api.describe(objectName, context)).object; } catch (e) {
    topErr.show(e);
    if (App.isSys && ctxLabel) {
      main.append(h('p', { class: 'muted', text: 'Record calls on another tenant go through that tenant\'s data-sharing policy or a cross-tenant role, for system admins too; a dump of a tenant\'s records is `cotenant tenant dump`.' }));
    }
    return;
  }
  const fields = def.fields || [];

  // Search controls.
  const criteria = h('input', { id: 'criteria', test: 'criteria', class: 'wide', placeholder: "e.g. age >= 30 and name starts with 'A'  (empty: every record)" });
  const sortField = select({ id: 'sort-field', test: 'sort-field' },
    [['', 'id'], ...fields.map(f => [f.name, f.name]), ['createdAt', 'createdAt'], ['modifiedAt', 'modifiedAt']]);
  const sortOrder = select({ id: 'sort-order', test: 'sort-order' }, [['ascending', 'ascending'], ['descending', 'descending']]);
  const pageSize = h('input', { id: 'page-size', test: 'page-size', type: 'number', min: 1, max: 1000, value: '10' });
  const searchErr = errorBox('search-error');
  const results = h('div', { id: 'records-results' });
  const prev = button('← Previous page', { id: 'page-prev', test: 'page-prev', disabled: true });
  const next = button('Next page →', { id: 'page-next', test: 'page-next', disabled: true });
  const info = h('span', { id: 'page-info', test: 'page-info', class: 'muted' });

  let tokens = [''];   // continuation of each page seen so far; tokens[i] starts page i
  let pageIdx = 0;
  let query = null;

  async function runPage() {
    searchErr.clear();
    const req = Object.assign({}, query, { continuation: tokens[pageIdx] });
    if (!req.continuation) delete req.continuation;
    let r;
    try { r = (await Api.search(req, context)).result || {}; } catch (e) { searchErr.show(e); return; }
    const recs = r.records || [];
    if (r.continuation && !r.complete) tokens[pageIdx + 1] = r.continuation; else tokens.length = pageIdx + 1;
    results.replaceChildren(table('records-table', [
      { title: 'id', cell: x => String(x.id) },
      ...fields.map(f => ({ title: f.name, cell: x => {
        const fv = (x.fields || []).find(y => y.name === f.name);
        const t = fv ? valueText(fv.value, f.type) : '';
        return t === '' ? h('span', { class: 'null', text: '—' }) : t;
      } })),
      { title: 'version', cell: x => String(x.version) },
      { title: 'modified', cell: x => fmtMicros(x.modifiedAt) },
      { title: '', cell: x => h('span', { class: 'buttons' },
        x.permissions && !x.permissions.canUpdate ? null
          : button('Edit', { class: 'small', test: 'record-edit-' + x.id, onclick: () => editRecord(x) }),
        x.permissions && !x.permissions.canDelete ? null : button('Delete', { class: 'danger small', test: 'record-delete-' + x.id, onclick: () => UI.confirmDialog({
          title: 'Delete record ' + x.id + '?', message: 'Record ' + x.id + ' of ' + objectName + ' (version ' + x.version + ') is deleted.',
          action: () => Api.deleteRecord(objectName, x.id, x.version, context), done: runPage }) })) },
    ], recs, { rowTest: 'record-row', rowAttrs: x => ({ 'data-id': x.id }), empty: 'No record matches.' }));
    prev.disabled = pageIdx === 0;
    next.disabled = !tokens[pageIdx + 1];
    info.textContent = 'Page ' + (pageIdx + 1) + ' · ' + recs.length + ' record' + (recs.length === 1 ? '' : 's') +
      (r.complete ? ' · last page' : ' · more follow');
  }
  function newSearch() {
    recErr.clear();
    recOk.hidden = true;
    query = { object: objectName, criteria: criteria.value.trim(), sortBy: sortField.value,
      sortOrder: sortOrder.value, retrievePermissions: true, numberOfRows: Math.max(1, Math.min(1000, parseInt(pageSize.value, 10) || 10)) };
    tokens = [''];
    pageIdx = 0;
    return runPage();
  }
  prev.addEventListener('click', () => { if (pageIdx > 0) { pageIdx--; runPage(); } });
  next.addEventListener('click', () => { if (tokens[pageIdx + 1]) { pageIdx++; runPage(); } });

  // Add / edit form.
  const formTitle = h('h2', { id: 'record-form-title', text: 'Add a record' });
  const inputs = {};
  const formFields = fields.map(f => {
    const attrs = { id: 'rec-field-' + f.name, test: 'rec-field-' + f.name, name: f.name };
    let input;
    if (f.type === 'bool') input = select(attrs, [['', '—'], ['true', 'true'], ['false', 'false']]);
    else input = h('input', Object.assign(attrs, { placeholder: f.type === 'timestamp' ? '2026-05-01T12:00:00Z' : f.type }));
    inputs[f.name] = input;
    return field(f.name + ' (' + f.type + (f.required ? ', required' : '') + (f.unique ? ', unique' : '') + ')', input);
  });
  const recErr = errorBox('record-error');
  const recOk = h('div', { id: 'record-result', class: 'ok', hidden: true });
  const save = submitButton('record-save', 'Add record');
  const cancel = button('New record', { id: 'record-cancel', test: 'record-cancel', hidden: true });
  let editing = null;
  let original = {};
  function resetForm() {
    editing = null;
    original = {};
    formTitle.textContent = 'Add a record';
    save.textContent = 'Add record';
    cancel.hidden = true;
    for (const i of Object.values(inputs)) i.value = '';
  }
  function editRecord(x) {
    editing = x;
    formTitle.textContent = 'Edit record ' + x.id + ' (version ' + x.version + ')';
    save.textContent = 'Save changes';
    cancel.hidden = false;
    recErr.clear(); recOk.hidden = true;
    for (const f of fields) {
      const fv = (x.fields || []).find(y => y.name === f.name);
      original[f.name] = fv ? valueText(fv.value, f.type) : '';
      inputs[f.name].value = original[f.name];
    }
    formTitle.scrollIntoView({ block: 'nearest' });
  }
  cancel.addEventListener('click', () => { resetForm(); recErr.clear(); recOk.hidden = true; });
  const recForm = form('record-form', async () => {
    recErr.clear(); recOk.hidden = true;
    const out = [];
    for (const f of fields) {
      const v = inputs[f.name].value;
      if (editing) {
        if (v === original[f.name]) continue;
        out.push({ name: f.name, value: v === '' ? { null: null } : inputValue(v, f.type) });
      } else if (v !== '') {
        out.push({ name: f.name, value: inputValue(v, f.type) });
      }
    }
    save.disabled = true;
    try {
      if (editing) {
        const r = await Api.updateRecord(objectName, editing.id, out, editing.version, context);
        recOk.textContent = 'Saved record ' + r.record.id + ' (version ' + r.record.version + ').';
      } else {
        const r = await Api.addRecord(objectName, out, context);
        recOk.textContent = 'Added record ' + r.record.id + '.';
      }
      recOk.hidden = false;
      resetForm();
      if (query) await runPage(); else await newSearch();
    } catch (e) { recErr.show(e); } finally { save.disabled = false; }
  }, h('div', { class: 'grid-form' }, formFields), recErr, recOk, h('div', { class: 'actions' }, save, cancel));
  recForm.addEventListener('input', () => { recOk.hidden = true; });

  main.append(
    section('Search', form('search-form', newSearch,
      field('Criteria', criteria, 'docs/CRITERIA.md: comparisons, and/or/not, starts with, in (...), is null'),
      searchErr,
      h('div', { class: 'row' }, field('Sort by', sortField), field('Order', sortOrder), field('Page size', pageSize),
        h('div', { class: 'field end' }, submitButton('search-submit', 'Search')))),
      results, h('div', { class: 'pager' }, prev, info, next)),
    h('section', { class: 'card', id: 'record-form-card' }, formTitle, recForm));
  await newSearch();
}, { hidden: true, navAs: 'objects' });
})();
