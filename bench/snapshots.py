"""Snapshot build time over the seed_demo data set vs one full-scan aggregate of the same
events table, in the same run, and the building process's peak memory.

Seeds a bench database with `seed_demo`'s event generator (about 14 events per person, so
the default 75,000 people give about 1M events; skipped when the data is already there),
then builds the last closed weekly and monthly snapshots in a fresh process each (as a
worker would: `manage.py build_snapshot`), and prints:

    bench snapshot_weekly_build: value=<s> baseline=<full-scan s> ratio=<value/baseline> events=<n>
    bench snapshot_monthly_build: value=<s> baseline=<full-scan s> ratio=<value/baseline> events=<n>
    bench snapshot_build_peak_rss_mb: value=<MB> events=<n>

Environment: BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_snapshots),
BENCH_USERS (default 75000), BENCH_DAYS (default 60).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_snapshots")
USERS = int(os.environ.get("BENCH_USERS", "75000"))
DAYS = int(os.environ.get("BENCH_DAYS", "60"))
FULL_SCAN = "SELECT event_name, COUNT(*), SUM(value) FROM events_event GROUP BY event_name"

SEED = """
import django
django.setup()
from campaigns.demo import seed_definitions
from events.demo import seed_events
seed_definitions(seed=42)
print(seed_events(days={days}, users={users}, seed=42, progress=False))
"""


def log(message: str) -> None:
    print(f"[bench snapshots] {message}", file=sys.stderr, flush=True)


def env() -> dict[str, str]:
    # No broker: the after-build mail task runs in-process (there are no subscribers).
    clean = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    return {
        **clean,
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "wxanalytics.settings",
        "LOG_LEVEL": "WARNING",
    }


def connect(dbname: str | None = None) -> psycopg.Connection:
    cfg = dj_database_url.parse(DATABASE_URL)
    return psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"],
        password=cfg["PASSWORD"] or None,
        dbname=dbname or cfg["NAME"],
        autocommit=True,
    )


def prepare() -> int:
    name = dj_database_url.parse(DATABASE_URL)["NAME"]
    with connect("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env(), check=True)
    with connect() as conn:
        events = conn.execute("SELECT COUNT(*) FROM events_event").fetchone()[0]
    if events < USERS * 10:
        log(f"seeding {USERS} people over {DAYS} days (found {events} events) …")
        started = time.monotonic()
        subprocess.run([PYTHON, "-c", SEED.format(days=DAYS, users=USERS)], cwd=ROOT, env=env(), check=True)
        log(f"seeded in {time.monotonic() - started:.0f} s")
        with connect() as conn:
            conn.execute("VACUUM ANALYZE")
            events = conn.execute("SELECT COUNT(*) FROM events_event").fetchone()[0]
    return events


def full_scan_seconds() -> float:
    with connect() as conn:
        conn.execute(FULL_SCAN).fetchall()  # warm the cache, as the builds will find it
        started = time.perf_counter()
        conn.execute(FULL_SCAN).fetchall()
        return time.perf_counter() - started


def build(kind: str) -> tuple[float, float]:
    """(build seconds as recorded on the snapshot, peak RSS in MB of the process) of
    `manage.py build_snapshot <kind>` run in its own process like a worker would."""
    process = subprocess.Popen(
        [PYTHON, "manage.py", "build_snapshot", kind], cwd=ROOT, env=env(), stdout=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read().decode()
    process.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build_snapshot {kind} failed:\n{output}")
    log(output.strip().splitlines()[0])
    with connect() as conn:
        (duration_ms,) = conn.execute(
            "SELECT duration_ms FROM reports_snapshot WHERE kind = %s ORDER BY built_at DESC LIMIT 1", [kind]
        ).fetchone()
    return duration_ms / 1000, usage.ru_maxrss / 1024


def main() -> None:
    events = prepare()
    baseline = full_scan_seconds()
    log(f"{events} events; full-scan aggregate {baseline:.3f} s")
    peak = 0.0
    for kind in ("weekly", "monthly"):
        seconds, rss = build(kind)
        peak = max(peak, rss)
        print(
            f"bench snapshot_{kind}_build: value={seconds:.3f} baseline={baseline:.3f} "
            f"ratio={seconds / baseline:.1f} events={events}",
            flush=True,
        )
    print(f"bench snapshot_build_peak_rss_mb: value={peak:.0f} events={events}", flush=True)


if __name__ == "__main__":
    main()
