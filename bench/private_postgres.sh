#!/usr/bin/env bash
# Start a PostgreSQL of our own beside the machine's shared one, configured as docs/operations.md sizes a
# production server (autovacuum on, shared buffers that hold the million-loan tables), on this machine's cores.
#
#   bench/private_postgres.sh start [DIR] [PORT]   # default /work/pgprod, 5433; prints the URL for bench/eod.py
#   bench/private_postgres.sh stop [DIR]
#
# The shared server on 5432 is never touched (testing.md: never restart it). Its settings (128 MB of shared
# buffers, autovacuum off) suit the test suite, not a million loans; this one is for measuring end of day as a
# production server would run it (docs/performance.md). It runs as the `postgres` user, as initdb requires.
set -euo pipefail

action=${1:-start}
dir=${2:-/work/pgprod}
port=${3:-5433}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
data=$dir/data

as_postgres() { su postgres -c "$*"; }

case $action in
start)
    mkdir -p "$dir" && chown postgres "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_postgres "$bin/initdb -D $data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
    fi
    # docs/operations.md, "Sizing": shared_buffers 8 GB for a million loans; autovacuum on (PostgreSQL's default)
    settings="-p $port -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=8GB -c effective_cache_size=16GB"
    settings="$settings -c maintenance_work_mem=1GB -c work_mem=32MB -c max_wal_size=8GB -c checkpoint_timeout=15min"
    settings="$settings -c autovacuum=on -c max_connections=200"
    if ! as_postgres "$bin/pg_ctl -D $data status" >/dev/null; then
        as_postgres "$bin/pg_ctl -D $data -l $dir/log -o '$settings' -w start" >/dev/null
    fi
    psql -h 127.0.0.1 -p "$port" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
        || psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE test"
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/test"
    ;;
stop)
    as_postgres "$bin/pg_ctl -D $data -m fast -w stop" >/dev/null
    ;;
*)
    echo "usage: $0 start|stop [DIR] [PORT]" >&2
    exit 2
    ;;
esac
