#!/usr/bin/env bash
# End-to-end check of `cotenant export`, `cotenant apply` and `cotenant lint` against a real
# cotenantd (docs/CLI.md, "Declarative configuration" and "lint").
#
#   tests/access_roundtrip_test.sh BUILD_DIR SOURCE_DIR
#
# 1. starts BUILD_DIR/tools/cotenantd/cotenantd on a free loopback port with a fresh data
#    directory (system admin key in DATA/admin.key, system tenant 1),
# 2. builds a configuration with the CLI: an ISV with a managed tenant and a third tenant,
#    objects, users, roles with members (one cross-tenant), a scoped policy with an expiry, a
#    global policy, a user-scope permission set with a deny, crossTenantRoles on,
# 3. export > a.yaml; wipe (tenants, extra permission sets, settings); apply -f a.yaml;
#    export > b.yaml; a.yaml and b.yaml must be identical; a second apply changes nothing;
#    apply --dry-run of an edited file shows the diff and changes nothing; bad files fail with
#    FILE:LINE:COL and change nothing,
# 4. lint on a configuration with one of each finding.
# The server is always stopped on exit; the temporary directory is kept on failure.
set -euo pipefail

source "$(dirname "$0")/script_common.sh" access "$@"

CLI="$BUILD/tools/cotenant/cotenant"
[[ -x "$CLI" ]] || fail "no CLI at $CLI"

# ---- 1. server --------------------------------------------------------------------------------
start_server
tid() { admin tenant list --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["tenants"]:
    if t["name"]==sys.argv[1]: print(t["id"])' "$1"; }

# ---- 2. a configuration -------------------------------------------------------------------------
step "build a configuration with the CLI"
admin setting set crossTenantRoles true >/dev/null
ISV=$(admin tenant create XYZ --kind isv --json | json_get tenant id)
ABC=$(admin tenant create ABC --kind tenant --provider "$ISV" --json | json_get tenant id)
DEF=$(admin tenant create DEF --json | json_get tenant id)
admin object create Customers --in-tenant "$ABC" --field first_name:text:required:indexed \
  --field age:int --field vip:bool >/dev/null
admin object create Orders --in-tenant "$ABC" --field total:float --field placed:timestamp:indexed >/dev/null
admin object create Tickets --in-tenant "$ISV" --field title:text:required >/dev/null
admin user create alice --level tenant-admin --in-tenant "$ABC" --json >/dev/null 2>&1
admin user create svc --in-tenant "$ABC" --json >/dev/null 2>&1
admin user create bob --in-tenant "$ISV" --json >/dev/null 2>&1
admin user create carol --in-tenant "$DEF" --json >/dev/null 2>&1
admin role create support --in-tenant "$ABC" --right Customers:read,update --right '*:read' --cross-tenant >/dev/null
admin role create clerk --in-tenant "$ABC" --right Orders:all >/dev/null
admin role add-member support --in-tenant "$ABC" --user alice >/dev/null
admin role add-member support --in-tenant "$ABC" --user bob --member-tenant "$ISV" >/dev/null
admin role add-member clerk --in-tenant "$ABC" --user svc >/dev/null
admin policy create share-with-def --in-tenant "$ABC" --designated "$DEF" --user svc \
  --object Customers --filter "age >= 18" --fields first_name,age --object Orders \
  --expires 2031-06-30T12:00:00Z >/dev/null
admin policy create everyone --in-tenant "$ISV" --global --user bob >/dev/null
admin permission-set create no-deletes --scope user --for-tenant "$ABC" --user "svc@$ABC" \
  --user "carol@$DEF" --allow '.* .* .*' --deny 'records/.* .* DELETE' >/dev/null
admin tenant quota "$ABC" --records 1000 --bytes 50000 --calls-per-second 200 --concurrent-work 8 >/dev/null

# ---- 3. round trip ------------------------------------------------------------------------------
step "export > a.yaml"
admin export >"$TMP/a.yaml"
cat "$TMP/a.yaml"
contains "$TMP/a.yaml" "bob@XYZ"
contains "$TMP/a.yaml" "designated: DEF"
contains "$TMP/a.yaml" "global: true"
contains "$TMP/a.yaml" "expiresAt: 2031-06-30T12:00:00Z"
contains "$TMP/a.yaml" "name: no-deletes"
contains "$TMP/a.yaml" "quota: {records: 1000, bytes: 50000, callsPerSecond: 200, concurrentWork: 8}"
if grep -qE '[0-9]{6,}' "$TMP/a.yaml"; then fail "export contains what looks like a server id"; fi

step "export -o writes the same bytes"
admin export -o "$TMP/a2.yaml"
cmp "$TMP/a.yaml" "$TMP/a2.yaml" || fail "export -o differs from stdout"

step "wipe: delete the tenants, the extra permission set, reset settings"
admin tenant delete "$ABC" >/dev/null
admin tenant delete "$DEF" >/dev/null
admin tenant delete "$ISV" >/dev/null
admin permission-set delete no-deletes >/dev/null
admin setting set crossTenantRoles false >/dev/null
admin export >"$TMP/wiped.yaml"
if cmp -s "$TMP/a.yaml" "$TMP/wiped.yaml"; then fail "the wipe changed nothing"; fi

step "apply -f a.yaml"
expect_exit 0 admin apply -f "$TMP/a.yaml"
cat "$TMP/out"
contains "$TMP/out" "+ create tenant XYZ (isv)"
contains "$TMP/out" "+ create tenant ABC (tenant, provider XYZ)"
contains "$TMP/out" "+ add member bob@XYZ to role ABC/support"
contains "$TMP/out" "~ update setting crossTenantRoles (false -> true)"
contains "$TMP/out" "~ set quota of tenant ABC (none -> records 1000, bytes 50000, callsPerSecond 200, concurrentWork 8)"
contains "$TMP/out" "API key for alice@ABC:"

step "export > b.yaml equals a.yaml"
admin export >"$TMP/b.yaml"
diff "$TMP/a.yaml" "$TMP/b.yaml" || fail "the round trip changed the configuration"

step "a second apply changes nothing"
expect_exit 0 admin apply -f "$TMP/a.yaml"
contains "$TMP/out" "No changes"

step "apply --dry-run of an edited file shows the diff and changes nothing"
python3 - "$TMP/a.yaml" "$TMP/edited.yaml" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s = s.replace("Customers: read,update", "Customers: read", 1)
s = s.replace("      - {name: svc, level: user}\n", "      - {name: svc, level: user}\n      - {name: dave, level: user}\n", 1)
s = re.sub(r" *- bob@XYZ\n", "", s, count=1)
open(sys.argv[2], "w").write(s)
PY
cmp -s "$TMP/a.yaml" "$TMP/edited.yaml" && fail "the edit did not apply to a.yaml"
expect_exit 0 admin apply -f "$TMP/edited.yaml" --dry-run
cat "$TMP/out"
contains "$TMP/out" "~ update role ABC/support (rights)"
contains "$TMP/out" "+ create user ABC/dave (user)"
contains "$TMP/out" "- remove member bob@XYZ from role ABC/support"
contains "$TMP/out" "dry run: nothing applied"
admin export >"$TMP/c.yaml"
diff "$TMP/a.yaml" "$TMP/c.yaml" || fail "--dry-run changed the server"

step "a file without a tenant is refused unless --allow-tenant-deletion"
python3 - "$TMP/a.yaml" "$TMP/nodef.yaml" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
# drop tenant DEF (a block starting "  - name: DEF") and the references to it
s = re.sub(r"^  - name: DEF\n(?:    .*\n)*", "", s, flags=re.M)
s = re.sub(r"^      - name: share-with-def\n(?:        .*\n)*", "", s, flags=re.M)
s = s.replace(", carol@DEF", "").replace("carol@DEF, ", "")
open(sys.argv[2], "w").write(s)
PY
expect_exit 5 admin apply -f "$TMP/nodef.yaml"
contains "$TMP/err" "--allow-tenant-deletion"
expect_exit 0 admin apply -f "$TMP/nodef.yaml" --allow-tenant-deletion --dry-run
contains "$TMP/out" "- delete tenant DEF (and all its data)"
admin export >"$TMP/c.yaml"
diff "$TMP/a.yaml" "$TMP/c.yaml" || fail "a refused apply changed the server"

step "bad files fail with FILE:LINE:COL and change nothing"
bad() {  # bad NAME PYTHON-REPLACEMENT EXPECTED-TEXT
  python3 -c 'import sys
s=open(sys.argv[1]).read(); old,new=sys.argv[3],sys.argv[4]
assert old in s, old
open(sys.argv[2],"w").write(s.replace(old,new,1))' "$TMP/a.yaml" "$TMP/$1.yaml" "$2" "$3"
  expect_exit 5 admin apply -f "$TMP/$1.yaml"
  contains "$TMP/err" "$TMP/$1.yaml:"
  contains "$TMP/err" "$4"
  grep -qE "$1\.yaml:[0-9]+:[0-9]+: " "$TMP/err" || fail "no LINE:COL in: $(cat "$TMP/err")"
}
bad unknown-key "    kind: isv" "    kind: isv
    colour: blue" "unknown key 'colour'"
bad bad-ref "designated: DEF" "designated: NOWHERE" "designated tenant 'NOWHERE' is not a tenant of this file"
bad bad-regex "methodRegex: 'DELETE'" "methodRegex: '(a)\\1'" "is not a valid RE2 pattern"
bad syntax "version: 1" "version: [1" "YAML syntax"
admin export >"$TMP/c.yaml"
diff "$TMP/a.yaml" "$TMP/c.yaml" || fail "a bad file changed the server"

# ---- 4. lint --------------------------------------------------------------------------------
step "lint: one of each finding"
admin user create gone --in-tenant "$(tid ABC)" --json >/dev/null 2>&1
admin policy create to-xyz --in-tenant "$(tid ABC)" --designated "$(tid XYZ)" --user gone >/dev/null
admin user delete gone --in-tenant "$(tid ABC)" >/dev/null
admin policy create expired --in-tenant "$(tid DEF)" --designated "$(tid ABC)" --user carol \
  --expires 2020-01-01T00:00:00Z >/dev/null
admin permission-set create typo --scope user --for-tenant "$(tid ABC)" --user "alice@$(tid ABC)" \
  --allow 'records/Custmers .* GET' >/dev/null
admin permission-set create shadowed --scope user --for-tenant "$(tid ABC)" --user "svc@$(tid ABC)" \
  --allow 'records/Orders deleteRecord DELETE' >/dev/null
# allow-all (the fresh-install set, exported above) is still in place.
expect_exit 6 admin lint
cat "$TMP/out"
contains "$TMP/out" "regex-never-matches"
contains "$TMP/out" "permission set 'typo' policy 1"
contains "$TMP/out" "shadowed-allow"
contains "$TMP/out" "permission set 'shadowed' policy 1"
contains "$TMP/out" "system-allow-all"
contains "$TMP/out" "permission set 'allow-all' policy 1"
contains "$TMP/out" "policy-user-deleted"
contains "$TMP/out" "policy ABC/to-xyz"
contains "$TMP/out" "policy-expired"
contains "$TMP/out" "policy DEF/expired"
expect_exit 6 admin lint --json
python3 -c 'import json,sys
f=json.load(open(sys.argv[1]))["findings"]
kinds={x["what"] for x in f}
want={"regex-never-matches","shadowed-allow","system-allow-all","policy-user-deleted","policy-expired"}
assert want <= kinds, kinds' "$TMP/out" || fail "lint --json lacks a finding"

step "lint with no findings exits 0"
admin policy delete to-xyz --in-tenant "$(tid ABC)" >/dev/null
admin policy delete expired --in-tenant "$(tid DEF)" >/dev/null
admin permission-set delete typo >/dev/null
admin permission-set delete shadowed >/dev/null
admin permission-set update allow-all --scope system --all-tenants --allow 'records/.* .* .*' \
  --allow 'admin/.* .* .*' --deny 'admin/tenants deleteTenant DELETE' >/dev/null
expect_exit 0 admin lint
contains "$TMP/out" "No findings."

echo "PASS"
