"""Erase a person (PIPL right to deletion, docs/privacy.md "Erasure").

Steps, in one transaction under the identity-merge lock (so no link adds an id to the
person half-way):
1. look the person up again (every id of their group, events.privacy.lookup);
2. delete their events from every monthly partition and, in the same statement, mark the
   dedupe keys of exactly those events erased (events_eventkey keeps the key's digest, no
   id, with dedupe.ERASED as content hash, so a client's retry stays a duplicate),
   collecting the local days the events fell on;
3. delete their identity links, the rejected rows that mention any of their ids, the
   follower unionid look-ups of their openids, their first touch and pending person changes;
4. write the ErasureRecord (counts and keyed hashes of the ids);
5. announce `person_erased` with those days: reports marks the snapshots that covered
   them stale (reports never gets edited numbers; it rebuilds).
"""

from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import TruncDate
from django.dispatch import Signal
from django.utils import timezone

from events import people
from events.identity import lock_merges
from events.ingest.dedupe import ERASED
from events.models import ErasureRecord, Event, EventKey

from .hashing import id_hash
from .lookup import Person, events_of, find_person, identities_of, rejected_rows_of, unionid_lookups_of

# Sent inside the erasure's transaction with `record` (the ErasureRecord) and `days`
# (sorted local dates that lost events). Receivers return how many snapshots they marked
# stale. A signal, because reports reads events and events must not import reports.
person_erased = Signal()


def erase_person(
    any_id: str,
    *,
    requested_by=None,
    requested_by_name: str = "",
    trigger: str = ErasureRecord.Trigger.REQUEST,
    note: str = "",
    now: datetime | None = None,
) -> ErasureRecord:
    """Erase everything that mentions the person behind `any_id`; return the record.

    Raises events.identity.IdentityError for an empty or over-long id. Erasing an id
    nobody mentions still writes a record (with zero counts): the request is on file.
    """
    now = now or timezone.now()
    find_person(any_id)  # a bad id fails before any lock is taken
    with transaction.atomic():
        lock_merges()
        person = find_person(any_id)
        events, keys, days = _delete_events(person)
        identities, _ = identities_of(person).delete()
        rejected, _ = rejected_rows_of(person).delete()
        lookups, _ = unionid_lookups_of(person).delete()
        people.forget(person.ids)
        hashes = sorted({id_hash(value) for value in person.ids})
        if requested_by is not None and not requested_by_name:
            requested_by_name = requested_by.get_username()
        record = ErasureRecord.objects.create(
            trigger=trigger,
            requested_by=requested_by,
            requested_by_name=requested_by_name,
            note=note,
            erased_at=now,
            id_hashes=hashes,
            events=events,
            event_keys=keys,
            identities=identities,
            rejected_rows=rejected,
            unionid_lookups=lookups,
        )
        responses = person_erased.send(sender=ErasureRecord, record=record, days=days)
        record.stale_snapshots = sum(count for _, count in responses if isinstance(count, int))
        if record.stale_snapshots:
            record.save(update_fields=["stale_snapshots"])
    return record


def _delete_events(person: Person) -> tuple[int, int, list[date]]:
    """Delete the person's events, mark their dedupe keys erased: (events, keys, local days)."""
    if connection.vendor != "postgresql":
        # The SQLite demo: no key table, no partitions.
        events = events_of(person)
        days = sorted(
            set(events.annotate(day=TruncDate("ts", tzinfo=settings.REPORTING_TZ)).values_list("day", flat=True))
        )
        deleted, _ = events.delete()
        return deleted, 0, days
    with connection.cursor() as cursor:
        # Through the parent table: PostgreSQL deletes from every partition (DEFAULT
        # included), each using its event_user_ts index. The keys are those of exactly
        # the deleted rows, in the same statement; the content hash, derived from the
        # event, is overwritten.
        cursor.execute(
            f"WITH gone AS (DELETE FROM {Event._meta.db_table} WHERE user_id = ANY(%(ids)s) "  # noqa: S608 (ours)
            "RETURNING ts, dedupe_key), "
            f"keys AS (UPDATE {EventKey._meta.db_table} AS k SET content_hash = %(erased)s FROM gone "
            "WHERE k.dedupe_key = gone.dedupe_key RETURNING 1) "
            "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM keys), "
            "ARRAY(SELECT DISTINCT (ts AT TIME ZONE %(zone)s)::date FROM gone ORDER BY 1)",
            {"ids": list(person.ids), "zone": settings.REPORTING_TZ.key, "erased": ERASED},
        )
        events, keys, days = cursor.fetchone()
    return events, keys, list(days)
