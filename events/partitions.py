"""Monthly partitions of `events_event` on PostgreSQL (docs/scaling.md, "Monthly partitions").

`events_event` is `PARTITION BY RANGE (ts)`: one partition per month of the reporting time
zone (`events_event_y2025m11` holds `[2025-11-01 00:00, 2025-12-01 00:00)` Asia/Shanghai,
the same bounds as the monthly snapshot and archive), plus `events_event_default` for
months that have no partition yet. Partitions are created as batches need them
(`ensure_partitions`, called by the ingest write), and an archived month leaves the
database with `drop_month` (detach + drop), not with a `DELETE`.

On SQLite (the demo) there are no partitions: `ensure_partitions` does nothing and
`drop_month` deletes the month's rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from wxanalytics.locks import advisory_xact_lock

PARENT = "events_event"
DEFAULT = "events_event_default"
KEYS = "events_eventkey"
# One lock for every partition change, so two processes never create or drop the same
# month at once (CREATE TABLE IF NOT EXISTS alone races on the catalog's unique index).
LOCK = "events.partitions"

# Months whose partition this process has seen committed: after the first batch of a
# month, ensuring it costs no query. Filled only on commit, so a rolled-back creation is
# not remembered. A partition dropped by another process stays "known" here; rows of
# that month then land in DEFAULT, which is allowed (see drop_month).
_known: set[date] = set()

# Ingest creates partitions for at most this many months back; older rows (an import of
# old history, or a wrong clock) go to DEFAULT. Without a limit, one batch of 1,000 rows
# with scattered timestamps could create 1,000 tables.
MONTHS_BACK = 120


@dataclass(frozen=True)
class DroppedMonth:
    partition: str
    events: int
    keys: int


def month_of(ts: datetime) -> date:
    """First day of the reporting-time-zone month holding `ts`."""
    return timezone.localtime(ts, settings.REPORTING_TZ).date().replace(day=1)


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month:%Y}m{month:%m}"


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of the month in the reporting time zone, as aware datetimes."""
    following = (month.replace(day=1) + timedelta(days=32)).replace(day=1)
    return (
        datetime.combine(month.replace(day=1), time.min, tzinfo=settings.REPORTING_TZ),
        datetime.combine(following, time.min, tzinfo=settings.REPORTING_TZ),
    )


def _literal(moment: datetime) -> str:
    # DDL takes no bind parameters; the value is ours (a datetime), never user input.
    return "'" + moment.astimezone(UTC).isoformat() + "'"


def ensure_partitions(timestamps: Iterable[datetime]) -> None:
    """Create the month partitions these timestamps need and do not have yet.

    One set look-up per batch once the months are known to this process. Runs inside the
    caller's transaction: the new partition is visible to the batch that needed it.
    """
    if connection.vendor != "postgresql":
        return
    today = month_of(timezone.now())
    index = today.year * 12 + today.month - 1 - MONTHS_BACK
    oldest = date(index // 12, index % 12 + 1, 1)
    timestamps = list(timestamps)
    if not timestamps:
        return
    first, last = month_of(min(timestamps)), month_of(max(timestamps))
    # A batch within one month (almost every batch) needs two conversions, not one per row.
    months = ({first} if first == last else {month_of(ts) for ts in timestamps}) - _known
    months = {month for month in months if month >= oldest}
    if not months:
        return
    with connection.cursor() as cursor:
        # One query for the usual case (the partitions exist, this process has not seen
        # them committed yet); the lock and the DDL only for the months really missing.
        names = {partition_name(month): month for month in months}
        cursor.execute("SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL", [list(names)])
        missing = {names[name] for (name,) in cursor.fetchall()}
    if missing:
        with transaction.atomic(), connection.cursor() as cursor:
            for month in sorted(missing):
                create_partition(cursor, month)
    transaction.on_commit(partial(_known.update, months))


def create_partition(cursor, month: date) -> bool:
    """Create one month's partition if missing; return whether it was created.

    Creating a range partition fails while DEFAULT holds rows of that range (late events
    that arrived before the partition existed), so those rows are moved into the new
    partition in the same transaction, keeping their ids.
    """
    name = partition_name(month)
    advisory_xact_lock(LOCK, cursor=cursor)
    cursor.execute("SELECT to_regclass(%s)", [name])
    if cursor.fetchone()[0] is not None:
        return False
    start, end = month_bounds(month)
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE ts >= %s AND ts < %s)", [start, end])  # noqa: S608
    stranded = cursor.fetchone()[0]
    if stranded:
        cursor.execute(
            "CREATE TEMP TABLE events_moved ON COMMIT DROP AS "  # noqa: S608 (identifiers are ours)
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts >= %s AND ts < %s RETURNING *) SELECT * FROM moved",
            [start, end],
        )
    cursor.execute(
        f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ({_literal(start)}) TO ({_literal(end)})"
    )
    if stranded:
        cursor.execute(f"INSERT INTO {PARENT} OVERRIDING SYSTEM VALUE SELECT * FROM events_moved")  # noqa: S608
        cursor.execute("DROP TABLE events_moved")
    return True


def drop_month(month: date) -> DroppedMonth:
    """Remove one month's events and dedupe keys (after it was archived).

    PostgreSQL: detach and drop the month's partition, delete any of its rows left in
    DEFAULT and its keys from `events_eventkey`. With the keys gone, an event of that
    month sent again is accepted as new: the dedupe horizon ends at the archive.
    """
    start, end = month_bounds(month)
    if connection.vendor != "postgresql":
        from events.models import Event

        deleted, _ = Event.objects.filter(ts__gte=start, ts__lt=end).delete()
        return DroppedMonth(partition="", events=deleted, keys=0)
    name = partition_name(month)
    with transaction.atomic(), connection.cursor() as cursor:
        advisory_xact_lock(LOCK, cursor=cursor)
        events = 0
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is not None:
            cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608
            events = cursor.fetchone()[0]
            # Deferred foreign-key checks of rows inserted earlier in this transaction
            # would block the DROP ("pending trigger events"): run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Plain DETACH (not CONCURRENTLY, which cannot run in a transaction): a brief
            # ACCESS EXCLUSIVE lock on events_event, once a month.
            cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")
        else:
            name = ""
        cursor.execute(f"DELETE FROM {DEFAULT} WHERE ts >= %s AND ts < %s", [start, end])  # noqa: S608
        events += cursor.rowcount
        cursor.execute(f"DELETE FROM {KEYS} WHERE ts >= %s AND ts < %s", [start, end])  # noqa: S608
        keys = cursor.rowcount
    _known.discard(month)
    return DroppedMonth(partition=name, events=events, keys=keys)
