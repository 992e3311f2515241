#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the team-store tests and prints
# the line to export, e.g.:
#
#   eval "$(scripts/pg-test-server.sh)"   # sets NEXTCORE_TEST_PG
#   go test ./...
#
# It uses Debian's postgresql package (apt-get install postgresql), runs
# the server as the postgres user when started as root, listens on
# loopback only, and makes two roles: nextcore_writer (owns the schema)
# and nextcore_reader (SELECT only), both with password "nextcore".
# DIR (default: a new temporary folder) holds the data; PORT defaults to
# the first free port from 55432. SHARED_BUFFERS (default 4GB: the benchmark's
# 10 M records' rollups are read from it; the memory is taken only as it is
# used) sizes PostgreSQL's cache; HUGE_PAGES=1 (as root) reserves huge pages
# for it, as scripts/bench-pg.sh's figures were measured. Stop it with: pg_ctl -D "$DIR/data" stop
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "pg-test-server: no PostgreSQL here (apt-get install postgresql)" >&2; exit 1; }
port=${PORT:-55432}
if [ -z "${PORT:-}" ]; then
  # The first free port from 55432 on: another server may hold one.
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
fi
sb=${SHARED_BUFFERS:-4GB}
if [ "${HUGE_PAGES:-}" = 1 ]; then
  # Shared buffers in 2 MB pages: a new connection maps them without a
  # fault every 4 kB (what a short report pays most for). Root only.
  mb=$(echo "$sb" | awk '/GB$/ {print $1 * 1024; next} /MB$/ {print $1 + 0}')
  want=$(( mb / 2 + 128 ))
  if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt "$want" ]; then
    echo "$want" > /proc/sys/vm/nr_hugepages || echo "pg-test-server: cannot reserve huge pages (root only)" >&2
  fi
fi
dir=${DIR:-$(mktemp -d)}
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as=(runuser -u postgres --)
fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
fi
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=$sb -c huge_pages=try" start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }
psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1)
"${psql[@]}" -d postgres <<'SQL' >/dev/null
SELECT 'CREATE DATABASE nextcore' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'nextcore')\gexec
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nextcore_writer') THEN
    CREATE ROLE nextcore_writer LOGIN PASSWORD 'nextcore';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nextcore_reader') THEN
    CREATE ROLE nextcore_reader LOGIN PASSWORD 'nextcore';
  END IF;
END $$;
SQL
"${psql[@]}" -d nextcore <<'SQL' >/dev/null
CREATE SCHEMA IF NOT EXISTS nextcore AUTHORIZATION nextcore_writer;
GRANT CREATE ON DATABASE nextcore TO nextcore_writer;
GRANT USAGE ON SCHEMA nextcore TO nextcore_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE nextcore_writer IN SCHEMA nextcore GRANT SELECT ON TABLES TO nextcore_reader;
SQL
echo "export NEXTCORE_TEST_PG='postgres://nextcore_writer:nextcore@127.0.0.1:$port/nextcore?sslmode=disable'"
echo "export NEXTCORE_TEST_PG_READER='postgres://nextcore_reader:nextcore@127.0.0.1:$port/nextcore?sslmode=disable'"
echo "export NEXTCORE_TEST_PG_DIR='$dir'"
