// Cotenant console: the HTTP/JSON API client and the login kept in sessionStorage.
'use strict';

const Api = (() => {
  const store = window.sessionStorage;
  const K_TENANT = 'cotenant.tenant';
  const K_KEY = 'cotenant.apiKey';
  const K_CURRENT = 'cotenant.currentTenant';

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
    toString() { return this.code + ': ' + this.message; }
  }

  function credentials() {
    const tenant = store.getItem(K_TENANT);
    const key = store.getItem(K_KEY);
    return tenant && key ? { tenant, key } : null;
  }
  function saveCredentials(tenant, key) {
    store.setItem(K_TENANT, tenant);
    store.setItem(K_KEY, key);
  }
  function clear() {
    store.removeItem(K_TENANT);
    store.removeItem(K_KEY);
    store.removeItem(K_CURRENT);
  }
  function currentTenant() { return store.getItem(K_CURRENT); }
  function setCurrentTenant(id) { store.setItem(K_CURRENT, String(id)); }

  // Listeners told when a call answers 401 (the key was revoked, the user deleted).
  const onUnauthenticated = [];

  async function request(method, path, body, opts) {
    opts = opts || {};
    const c = opts.credentials || credentials();
    if (!c) throw new ApiError(401, 'Unauthenticated', 'not logged in');
    const headers = {
      'Authorization': 'Bearer ' + c.key,
      'Cotenant-Tenant': String(c.tenant),
    };
    if (opts.context && String(opts.context) !== String(c.tenant)) {
      headers['Cotenant-Context'] = String(opts.context);
    }
    const init = { method, headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'Unavailable', 'the server did not answer (' + e.message + ')');
    }
    const text = await resp.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!resp.ok) {
      const code = (data && data.code) || ('HTTP ' + resp.status);
      const message = (data && data.message) || text || resp.statusText;
      const err = new ApiError(resp.status, code, message);
      if (resp.status === 401 && !opts.credentials) onUnauthenticated.forEach(f => f(err));
      throw err;
    }
    return data || {};
  }

  const admin = (method, body) => request('POST', '/v1/admin/' + method, body || {});
  const obj = name => '/v1/records/' + encodeURIComponent(name);

  return {
    ApiError, credentials, saveCredentials, clear, currentTenant, setCurrentTenant,
    onUnauthenticated, request, admin,
    whoami: creds => request('GET', '/v1/whoami', undefined, { credentials: creds }),
    describe: (object, context) => request('GET', obj(object) + ':describe', undefined, { context }),
    search: (req, context) => request('POST', obj(req.object) + ':search', req, { context }),
    addRecord: (object, fields, context) => request('POST', obj(object), { fields }, { context }),
    updateRecord: (object, id, fields, expectedVersion, context) =>
      request('PATCH', obj(object) + '/' + encodeURIComponent(id), { fields, expectedVersion }, { context }),
    deleteRecord: (object, id, expectedVersion, context) =>
      request('DELETE', obj(object) + '/' + encodeURIComponent(id) +
        (expectedVersion ? '?expectedVersion=' + encodeURIComponent(expectedVersion) : ''),
        undefined, { context }),
  };
})();
