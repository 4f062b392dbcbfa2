"""Snapshot build time over the seed_demo data set vs one full-scan aggregate of the same
events table, in the same run, at about 1M and about 2M events, and the building process's
peak memory.

Seeds a bench database with `seed_demo`'s event generator (about 14 events per person, so
the default 75,000 people give about 1M events; skipped when the data is already there).
The 2M database is a copy of the 1M one plus a second demo population (another seed);
making it takes about 10 minutes once, later runs reuse it (BENCH_2M=0 skips that size).
Then builds the last closed daily, weekly and monthly snapshots in a fresh process each
(as a worker would: `manage.py build_snapshot`), BENCH_SNAPSHOT_REPEAT times, alternating the
two sizes, and prints the medians:

    bench snapshot_<kind>_time_vs_scan: value=<s> baseline=<full-scan s> ratio=<value/baseline> events=<n>
    bench snapshot_<kind>_time_2m_vs_1m: value=<s at 2M> baseline=<s at 1M> ratio=<value/baseline>
    bench snapshot_build_peak_rss_mb: value=<MB> baseline=300 ratio=<value/300> events=<n>

(lower is better for all). The full scan is the issue's yardstick: people per week,
`COUNT(DISTINCT user_id)` grouped by the Monday-based week, over the whole events table.

Environment: BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_1m),
BENCH_2M_DATABASE_URL (default the same name with _2m), BENCH_2M (default 1),
BENCH_USERS (default 75000), BENCH_DAYS (default 60), BENCH_SNAPSHOT_REPEAT (builds of each
kind and size, alternating the sizes; the median is printed; default 3), BENCH_LAYOUT (`arrival`,
the default: the seeded events are rewritten in time order, as live events are stored; `seeded`:
the generator's person-by-person order, where a week's events lie on every page of the month).
"""

import os
import re
import statistics
import subprocess
import sys
import time

import dj_database_url
from harness import PYTHON, ROOT, connect, migrated_database

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_1m")
DATABASE_URL_2M = os.environ.get("BENCH_2M_DATABASE_URL", DATABASE_URL.rsplit("_1m", 1)[0] + "_2m")
WITH_2M = os.environ.get("BENCH_2M", "1") == "1"
KINDS = ("daily", "weekly", "monthly")
PEAK_RSS_TARGET_MB = 300
USERS = int(os.environ.get("BENCH_USERS", "75000"))
DAYS = int(os.environ.get("BENCH_DAYS", "60"))
REPEAT = int(os.environ.get("BENCH_SNAPSHOT_REPEAT", "3"))
LAYOUT = os.environ.get("BENCH_LAYOUT", "arrival")
FULL_SCAN = (
    "SELECT date_trunc('week', ts AT TIME ZONE 'Asia/Shanghai') AS week, COUNT(DISTINCT user_id) "
    "FROM events_event GROUP BY 1"
)

SEED = """
import django
django.setup()
from campaigns.demo import seed_definitions
from events.demo import seed_events
seed_definitions(seed=42)
print(seed_events(days={days}, users={users}, seed={seed}, progress=False))
"""


def log(message: str) -> None:
    print(f"[bench snapshots] {message}", file=sys.stderr, flush=True)


def env(url: str) -> dict[str, str]:
    # No broker: the after-build mail task runs in-process (there are no subscribers).
    clean = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    return {
        **clean,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "wxanalytics.settings",
        "LOG_LEVEL": "WARNING",
        # build() reads the command's English line ("built in N ms"); commands speak
        # LANGUAGE_CODE, Chinese by default.
        "LANGUAGE_CODE": "en",
    }


def count_events(url: str) -> int:
    with connect(url) as conn:
        return conn.execute("SELECT COUNT(*) FROM events_event").fetchone()[0]


def seed(url: str, seed_value: int) -> None:
    log(f"seeding {USERS} people over {DAYS} days (seed {seed_value}) into {url} …")
    started = time.monotonic()
    code = SEED.format(days=DAYS, users=USERS, seed=seed_value)
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env(url), check=True, stdout=subprocess.DEVNULL)
    log(f"seeded in {time.monotonic() - started:.0f} s")
    with connect(url) as conn:
        conn.execute("VACUUM ANALYZE")


def lay_out_in_arrival_order(url: str) -> None:
    """Rewrite each events partition in time order, as events arriving live are stored.

    The demo generator writes person by person, so a week's events end up on nearly every
    page of their month (correlation of `ts` with the row order ≈ 0) and a weekly query reads
    the whole month; in production events are appended as they arrive. BENCH_LAYOUT=seeded
    keeps the generator's order (the worst case: a history imported person by person)."""
    if LAYOUT != "arrival":
        return
    with connect(url) as conn:
        conn.autocommit = True
        partitions = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'events_event'::regclass ORDER BY 1"
        ).fetchall()
        for (partition,) in partitions:
            row = conn.execute(
                "SELECT correlation FROM pg_stats WHERE tablename = %s AND attname = 'ts'", [partition]
            ).fetchone()
            if row is None or row[0] is None or row[0] > 0.9:
                continue  # empty, or already in time order
            started = time.monotonic()
            conn.execute(f"CREATE INDEX bench_arrival_order ON {partition} (ts)")
            conn.execute(f"CLUSTER {partition} USING bench_arrival_order")
            conn.execute("DROP INDEX bench_arrival_order")
            conn.execute(f"ANALYZE {partition}")
            log(f"{partition}: rows laid out in time order in {time.monotonic() - started:.0f} s")


def prepare(url: str) -> int:
    migrated_database(url, env=env(url))
    if count_events(url) < USERS * 10:
        seed(url, 42)
    lay_out_in_arrival_order(url)
    return count_events(url)


def prepare_2m(url_1m: str, url: str, events_1m: int) -> int:
    """A copy of the 1M database plus a second demo population: twice the people and events
    over the same days."""
    migrated_database(url, env=env(url), template=dj_database_url.parse(url_1m)["NAME"])
    if count_events(url) < events_1m * 1.8:
        seed(url, 43)
    lay_out_in_arrival_order(url)
    return count_events(url)


def full_scan_seconds(url: str) -> float:
    """The median of three runs of the yardstick query, after one that warms the cache as the
    builds will find it."""
    with connect(url) as conn:
        conn.execute(FULL_SCAN).fetchall()
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            conn.execute(FULL_SCAN).fetchall()
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)


def build(url: str, kind: str) -> tuple[float, float]:
    """(build seconds as recorded on the snapshot, peak RSS in MB of the process) of
    `manage.py build_snapshot <kind>` run in its own process like a worker would. The daily
    build takes the last full day of the data (the demo ends yesterday; a bench database
    may be older than that)."""
    command = [PYTHON, "manage.py", "build_snapshot", kind]
    if kind == "daily":
        with connect(url) as conn:
            (last_day,) = conn.execute(
                "SELECT (MAX(ts) AT TIME ZONE 'Asia/Shanghai')::date - 1 FROM events_event"
            ).fetchone()
        command += ["--date", last_day.isoformat()]
    process = subprocess.Popen(command, cwd=ROOT, env=env(url), stdout=subprocess.PIPE)
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.stdout.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    built = re.search(r"built in (\d+) ms", output)
    if process.returncode != 0 or built is None:
        raise SystemExit(f"build_snapshot {kind} failed:\n{output}")
    log(output.strip().splitlines()[0])
    return int(built.group(1)) / 1000, usage.ru_maxrss / 1024


def main() -> None:
    sizes = {"1m": DATABASE_URL}
    events = {"1m": prepare(DATABASE_URL)}
    if WITH_2M:
        sizes["2m"] = DATABASE_URL_2M
        events["2m"] = prepare_2m(DATABASE_URL, DATABASE_URL_2M, events["1m"])
    scans = {size: full_scan_seconds(url) for size, url in sizes.items()}
    for size in sizes:
        log(f"{size}: {events[size]} events; full-scan aggregate {scans[size]:.3f} s")
    # Rounds alternate the sizes, so a burst of other work on the box weighs on both sides of
    # the 2M/1M ratio instead of on one; each figure is the median of its builds.
    builds: dict[tuple[str, str], list[float]] = {(size, kind): [] for size in sizes for kind in KINDS}
    peak = {size: 0.0 for size in sizes}
    for _ in range(REPEAT):
        for kind in KINDS:
            for size, url in sizes.items():
                seconds, rss = build(url, kind)
                builds[size, kind].append(seconds)
                peak[size] = max(peak[size], rss)
    median = {key: statistics.median(runs) for key, runs in builds.items()}
    for size in sizes:
        for kind in KINDS:
            print(
                f"bench snapshot_{kind}_time_vs_scan: value={median[size, kind]:.3f} baseline={scans[size]:.3f} "
                f"ratio={median[size, kind] / scans[size]:.2f} events={events[size]} builds={REPEAT} layout={LAYOUT}",
                flush=True,
            )
        print(
            f"bench snapshot_build_peak_rss_mb: value={peak[size]:.0f} baseline={PEAK_RSS_TARGET_MB} "
            f"ratio={peak[size] / PEAK_RSS_TARGET_MB:.2f} events={events[size]}",
            flush=True,
        )
    if WITH_2M:
        for kind in KINDS:
            print(
                f"bench snapshot_{kind}_time_2m_vs_1m: value={median['2m', kind]:.3f} "
                f"baseline={median['1m', kind]:.3f} ratio={median['2m', kind] / median['1m', kind]:.2f} "
                f"events={events['2m']} builds={REPEAT} layout={LAYOUT}",
                flush=True,
            )


if __name__ == "__main__":
    main()
