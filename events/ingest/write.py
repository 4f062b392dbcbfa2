"""Bulk writes. One INSERT per batch; a unique dedupe key decides what is new.

PostgreSQL: `events_event` is partitioned by month (events.partitions), so the unique key
lives in the non-partitioned `events_eventkey`. The batch goes in as one statement:
`INSERT INTO events_eventkey … ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key`
in a CTE, then the events of exactly those keys into `events_event`. Two parameters
whatever the batch size, one round trip, and concurrent writers of the same key are
settled by the key table's primary key (exactly one wins). Duplicates and conflicts are
read from `events_eventkey`.

Other databases (the SQLite demo) keep the unique `events_event.dedupe_key`, with
bulk_create and ignore_conflicts after a look-up; fine for one process.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from events.models import Event, EventKey
from events.partitions import ensure_partitions

# (column, PostgreSQL array type) in insert order.
COLUMNS = (
    ("event_name", "text"),
    ("user_id", "text"),
    ("session_id", "text"),
    ("source", "text"),
    ("campaign_code", "text"),
    ("campaign_id", "bigint"),
    ("placement_id", "bigint"),
    ("app_id", "text"),
    ("page", "text"),
    ("value", "numeric"),
    ("currency", "text"),
    ("ts", "timestamptz"),
    ("event_id", "text"),
    ("dedupe_key", "text"),
    ("content_hash", "text"),
    ("properties", "jsonb"),
    ("ingest_key_id", "bigint"),
)


@dataclass(slots=True)
class EventRow:
    event_name: str
    user_id: str
    session_id: str
    source: str
    campaign_code: str
    campaign_id: int | None
    placement_id: int | None
    app_id: str
    page: str
    value: Decimal | None
    currency: str
    ts: datetime
    event_id: str
    dedupe_key: str
    content_hash: str
    properties: dict
    ingest_key_id: int | None


def _insert_sql() -> str:
    table = Event._meta.db_table
    names = ", ".join(name for name, _ in COLUMNS)
    record = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    selected = ", ".join(f"u.{name}" for name, _ in COLUMNS)
    # The batch arrives sorted by key and keeps that order, so overlapping writers lock
    # keys in the same order (no deadlock). Events are inserted only for the keys this
    # statement claimed: the same key sent with another ts cannot slip into another month.
    return (
        f"WITH batch AS (SELECT * FROM json_to_recordset(%s::json) AS u({record})), "  # noqa: S608 (ours)
        f"claimed AS (INSERT INTO {EventKey._meta.db_table} (dedupe_key, content_hash, ts) "
        "SELECT dedupe_key, content_hash, ts FROM batch ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key) "
        f"INSERT INTO {table} ({names}, received_at) "
        f"SELECT {selected}, %s FROM batch AS u JOIN claimed USING (dedupe_key) RETURNING dedupe_key"
    )


INSERT_SQL = _insert_sql()


def insert_events(rows: Sequence[EventRow], *, received_at: datetime) -> set[str]:
    """Insert rows whose dedupe key is new; return the keys actually inserted."""
    if not rows:
        return set()
    if connection.vendor == "postgresql":
        ensure_partitions({row.ts for row in rows})
        return _insert_postgres(rows, received_at=received_at)
    return _insert_portable(rows, received_at=received_at)


def _insert_postgres(rows: Sequence[EventRow], *, received_at: datetime) -> set[str]:
    # The batch travels as one JSON parameter that PostgreSQL unpacks in C
    # (json_to_recordset): cheaper than adapting 17 Python lists to arrays.
    payload = json.dumps(
        [{name: getattr(row, name) for name, _ in COLUMNS} for row in rows], default=str, ensure_ascii=False
    )
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, [payload, received_at])
        return {key for (key,) in cursor.fetchall()}


def _insert_portable(rows: Sequence[EventRow], *, received_at: datetime) -> set[str]:
    taken = set(existing_hashes(row.dedupe_key for row in rows))
    fresh = [row for row in rows if row.dedupe_key not in taken]
    Event.objects.bulk_create(
        [
            Event(
                **{name: getattr(row, name) for name, _ in COLUMNS},
                received_at=received_at,
            )
            for row in fresh
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    return {row.dedupe_key for row in fresh}


def existing_hashes(keys: Iterable[str]) -> dict[str, str]:
    """dedupe_key → content_hash for keys already stored (the key table on PostgreSQL)."""
    model = EventKey if connection.vendor == "postgresql" else Event
    keys = list(keys)
    found: dict[str, str] = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        found.update(model.objects.filter(dedupe_key__in=chunk).values_list("dedupe_key", "content_hash"))
    return found
