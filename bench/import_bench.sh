#!/usr/bin/env bash
# Import benchmark (docs/BENCHMARKS.md, "Import"): one generated CSV loaded four ways in one
# run, each on a fresh private server or directory, nothing over the network but loopback:
#
#   1. Cotenant logical import: `cotenant-import Customers FILE --quiet --json` against a
#      private cotenantd, timed from start to exit (file to acknowledged records), with the
#      importer's peak RSS; then the same with --physical on another fresh cotenantd (file
#      to visible records);
#   2. PostgreSQL 15 `\copy` of the same file into a table of the same columns with a
#      bigserial primary key and a btree index on email, on a private postgres;
#   3. raw RocksDB: bench/import_raw_fill writes the same record and index keys in batches
#      of 500 on the store's RocksDB options.
#
# and prints rows, seconds, rows/s, MB/s and CPU per row of each, with the ratios. Every
# figure of a run comes from the same file on the same machine in the same minutes.
#
#   bench/import_bench.sh [--build DIR] [--rows N] [--keep] [--window N] [--batch N]
#                         [--alt "IMPORTER FLAGS"] [--perf] [--only cotenant,postgres,raw]
#
#   --build DIR   build tree holding tools/ and bench/ (default: build, from the repo root)
#   --rows N      rows of the generated CSV (default 1000000, ~200 bytes each)
#   --keep        keep the temporary directory (CSV, data directories, logs)
#   --window N, --batch N   passed to cotenant-import (default: its own defaults)
#   --alt FLAGS   also import the file a second time with these importer flags, on a
#                 second fresh cotenantd (e.g. "--batch 1000 --window 16")
#   --perf        also profile cotenantd and the importer with perf during the Cotenant
#                 import (slows it: its figures are then not comparable; reports in the
#                 temporary directory, which is kept)
#   --only LIST   run only these phases (comma-separated: cotenant, physical, postgres, raw)
#
# Needs: the build's cotenantd, cotenant, cotenant-import and bench/import_raw_fill
# (cmake --build BUILD -j2 --target import_raw_fill cotenantd cotenant cotenant-import),
# python3, PostgreSQL 15 in /usr/lib/postgresql/15/bin and psql, and root (postgres is run
# as the postgres user through runuser). Everything it starts is stopped by PID on exit,
# also on failure or Ctrl-C; the temporary directory is removed unless --keep.

set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$REPO/build"
ROWS=1000000
KEEP=0
WINDOW=""
BATCH=""
ALT=""
PERF=0
ONLY="cotenant,physical,postgres,raw"
PGBIN=/usr/lib/postgresql/15/bin

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --window) WINDOW=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --alt) ALT=$2; shift 2 ;;
    --perf) PERF=1; KEEP=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "import_bench: unknown option $1" >&2; usage ;;
  esac
done
[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -gt 0 ]] || { echo "import_bench: --rows takes a positive number" >&2; exit 2; }
phase() { [[ ",$ONLY," == *",$1,"* ]]; }

SERVER=$BUILD/tools/cotenantd/cotenantd
CLI=$BUILD/tools/cotenant/cotenant
IMPORTER=$BUILD/tools/cotenant-import/cotenant-import
RAWFILL=$BUILD/bench/import_raw_fill
for b in "$SERVER" "$CLI" "$IMPORTER" "$RAWFILL"; do
  [[ -x "$b" ]] || { echo "import_bench: missing $b (build it first, see --help)" >&2; exit 2; }
done
if phase postgres; then
  [[ -x "$PGBIN/initdb" && -x "$PGBIN/pg_ctl" ]] || { echo "import_bench: no PostgreSQL 15 in $PGBIN" >&2; exit 2; }
  command -v psql >/dev/null || { echo "import_bench: no psql" >&2; exit 2; }
  [[ $(id -u) -eq 0 ]] || { echo "import_bench: the PostgreSQL phase needs root (runuser -u postgres)" >&2; exit 2; }
fi
TIMEV=""
[[ -x /usr/bin/time ]] && TIMEV=/usr/bin/time

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cotenant-import-bench.XXXXXX")
chmod 711 "$TMP"  # postgres must reach its directory inside
SERVER_PID=""
PG_DATA=""
PG_PID=""
BG_PIDS=()

cleanup() {
  local rc=$?
  set +e
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    for _ in $(seq 200); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1
  fi
  if [[ -n "$PG_PID" ]] && kill -0 "$PG_PID" 2>/dev/null; then
    kill -QUIT "$PG_PID" 2>/dev/null  # immediate shutdown of the postmaster and its children
    sleep 1
    kill -9 "$PG_PID" 2>/dev/null
  fi
  if [[ $KEEP -eq 1 ]]; then
    echo "files kept in $TMP" >&2
  elif [[ $rc -ne 0 ]]; then
    echo "import_bench: FAILED (exit $rc)" >&2
    for log in "$TMP"/*.log "$TMP"/pg/*.log; do
      [[ -f "$log" ]] || continue
      echo "---- last lines of $log ----" >&2
      tail -n 20 "$log" >&2
    done
    rm -rf "$TMP"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "== $*" >&2; }
die() { echo "import_bench: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# A loopback port nobody listens on (a /dev/tcp connect fails on a free port).
free_port() {
  local p
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

json_get() {
  python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[int(k)] if isinstance(d, list) else d[k]
print(d if isinstance(d, str) else json.dumps(d))' "$@"
}

# CPU ticks (user + system, all threads) of a process; 0 once it is gone.
ticks() { { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null || echo; } | awk '{ print ($12 + $13) + 0 }'; }
# CPU ticks of a process's threads summed by thread name: lines "name ticks". The main
# thread (cotenantd's first RPC event loop) is "rpc-loop-0"; the other threads named after
# the binary (the storage pool, the WAL syncer, the audit and usage writers) are "pool".
thread_ticks() {
  awk -v pid="$1" '{ match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2)
         if ($1 == pid) name = "rpc-loop-0"; else if (name == "cotenantd") name = "pool"
         split(substr($0, RSTART + RLENGTH + 1), f, " "); t[name] += f[12] + f[13] }
       END { for (n in t) print n, t[n] }' /proc/"$1"/task/*/stat 2>/dev/null | sort
}
# Busy and total ticks of the whole machine.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
HZ=$(getconf CLK_TCK)
# "Maximum resident set size (kbytes)" of a /usr/bin/time -v report, in MiB.
max_rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
cpu_seconds_timev() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$1"; }

# ---- The input ----------------------------------------------------------------------------

CSV="$TMP/customers.csv"
say "generating $ROWS rows into $CSV"
python3 - "$ROWS" "$CSV" <<'EOF'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
first = ["Ann", "Bob", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemal", "Lena", "Marco", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomoko"]
last = ["Lee", "Novak", "Garcia", "Okafor", "Schmidt", "Rossi", "Tanaka", "Silva", "Dubois",
        "Kowalski", "Jensen", "Haddad", "Murphy", "Ivanova", "Chen", "Moreau", "Kaya", "Berg"]
cities = ["Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lyon", "Krakow", "Austin",
          "Porto", "Seoul", "Dublin", "Lima", "Oslo", "Cairo", "Perth", "Quito"]
filler = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
          "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud "
          "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat ") * 3
out = open(path, "w", buffering=1 << 20)
out.write("email,name,city,age,balance,joined,notes\n")
x = 88172645463325252  # xorshift64: the same file on every machine and Python version
mask = (1 << 64) - 1
for i in range(1, rows + 1):
    x ^= (x << 13) & mask; x ^= x >> 7; x ^= (x << 17) & mask
    h = x
    # Unique (the id is in it) and in random order relative to the row order.
    email = "%08x.%s.%d@example.com" % (h & 0xffffffff, last[(h >> 32) % len(last)].lower(), i)
    name = first[(h >> 40) % len(first)] + " " + last[(h >> 48) % len(last)]
    city = cities[(h >> 20) % len(cities)]
    age = 18 + (h >> 8) % 72
    balance = "%d.%02d" % ((h >> 24) % 100000, h % 100)
    t = 1420070400 + (h >> 16) % 315360000  # 2015..2025
    # ISO-8601 UTC without the datetime module (it is slow): days to a civil date.
    days, sec = divmod(t, 86400)
    z = days + 719468; era = z // 146097; doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100); mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1; m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    joined = "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, sec // 3600, sec // 60 % 60, sec % 60)
    head = "%s,%s,%s,%d,%s,%s," % (email, name, city, age, balance, joined)
    start = (h >> 4) % 200
    out.write(head + filler[start:start + max(10, 199 - len(head))] + "\n")
out.close()
EOF
CSV_BYTES=$(stat -c %s "$CSV")
say "$(awk -v b="$CSV_BYTES" -v r="$ROWS" 'BEGIN { printf "%.1f MB, %.0f bytes per row", b / 1e6, b / r }')"

# Result lines "name rows seconds" (and extras) collected for the table.
RESULTS="$TMP/results"
: >"$RESULTS"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 1. Cotenant logical import --------------------------------------------------------------

IMPORT_FLAGS=(--quiet --json)
[[ -n "$WINDOW" ]] && IMPORT_FLAGS+=(--window "$WINDOW")
[[ -n "$BATCH" ]] && IMPORT_FLAGS+=(--batch "$BATCH")

# Runs one timed import of the CSV into OBJECT of the current COTENANT_TENANT; NAME labels
# the result; the rest are extra importer flags.
run_import() {
  local name=$1 object=$2; shift 2
  local base="$TMP/$name"
  # The importer keeps its checkpoint and rejects beside the input: give each run its own.
  ln -sf "$CSV" "$base.csv"
  local machine0 machine1 s0 s1 t0 t1 rc=0
  read -r -a machine0 < <(machine_ticks)
  s0=$(ticks "$SERVER_PID")
  thread_ticks "$SERVER_PID" >"$base.threads0"
  local cmd=("$IMPORTER" "$object" "$base.csv" "${IMPORT_FLAGS[@]}" "$@")
  if [[ $PERF -eq 1 ]]; then
    perf record -F 499 -g -o "$base.perf-server.data" -p "$SERVER_PID" >"$base.perf-server.log" 2>&1 &
    local perf_pid=$!
    BG_PIDS+=("$perf_pid")
    sleep 1
    cmd=(perf record -F 499 -g -o "$base.perf-importer.data" -- "${cmd[@]}")
  fi
  [[ -n "$TIMEV" ]] && cmd=("$TIMEV" -v -o "$base.time" "${cmd[@]}")
  say "cotenant-import $object ${IMPORT_FLAGS[*]} $*"
  t0=$(now)
  "${cmd[@]}" >"$base.json" 2>"$base.err" || rc=$?
  t1=$(now)
  s1=$(ticks "$SERVER_PID")
  thread_ticks "$SERVER_PID" >"$base.threads1"
  read -r -a machine1 < <(machine_ticks)
  if [[ $PERF -eq 1 ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  [[ $rc -eq 0 ]] || { cat "$base.err" >&2; die "cotenant-import exited $rc"; }
  local added
  added=$(json_get added <"$base.json")
  [[ "$added" -eq "$ROWS" ]] || die "cotenant-import added $added of $ROWS rows"
  local secs rss="n/a" imp_cpu="n/a"
  secs=$(elapsed "$t0" "$t1")
  if [[ -n "$TIMEV" ]]; then
    rss=$(max_rss_mib "$base.time")
    imp_cpu=$(cpu_seconds_timev "$base.time")
  fi
  local srv_cpu machine_busy
  srv_cpu=$(awk -v a="$s0" -v b="$s1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
  machine_busy=$(awk -v a="${machine0[0]}" -v b="${machine1[0]}" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
  # cotenantd's CPU by thread name (rpc-loop-N: the event loops; pool: the storage pool
  # and the periodic threads; rocksdb:*: flushes and compactions).
  local by_thread
  by_thread=$(awk -v hz="$HZ" 'NR == FNR { b[$1] = $2; next }
    { printf "%s%s:%.2f", sep, $1, ($2 - b[$1]) / hz; sep = "," }' "$base.threads0" "$base.threads1")
  echo "$name $ROWS $secs rss=$rss client_cpu=$imp_cpu server_cpu=$srv_cpu machine_cpu=$machine_busy server_threads=$by_thread" >>"$RESULTS"
  say "$name: $secs s (importer's own count: $(json_get seconds <"$base.json") s), importer RSS $rss MiB"
}

# Starts a fresh cotenantd (cotenantd's defaults) with data in DIR; sets SERVER_PID and
# COTENANT_ADDR.
start_cotenantd() {
  local dir=$1 port
  port=$(free_port) || die "no free port"
  say "starting cotenantd on 127.0.0.1:$port (data in $dir)"
  "$SERVER" --data "$dir" --listen "127.0.0.1:$port" >"$dir.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "cotenantd exited at start"
    if [[ -s "$dir/admin.key" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  [[ -s "$dir/admin.key" ]] || die "cotenantd wrote no $dir/admin.key"
  export COTENANT_ADDR=127.0.0.1:$port
}

# Stops it (SIGTERM: it flushes and closes the store), noting its peak RSS and data size.
stop_cotenantd() {
  local name=$1 dir=$2 hwm
  hwm=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status")
  say "stopping cotenantd (peak RSS $hwm MiB)"
  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
  echo "$name-disk $(du -sm "$dir" | cut -f1) server_hwm=$hwm" >>"$RESULTS"
}

# As the system admin of the server in DIR: a tenant, its admin with a role granting
# everything, and the object Customers. Exports COTENANT_TENANT and COTENANT_KEY_FILE.
setup_tenant() {
  local dir=$1 t user_json uid
  local admin=("$CLI" --tenant 1 --key-file "$dir/admin.key")
  t=$("${admin[@]}" --json tenant create bench | json_get tenant id)
  user_json=$("${admin[@]}" --json user create loader --level tenant-admin --in-tenant "$t" 2>/dev/null)
  json_get apiKey <<<"$user_json" >"$dir.loader.key"
  uid=$(json_get user id <<<"$user_json")
  local as=("$CLI" --tenant "$t" --key-file "$dir.loader.key")
  "${as[@]}" role create all --right '*:all' >/dev/null
  "${as[@]}" role add-member all --user "$uid" >/dev/null
  "${as[@]}" object create Customers --field email:text:indexed:required --field name:text \
    --field city:text --field age:int --field balance:float --field joined:timestamp \
    --field notes:text >/dev/null
  export COTENANT_TENANT=$t COTENANT_KEY_FILE=$dir.loader.key
}

if phase cotenant || phase physical; then
  unset COTENANT_KEY COTENANT_KEY_FILE COTENANT_TENANT
  runs=()
  phase cotenant && runs+=(cotenant)
  phase cotenant && [[ -n "$ALT" ]] && runs+=(cotenant-alt)
  phase physical && runs+=(cotenant-physical)
  for run in "${runs[@]}"; do
    # Each run on a fresh server, so neither loads into the other's memtables.
    start_cotenantd "$TMP/$run-data"
    setup_tenant "$TMP/$run-data"
    if [[ $run == cotenant ]]; then
      run_import "$run" Customers
    elif [[ $run == cotenant-physical ]]; then
      run_import "$run" Customers --physical
    else
      # shellcheck disable=SC2086
      run_import "$run" Customers $ALT
    fi
    stop_cotenantd "$run" "$TMP/$run-data"
    [[ $KEEP -eq 1 ]] || rm -rf "$TMP/$run-data"
    sync
  done
fi

# ---- 2. PostgreSQL \copy -----------------------------------------------------------------

if phase postgres; then
  PG_DIR="$TMP/pg"
  mkdir -p "$PG_DIR"
  chown postgres: "$PG_DIR"
  chmod 700 "$PG_DIR"
  chmod o+r "$CSV"  # psql reads it as us; this only lets the kept file be inspected
  say "initdb in $PG_DIR/data"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$TMP/initdb.log" 2>&1
  PG_DATA="$PG_DIR/data"
  PG_PORT=$(free_port) || die "no free port"
  say "starting postgres on 127.0.0.1:$PG_PORT"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >"$TMP/pg_ctl.log" 2>&1 ||
    { cat "$PG_DIR/postgres.log" >&2; die "postgres did not start"; }
  PG_PID=$(head -n1 "$PG_DATA/postmaster.pid")
  pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"; }
  pg -c "CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL, name text,
           city text, age bigint, balance double precision, joined timestamptz, notes text);
         CREATE INDEX customers_email ON customers (email);"
  PG_SETTINGS=$(pg -At -c "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name)
    FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'wal_level',
    'max_wal_size', 'checkpoint_timeout', 'maintenance_work_mem', 'wal_buffers', 'full_page_writes')")
  say "postgres settings: $PG_SETTINGS"
  echo "$PG_SETTINGS" >"$TMP/pg_settings"
  base="$TMP/postgres"
  # The postmaster's children before the copy; the backend's own total comes from psql
  # itself, right after the copy, while the backend still exists.
  for p in "$PG_PID" $(ps -o pid= --ppid "$PG_PID"); do echo "$p $(ticks "$p")"; done >"$base.before"
  cat >"$base.sql" <<SQL
SELECT pg_backend_pid() AS bpid \\gset
\\copy customers (email, name, city, age, balance, joined, notes) FROM '$CSV' WITH (FORMAT csv, HEADER true)
\\setenv BPID :bpid
\\! echo "\$BPID \$(sed 's/.*) //' /proc/\$BPID/stat | awk '{ print \$12 + \$13 }')" >$base.backend
SQL
  cmd=(psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -f "$base.sql")
  [[ -n "$TIMEV" ]] && cmd=("$TIMEV" -v -o "$base.time" "${cmd[@]}")
  say "psql \\copy customers FROM $CSV"
  read -r -a machine0 < <(machine_ticks)
  t0=$(now)
  "${cmd[@]}" >"$base.out" 2>"$base.err" || { cat "$base.err" >&2; die "\\copy failed"; }
  t1=$(now)
  read -r -a machine1 < <(machine_ticks)
  for p in "$PG_PID" $(ps -o pid= --ppid "$PG_PID"); do echo "$p $(ticks "$p")"; done >"$base.after"
  grep -q "COPY $ROWS" "$base.out" || { cat "$base.out" >&2; die "\\copy did not copy $ROWS rows"; }
  secs=$(elapsed "$t0" "$t1")
  psql_cpu="n/a"
  [[ -n "$TIMEV" ]] && psql_cpu=$(cpu_seconds_timev "$base.time")
  # The backend's total, plus what the postmaster and its lasting children (WAL writer,
  # checkpointer, background writer) spent meanwhile.
  srv_cpu=$(awk -v hz="$HZ" 'FILENAME ~ /before$/ { b[$1] = $2; next }
    FILENAME ~ /backend$/ { s += $2; next }
    ($1 in b) { s += $2 - b[$1] } END { printf "%.2f", s / hz }' \
    "$base.before" "$base.backend" "$base.after")
  machine_busy=$(awk -v a="${machine0[0]}" -v b="${machine1[0]}" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
  echo "postgres $ROWS $secs client_cpu=$psql_cpu server_cpu=$srv_cpu machine_cpu=$machine_busy" >>"$RESULTS"
  say "postgres: $secs s"
  pg -c "ANALYZE customers" >/dev/null
  echo "postgres-disk $(pg -At -c "SELECT pg_database_size('postgres') / 1048576") wal=$(du -sm "$PG_DATA/pg_wal" | cut -f1)" >>"$RESULTS"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 120 stop >/dev/null 2>&1 || true
  PG_PID=""
  [[ $KEEP -eq 1 ]] || rm -rf "$PG_DIR"
  PG_DATA=""
  sync
fi

# ---- 3. Raw RocksDB fill -------------------------------------------------------------------

if phase raw; then
  base="$TMP/raw"
  cmd=("$RAWFILL" "$CSV" "$TMP/rocksdb" --batch 500)
  [[ -n "$TIMEV" ]] && cmd=("$TIMEV" -v -o "$base.time" "${cmd[@]}")
  say "import_raw_fill (batches of 500, the store's RocksDB options)"
  read -r -a machine0 < <(machine_ticks)
  "${cmd[@]}" >"$base.json" 2>"$base.err" || { cat "$base.err" >&2; die "import_raw_fill failed"; }
  read -r -a machine1 < <(machine_ticks)
  [[ "$(json_get rows <"$base.json")" -eq "$ROWS" ]] || die "import_raw_fill wrote $(json_get rows <"$base.json") rows"
  secs=$(json_get seconds <"$base.json")
  raw_cpu="n/a"
  [[ -n "$TIMEV" ]] && raw_cpu=$(cpu_seconds_timev "$base.time")
  machine_busy=$(awk -v a="${machine0[0]}" -v b="${machine1[0]}" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
  echo "raw $ROWS $secs client_cpu=$raw_cpu machine_cpu=$machine_busy" >>"$RESULTS"
  echo "raw-disk $(du -sm "$TMP/rocksdb" | cut -f1)" >>"$RESULTS"
  say "raw: $secs s"
  [[ $KEEP -eq 1 ]] || rm -rf "$TMP/rocksdb"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- The table -----------------------------------------------------------------------------

python3 - "$RESULTS" "$CSV_BYTES" "$ROWS" "$LOAD_BEFORE" "$LOAD_AFTER" "$PERF" "$(nproc)" <<'EOF'
import sys
path, csv_bytes, rows, load0, load1, perf, ncpu = sys.argv[1:8]
csv_bytes, rows = int(csv_bytes), int(rows)
res, extra = {}, {}
for line in open(path):
    parts = line.split()
    kv = dict(p.split("=", 1) for p in parts if "=" in p)
    plain = [p for p in parts if "=" not in p]
    if len(plain) == 3:
        res[plain[0]] = (int(plain[1]), float(plain[2]), kv)
    else:
        extra[plain[0]] = (plain[1:], kv)

def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None

labels = {"cotenant": "Cotenant logical import", "cotenant-alt": "Cotenant import (--alt)",
          "cotenant-physical": "Cotenant physical import",
          "postgres": "PostgreSQL 15 \\copy", "raw": "raw RocksDB fill"}
print(f"\nimport benchmark: {rows} rows, {csv_bytes / 1e6:.1f} MB CSV "
      f"({csv_bytes / rows:.0f} bytes/row), {ncpu} cores; load average before {load0}, after {load1}")
if perf == "1":
    print("(--perf: the Cotenant import ran under perf; its figures are not comparable)")
print()
cols = [("load", 26, "<"), ("rows", 9, ">"), ("seconds", 8, ">"), ("rows/s", 9, ">"),
        ("MB/s", 6, ">"), ("client CPU s", 12, ">"), ("server CPU s", 12, ">"),
        ("CPU us/row", 10, ">"), ("machine CPU s", 13, ">")]
def row(cells):
    print("| " + " | ".join(f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, cols)) + " |")
row([c[0] for c in cols])
print("|" + "|".join("-" * (w + 2) if a == "<" else "-" * (w + 1) + ":" for _, w, a in cols) + "|")
rate, cpu = {}, {}
COTENANT_RUNS = ["cotenant", "cotenant-alt", "cotenant-physical"]
for key in COTENANT_RUNS + ["postgres", "raw"]:
    if key not in res:
        continue
    n, secs, kv = res[key]
    rate[key] = n / secs
    c, sv = num(kv.get("client_cpu")), num(kv.get("server_cpu"))
    per_row = "-"
    if c is not None:
        cpu[key] = (c + (sv or 0)) / n * 1e6
        per_row = f"{cpu[key]:.1f}"
    row([labels[key], n, f"{secs:.2f}", f"{n / secs:.0f}", f"{csv_bytes / secs / 1e6:.1f}",
         kv.get("client_cpu", "-"), kv.get("server_cpu", "-"), per_row, kv.get("machine_cpu", "-")])
print()
print("CPU us/row: client + server CPU per row (the raw fill is one process: all its threads).")
print("machine CPU s: every process on the machine meanwhile; what exceeds client + server is")
print("other load on the same cores.")
for key in COTENANT_RUNS:
    if key in res and "server_threads" in res[key][2]:
        print(f"cotenantd CPU s by thread ({key}): " + res[key][2]["server_threads"].replace(",", ", "))
print()
def ratio(a, b, what):
    if a in rate and b in rate:
        line = f"{what}: {rate[a] / rate[b]:.2f}x by rows/s"
        if a in cpu and b in cpu:
            line += f", {cpu[b] / cpu[a]:.2f}x by CPU per row"
        print(line)
ratio("cotenant", "postgres", "Cotenant logical / PostgreSQL \\copy")
ratio("cotenant", "raw", "Cotenant logical / raw RocksDB")
ratio("postgres", "raw", "PostgreSQL \\copy / raw RocksDB")
ratio("cotenant-alt", "cotenant", "Cotenant --alt / Cotenant defaults")
ratio("cotenant-physical", "postgres", "Cotenant physical / PostgreSQL \\copy")
ratio("cotenant-physical", "raw", "Cotenant physical / raw RocksDB")
ratio("cotenant-physical", "cotenant", "Cotenant physical / logical")
for key in COTENANT_RUNS:
    if key in res:
        rss = res[key][2].get("rss", "n/a")
        hwm = extra.get(key + "-disk", ([], {}))[1].get("server_hwm")
        print(f"importer peak RSS ({key}): {rss} MiB" + (f"; cotenantd peak RSS {hwm} MiB" if hwm else ""))
for key, name in [("cotenant-disk", "Cotenant data dir"), ("cotenant-alt-disk", "Cotenant (--alt) data dir"),
                  ("cotenant-physical-disk", "Cotenant (physical) data dir"),
                  ("postgres-disk", "PostgreSQL database"), ("raw-disk", "raw RocksDB dir")]:
    if key in extra:
        v, kv = extra[key]
        print(f"{name}: {v[0]} MiB on disk" + (f" (+ {kv['wal']} MiB WAL)" if "wal" in kv else ""))
print()
print("targets:")
if "cotenant" in rate and "postgres" in rate:
    r = rate["cotenant"] / rate["postgres"]
    print(f"  logical import >= 1.0x PostgreSQL \\copy with its index: {r:.2f}x -- {'met' if r >= 1.0 else 'NOT met'}")
if "cotenant" in res:
    rss = res["cotenant"][2].get("rss", "n/a")
    if rss != "n/a":
        print(f"  importer RSS < 100 MiB: {rss} MiB -- {'met' if float(rss) < 100 else 'NOT met'}")
if "cotenant-physical" in rate:
    for base, name, target in [("postgres", "PostgreSQL \\copy", 3.0), ("raw", "the raw RocksDB fill", 0.7)]:
        if base in rate:
            r = rate["cotenant-physical"] / rate[base]
            print(f"  physical import >= {target}x {name}: {r:.2f}x -- {'met' if r >= target else 'NOT met'}")
EOF
if [[ -f "$TMP/pg_settings" ]]; then
  echo "PostgreSQL settings (defaults): $(cat "$TMP/pg_settings")"
fi
if [[ $PERF -eq 1 ]]; then
  for d in "$TMP"/*.perf-*.data; do
    perf report -i "$d" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15 >"${d%.data}.dso.txt" || true
    perf report -i "$d" --stdio --no-children --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 >"${d%.data}.sym.txt" || true
    echo "perf: $d -> ${d%.data}.{dso,sym}.txt"
  done
fi
