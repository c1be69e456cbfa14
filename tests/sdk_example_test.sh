#!/usr/bin/env bash
# End-to-end check of the installed SDK and CLI against a real cotenantd.
#
#   tests/sdk_example_test.sh BUILD_DIR SOURCE_DIR
#
# 1. installs BUILD_DIR into a temporary prefix (cmake --install),
# 2. configures and builds sdk/examples against it (find_package(Cotenant)),
# 3. starts BUILD_DIR/tools/cotenantd/cotenantd on a free loopback port with a fresh data
#    directory (the server writes the system admin's key to DATA/admin.key; the system
#    tenant is 1),
# 4. with the installed `cotenant` CLI, as the system admin: creates a tenant, a
#    tenant-admin user in it (its key is read from --json output) and the Customers object,
# 5. runs the quickstart as that user, and a few CLI record commands and exit codes.
# The server is always stopped on exit; the temporary directory is kept on failure.
set -euo pipefail

source "$(dirname "$0")/script_common.sh" sdk-example "$@"

# ---- 1. install ------------------------------------------------------------------------
step "install $BUILD into $TMP/prefix"
cmake --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log"
CLI="$TMP/prefix/bin/cotenant"
[[ -x "$CLI" ]] || fail "cotenant CLI was not installed at $CLI"

# ---- 2. build the example against the installed package ------------------------------------
step "build sdk/examples with find_package(Cotenant)"
# COTENANT_EXAMPLE_CMAKE_ARGS (set by a sanitized tree): its compiler and sanitizer link
# flags, which a program linking that tree's libcotenant_sdk.so needs.
read -r -a EXTRA_ARGS <<<"${COTENANT_EXAMPLE_CMAKE_ARGS:-}"
cmake -S "$SRC/sdk/examples" -B "$TMP/example" -DCMAKE_PREFIX_PATH="$TMP/prefix" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${EXTRA_ARGS[@]}" >"$TMP/example-configure.log"
cmake --build "$TMP/example" -j2 >"$TMP/example-build.log"
QUICKSTART="$TMP/example/quickstart"
[[ -x "$QUICKSTART" ]] || fail "quickstart was not built"

# ---- 3. start the server --------------------------------------------------------------------
start_server


# ---- 4. tenant, user and object --------------------------------------------------------------
step "whoami as the system admin"
admin whoami

step "create a tenant"
admin --json tenant create "sdk-example-$$" --kind tenant >"$TMP/tenant.json"
TENANT=$(json_get tenant id <"$TMP/tenant.json") || fail "no tenant id in $(cat "$TMP/tenant.json")"
echo "tenant $TENANT"

step "create a tenant-admin user in it"
admin --json user create app-admin --level tenant-admin --in-tenant "$TENANT" >"$TMP/user.json"
KEY=$(json_get apiKey <"$TMP/user.json") || fail "no apiKey in $(cat "$TMP/user.json")"
[[ -n "$KEY" ]] || fail "empty API key"

step "create the Customers object"
admin object create Customers --in-tenant "$TENANT" \
  --field first_name:text:required:indexed --field last_name:text --field age:int:indexed
admin object list --in-tenant "$TENANT"

step "grant the user data rights on Customers (admin levels grant none)"
USER_ID=$(json_get user id <"$TMP/user.json") || fail "no user id in $(cat "$TMP/user.json")"
admin role create customers-rw --in-tenant "$TENANT" --right Customers:read,add,update,delete
admin role add-member customers-rw --user "$USER_ID" --in-tenant "$TENANT"
admin role list --in-tenant "$TENANT"

# ---- 5. the example and the CLI as the tenant's user ------------------------------------------
step "run the quickstart as the new user"
COTENANT_TENANT="$TENANT" COTENANT_KEY="$KEY" "$QUICKSTART"

user() { "$CLI" --tenant "$TENANT" --key "$KEY" "$@"; }

step "CLI record commands"
user --json record add Customers --set first_name=Ada --set last_name=Lovelace --set age=36 \
  >"$TMP/add.json"
RID=$(json_get record id <"$TMP/add.json") || fail "no record id in $(cat "$TMP/add.json")"
user record get Customers "$RID"
user --json record add Customers --set first_name=Grace --set age=45 >"$TMP/add2.json"
RID2=$(json_get record id <"$TMP/add2.json") || fail "no record id in $(cat "$TMP/add2.json")"
# Several ids: one getRecords call, the records in the order asked.
user --json record get Customers "$RID2" "$RID" >"$TMP/batch.json"
[[ $(json_get records 0 fields first_name <"$TMP/batch.json") == "Grace" ]] || fail "batch get: $(cat "$TMP/batch.json")"
[[ $(json_get records 1 fields first_name <"$TMP/batch.json") == "Ada" ]] || fail "batch get order: $(cat "$TMP/batch.json")"
# An id that is not there: the others still come out, then NotFound (exit 4).
expect_exit 4 user record get Customers "$RID" 987654321
grep -q "1 of 2 records not found" "$TMP/err" || fail "batch get missing: $(cat "$TMP/err")"
grep -q "Ada" "$TMP/out" || fail "batch get with a missing id printed: $(cat "$TMP/out")"
user record update Customers "$RID" --set age=37 --expect-version 1
expect_exit 5 user record update Customers "$RID" --set age=38 --expect-version 1   # Conflict
user --json record search Customers --where "age >= 30" --sort age:desc --rows 1 --all \
  >"$TMP/search.json"
[[ $(json_get complete <"$TMP/search.json") == "true" ]] || fail "search --all not complete"
user record search Customers --fields first_name,age
# Bound parameters: the value is sent as is, so a quote in it needs no escaping.
user --json record add Customers --set "first_name=O'Brien" --set age=50 >/dev/null
user --json record search Customers --where "first_name = ? AND age >= ?" --param "O'Brien" --param 40 \
  >"$TMP/params.json"
[[ $(json_get records 0 fields first_name <"$TMP/params.json") == "O'Brien" ]] || fail "search --param: $(cat "$TMP/params.json")"
[[ $(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["records"]))' <"$TMP/params.json") == 1 ]] \
  || fail "search --param matched more: $(cat "$TMP/params.json")"
expect_exit 5 user record search Customers --where "age >= ?"                       # no value for '?'
grep -q "'?' stands for a bound parameter, and none were given" "$TMP/err" || fail "search --param error: $(cat "$TMP/err")"
user record delete Customers "$RID"
expect_exit 4 user record get Customers "$RID"                                      # NotFound
expect_exit 2 user record get Customers not-a-number                                # usage
expect_exit 2 user object create Bad --field age:integer                            # usage
expect_exit 3 "$CLI" --tenant "$TENANT" --key wrong-key whoami                      # Unauthenticated
grep -q "^cotenant: Unauthenticated: " "$TMP/err" || fail "error line format: $(cat "$TMP/err")"

step "sdk_example passed"
