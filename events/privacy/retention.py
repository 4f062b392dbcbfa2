"""Retention (docs/privacy.md "Retention"): raw events keep personal ids for
settings.PRIVACY_RETENTION_MONTHS whole months of the reporting time zone; older events
keep their numbers but lose the ids.

- `user_id` becomes the pseudonym of the person (their unionid group when linked), so
  every id of one person gets the same pseudonym and a rebuilt report counts the same
  people; `session_id` becomes the pseudonym of the session;
- the properties that carry ids or a location (`PERSONAL_PROPERTIES`) are removed;
- rejected rows received before the cut-off are deleted (their raw text cannot be
  pseudonymised field by field, and replaying a row that old has no use).

Snapshots are not touched and not marked stale: reports of closed periods stay as built.
Each chunk is its own statement, so an interrupted run resumes where it stopped (events
already pseudonymised are recognised by their prefix).
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.models import Event, Identity, RejectedRow
from events.partitions import month_bounds, month_of
from events.people import refresh_first_touches

from .hashing import PSEUDONYM_PREFIX, pseudonym

CHUNK_SIZE = 5000
# Property keys that identify a person or place them: unionids sent with events, Pay's
# payer ids, the Official Account's LOCATION fields.
PERSONAL_PROPERTIES = (
    "unionid",
    "openid",
    "sub_openid",
    "sp_openid",
    "latitude",
    "longitude",
    "precision",
    "sendlocationinfo",
)


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime | None
    people: int = 0  # distinct user_ids pseudonymised
    events: int = 0
    rejected_rows: int = 0


def retention_cutoff(*, now: datetime | None = None, months: int | None = None) -> datetime | None:
    """Start of the oldest month still kept with ids; None when retention is off (0).

    With 25 months on 2026-11-29, events before 2024-10-01 00:00 China time lose their ids.
    """
    months = settings.PRIVACY_RETENTION_MONTHS if months is None else months
    if not months:
        return None
    current = month_of(now or timezone.now())
    index = current.year * 12 + current.month - 1 - months
    return month_bounds(date(index // 12, index % 12 + 1, 1))[0]


def apply_retention(*, now: datetime | None = None, months: int | None = None) -> RetentionResult:
    """Pseudonymise events and delete rejected rows older than the retention cut-off."""
    cutoff = retention_cutoff(now=now, months=months)
    if cutoff is None:
        return RetentionResult(cutoff=None)
    people = events = 0
    pending = (
        Event.objects.filter(ts__lt=cutoff)
        .exclude(user_id__startswith=PSEUDONYM_PREFIX)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by()
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for user_ids in _chunks(pending, CHUNK_SIZE):
        people += len(user_ids)
        with transaction.atomic():
            events += _pseudonymise(user_ids, cutoff=cutoff)
            # Their old events now belong to the pseudonyms: both sides' first touches move.
            persons = dict(Identity.objects.filter(user_id__in=user_ids).values_list("user_id", "person_id"))
            touched = {persons.get(user_id, user_id) for user_id in user_ids}
            refresh_first_touches(touched | {pseudonym(person) for person in touched})
    rejected, _ = RejectedRow.objects.filter(received_at__lt=cutoff).delete()
    return RetentionResult(cutoff=cutoff, people=people, events=events, rejected_rows=rejected)


def _chunks(values: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pseudonymise(user_ids: list[str], *, cutoff: datetime) -> int:
    """Replace the ids of these users' events before `cutoff`; returns the rows changed."""
    persons = dict(Identity.objects.filter(user_id__in=user_ids).values_list("user_id", "person_id"))
    aliases = [pseudonym(persons.get(user_id, user_id)) for user_id in user_ids]
    sessions = (
        Event.objects.filter(user_id__in=user_ids, ts__lt=cutoff)
        .exclude(session_id="")
        .values_list("session_id", flat=True)
        .distinct()
        .order_by()
    )
    session_aliases = {session: pseudonym(session) for session in sessions}
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement per chunk: users joined from two arrays (event_user_ts finds
            # their rows), sessions looked up in one jsonb object (a binary search each).
            cursor.execute(
                f"UPDATE {table} AS e SET user_id = u.alias, person_id = NULL, "  # noqa: S608 (identifiers are ours)
                "session_id = COALESCE(%(sessions)s::jsonb ->> e.session_id, e.session_id), "
                "properties = e.properties - %(properties)s::text[] "
                "FROM unnest(%(user_ids)s::text[], %(aliases)s::text[]) AS u(user_id, alias) "
                "WHERE e.user_id = u.user_id AND e.ts < %(cutoff)s",
                {
                    "sessions": json.dumps(session_aliases),
                    "properties": list(PERSONAL_PROPERTIES),
                    "user_ids": user_ids,
                    "aliases": aliases,
                    "cutoff": cutoff,
                },
            )
            return cursor.rowcount
        # The SQLite demo: the same result, one statement per id.
        changed = 0
        paths = ", ".join(f"'$.{key}'" for key in PERSONAL_PROPERTIES)
        for user_id, alias in zip(user_ids, aliases, strict=True):
            cursor.execute(
                f"UPDATE {table} SET properties = json_remove(properties, {paths}) "  # noqa: S608 (ours)
                "WHERE user_id = %s AND ts < %s",
                [user_id, cutoff],
            )
            changed += Event.objects.filter(user_id=user_id, ts__lt=cutoff).update(user_id=alias, person_id=None)
        for session, alias in session_aliases.items():
            Event.objects.filter(session_id=session, ts__lt=cutoff).update(session_id=alias)
        return changed
