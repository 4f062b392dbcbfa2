#!/usr/bin/env bash
# Seeds a fresh PostgreSQL database with fixed demo data and writes every snapshot's JSON, with
# build times masked, so two versions of the code can be compared with `cmp` or `diff`: a
# refactor of the report code must leave this output unchanged (docs/architecture.md).
#
# Usage: scripts/dump_demo_snapshots.sh DATABASE_NAME OUT.json   (run from a checkout; the
# database on 127.0.0.1:5432 is dropped and re-created). Compare two checkouts:
#   (cd ../old && scripts/dump_demo_snapshots.sh wx_old /tmp/old.json)
#   scripts/dump_demo_snapshots.sh wx_new /tmp/new.json && cmp /tmp/old.json /tmp/new.json
set -euo pipefail
cd "$(dirname "$0")/.."
db=$1
out=$(realpath -m "$2")
psql -h 127.0.0.1 -U "${PGUSER:-root}" -d postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
export DATABASE_URL=postgres://${PGUSER:-root}@127.0.0.1:5432/$db
unset CELERY_BROKER_URL
.venv/bin/python manage.py migrate --noinput >/dev/null
.venv/bin/python manage.py seed_demo --days 45 --users 3000 --seed 7 >/dev/null
.venv/bin/python manage.py shell -c "
import json, re
from reports.models import Snapshot
rows = []
for s in Snapshot.objects.order_by('kind', 'period_start', 'period_end', 'pk'):
    text = json.dumps(s.data, sort_keys=True, ensure_ascii=False, default=str)
    # Build times (and 'money up to <time>' in notes) differ between runs; nothing else may.
    text = re.sub(r'\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?', '<ts>', text)
    rows.append({'kind': s.kind, 'start': str(s.period_start), 'end': str(s.period_end), 'status': s.status, 'data': json.loads(text)})
json.dump(rows, open('$out', 'w'), indent=1, sort_keys=True, ensure_ascii=False)
print(len(rows), 'snapshots written to $out')
"
