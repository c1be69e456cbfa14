# Shared by the end-to-end shell tests (sourced, not run): arguments, a temporary
# directory kept on failure, a cotenantd that is always stopped, and small assertions.
#
#   source "$(dirname "$0")/script_common.sh" NAME "$@"
#
# sets BUILD, SRC, TMP and SERVER_PID (set it when starting a server) and defines
# step, fail, json_get, free_port, expect_exit (output of the last command in
# $TMP/out and $TMP/err) and contains.

if [[ $# -ne 3 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
BUILD=$(cd "$2" && pwd)
SRC=$(cd "$3" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cotenant-$1.XXXXXX")
SERVER_PID=""

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $rc -eq 0 ]]; then
    rm -rf "$TMP"
  else
    echo "FAILED (exit $rc); files kept in $TMP" >&2
    if [[ -f "$TMP/server.log" ]]; then
      echo "---- last lines of server.log ----" >&2
      tail -n 40 "$TMP/server.log" >&2 || true
    fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# json_get KEY1 KEY2 ... < json: prints the value at that path (strings bare, the rest as
# JSON: true, 42).
json_get() {
  python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[int(k)] if isinstance(d, list) else d[k]
print(d if isinstance(d, str) else json.dumps(d))' "$@"
}

# A loopback port nobody listens on (bash only: /dev/tcp connect fails on a free port).
free_port() {
  local p
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# expect_exit CODE CMD...: runs CMD (output to $TMP/out, $TMP/err), fails unless it exits CODE.
expect_exit() {
  local want=$1; shift
  local rc=0
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [[ $rc -ne $want ]]; then
    cat "$TMP/out" "$TMP/err" >&2
    fail "'$*' exited $rc, want $want"
  fi
}

# contains FILE TEXT: fails unless FILE has the fixed string TEXT.
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks: $2"; }; }

# start_server: starts BUILD's cotenantd on a free loopback port with data in $TMP/data,
# waits until it listens and has written the system admin's key; sets SERVER_PID, PORT,
# ADDR and COTENANT_ADDR, and defines admin (the CLI as the system admin, via $CLI).
start_server() {
  local bin="$BUILD/tools/cotenantd/cotenantd"
  [[ -x "$bin" ]] || fail "no server at $bin"
  PORT=$(free_port) || fail "no free port"
  ADDR="127.0.0.1:$PORT"
  step "start cotenantd on $ADDR"
  "$bin" --data "$TMP/data" --listen "$ADDR" >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || fail "cotenantd exited early"
    if [[ -s "$TMP/data/admin.key" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  [[ -s "$TMP/data/admin.key" ]] || fail "cotenantd wrote no $TMP/data/admin.key"
  export COTENANT_ADDR="$ADDR"
}
admin() { "$CLI" --tenant 1 --key-file "$TMP/data/admin.key" "$@"; }
