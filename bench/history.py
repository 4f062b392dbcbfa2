"""Does the monthly build grow with retention? The same monthly snapshot built over the demo
data with about one month of earlier history, then again after twelve more months of
earlier history were added, in the same run:

    bench snapshot_monthly_time_12m_history_vs_1m: value=<s with 12 more months> baseline=<s> ratio=<value/baseline>

(lower is better; issue 17's target is ≤ 1.15). The extra history is the demo's events
before the built month copied back 30, 60, … 360 days under other user ids (other people,
so the month's numbers stay the same), with their first touches (events.people).

Environment: BENCH_HISTORY_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_history),
BENCH_HISTORY_USERS (default 10000), BENCH_HISTORY_DAYS (default 90: the month before the built one is whole), BENCH_HISTORY_MONTHS (default 12), BENCH_HISTORY_REPEAT (builds per figure, the median is
kept; default 5: single builds on a shared box move by ±50 %).
"""

import os
import statistics
import subprocess
import sys
import time

from harness import PYTHON, ROOT, connect, migrated_database
from snapshots import build, count_events, env

DATABASE_URL = os.environ.get("BENCH_HISTORY_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_history")
USERS = int(os.environ.get("BENCH_HISTORY_USERS", "10000"))
DAYS = int(os.environ.get("BENCH_HISTORY_DAYS", "90"))
MONTHS = int(os.environ.get("BENCH_HISTORY_MONTHS", "12"))
REPEAT = int(os.environ.get("BENCH_HISTORY_REPEAT", "5"))
HISTORY_MARK = "~h"  # suffix of the copied ids: the copies are told apart and removed by it

SEED = """
import django
django.setup()
from campaigns.demo import seed_definitions
from events.demo import seed_events
seed_definitions(seed=42)
print(seed_events(days={days}, users={users}, seed=42, progress=False))
"""
# The code before issue 17 has no first-touch table (measuring it for docs/scaling.md).
FIRST_TOUCHES = """
import django
django.setup()
try:
    from events.people import rebuild_first_touches
except ImportError:
    rebuild_first_touches = int
print(rebuild_first_touches())
"""
# Every column but the id (a new one) and user_id / person_id / ts (shifted), read from the
# catalog so the copy follows the table.
COLUMNS = """
SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'events_event'
  AND column_name NOT IN ('id', 'user_id', 'person_id', 'ts', 'dedupe_key')
"""


def log(message: str) -> None:
    print(f"[bench history] {message}", file=sys.stderr, flush=True)


def run(code: str) -> None:
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env(DATABASE_URL), check=True, stdout=subprocess.DEVNULL)


def month_start() -> str:
    """The first moment (UTC) of the last closed month in Asia/Shanghai: the monthly build's period."""
    with connect(DATABASE_URL) as conn:
        (start,) = conn.execute(
            "SELECT (date_trunc('month', (now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month') "
            "AT TIME ZONE 'Asia/Shanghai')::text"
        ).fetchone()
    return start


def remove_history() -> None:
    with connect(DATABASE_URL) as conn:
        conn.execute("DELETE FROM events_event WHERE user_id LIKE %s", [f"%{HISTORY_MARK}%"])


def add_history(before: str) -> int:
    """Copy the events before `before` back 30 × k days, k = 1 … MONTHS, as other people."""
    with connect(DATABASE_URL) as conn:
        (columns,) = conn.execute(COLUMNS).fetchone()
        has_person = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'events_event' AND column_name = 'person_id'"
        ).fetchone()
        if has_person:
            columns += ", person_id"
            copied = columns.replace(", person_id", ", person_id || %(mark)s")
        else:
            copied = columns
        added = 0
        for k in range(1, MONTHS + 1):
            added += conn.execute(
                f"INSERT INTO events_event (user_id, ts, dedupe_key, {columns}) "
                f"SELECT user_id || %(mark)s, ts - %(shift)s * interval '30 days', "
                f"md5(dedupe_key::text || %(mark)s)::uuid, {copied} FROM events_event "
                "WHERE ts < %(before)s AND user_id NOT LIKE %(copies)s",
                {"mark": f"{HISTORY_MARK}{k}", "shift": k, "before": before, "copies": f"%{HISTORY_MARK}%"},
            ).rowcount
        conn.execute("VACUUM ANALYZE events_event")
    return added


def median_build() -> float:
    return statistics.median(build(DATABASE_URL, "monthly")[0] for _ in range(REPEAT))


def main() -> None:
    migrated_database(DATABASE_URL, env=env(DATABASE_URL))
    remove_history()
    if count_events(DATABASE_URL) < USERS * 10:
        log(f"seeding {USERS} people over {DAYS} days …")
        run(SEED.format(days=DAYS, users=USERS))
    with connect(DATABASE_URL) as conn:
        conn.execute("VACUUM ANALYZE")
    run(FIRST_TOUCHES)
    events = count_events(DATABASE_URL)
    baseline = median_build()
    log(f"{events} events: monthly build {baseline:.2f} s")
    started = time.monotonic()
    added = add_history(month_start())
    run(FIRST_TOUCHES)
    log(f"added {added} events of earlier history in {time.monotonic() - started:.0f} s")
    try:
        value = median_build()
    finally:
        remove_history()
        run(FIRST_TOUCHES)
    print(
        f"bench snapshot_monthly_time_12m_history_vs_1m: value={value:.3f} baseline={baseline:.3f} "
        f"ratio={value / baseline:.2f} events={events + added}",
        flush=True,
    )


if __name__ == "__main__":
    main()
