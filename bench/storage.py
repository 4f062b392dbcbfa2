"""Bytes on disk per stored event, all included, on the 1M-event bench database of
bench/snapshots.py (issue 17's target: ≤ 600 at 1M events).

Counted: every partition of `events_event` (heap with its free-space and visibility maps,
TOAST, every index), `events_eventkey` (the dedupe keys: heap and indexes), and the two
tables that exist per person or per identity change because of the events:
`events_firsttouch` and `events_personchange` (a queue, usually empty). Sizes are what
PostgreSQL reports (pg_relation_size and friends), read as they are: no VACUUM FULL first.
Prints the breakdown (bytes per event by table, by index, and the average width of each
column of the events from a 2 % sample) on stderr, then:

    bench storage_bytes_per_event: value=<bytes> baseline=600 ratio=<value/600> events=<n>

(lower is better). Cheap: a COUNT(*) and catalogue reads; the database is created and
seeded by bench/snapshots.py's `prepare` when missing. Environment: BENCH_DATABASE_URL
(default postgres://root@127.0.0.1:5432/wxa_bench_1m).
"""

import os
import sys

from harness import connect
from snapshots import prepare

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_1m")
TARGET_BYTES = 600

# (part, bytes): the events' partitions, their indexes grouped by the parent index, the key
# table and the per-person tables.
PARTS = """
WITH partitions AS (
    SELECT c.oid, c.reltoastrelid FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events_event'::regclass
),
partition_indexes AS (
    SELECT x.indexrelid AS oid, COALESCE(parent.relname, own.relname) AS name
    FROM pg_index x JOIN partitions p ON p.oid = x.indrelid
    JOIN pg_class own ON own.oid = x.indexrelid
    LEFT JOIN pg_inherits i ON i.inhrelid = x.indexrelid
    LEFT JOIN pg_class parent ON parent.oid = i.inhparent
)
SELECT 'events_event heap', SUM(pg_relation_size(oid, 'main') + pg_relation_size(oid, 'fsm')
                                + pg_relation_size(oid, 'vm')) FROM partitions
UNION ALL
SELECT 'events_event TOAST', COALESCE(SUM(pg_total_relation_size(reltoastrelid)), 0)
FROM partitions WHERE reltoastrelid <> 0
UNION ALL
(SELECT 'events_event index ' || name, SUM(pg_relation_size(oid)) FROM partition_indexes GROUP BY name ORDER BY 2 DESC)
UNION ALL
SELECT 'events_eventkey heap', pg_table_size('events_eventkey')
UNION ALL
(SELECT 'events_eventkey index ' || c.relname, pg_relation_size(c.oid) FROM pg_index x
 JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = 'events_eventkey'::regclass ORDER BY 2 DESC)
UNION ALL
SELECT 'events_firsttouch (all)', pg_total_relation_size('events_firsttouch')
UNION ALL
SELECT 'events_personchange (all)', pg_total_relation_size('events_personchange')
"""


def column_widths(conn) -> list[tuple[str, float]]:
    """Average stored bytes of each column of events_event (NULL counting 0), and of the whole
    row as a datum (with its 24-byte tuple header and alignment), over a sample."""
    columns = [
        name
        for (name,) in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'events_event'::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum"
        ).fetchall()
    ]
    averages = ", ".join(f'AVG(COALESCE(pg_column_size(e."{name}"), 0))' for name in columns)
    row = conn.execute(
        f"SELECT {averages}, AVG(pg_column_size(e.*)) FROM events_event e TABLESAMPLE SYSTEM (2) REPEATABLE (17)"
    ).fetchone()
    return [
        *zip(columns, (float(value or 0) for value in row[:-1]), strict=True),
        ("(whole row datum)", float(row[-1])),
    ]


def measure(url: str) -> tuple[int, list[tuple[str, int]], list[tuple[str, float]]]:
    """(events, [(part, bytes)], [(column, average bytes)])."""
    with connect(url) as conn:
        (events,) = conn.execute("SELECT COUNT(*) FROM events_event").fetchone()
        parts = [(name, int(size)) for name, size in conn.execute(PARTS).fetchall()]
        return events, parts, column_widths(conn)


def report(events: int, parts: list[tuple[str, int]], widths: list[tuple[str, float]]) -> float:
    """Print the breakdown on stderr; return bytes per event, all included."""
    total = sum(size for _, size in parts)
    print(f"[bench storage] {events:,} events, {total / 1e6:,.1f} MB all included", file=sys.stderr)
    for name, size in parts:
        print(f"[bench storage]   {name:<48} {size / events:8.1f} B/event  {size / 1e6:9.1f} MB", file=sys.stderr)
    print("[bench storage] events_event columns, average bytes (2 % sample):", file=sys.stderr)
    for name, width in widths:
        print(f"[bench storage]   {name:<48} {width:8.1f}", file=sys.stderr)
    return total / events


def main() -> None:
    prepare(DATABASE_URL)
    events, parts, widths = measure(DATABASE_URL)
    per_event = report(events, parts, widths)
    print(
        f"bench storage_bytes_per_event: value={per_event:.1f} baseline={TARGET_BYTES} "
        f"ratio={per_event / TARGET_BYTES:.3f} events={events}"
    )


if __name__ == "__main__":
    main()
