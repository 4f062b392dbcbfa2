"""Tiny builders for hand-made metric data sets. Rows are written with bulk_create so the
tests do not depend on the ingest path (tested in tests/events)."""

import itertools
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from events import people
from events.models import Event, Identity
from reports.metrics.sql import Sql

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ids = itertools.count(1)


def at(day: str, hhmm: str = "12:00") -> datetime:
    """A Shanghai time: at("2025-11-03", "09:30")."""
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SHANGHAI)


def event(name: str, user: str, ts: datetime, **fields) -> Event:
    n = next(_ids)
    value = fields.pop("value", None)
    return Event(
        event_name=name,
        user_id=user,
        ts=ts,
        value=Decimal(str(value)) if value is not None else None,
        dedupe_key=uuid.UUID(int=n),
        content_hash=uuid.UUID(int=n),
        **fields,
    )


def save(*events: Event) -> None:
    Event.objects.bulk_create(events)
    _rewrite_people(event.user_id for event in events)


def same_person(person_id: str, *user_ids: str) -> None:
    Identity.objects.bulk_create([Identity(user_id=u, person_id=person_id) for u in user_ids])
    _rewrite_people(user_ids)


def _rewrite_people(user_ids) -> None:
    # Rows written around the ingest and identity code: put the person on them (and the
    # first touches) as the person rewrite after a link does.
    user_ids = set(user_ids)
    people.note_changed(user_ids)
    people.rewrite_pending_people()
    persons = dict(Identity.objects.filter(user_id__in=user_ids).values_list("user_id", "person_id"))
    people.refresh_first_touches({persons.get(user_id, user_id) for user_id in user_ids})


def fetch_scans(scans: Sql) -> list[tuple]:
    """(person, placement id, via, ts as an aware datetime) of each scan in a scans_sql table."""
    rows = Sql("SELECT e.p, e.placement_id, e.via, e.ts FROM {scans} e").format(scans=scans).fetch()
    return [(p, pl, via, _aware(ts)) for p, pl, via, ts in rows]


def _aware(value) -> datetime:
    # SQLite returns raw-SQL datetimes as naive UTC text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value
