#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for the test suites that run on the PostgreSQL engine.
#
#   tests/pg_cluster.sh start DIR   initdb in DIR/data, start on a free loopback port,
#                                   write the connection URI to DIR/uri
#   tests/pg_cluster.sh stop DIR    stop that server (SIGTERM to its postmaster's pid, then
#                                   SIGKILL after 20 s) and delete DIR
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user
# (installed with the server package), which owns DIR/data. The server listens on
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
  mkdir -p "$dir/data"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$dir"; fi
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # A port from a range the kernel does not hand out as ephemeral; retried on a clash.
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 10000))
    if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
         -c max_connections=400 -c shared_buffers=128MB" >/dev/null 2>&1; then
      echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/uri"
      echo "pg_cluster: PostgreSQL on 127.0.0.1:$port ($dir)"
      exit 0
    fi
  done
  echo "pg_cluster: PostgreSQL did not start:" >&2
  tail -20 "$dir/server.log" >&2 || true
  exit 1
  ;;
stop)
  pidfile=$dir/data/postmaster.pid
  if [[ -f $pidfile ]]; then
    pid=$(head -1 "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg_cluster.sh start|stop DIR" >&2
  exit 2
  ;;
esac
