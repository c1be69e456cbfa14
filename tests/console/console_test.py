#!/usr/bin/env python3
"""Browser test of the Cotenant admin console (console/), in headless Chromium.

Starts a real cotenantd (temporary data directory, free loopback ports, the console served
on its --api listener), sets two tenants up over the HTTP/JSON API as the system admin,
then drives the console as a user would: tenant A's admin creates an object, adds,
searches, pages, edits and deletes records, sees a bad value's error inline, publishes a
data-sharing policy for tenant B; B's admin sees it, browses A's shared records and runs
Explain; B's cross-tenant calls (one allowed, one denied) show in A's audit log; A's usage
charts have data points; the system admin creates and deletes a tenant with the
confirmation step. Every page is saved as a screenshot.

  console_test.py --cotenantd PATH --screenshots DIR [--console-dir DIR]

Exit code 0: pass; 1: fail; 77: Chromium, chromedriver or Selenium missing (skipped).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

SKIP = 77
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 15  # seconds, the bound of every wait
LIMIT = 170  # seconds, the bound of the whole test (a watchdog fails it past this)


def import_selenium():
    """Selenium, from Debian's python3-selenium: when this interpreter lacks it (a pyenv or
    virtualenv python), run again under the system's /usr/bin/python3, which has it."""
    try:
        import selenium  # noqa: F401 - only whether it is there
        return
    except ImportError:
        pass
    system_python = "/usr/bin/python3"
    if (os.path.exists(system_python) and os.path.realpath(sys.executable) != os.path.realpath(system_python)
            and not os.environ.get("COTENANT_CONSOLE_TEST_REEXEC")):
        os.environ["COTENANT_CONSOLE_TEST_REEXEC"] = "1"
        os.execv(system_python, [system_python] + sys.argv)
    print("SKIP: Selenium is missing (Debian package python3-selenium)")
    sys.exit(SKIP)


def children(pid):
    """The ids of the processes whose parent is pid (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    # pid (comm) state ppid ...: comm may hold spaces, so split after ')'
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Fail(Exception):
    pass


def of_tenant(text, tenant):
    """Whether a cell ends naming tenant: "... tenant #3" or "... acme (#3)"."""
    return re.search(r"#%s\)?$" % re.escape(str(tenant)), text) is not None


def check(cond, what):
    if not cond:
        raise Fail(what)


# ----------------------------------------------------------------------------- the server

class Server:
    def __init__(self, binary, console_dir):
        self.binary = binary
        self.console_dir = console_dir
        self.tmp = tempfile.mkdtemp(prefix="cotenant-console-test-")
        self.data = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "cotenantd.log")
        self.proc = None
        self.base = None

    def start(self):
        args = [self.binary, "--data", self.data, "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0",
                "--usage-history-interval", "1", "--threads", "2", "--rpc-threads", "2"]
        if self.console_dir:
            args += ["--console-dir", self.console_dir]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + WAIT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("cotenantd exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            m = re.search(r"HTTP/JSON API on http://127\.0\.0\.1:(\d+)/v1/", self.log_text())
            key_file = os.path.join(self.data, "admin.key")
            if m and os.path.exists(key_file):
                self.base = "http://127.0.0.1:%s" % m.group(1)
                with open(key_file) as f:
                    self.admin_key = f.read().strip()
                if self.admin_key:
                    return
            time.sleep(0.1)
        raise Fail("cotenantd did not log its API port in %d s:\n%s" % (WAIT, self.log_text()))

    def log_text(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def http(base, method, path, body, tenant, key, context=None):
    """One API call; returns (status, parsed JSON body)."""
    headers = {"Authorization": "Bearer " + key, "Cotenant-Tenant": str(tenant)}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if context:
        headers["Cotenant-Context"] = str(context)
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else {}
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


def admin(base, method, body, tenant, key):
    status, out = http(base, "POST", "/v1/admin/" + method, body, tenant, key)
    if status != 200:
        raise Fail("setup: %s answered %s %s" % (method, status, out))
    return out


# ----------------------------------------------------------------------------- the browser

class Browser:
    def __init__(self, base, screenshots):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select, WebDriverWait
        self.By, self.Select, self.WebDriverWait = By, Select, WebDriverWait
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                  "--disable-gpu", "--no-first-run", "--disable-extensions", "--lang=en-US"):
            opts.add_argument(a)
        chromium = find_chromium()
        if chromium:
            opts.binary_location = chromium
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:  # no single WebDriver command waits past the bound of the whole test
            from selenium.webdriver.remote.remote_connection import RemoteConnection
            RemoteConnection.set_timeout(60)
        except Exception:  # noqa: BLE001 - an older Selenium: its default (120 s)
            pass
        self.service = Service(CHROMEDRIVER)
        self.d = webdriver.Chrome(service=self.service, options=opts)
        # Chromium's own process (chromedriver's child), to stop it should chromedriver hang.
        self.chromium_pids = children(self.service.process.pid)
        self.d.set_page_load_timeout(WAIT)
        self.d.set_script_timeout(WAIT)
        self.base = base
        self.screenshots = screenshots
        self.console_log = []

    def quit(self):
        try:
            self.d.quit()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass

    # waits
    def until(self, fn, what, timeout=WAIT):
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, NoSuchElementException

        def probe(_):
            try:
                return fn()
            except (StaleElementReferenceException, NoSuchElementException):
                return False
        try:
            return self.WebDriverWait(self.d, timeout, poll_frequency=0.1).until(probe)
        except TimeoutException:
            raise Fail("timed out after %d s waiting for %s" % (timeout, what)) from None

    def el(self, css):
        return self.until(lambda: next((e for e in self.d.find_elements(self.By.CSS_SELECTOR, css) if e.is_displayed()), False),
                          "a visible " + css)

    def id(self, ident):
        return self.el("#" + ident)

    def click(self, css):
        e = self.until(lambda: next((e for e in self.d.find_elements(self.By.CSS_SELECTOR, css)
                                     if e.is_displayed() and e.is_enabled()), False), "a clickable " + css)
        e.click()
        return e

    def fill(self, css, text):
        e = self.el(css)
        e.clear()
        e.send_keys(text)
        return e

    def choose(self, css, value):
        self.Select(self.el(css)).select_by_value(value)

    def retry(self, fn):
        """fn(), again while the page re-renders under it (a stale element), within WAIT."""
        from selenium.common.exceptions import StaleElementReferenceException
        deadline = time.time() + WAIT
        while True:
            try:
                return fn()
            except StaleElementReferenceException:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def text(self, css):
        return self.retry(lambda: self.el(css).text)

    def enabled(self, css):
        return self.retry(lambda: self.el(css).is_enabled())

    def value(self, css):
        return self.retry(lambda: self.el(css).get_attribute("value"))

    def wait_text(self, css, needle):
        return self.until(lambda: needle in self.text(css) and self.text(css), "%r in %s" % (needle, css))

    def rows(self, table_css):
        """A table's body rows as dicts, header (lower case) -> cell text."""
        return self.retry(lambda: self._rows(table_css))

    def _rows(self, table_css):
        t = self.el(table_css)
        heads = [th.text.strip().lower() for th in t.find_elements(self.By.CSS_SELECTOR, "thead th")]
        out = []
        for tr in t.find_elements(self.By.CSS_SELECTOR, "tbody tr"):
            if "empty" in (tr.get_attribute("class") or ""):
                continue
            cells = [td.text.strip() for td in tr.find_elements(self.By.CSS_SELECTOR, "td")]
            out.append(dict(zip(heads, cells)))
        return out

    def wait_rows(self, table_css, pred, what):
        return self.until(lambda: (lambda r: pred(r) and r)(self.rows(table_css)), what)

    def go(self, route):
        self.d.get(self.base + "/console/#/" + route)

    def nav(self, route):
        self.click("#nav-" + route)
        self.el("main[data-test=page-%s]" % route)

    def shot(self, name, top=True):
        os.makedirs(self.screenshots, exist_ok=True)
        if top:
            self.d.execute_script("window.scrollTo(0, 0)")
        self.d.save_screenshot(os.path.join(self.screenshots, name + ".png"))

    def collect_log(self):
        try:
            self.console_log += self.d.get_log("browser")
        except Exception:  # noqa: BLE001 - not every driver keeps the log
            pass

    def login(self, tenant, key):
        self.d.get(self.base + "/console/")
        if self.d.find_elements(self.By.ID, "logout"):
            self.click("#logout")
        self.fill("#login-tenant", str(tenant))
        self.fill("#login-key", key)
        self.click("#login-submit")
        self.id("whoami")

    def logout(self):
        self.click("#logout")
        self.id("login-form")
        check(self.d.execute_script("return sessionStorage.length") == 0, "logout leaves nothing in sessionStorage")


# ----------------------------------------------------------------------------- the test

def run(server, b, step):
    from selenium.webdriver.common.keys import Keys
    base = server.base
    K = server.admin_key

    # The console is served by cotenantd itself, under its CSP.
    step("the console is served")
    req = urllib.request.Request(base + "/console/")
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            page = r.read().decode()
            csp = r.headers.get("Content-Security-Policy", "")
    except urllib.error.HTTPError as e:
        raise Fail("GET /console/ answered %s: this cotenantd does not serve the console" % e.code) from None
    check("console.js" in page, "GET /console/ serves the console's index.html")
    check("default-src 'self'" in csp, "the console is served with its Content-Security-Policy (got %r)" % csp)

    step("setup over HTTP")
    A = admin(base, "createTenant", {"name": "acme", "kind": "tenant"}, 1, K)["tenant"]["id"]
    B = admin(base, "createTenant", {"name": "globex", "kind": "tenant"}, 1, K)["tenant"]["id"]
    ua = admin(base, "createUser", {"tenantId": A, "name": "acme-admin", "level": "tenantAdmin"}, 1, K)
    ub = admin(base, "createUser", {"tenantId": B, "name": "globex-admin", "level": "tenantAdmin"}, 1, K)
    KA, KB = ua["apiKey"], ub["apiKey"]
    UA, UB = ua["user"]["id"], ub["user"]["id"]
    every = {"read": True, "add": True, "update": True, "delete": True}
    for tenant, key, user in ((A, KA, UA), (B, KB, UB)):
        admin(base, "createRole", {"name": "all", "rights": [{"object": "*", "rights": every}]}, tenant, key)
        admin(base, "addRoleMember", {"role": "all", "userId": user}, tenant, key)
    # A second object of A, outside the policy's scope (B's call on it is denied), and a
    # cross-tenant role with a member of B.
    admin(base, "createObject", {"name": "Orders", "fields": [{"name": "total", "type": "int"}]}, A, KA)
    admin(base, "setSetting", {"name": "crossTenantRoles", "value": "true"}, 1, K)
    admin(base, "createRole", {"name": "partners", "crossTenant": True,
                               "rights": [{"object": "Orders", "rights": {"read": True}}]}, A, KA)
    # (Not B's admin: a user of a cross-tenant role reaches A through the role, not the policy.)
    partner = admin(base, "createUser", {"tenantId": B, "name": "globex-partner", "level": "user"}, B, KB)["user"]["id"]
    admin(base, "addRoleMember", {"role": "partners", "memberTenant": B, "userId": partner}, A, KA)

    # --- login
    step("login: a wrong key is refused inline")
    b.d.get(base + "/console/")
    b.id("login-form")
    b.shot("login")
    b.fill("#login-tenant", str(A))
    b.fill("#login-key", KA + "x")
    b.click("#login-submit")
    b.wait_text("#login-error", "Unauthenticated")
    check(not b.d.find_elements(b.By.ID, "whoami"), "a refused login shows no console")

    step("login as A's admin")
    b.login(A, KA)
    b.wait_text("#whoami", "acme-admin")
    check("tenantAdmin" in b.text("#whoami"), "whoami shows the admin level")
    check(not b.d.find_elements(b.By.ID, "tenant-picker"), "a tenant admin has no tenant picker")
    check(not b.d.find_elements(b.By.ID, "nav-tenants"), "a tenant admin has no tenants page")
    stored = b.d.execute_script("return [sessionStorage.getItem('cotenant.tenant'), localStorage.length]")
    check(stored == [str(A), 0], "the login is kept in sessionStorage only (got %r)" % stored)
    check(KA not in b.d.current_url, "the key is never in the URL")

    # --- objects
    step("create an object")
    b.nav("objects")
    b.fill("#object-name", "Customers")
    specs = [("name", "text", ["indexed"]), ("age", "int", ["indexed"]), ("email", "text", ["unique"])]
    for i, (fname, ftype, flags) in enumerate(specs):
        if i:
            b.click("#object-add-field")
        row = b.until(lambda: len(b.d.find_elements(b.By.CSS_SELECTOR, "[data-test=field-row]")) > i
                      and b.d.find_elements(b.By.CSS_SELECTOR, "[data-test=field-row]")[i], "field row %d" % i)
        row.find_element(b.By.CSS_SELECTOR, ".field-name").send_keys(fname)
        b.Select(row.find_element(b.By.CSS_SELECTOR, ".field-type")).select_by_value(ftype)
        for flag in flags:
            row.find_element(b.By.CSS_SELECTOR, ".field-" + flag).click()
    b.click("#object-create")
    fields = b.wait_rows("[data-test=fields-Customers]", lambda r: len(r) == 3, "the Customers object listed with 3 fields")
    check([(f["field"], f["type"], f["unique"]) for f in fields] ==
          [("name", "text", ""), ("age", "int", ""), ("email", "text", "yes")], "the fields as declared: %r" % fields)
    b.el("[data-test=object-Orders]")
    b.shot("objects")

    # --- records
    step("add records")
    b.click("#browse-Customers")
    b.id("records-table")
    people = [("Ann", "33"), ("Bob", "41"), ("Cid", "25"), ("Dee", "38"), ("Eve", "52")]
    for name, age in people:
        b.fill("#rec-field-name", name)
        b.fill("#rec-field-age", age)
        b.fill("#rec-field-email", name.lower() + "@acme.example")
        b.click("#record-save")
        b.wait_text("#record-result", "Added record")
        b.until(lambda: b.value("#rec-field-name") == "", "the form cleared after adding")
    b.wait_rows("#records-table", lambda r: len(r) == 5, "5 records listed")

    step("a bad value shows the server's error inline")
    status, direct = http(base, "POST", "/v1/records/Customers",
                          {"fields": [{"name": "age", "value": {"text": "forty"}}]}, A, KA)
    check(status == 400 and direct.get("code") == "InvalidArgument", "the server refuses age=forty: %s %r" % (status, direct))
    b.fill("#rec-field-name", "Fay")
    b.fill("#rec-field-age", "forty")
    b.click("#record-save")
    shown = b.wait_text("#record-error", "InvalidArgument")
    check(direct["message"] in shown, "the form shows the server's message %r (shows %r)" % (direct["message"], shown))
    b.shot("records-bad-value", top=False)
    b.fill("#rec-field-name", "")
    b.fill("#rec-field-age", "")

    step("search with criteria, sort and paging")
    b.fill("#criteria", "age >= 30")
    b.choose("#sort-field", "age")
    b.choose("#sort-order", "descending")
    b.fill("#page-size", "3")
    b.click("#search-submit")
    names = lambda: [r["name"] for r in b.rows("#records-table")]  # noqa: E731
    b.until(lambda: names() == ["Eve", "Bob", "Dee"], "page 1: Eve, Bob, Dee (got %r)" % names())
    b.wait_text("#page-info", "more follow")
    check(not b.enabled("#page-prev"), "no previous page on page 1")
    b.shot("records")
    b.click("#page-next")
    b.until(lambda: names() == ["Ann"], "page 2 through the continuation: Ann")
    b.wait_text("#page-info", "Page 2")
    b.wait_text("#page-info", "last page")
    check(not b.enabled("#page-next"), "no next page after the last")
    b.click("#page-prev")
    b.until(lambda: names() == ["Eve", "Bob", "Dee"], "back to page 1 by the kept token")

    step("a criteria syntax error shows under the criteria box")
    status, direct = http(base, "POST", "/v1/records/Customers:search", {"criteria": "age >>= 3"}, A, KA)
    check(status == 400, "the server refuses the criteria 'age >>= 3': %s %r" % (status, direct))
    b.fill("#criteria", "age >>= 3")
    b.click("#search-submit")
    shown = b.wait_text("#search-error", direct["code"])
    check(direct["message"] in shown, "the criteria error shows the server's message %r (shows %r)" % (direct["message"], shown))
    b.shot("records-criteria-error", top=False)

    step("edit and delete records")
    b.fill("#criteria", "")
    b.fill("#page-size", "10")
    b.choose("#sort-field", "")
    b.choose("#sort-order", "ascending")
    b.click("#search-submit")
    b.until(lambda: len(names()) == 5 and not b.d.find_element(b.By.ID, "search-error").is_displayed(),
            "every record listed again, the error gone")
    rows = {r["name"]: r for r in b.rows("#records-table")}
    b.click("[data-test=record-edit-%s]" % rows["Ann"]["id"])
    b.wait_text("#record-form-title", "Edit record " + rows["Ann"]["id"])
    b.fill("#rec-field-age", "34")
    b.click("#record-save")
    b.wait_text("#record-result", "version 2")
    b.until(lambda: {r["name"]: r["age"] for r in b.rows("#records-table")}.get("Ann") == "34", "Ann's age shown as 34")
    b.click("[data-test=record-delete-%s]" % rows["Cid"]["id"])
    b.wait_text("#confirm-dialog", "Delete record " + rows["Cid"]["id"])
    b.click("#confirm-ok")
    b.until(lambda: "Cid" not in names() and len(names()) == 4, "Cid deleted")
    status, _ = http(base, "GET", "/v1/records/Customers/%s" % rows["Cid"]["id"], None, A, KA)
    check(status == 404, "the deleted record is gone on the server (%s)" % status)

    # --- users and roles
    step("users and keys")
    b.nav("users")
    b.wait_rows("#users-table", lambda r: any(x["name"] == "acme-admin" for x in r), "acme-admin listed")
    b.fill("#user-name", "reader")
    b.click("#user-create")
    key = b.wait_text("#new-api-key", "ck_")
    check(http(base, "GET", "/v1/whoami", None, A, key)[0] == 200, "the key shown once logs in")
    users = b.wait_rows("#users-table", lambda r: any(x["name"] == "reader" for x in r), "the new user listed")
    reader = next(x["id"] for x in users if x["name"] == "reader")
    b.click("[data-test=user-keys-%s]" % reader)
    b.wait_rows("#keys-table", lambda r: len(r) == 1 and r[0]["state"] == "active", "reader's one active key")
    b.click("#key-create")
    second = b.wait_text("#new-api-key", "ck_")
    check(second != key, "a second key is shown")
    b.wait_rows("#keys-table", lambda r: len(r) == 2, "reader's two keys")
    b.shot("users")
    b.click("#keys-table [data-test^=key-revoke-]")
    b.wait_text("#confirm-dialog", "Revoke key")
    b.click("#confirm-ok")
    b.wait_rows("#keys-table", lambda r: sorted(x["state"] for x in r) == ["active", "revoked"], "one key revoked")
    statuses = sorted(http(base, "GET", "/v1/whoami", None, A, k)[0] for k in (key, second))
    check(statuses == [200, 401], "one of reader's keys logs in, the revoked one not: %r" % statuses)
    b.click("[data-test=user-delete-%s]" % reader)
    b.fill("#confirm-input", "reader")
    b.click("#confirm-ok")
    b.wait_rows("#users-table", lambda r: all(x["name"] != "reader" for x in r), "reader deleted")
    check(http(base, "GET", "/v1/whoami", None, A, second)[0] == 401, "a deleted user's key no longer logs in")

    step("roles and members")
    b.nav("roles")
    roles = b.wait_rows("#roles-table", lambda r: len(r) == 2, "two roles listed")
    partners = next(r for r in roles if r["role"].startswith("partners"))
    check("cross-tenant" in partners["members"] and ("tenant #%s" % B) in partners["members"],
          "the member from B is marked cross-tenant: %r" % partners["members"])
    allrole = next(r for r in roles if r["role"] == "all")
    check("cross-tenant" not in allrole["members"] and "acme-admin" in allrole["members"],
          "an own-tenant member is not marked: %r" % allrole["members"])
    b.shot("roles")
    b.fill("#role-name", "readers")
    b.fill("[data-test=right-object]", "Customers")
    b.click("#role-create")
    b.wait_rows("#roles-table", lambda r: any(x["role"] == "readers" and "Customers: read" in x["rights"] for x in r),
                "the new role with its right")
    b.choose("#member-role", "readers")
    b.fill("#member-user", str(UA))
    b.click("#member-add")
    b.wait_rows("#roles-table", lambda r: any(x["role"] == "readers" and "acme-admin" in x["members"] for x in r),
                "acme-admin a member of readers")
    b.click("[data-test=member-remove-readers-%s-%s]" % (A, UA))
    b.wait_rows("#roles-table", lambda r: any(x["role"] == "readers" and "no members" in x["members"] for x in r),
                "the member removed")
    b.click("[data-test=role-delete-readers]")
    b.click("#confirm-ok")
    b.wait_rows("#roles-table", lambda r: len(r) == 2 and all(x["role"] != "readers" for x in r), "the role deleted")

    # --- data-sharing policy
    step("publish a policy designating B")
    b.nav("policies")
    b.click("#tab-published")
    b.fill("#policy-name", "share-with-globex")
    b.fill("#policy-designated", str(B))
    b.choose("#policy-user", str(UA))
    b.fill("[data-test=scope-object]", "Customers")
    b.fill("[data-test=scope-filter]", "age >= 30")
    b.fill("[data-test=scope-fields]", "name, age")
    b.click("#policy-save")
    b.wait_text("#policy-result", "Published policy share-with-globex")
    pol = b.wait_rows("#policies-published-table", lambda r: any(x["policy"] == "share-with-globex" for x in r),
                      "the policy under Who can reach my data")[0]
    check(("#%s" % B) in pol["designated tenant"], "designated tenant B: %r" % pol)
    check("acme-admin" in pol["acts as user"], "acts as acme-admin: %r" % pol)
    check("age >= 30" in pol["scope"] and "name, age" in pol["scope"], "the scope shown: %r" % pol["scope"])
    check(pol["expires"] == "never", "no expiry: %r" % pol)
    b.shot("grants-published")
    # Edit: an expiry far ahead, then back to the scope as it was.
    b.click("[data-test=policy-edit-share-with-globex]")
    b.wait_text("#policy-form-title", "Edit policy share-with-globex")
    check(b.value("[data-test=scope-filter]") == "age >= 30", "the form holds the policy's scope")
    b.el("#policy-expires").send_keys("12312099")
    b.el("#policy-expires").send_keys(Keys.TAB)
    b.el("#policy-expires").send_keys("1159PM")
    b.click("#policy-save")
    b.wait_text("#policy-result", "Saved policy share-with-globex")
    pol = b.wait_rows("#policies-published-table", lambda r: "2099" in r[0]["expires"], "the new expiry shown")[0]
    got = admin(base, "listPolicies", {"publishedBy": A}, A, KA)["policies"][0]
    check(got["scope"][0]["rowFilter"] == "age >= 30" and got["scope"][0]["fields"] == ["name", "age"]
          and int(got["expiresAt"]) > 4 * 10**15, "the policy as saved: %r" % got)
    b.logout()

    step("B sees the policy under Whose data I can reach")
    b.login(B, KB)
    b.nav("policies")
    b.click("#tab-designating")
    pol = b.wait_rows("#policies-designating-table", lambda r: any(x["policy"] == "share-with-globex" for x in r),
                      "the policy under Whose data I can reach")[0]
    check(("#%s" % A) in pol["publisher tenant"], "publisher A: %r" % pol)
    b.shot("grants-designating")

    step("B browses A's shared records within the scope")
    b.click("#panel-designating [data-test=scope] a")
    shared = b.wait_rows("#records-table", lambda r: len(r) == 4, "A's 4 records aged 30 or more, seen by B")
    check("email" not in shared[0], "the field outside the allow-list is not shown: %r" % list(shared[0]))
    check(sorted(r["name"] for r in shared) == ["Ann", "Bob", "Dee", "Eve"], "the rows the filter admits: %r" % shared)
    b.shot("records-shared")

    step("Explain")
    b.nav("permsets")
    b.fill("#explain-tenant", str(A))
    b.fill("#explain-api", "getRecord")
    b.fill("#explain-object", "Customers")
    b.click("#explain-submit")
    verdict = b.wait_text("#explain-verdict", "Allowed")
    steps = b.until(lambda: b.d.find_elements(b.By.CSS_SELECTOR, "#explain-steps li"), "the steps of the decision")
    check(len(steps) >= 2, "several steps listed (%d)" % len(steps))
    check("share-with-globex" in b.text("#explain-result"), "the explanation names the policy")
    check("allow-all" in b.text("#explain-deciding"), "the deciding set: %r" % b.text("#explain-deciding"))
    b.shot("explain")
    b.fill("#explain-object", "Orders")
    b.click("#explain-submit")
    b.wait_text("#explain-verdict", "Denied")
    check("PermissionDenied" in b.text("#explain-verdict"), "denied with PermissionDenied: %r" % b.text("#explain-verdict"))
    b.shot("explain-denied")
    del verdict

    step("cross-tenant calls of B into A")
    status, got = http(base, "GET", "/v1/records/Customers/%s" % rows["Bob"]["id"], None, B, KB, context=A)
    check(status == 200, "B reads A's Bob through the policy: %s %r" % (status, got))
    status, got = http(base, "POST", "/v1/records/Orders:search", {}, B, KB, context=A)
    check(status == 403 and got.get("code") == "PermissionDenied", "B's search of A's Orders is denied: %s %r" % (status, got))
    b.logout()

    # --- audit
    step("A's audit log shows B's calls and the denial")
    b.login(A, KA)
    b.nav("audit")
    b.choose("#audit-direction", "in")
    b.click("#audit-submit")
    entries = b.wait_rows("#audit-table", lambda r: any(x["api"] == "getRecord" and x["outcome"] == "OK" for x in r),
                          "B's getRecord in A's log, direction in")
    check(all(not of_tenant(x["caller"], A) and x["direction"] == "in" for x in entries),
          "direction in: only calls of other tenants: %r" % entries)
    check(any(x["api"] == "getRecord" and of_tenant(x["caller"], B) and "share-with-globex" in x["detail"]
              for x in entries), "B's read through the policy: %r" % entries)
    check(any(x["outcome"] == "PermissionDenied" for x in entries), "the denial is among the calls in")
    b.shot("audit-in")
    b.choose("#audit-outcome", "PermissionDenied")
    b.click("#audit-submit")
    entries = b.wait_rows("#audit-table", lambda r: r and all(x["outcome"] == "PermissionDenied" for x in r),
                          "only denied entries")
    check(any("Orders" in x["object"] and of_tenant(x["caller"], B) for x in entries), "B's denied call on Orders: %r" % entries)
    b.shot("audit-denied")
    b.choose("#audit-direction", "out")
    b.choose("#audit-outcome", "")
    b.click("#audit-submit")
    b.until(lambda: b.rows("#audit-table") == [], "no calls out of A")
    b.choose("#audit-direction", "")
    b.click("#audit-submit")
    b.until(lambda: len(b.rows("#audit-table")) > len(entries), "every entry of A")
    b.el("#audit-from").send_keys("01012099")
    b.el("#audit-from").send_keys(Keys.TAB)
    b.el("#audit-from").send_keys("1200AM")
    b.click("#audit-submit")
    b.until(lambda: b.rows("#audit-table") == [], "no entry from 2099 on")

    # --- usage
    step("usage and its charts")
    b.nav("usage")
    b.wait_text("#usage-records", "4")
    check(int(b.text("#usage-served")) >= 1, "served to others counts B's call: %s" % b.text("#usage-served"))
    b.until(lambda: len(b.d.find_elements(b.By.CSS_SELECTOR, "#chart-records circle.point")) >= 3,
            "the records chart with at least 3 points (refreshed automatically)")
    first = len(b.d.find_elements(b.By.CSS_SELECTOR, "#chart-records circle.point"))
    b.until(lambda: len(b.d.find_elements(b.By.CSS_SELECTOR, "#chart-records circle.point")) > first,
            "more points after an automatic refresh")
    check(b.d.find_elements(b.By.CSS_SELECTOR, "#chart-apis polyline.series"), "the calls-by-API chart has lines")
    apis = [r["api"] for r in b.rows("#usage-calls-table")]
    check("addRecord" in apis, "calls by API list addRecord: %r" % apis)
    b.shot("usage")
    b.d.execute_script("document.getElementById('usage-charts').scrollIntoView()")
    b.shot("usage-charts", top=False)
    b.logout()

    # --- system admin: tenants
    step("system admin: the tenants page")
    b.login(1, K)
    b.nav("tenants")
    b.el("#tenant-picker")
    listed = b.wait_rows("#tenants-table", lambda r: {"acme", "globex"} <= {x["name"] for x in r}, "acme and globex listed")
    check(any(x["kind"] == "system" for x in listed), "the system tenant listed")
    b.fill("#tenant-name", "initech")
    b.choose("#tenant-kind", "isv")
    b.click("#tenant-create")
    b.wait_text("#tenant-create-result", "Created tenant initech")
    row = b.wait_rows("#tenants-table", lambda r: any(x["name"] == "initech" for x in r), "initech listed")
    new_id = next(x["id"] for x in row if x["name"] == "initech")
    b.shot("tenants")
    b.click("#tenant-delete-%s" % new_id)
    b.wait_text("#confirm-dialog", "Delete tenant initech")
    check(not b.enabled("#confirm-ok"), "delete waits for the name to be typed")
    b.fill("#confirm-input", "initech")
    b.shot("tenants-confirm")
    b.click("#confirm-ok")
    b.wait_rows("#tenants-table", lambda r: all(x["name"] != "initech" for x in r), "initech deleted")
    check(all(t["name"] != "initech" for t in admin(base, "listTenants", {}, 1, K)["tenants"]), "initech gone on the server")

    step("system admin: pick tenant A, permission sets and lint")
    b.choose("#tenant-picker", str(A))
    b.nav("objects")
    b.el("[data-test=object-Customers]")
    b.nav("permsets")
    b.wait_rows("#permsets-table", lambda r: any(x["set"] == "allow-all" for x in r), "the permission sets listed")
    findings = b.wait_rows("#lint-table", lambda r: len(r) >= 1, "lint findings")
    # (The kind's name is the server's: "allows-everything", lately "system-allow-all".)
    check(any(x["set"] == "allow-all" and x["kind"] and x["finding"] for x in findings),
          "lint reports the fresh-install allow-all set: %r" % findings)
    b.fill("#permset-name", "no-deletes")
    b.choose("[data-test=rule-effect]", "deny")
    b.fill("[data-test=rule-resource]", "records/(")
    b.fill("[data-test=rule-api]", "deleteRecord")
    b.click("#permset-create")
    b.wait_text("#permset-error", "RE2")
    b.fill("[data-test=rule-resource]", "records/.*")
    b.click("#permset-create")
    sets = b.wait_rows("#permsets-table", lambda r: any(x["set"] == "no-deletes" for x in r), "the new set listed")
    rules = next(x["rules (in order)"] for x in sets if x["set"] == "no-deletes")
    check("deny" in rules and "deleteRecord" in rules, "its rule shown: %r" % rules)
    b.shot("permsets")
    b.d.execute_script("document.getElementById('lint-results').scrollIntoView()")
    b.shot("permsets-lint", top=False)
    b.click("[data-test=permset-delete-no-deletes]")
    b.click("#confirm-ok")
    b.wait_rows("#permsets-table", lambda r: all(x["set"] != "no-deletes" for x in r), "the set deleted")
    b.logout()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cotenantd", required=True)
    ap.add_argument("--screenshots", required=True)
    ap.add_argument("--console-dir", help="serve the console from this directory (cotenantd --console-dir)")
    args = ap.parse_args()

    import_selenium()
    missing = [what for what, ok in (("chromium", find_chromium()), ("chromedriver", os.path.exists(CHROMEDRIVER))) if not ok]
    if missing:
        print("SKIP: %s missing (Debian packages chromium and chromium-driver)" % " and ".join(missing))
        return SKIP
    if not os.access(args.cotenantd, os.X_OK):
        print("FAIL: no cotenantd at %s" % args.cotenantd)
        return 1

    started = time.time()
    current = ["start"]

    def step(name):
        current[0] = name
        print("[%5.1fs] %s" % (time.time() - started, name), flush=True)

    if os.path.isdir(args.screenshots):
        for old in os.listdir(args.screenshots):
            if old.endswith(".png"):
                os.remove(os.path.join(args.screenshots, old))
    server = Server(args.cotenantd, args.console_dir)
    browser = None
    holder = {}

    def watchdog():
        print("FAIL at step %r: the test ran past its %d s limit; the test was at:" % (current[0], LIMIT), flush=True)
        main_frame = sys._current_frames().get(threading.main_thread().ident)
        if main_frame:
            traceback.print_stack(main_frame)
        b = holder.get("browser")
        if b:
            for pid in b.chromium_pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                b.service.process.kill()
            except Exception:  # noqa: BLE001 - on the way out whatever happens
                pass
        try:
            if server.proc and server.proc.poll() is None:
                server.proc.kill()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(server.tmp, ignore_errors=True)
        os._exit(1)
    timer = threading.Timer(LIMIT, watchdog)
    timer.daemon = True
    timer.start()
    try:
        server.start()
        browser = Browser(server.base, args.screenshots)
        holder["browser"] = browser
        run(server, browser, step)
        browser.collect_log()
        bad = [e for e in browser.console_log
               if e.get("level") == "SEVERE" and ("Uncaught" in e.get("message", "") or "Content Security Policy" in e.get("message", "")
                                                   or "Refused to" in e.get("message", ""))]
        check(not bad, "no script errors or CSP violations in the browser: %r" % bad)
        print("PASS in %.1f s; screenshots in %s" % (time.time() - started, args.screenshots))
        return 0
    except Exception as e:  # noqa: BLE001 - report every failure the same way
        print("FAIL at step %r: %s" % (current[0], e))
        if not isinstance(e, Fail):
            traceback.print_exc()
        if browser:
            try:
                browser.shot("FAILED-" + re.sub(r"[^A-Za-z0-9]+", "-", current[0]))
                errors = [x.text for x in browser.d.find_elements(browser.By.CSS_SELECTOR, ".error") if x.text]
                print("errors shown on the page: %r" % errors)
                print("url: %s" % browser.d.current_url)
            except Exception:  # noqa: BLE001
                pass
            browser.collect_log()
            for entry in browser.console_log[-20:]:
                print("browser: %s" % entry.get("message"))
        print("cotenantd log (last lines):\n" + "\n".join(server.log_text().splitlines()[-30:]))
        return 1
    finally:
        if browser:
            browser.quit()
        server.stop()
        timer.cancel()


if __name__ == "__main__":
    sys.exit(main())
