#!/usr/bin/env bash
# The whole test suite: on SQLite (with the browser tests), then on a throwaway PostgreSQL server.
# Lint and format are checked first, and a failure stops the run before any test.
# Extra arguments go to pytest, e.g.  bash scripts/test.sh -k people
#   SKIP_LINT=1 bash scripts/test.sh ...   run the tests even though ruff is not satisfied (while editing)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev || exit 1

if [[ "${SKIP_LINT:-}" != 1 ]]; then
  echo "== ruff check and ruff format --check"
  .venv/bin/ruff check . || {
    echo "FAILED: 'ruff check' found the problems above (many fix with: .venv/bin/ruff check --fix); no tests run"
    echo "        (SKIP_LINT=1 runs the tests anyway)"
    exit 1
  }
  .venv/bin/ruff format --check . || {
    echo "FAILED: the files above are not formatted (fix with: .venv/bin/ruff format); no tests run"
    echo "        (SKIP_LINT=1 runs the tests anyway)"
    exit 1
  }
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_dir=$(mktemp -d /tmp/registry-pg.XXXXXX)
pg_port=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
as_pg=()
if [[ "$(id -u)" == 0 ]]; then
  chown postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
stop_postgres() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir"; }
trap stop_postgres EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U registry -E UTF8 >/dev/null || exit 1
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -o \
  "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$pg_dir/server.log"; exit 1; }
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U registry registry_test || exit 1

echo "== tests on SQLite (with browser tests)"
.venv/bin/python -m pytest -q "$@"
sqlite_status=$?
echo "== tests on PostgreSQL"
TEST_DATABASE_URL="postgresql+psycopg://registry@127.0.0.1:$pg_port/registry_test" \
  .venv/bin/python -m pytest -q -m "not e2e" "$@"
postgres_status=$?
if ((sqlite_status != 0 || postgres_status != 0)); then
  echo "FAILED: SQLite run exited $sqlite_status, PostgreSQL run exited $postgres_status"
  exit 1
fi
