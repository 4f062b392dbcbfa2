"""Unplanned events (K2): event names received recently that the tracking plan does not
define, with how often and since when. One query whose cost follows the number of distinct
event names, not the number of events.

How it stays cheap on a table of millions of rows (index `event_name_ts`):
1. The distinct names come from a skip scan: a recursive query asks the index for the
   smallest name after the previous one, one index probe per distinct name (a few hundred
   at most: names are snake case and come from the apps and WeChat's pushes).
2. Planned names are dropped before anything is counted.
3. For each remaining name: one probe says whether it has an event in the window, two probes
   give its first and last time, and the count walks that name's index range in the window,
   stopped at `COUNT_CAP` (shown as "at least"). Unplanned names are the rare ones; the cap
   bounds a noisy one.
So the work is about (distinct names × index depth) plus at most COUNT_CAP index entries per
unplanned name; on PostgreSQL each probe visits the index of every monthly partition.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from campaigns.models import EventDefinition
from events.models import Event

WINDOW = timedelta(days=30)
COUNT_CAP = 100_000
MAX_NAMES = 200


@dataclass
class UnplannedEvent:
    name: str
    count: int  # events in the window, at most COUNT_CAP
    capped: bool  # the count stopped at COUNT_CAP
    first_seen: datetime  # the name's first event ever (event time)
    last_seen: datetime  # its latest event


def unplanned_events(*, now: datetime | None = None, window: timedelta = WINDOW) -> list[UnplannedEvent]:
    """Names with an event (by event time `ts`) in the `window` before `now` that are not in
    the tracking plan, by name (at most MAX_NAMES)."""
    since = (now or timezone.now()) - window
    events = Event._meta.db_table
    plan = EventDefinition._meta.db_table
    since_param = connection.ops.adapt_datetimefield_value(since)
    sql = f"""
        WITH RECURSIVE names(n) AS (
            SELECT MIN(event_name) FROM {events}
            UNION ALL
            SELECT (SELECT MIN(e.event_name) FROM {events} e WHERE e.event_name > names.n)
            FROM names WHERE names.n IS NOT NULL
        ),
        unplanned AS (
            SELECT names.n FROM names
            WHERE names.n IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM {plan} d WHERE d.name = names.n)
              AND EXISTS (SELECT 1 FROM {events} e WHERE e.event_name = names.n AND e.ts >= %s)
        )
        SELECT u.n,
               (SELECT COUNT(*) FROM (SELECT 1 FROM {events} e WHERE e.event_name = u.n AND e.ts >= %s LIMIT %s) c),
               (SELECT MIN(e.ts) FROM {events} e WHERE e.event_name = u.n),
               (SELECT MAX(e.ts) FROM {events} e WHERE e.event_name = u.n)
        FROM unplanned u ORDER BY u.n LIMIT %s
    """  # noqa: S608 (table names from the models; every value is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [since_param, since_param, COUNT_CAP + 1, MAX_NAMES])
        rows = cursor.fetchall()
    return [
        UnplannedEvent(
            name=name,
            count=min(count, COUNT_CAP),
            capped=count > COUNT_CAP,
            first_seen=_aware(first),
            last_seen=_aware(last),
        )
        for name, count, first, last in rows
    ]


def _aware(value) -> datetime:
    # SQLite returns raw-SQL datetimes as naive UTC text; PostgreSQL as aware datetimes.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
