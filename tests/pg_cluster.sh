#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for the test suites that run on the PostgreSQL engine.
#
#   tests/pg_cluster.sh start DIR   initdb a new cluster, start it on a free loopback port,
#                                   write the connection URI to DIR/uri
#   tests/pg_cluster.sh stop DIR    stop that server (SIGTERM to its postmaster's pid, then
#                                   SIGKILL after 20 s) and delete it and DIR
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user
# (installed with the server package). Its cluster is then in a directory of its own under
# /tmp (DIR/cluster names it), which that user can reach wherever DIR is (a build tree
# inside a private directory, say). The server listens on
# 127.0.0.1 only, trusts local connections (it is a test server holding test data), and
# runs with fsync off (the suites never crash the test server itself).
set -euo pipefail
cmd=${1:?usage: pg_cluster.sh start|stop DIR}
dir=${2:?usage: pg_cluster.sh start|stop DIR}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
start)
  [[ -x $bindir/initdb ]] || { echo "pg_cluster: no PostgreSQL server in $bindir" >&2; exit 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  cluster=$(mktemp -d "${TMPDIR:-/tmp}/cotenant-pg.XXXXXX")
  chmod 0755 "$cluster"
  echo "$cluster" >"$dir/cluster"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$cluster"; fi
  as_pg "$bindir/initdb" -D "$cluster/data" -U postgres --auth=trust --no-sync -E UTF8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # A port from a range the kernel does not hand out as ephemeral; retried on a clash.
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 10000))
    if as_pg "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$cluster \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
         -c max_connections=400 -c shared_buffers=128MB" >/dev/null 2>&1; then
      echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/uri"
      echo "pg_cluster: PostgreSQL on 127.0.0.1:$port ($dir)"
      exit 0
    fi
  done
  echo "pg_cluster: PostgreSQL did not start:" >&2
  tail -20 "$cluster/server.log" >&2 || true
  exit 1
  ;;
stop)
  cluster=$(cat "$dir/cluster" 2>/dev/null || true)
  pidfile=$cluster/data/postmaster.pid
  if [[ -n $cluster && -f $pidfile ]]; then
    pid=$(head -1 "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  [[ -n $cluster && -d $cluster ]] && rm -rf "$cluster"
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg_cluster.sh start|stop DIR" >&2
  exit 2
  ;;
esac
