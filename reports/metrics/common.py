"""Shared types and SQL pieces of the metric functions.

Every metric function takes a `Period` and `Filters` and returns plain dataclasses. The
maths run in the database: each function sends a fixed, small number of queries whatever
the data size, and nothing iterates over events in Python.

The SQL here runs on PostgreSQL (tests, production) and SQLite (the zero-setup demo).
Where the two dialects differ (seconds between two timestamps, reading a JSON property,
how a datetime parameter must be passed) the difference is handled in exactly one function
below, so metric modules never branch on the vendor themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from events.identity import person_sql
from events.models import AdSpend, Event, Identity
from reports.periods import Period
from wxanalytics.replica import reports_connection

from .sql import Sql, table

# Event names the reports rely on (seed §2–§5 and the WeChat push/Pay mappings). Kept in
# one place so a renamed event in the tracking plan is a one-line change.
PAY_SUCCESS = "pay_success"
# A buyer's later order: retention, never conversion (docs/metrics.md).
REPEAT_PURCHASE = "repeat_purchase"
REFUND_SUCCESS = "refund_success"
LEAD_FORM_SUBMIT = "lead_form_submit"
FOLLOW = "follow"
UNFOLLOW = "unfollow"
QR_SCAN = "qr_scan"
MENU_CLICK = "menu_click"
CTA_CLICK = "cta_click"
ARTICLE_OPEN = "article_open"
ARTICLE_READ_COMPLETE = "article_read_complete"
ARTICLE_SHARE = "article_share"
ARTICLE_PUBLISH = "article_publish"
# WeChat pushes MASSSENDJOBFINISH when a mass send (an article) has gone out.
MASS_SEND_FINISHED = "oa_masssendjobfinish"
PAGE_VIEW = "page_view"
PAGE_LOAD_TIME = "page_load_time"
API_ERROR = "api_error"
PAYMENT_RETRY = "payment_retry"
START_CHECKOUT = "start_checkout"
KEY_ACTIONS = ("add_to_cart", START_CHECKOUT, "select_coupon", PAY_SUCCESS)
OPERATIONAL_EVENTS = ("refund_request", "return_approved", "ticket_created")

RATE_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Filters:
    """Which events a metric looks at. Empty fields mean "all".

    `campaign_id` and `source` also restrict ad spend (by campaign); `placement_id` and
    `app_id` only apply to events (ad spend has neither). Each function's docstring says
    which of its events the filters select (usually the *starting* event: the funnel entry,
    event A of a conversion, the counted event).
    """

    campaign_id: int | None = None
    source: str | None = None
    placement_id: int | None = None
    app_id: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.campaign_id or self.source or self.placement_id or self.app_id)

    def sql(self, alias: str = "e") -> Sql:
        """`AND …` conditions on an events table alias, with their parameters."""
        parts = [
            Sql(f" AND {alias}.{name} = %({name})s", {name: value})
            for name, value in (
                ("campaign_id", self.campaign_id),
                ("source", self.source),
                ("placement_id", self.placement_id),
                ("app_id", self.app_id),
            )
            if value
        ]
        return Sql.join("", parts)


# --- SQL pieces (the only vendor branches) ---------------------------------------------


def events_table() -> str:
    return table(Event)


@dataclass(frozen=True)
class PersonOf:
    """Who did an event, for report SQL: `key` is the person (the identity's person_id, a
    unionid or alias, else the raw user_id; events.identity owns the rule) and `join` the
    LEFT JOIN it needs, written right after `FROM <events> <alias>`. Every query resolves
    people through this one fragment, so changing how (say, a person column written on
    the event) is a change here."""

    key: Sql
    join: Sql


def person_of(alias: str = "e", identity_alias: str = "i") -> PersonOf:
    found = person_sql(alias, identity_alias=identity_alias)
    return PersonOf(key=Sql(found.expression), join=Sql(found.join))


def seconds_between(earlier: str, later: str) -> str:
    """SQL for the seconds from `earlier` to `later` (two timestamp expressions)."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    # julianday is a float of days: 12:00 → 12:30 comes out as 1800.00000xx s, which breaks
    # inclusive window ends ("at most 30 minutes"). Its resolution is ~50 µs, so rounding to
    # the millisecond gives the exact seconds.
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


def materialized() -> str:
    """`MATERIALIZED `: compute a CTE once, then join it by hash (PostgreSQL) or through an
    automatic index (SQLite ≥ 3.35). Without it, PostgreSQL on a freshly loaded table with no
    statistics picks nested loops over the person expression (minutes instead of a second),
    and SQLite re-scans an inlined subquery per row."""
    if connection.vendor == "postgresql":
        return "MATERIALIZED "
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35):
        return "MATERIALIZED "
    return ""


def json_text(column: str, key: str) -> str:
    """SQL reading properties[key] as text. `key` must be a literal identifier, never input."""
    if not key.isidentifier():
        raise ValueError(f"JSON key {key!r} is not a plain identifier.")
    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"CAST(json_extract({column}, '$.{key}') AS TEXT)"


def json_number(column: str, key: str) -> str:
    """SQL reading properties[key] as a number (NULL when absent)."""
    if not key.isidentifier():
        raise ValueError(f"JSON key {key!r} is not a plain identifier.")
    if connection.vendor == "postgresql":
        return f"CAST(NULLIF({column} ->> '{key}', '') AS NUMERIC)"
    return f"CAST(json_extract({column}, '$.{key}') AS REAL)"


def db_datetime(value: datetime) -> Any:
    """A datetime as a raw-SQL parameter. SQLite stores naive UTC text, so an aware value
    must be converted the way the ORM does it; PostgreSQL takes it as is."""
    return connection.ops.adapt_datetimefield_value(value)


def in_period(period: Period, filters: Filters | None = None, alias: str = "e") -> Sql:
    """`alias.ts` within the period (parameters `start` and `end`), and the filters."""
    return Sql(
        f"{alias}.ts >= %(start)s AND {alias}.ts < %(end)s{{where}}",
        {"start": db_datetime(period.start), "end": db_datetime(period.end)},
    ).format(where=(filters or Filters()).sql(alias))


def bucket_case(column: str, bounds: Sequence[datetime], name: str) -> Sql:
    """`CASE WHEN col >= b0 AND col < b1 THEN 0 … END`: the index of the [b_k, b_k+1) slice
    `column` falls in, NULL outside; parameters `name_0`, `name_1` … Slicing by bounds
    computed in Python keeps local days, weeks and months exact in the reporting time zone
    on both databases."""
    whens, params = [], {}
    for index in range(len(bounds) - 1):
        whens.append(f"WHEN {column} >= %({name}_{index})s AND {column} < %({name}_{index + 1})s THEN {index}")
        params[f"{name}_{index}"] = db_datetime(bounds[index])
        params[f"{name}_{index + 1}"] = db_datetime(bounds[index + 1])
    return Sql(f"(CASE {' '.join(whens)} END)", params)


def in_list(values: Sequence[Any], name: str) -> Sql:
    """`(%(name_0)s, %(name_1)s, …)` for an IN clause; never empty (an empty list matches
    nothing)."""
    if not values:
        return Sql("(NULL)")
    params = {f"{name}_{index}": value for index, value in enumerate(values)}
    return Sql("(" + ", ".join(f"%({key})s" for key in params) + ")", params)


@contextmanager
def report_queries() -> Iterator[None]:
    """Run the block's queries (a snapshot build) with PostgreSQL's JIT compiler, nested
    loops and merge joins off, then restore the session. The person-keyed CTEs carry row
    estimates in the millions, which trips jit_above_cost (at 1M events JIT spent 12.6 s
    compiling a 24 s cohort query); the last funnel step is estimated at 1 row, so the
    planner rescans a 120k-row CTE per person (2.1 s of a 4.5 s funnel); and the inflated
    estimates pick merge joins that sort a million rows where a hash of the small side
    does (weekly build −15 % at 2M events). work_mem goes to 16 MB: the cohort query's
    per-person aggregate spilled 40 MB to disk in 21 batches at the default 4 MB (monthly
    build −6 % at 1M events). Measured in docs/scaling.md."""
    reads = reports_connection()
    if reads.vendor != "postgresql":
        yield
        return
    with reads.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('jit', 'off', false), set_config('enable_nestloop', 'off', false), "
            "set_config('enable_mergejoin', 'off', false), set_config('work_mem', %s, false)",
            [settings.REPORTS_WORK_MEM],
        )
    try:
        yield
    finally:
        try:
            with reads.cursor() as cursor:
                cursor.execute("RESET jit; RESET enable_nestloop; RESET enable_mergejoin; RESET work_mem")
        except DatabaseError:
            # An aborted transaction: its rollback undoes the settings too. Let the
            # original error through rather than this one.
            pass


def refresh_planner_statistics() -> list[str]:
    """ANALYZE the tables the metrics read when PostgreSQL has no fresh statistics for them
    (never analyzed, or more than 10 % of rows changed since). Call it once before building
    reports after a bulk load: with autovacuum off or not yet run, the planner assumes
    near-empty tables and picks nested loops that take minutes. Returns the tables analyzed."""
    if connection.vendor != "postgresql":
        return []
    events, tables = Event._meta.db_table, [m._meta.db_table for m in (Event, Identity, AdSpend)]
    rows = (
        Sql(
            """SELECT relname, COALESCE(n_mod_since_analyze, 0), n_live_tup,
                  last_analyze IS NULL AND last_autoanalyze IS NULL
           FROM pg_stat_user_tables WHERE relname IN {tables}"""
        )
        .format(tables=in_list(tables, "table"))
        .fetch()
    )
    stale = [name for name, changed, live, never in rows if never or changed > max(live, 1000) * 0.1]
    # A partitioned events table (PostgreSQL, events.partitions) never counts changes on the
    # parent, and autovacuum analyzes only its partitions; the planner still needs the
    # parent's statistics for joins over several months. Compare the parent's row estimate
    # with its partitions' live rows instead.
    partitioned = Sql(
        """SELECT p.reltuples::float8, COALESCE(SUM(s.n_live_tup), 0)::float8 FROM pg_class p
           LEFT JOIN pg_inherits i ON i.inhparent = p.oid
           LEFT JOIN pg_stat_user_tables s ON s.relid = i.inhrelid
           WHERE p.oid = %(events)s::regclass AND p.relkind = 'p' GROUP BY p.reltuples""",
        {"events": events},
    ).fetch()
    for estimate, live in partitioned:
        if events not in stale and (estimate < 0 or abs(live - estimate) > max(live, 1000) * 0.1):
            stale.append(events)
    if stale:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(name) for name in sorted(stale)))
    return sorted(stale)


# --- numbers ---------------------------------------------------------------------------


def money(value: Any) -> Decimal:
    """A sum from the database as Decimal yuan (SQLite returns floats; NULL is 0)."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(MONEY_PLACES, ROUND_HALF_UP)


def number(value: Any, places: Decimal = MONEY_PLACES) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(places, ROUND_HALF_UP)


def ratio(numerator: Any, denominator: Any, places: Decimal = RATE_PLACES) -> Decimal | None:
    """numerator / denominator rounded half-up; None when the denominator is 0 or missing."""
    if numerator is None or not denominator:
        return None
    return (Decimal(str(numerator)) / Decimal(str(denominator))).quantize(places, ROUND_HALF_UP)


def change(current: Any, previous: Any) -> Decimal | None:
    """Relative change (current − previous) / previous, e.g. Decimal('0.25') for +25 %."""
    if current is None or previous is None or not previous:
        return None
    return ratio(Decimal(str(current)) - Decimal(str(previous)), previous)
