#!/usr/bin/env bash
# Starts a Cotenant cluster on one machine, for trying it: etcd, two PostgreSQL 15 nodes
# under Patroni in synchronous mode, memcached and N cotenantd front-ends on one store.
# Not for production: everything runs on this machine, on loopback. See docs/DEPLOYMENT.md.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
SCHEMA=cotenant
PROG=$(basename "$0")

usage() {
  cat <<EOF
Usage: $PROG start DIR [FRONT_ENDS]   start the cluster under DIR (FRONT_ENDS cotenantd, default 2)
       $PROG stop DIR                 stop everything started under DIR

Starts, on free loopback ports: memcached, etcd, two PostgreSQL 15 nodes run by Patroni
(synchronous_mode, synchronous_mode_strict, use_pg_rewind), and FRONT_ENDS cotenantd on
one store whose --storage URI names both nodes. Logs, data and DIR/pids are under DIR.

Needs: etcd (Debian package etcd-server), patroni (patroni), memcached (memcached),
PostgreSQL 15 in $PG_BIN (postgresql-15), setpriv (util-linux) when run as root.
cotenantd and cotenant are looked for in \$COTENANT_BIN_DIR, then on PATH, then in
./build/tools/cotenantd and ./build/tools/cotenant.
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }

need() {  # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package $2"
}

find_bin() {  # find_bin NAME: the cotenantd or cotenant binary
  local name=$1
  if [[ -n "${COTENANT_BIN_DIR:-}" ]]; then
    [[ -x "$COTENANT_BIN_DIR/$name" ]] || die "$name not in COTENANT_BIN_DIR=$COTENANT_BIN_DIR"
    echo "$COTENANT_BIN_DIR/$name"; return
  fi
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  if [[ -x "./build/tools/$name/$name" ]]; then echo "$PWD/build/tools/$name/$name"; return; fi
  die "$name not found: set COTENANT_BIN_DIR, put it on PATH, or run from a build tree (./build/tools/$name/$name)"
}

free_port() {
  local py=/usr/bin/python3
  [[ -x $py ]] || py=python3
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for SECONDS WHAT LOG COMMAND...: until COMMAND succeeds
  local secs=$1 what=$2 log=$3; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$what not ready after ${secs}s; read $log (stop with: $PROG stop $DIR)"
    fi
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_200() {  # http_200 PORT PATH: Patroni's REST API answers 200
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2") || return 1
  [[ $code == 200 ]]
}

record_pid() { echo "$1 $2" >>"$DIR/pids"; }  # record_pid NAME PID

start() {
  local fe_count=${1:-2}
  [[ $fe_count =~ ^[1-9][0-9]*$ ]] || die "FRONT_ENDS must be a positive number, not '$fe_count'"
  need etcd etcd-server
  need patroni patroni
  need memcached memcached
  need curl curl
  [[ -x $PG_BIN/postgres ]] || die "no PostgreSQL 15 in $PG_BIN: install the Debian package postgresql-15"
  local cotenantd cotenant
  cotenantd=$(find_bin cotenantd)
  cotenant=$(find_bin cotenant)

  [[ -e $DIR/pids ]] && die "$DIR/pids exists: a cluster may be running there ($PROG stop $DIR)"
  if [[ -d $DIR && -n $(ls -A "$DIR") ]]; then
    die "$DIR is not empty: give a new or empty DIR (a stopped cluster's DIR can be removed)"
  fi
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  : >"$DIR/pids"

  local as_pg=()
  if [[ $(id -u) == 0 ]]; then
    # PostgreSQL refuses to run as root: Patroni (and the postmaster it starts) run as
    # postgres; setpriv execs in place, so the pid kept is Patroni's own.
    need setpriv util-linux
    id postgres >/dev/null 2>&1 || die "no postgres user: install the Debian package postgresql-15"
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups)
    chmod 755 "$DIR"
  fi
  local pg_dir=$DIR/pg
  mkdir -p "$pg_dir" "$DIR/logs"
  chmod 755 "$pg_dir"
  [[ $(id -u) == 0 ]] && chown postgres: "$pg_dir"
  if [[ ${#as_pg[@]} -gt 0 ]] && ! "${as_pg[@]}" test -w "$pg_dir"; then
    die "the postgres user cannot write $pg_dir: choose a DIR whose parents it can enter (e.g. under /tmp)"
  fi

  # memcached
  local mc_port; mc_port=$(free_port)
  local mc_user=()
  [[ $(id -u) == 0 ]] && mc_user=(-u nobody)
  memcached -l 127.0.0.1 -p "$mc_port" -U 0 "${mc_user[@]}" >"$DIR/logs/memcached.log" 2>&1 &
  record_pid memcached $!
  wait_for 10 memcached "$DIR/logs/memcached.log" port_open "$mc_port"

  # etcd, v3 API
  local etcd_port etcd_peer
  etcd_port=$(free_port); etcd_peer=$(free_port)
  local client=http://127.0.0.1:$etcd_port peers=http://127.0.0.1:$etcd_peer
  etcd --name try0 --data-dir "$DIR/etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peers" --initial-advertise-peer-urls "$peers" \
    --initial-cluster "try0=$peers" --initial-cluster-state new >"$DIR/logs/etcd.log" 2>&1 &
  record_pid etcd $!
  wait_for 30 etcd "$DIR/logs/etcd.log" port_open "$etcd_port"

  # Two PostgreSQL nodes, each run by its own Patroni.
  local pg_ports=() rest_ports=() i
  for i in 1 2; do
    local name=node$i pg_port rest_port
    pg_port=$(free_port); rest_port=$(free_port)
    pg_ports+=("$pg_port"); rest_ports+=("$rest_port")
    local hba='    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust'
    cat >"$pg_dir/$name.yml" <<EOF
scope: cotenant-try
name: $name
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest_port
  connect_address: 127.0.0.1:$rest_port
etcd3:
  hosts: 127.0.0.1:$etcd_port
bootstrap:
  dcs:
    # Patroni requires loop_wait + 2 * retry_timeout <= ttl.
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: 'on'
        max_connections: 200
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - auth: trust
  pg_hba:
$hba
postgresql:
  listen: 127.0.0.1:$pg_port
  connect_address: 127.0.0.1:$pg_port
  data_dir: $pg_dir/$name
  bin_dir: $PG_BIN
  pgpass: $pg_dir/$name.pgpass
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: $pg_dir
  pg_hba:
$hba
EOF
    chmod 644 "$pg_dir/$name.yml"
    (cd "$pg_dir" && HOME=$pg_dir exec "${as_pg[@]}" env HOME="$pg_dir" patroni "$pg_dir/$name.yml") \
      >"$DIR/logs/$name.log" 2>&1 &
    record_pid "$name" $!
  done

  primary_up() { http_200 "${rest_ports[0]}" /primary || http_200 "${rest_ports[1]}" /primary; }
  sync_up() { http_200 "${rest_ports[0]}" /sync || http_200 "${rest_ports[1]}" /sync; }
  wait_for 120 "a Patroni primary" "$DIR/logs/node1.log and $DIR/logs/node2.log" primary_up
  wait_for 120 "a synchronous standby" "$DIR/logs/node1.log and $DIR/logs/node2.log" sync_up
  local leader_port=${pg_ports[0]}
  http_200 "${rest_ports[0]}" /primary || leader_port=${pg_ports[1]}
  "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$leader_port" -U postgres -d postgres \
    -c "CREATE SCHEMA IF NOT EXISTS $SCHEMA" >"$DIR/logs/schema.log" 2>&1 ||
    die "creating the schema failed; read $DIR/logs/schema.log"

  local storage="postgresql://postgres@127.0.0.1:${pg_ports[0]},127.0.0.1:${pg_ports[1]}/postgres?target_session_attrs=read-write&connect_timeout=2&options=-csearch_path%3D$SCHEMA"
  local memcached_addr=127.0.0.1:$mc_port

  # The front-ends: the first initialises the store; later ones share its cache secret.
  local addrs=() first_data=$DIR/fe1/data n
  for ((n = 1; n <= fe_count; n++)); do
    local port; port=$(free_port)
    local args=(--data "$DIR/fe$n/data" --listen "127.0.0.1:$port" --storage "$storage"
                --memcached "$memcached_addr")
    mkdir -p "$DIR/fe$n"
    ((n > 1)) && args+=(--cache-secret-file "$first_data/cache.secret")
    "$cotenantd" "${args[@]}" >"$DIR/logs/cotenantd$n.log" 2>&1 &
    record_pid "cotenantd$n" $!
    addrs+=("127.0.0.1:$port")
    if ((n == 1)); then
      wait_for 60 "cotenantd 1 (its admin key)" "$DIR/logs/cotenantd1.log" test -s "$first_data/admin.key"
    fi
    wait_for 60 "cotenantd $n" "$DIR/logs/cotenantd$n.log" \
      "$cotenant" --addr "127.0.0.1:$port" --tenant 1 --key-file "$first_data/admin.key" whoami
  done

  local addr_list; addr_list=$(IFS=,; echo "${addrs[*]}")
  cat <<EOF
Cotenant cluster running under $DIR (for trying it; everything on this machine)
  memcached   $memcached_addr
  etcd        $client
  node1       PostgreSQL 127.0.0.1:${pg_ports[0]}, Patroni REST http://127.0.0.1:${rest_ports[0]}
  node2       PostgreSQL 127.0.0.1:${pg_ports[1]}, Patroni REST http://127.0.0.1:${rest_ports[1]}
EOF
  for ((n = 1; n <= fe_count; n++)); do
    echo "  cotenantd$n  ${addrs[n-1]}  (data $DIR/fe$n/data, log $DIR/logs/cotenantd$n.log)"
  done
  cat <<EOF
  storage     $storage
Admin key (system tenant 1): $first_data/admin.key
Logs: $DIR/logs   Pids: $DIR/pids

  export COTENANT_ADDR=$addr_list
  $cotenant --tenant 1 --key-file $first_data/admin.key whoami

Stop it: $0 stop $DIR
EOF
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_pid() {  # stop_pid NAME PID: SIGTERM, up to 20 s, then SIGKILL
  local name=$1 pid=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do alive "$pid" || return 0; sleep 0.5; done
  echo "$PROG: $name ($pid) still running after 20s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  [[ -f $DIR/pids ]] || die "no $DIR/pids: nothing started there"
  local name pid
  # The front-ends first, then Patroni (which stops its PostgreSQL), then etcd and memcached.
  for group in cotenantd node etcd memcached; do
    while read -r name pid; do
      [[ $name == "$group"* ]] && stop_pid "$name" "$pid" &
    done <"$DIR/pids"
    wait
  done
  # A postmaster Patroni did not stop (Patroni killed, say).
  local pm
  for pm in "$DIR"/pg/node*/postmaster.pid; do
    [[ -f $pm ]] || continue
    pid=$(head -n1 "$pm")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && stop_pid "postmaster" "$pid"
  done
  rm -f "$DIR/pids"
  echo "stopped the cluster under $DIR (its data and logs stay there)"
}

case "${1:-}" in
  start) [[ $# -ge 2 && $# -le 3 ]] || { usage >&2; exit 2; }; DIR=$2; start "${3:-2}" ;;
  stop) [[ $# -eq 2 ]] || { usage >&2; exit 2; }; DIR=$2; stop ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
