#!/usr/bin/env bash
# Runs the whole suite. Uses the real PostgreSQL and Redis on localhost when they answer
# (they do on every development and CI machine) and says which it used.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

pg_url=${DATABASE_URL:-postgres://root@127.0.0.1:5432/wxanalytics}
redis_url=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/14}

if $BIN/python - "$pg_url" <<'PY' 2>/dev/null
import sys, psycopg, dj_database_url
cfg = dj_database_url.parse(sys.argv[1])
with psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], dbname="postgres",
                     connect_timeout=3, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
        conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
PY
then
  export DATABASE_URL="$pg_url"
  echo "make test: database = PostgreSQL ($DATABASE_URL)"
else
  unset DATABASE_URL
  echo "make test: database = SQLite (PostgreSQL not reachable at $pg_url; PostgreSQL-only tests are skipped)"
fi

if $BIN/python - "$redis_url" <<'PY' 2>/dev/null
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
PY
then
  export CELERY_BROKER_URL="$redis_url"
  echo "make test: Celery broker = Redis ($CELERY_BROKER_URL)"
else
  unset CELERY_BROKER_URL
  echo "make test: Celery broker = none (Redis not reachable at $redis_url; real-worker tests are skipped)"
fi

$BIN/python manage.py makemigrations --check --dry-run >/dev/null \
  || { echo "make test: models and migrations disagree; run manage.py makemigrations"; exit 1; }

# The demo runs on SQLite, through the portable write and the portable report SQL: the whole
# suite runs there too (a throwaway database file, tasks in-process, PostgreSQL-only tests
# skipped), alongside the PostgreSQL run rather than after it: the PostgreSQL run spends most
# of its time waiting on servers, workers and subprocesses (24 min wall for 5 min of CPU on a
# loaded 2-core machine), and the SQLite run ended 9 minutes before it. Its screenshots go to
# artifacts/sqlite/.
sqlite_pid=
if [ $# -eq 0 ] && [ -n "${DATABASE_URL:-}" ]; then
  sqlite_dir=$(mktemp -d)
  trap 'rm -rf "$sqlite_dir"; [ -z "$sqlite_pid" ] || kill "$sqlite_pid" 2>/dev/null || true' EXIT
  echo "make test: the whole suite on SQLite too, alongside (its output follows at the end)"
  mkdir -p artifacts/sqlite
  env -u CELERY_BROKER_URL DATABASE_URL="sqlite:///$sqlite_dir/test.sqlite3" TEST_ARTIFACTS_DIR="$PWD/artifacts/sqlite" \
    $BIN/python -m pytest >"$sqlite_dir/pytest.log" 2>&1 &
  sqlite_pid=$!
fi

pg_status=0
$BIN/python -m pytest "$@" || pg_status=$?

if [ -n "$sqlite_pid" ]; then
  sqlite_status=0
  wait "$sqlite_pid" || sqlite_status=$?
  sqlite_pid=
  echo "make test: the whole suite on SQLite"
  cat "$sqlite_dir/pytest.log"
  if [ "$sqlite_status" -ne 0 ]; then
    echo "make test: the suite failed on SQLite"
    [ "$pg_status" -ne 0 ] || pg_status=$sqlite_status
  fi
fi
[ "$pg_status" -eq 0 ] || exit "$pg_status"

if command -v node >/dev/null; then
  for sdk in miniprogram web; do
    if [ -d "sdk/$sdk/test" ]; then
      echo "make test: sdk/$sdk (node --test)"
      (cd "sdk/$sdk" && node --test test/)
    fi
  done
fi
