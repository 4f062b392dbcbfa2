"""Bulk writes. One INSERT per batch; the unique dedupe key decides what is new.

On PostgreSQL the batch goes in as one `INSERT … SELECT FROM json_to_recordset(%s)
ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key`: two parameters whatever the
batch size, one round trip, and concurrent writers of the same key are settled by the
unique index (exactly one wins). Other databases (the SQLite demo) use bulk_create with
ignore_conflicts after a look-up; fine for one process.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from events.models import Event

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
    return (
        f"INSERT INTO {table} ({names}, received_at) "  # noqa: S608 (identifiers are ours)
        f"SELECT {selected}, %s FROM json_to_recordset(%s::json) AS u({record}) "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
    )


INSERT_SQL = _insert_sql()


def insert_events(rows: Sequence[EventRow], *, received_at: datetime) -> set[str]:
    """Insert rows whose dedupe key is new; return the keys actually inserted."""
    if not rows:
        return set()
    if connection.vendor == "postgresql":
        return _insert_postgres(rows, received_at=received_at)
    return _insert_portable(rows, received_at=received_at)


def _insert_postgres(rows: Sequence[EventRow], *, received_at: datetime) -> set[str]:
    # The batch travels as one JSON parameter that PostgreSQL unpacks in C
    # (json_to_recordset): cheaper than adapting 17 Python lists to arrays.
    payload = json.dumps(
        [{name: getattr(row, name) for name, _ in COLUMNS} for row in rows], default=str, ensure_ascii=False
    )
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, [received_at, payload])
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
    """dedupe_key → content_hash for keys already stored."""
    keys = list(keys)
    found: dict[str, str] = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        found.update(Event.objects.filter(dedupe_key__in=chunk).values_list("dedupe_key", "content_hash"))
    return found
