"""The person on the event and each person's first touch (docs/scaling.md, "The person on
the event"; docs/metrics.md, "People").

Reports count people, and a person is `COALESCE(identity.person_id, user_id)`. Joining the
identity table in every report query made the builds grow faster than the data, and
finding each person's first touch meant scanning all history, so both are stored:

- `Event.person_id` is written by the ingest write from the identity table (NULL when the
  person is the user_id itself), and rewritten here when identities change;
- `FirstTouch` holds each person's first event and first event with a placement; the
  ingest write keeps it up to date as events arrive, and it is recomputed here for the
  people an identity change touches.

An identity change (events.identity: a link, merge or accepted claim) records the ids
whose person changed as `PersonChange` rows in its own transaction and asks for
`rewrite_pending_people` once it commits. That works the list off in rounds of at most
`IDS_PER_ROUND` ids, each round in one transaction with UPDATEs of at most
`ROWS_PER_STATEMENT` events, and announces `people_moved` with the local days whose
events changed person: reports marks the snapshots covering them stale (reports never
gets edited numbers; it rebuilds). Until a change is worked off, reports count the ids'
events under their old person, as a snapshot built before the link would.

An ingest that read the identities before a link committed and committed after the
link's round stored the old person where the round could not see it;
`check_people_on_received_events`, on the beat schedule, compares every event received
since its checkpoint with the identity table once the event's transaction has surely ended,
and records the ids that differ as `PersonChange` rows like a link.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.dispatch import Signal
from django.utils import timezone

from events.models import Event, FirstTouch, Identity, PersonChange, ReceivedCheckpoint
from wxanalytics.locks import advisory_xact_lock

logger = logging.getLogger(__name__)

IDS_PER_ROUND = 500
ROWS_PER_STATEMENT = 5000
# The check of the person on received events (check_people_on_received_events).
EVENTS_PER_CHECK = 5000
CHECK_CHECKPOINT = "person on received events"
CHECK_LOCK = "events.person_check"
# How long before the transaction that writes it an event's received_at may have been taken
# (the request's own parsing, waiting for a group commit; gunicorn ends a request after
# 60 s), plus clock skew between the web servers and the database.
RECEIVED_BEFORE_WRITE = timedelta(minutes=5)

# Sent inside a rewrite round's transaction with `days` (sorted local dates whose events
# changed person). Receivers return how many snapshots they marked stale. A signal,
# because reports reads events and events must not import reports.
people_moved = Signal()
# Sent after the transaction that recorded person changes commits; events.tasks answers it by
# queueing the rewrite (a signal, so this module never imports the tasks that call it).
person_changes_recorded = Signal()

EVENTS = Event._meta.db_table
IDENTITIES = Identity._meta.db_table
FIRST_TOUCHES = FirstTouch._meta.db_table
FIRST_TOUCH_COLUMNS = (
    "person, ts, event_ref, campaign_id, placement_id, source, app_id, creative_ref, ad_group, "
    "entry_ts, entry_ref, entry_placement_id"
)


@dataclass(frozen=True)
class Check:
    events: int = 0  # events looked at
    ids: int = 0  # ids recorded as PersonChange: their events carried another person
    chunks: int = 0


@dataclass(frozen=True)
class Rewrite:
    ids: int = 0  # ids worked off
    events: int = 0  # events whose person changed
    people: int = 0  # first touches recomputed
    stale_snapshots: int = 0


def note_changed(user_ids: Iterable[str]) -> None:
    """Record, in the caller's transaction, that these ids' person changed; their events
    and first touches are rewritten after it commits. Ids whose person did not really
    change cost one look-up each later, nothing else."""
    rows = [PersonChange(user_id=user_id) for user_id in set(user_ids)]
    if not rows:
        return
    PersonChange.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(partial(person_changes_recorded.send, sender=PersonChange))


def rewrite_pending_people(
    *, ids_per_round: int = IDS_PER_ROUND, rows_per_statement: int = ROWS_PER_STATEMENT
) -> Rewrite:
    """Work off every recorded person change, a bounded round at a time; returns totals.

    Each round, in one transaction: claim up to `ids_per_round` ids (skipping ids another
    worker holds), rewrite their events' person, recompute the first touches of every
    person those events left or joined, mark the snapshots of the days touched stale, and
    delete the claimed rows. A link that records one of the claimed ids meanwhile waits
    for the round to commit and records it again, so it is redone with the new identity.
    """
    ids = events = people = stale = 0
    while True:
        with transaction.atomic():
            claimed = _claim(ids_per_round)
            if not claimed:
                break
            moved, days, persons = rewrite_events(claimed, rows_per_statement=rows_per_statement)
            people += refresh_first_touches(persons)
            if days:
                responses = people_moved.send(sender=PersonChange, days=days)
                stale += sum(count for _, count in responses if isinstance(count, int))
            PersonChange.objects.filter(user_id__in=claimed).delete()
        ids += len(claimed)
        events += moved
    return Rewrite(ids=ids, events=events, people=people, stale_snapshots=stale)


def _claim(limit: int) -> list[str]:
    pending = PersonChange.objects.order_by("user_id")
    if connection.features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    return list(pending.values_list("user_id", flat=True)[:limit])


def rewrite_events(user_ids: Sequence[str], *, rows_per_statement: int = ROWS_PER_STATEMENT):
    """Set the person of these ids' events from the identity table; returns (events
    changed, sorted local days of those events, the persons they left or joined)."""
    if connection.vendor != "postgresql":
        return _rewrite_events_portable(user_ids)
    moved, days, persons = 0, set(), set()
    # Row by row through the parent table (each partition's event_user_ts finds the ids'
    # rows), at most rows_per_statement per UPDATE, until no row carries an old person.
    sql = (
        f"WITH target AS (SELECT e.id, e.ts, e.user_id, e.person_id AS old, "  # noqa: S608 (identifiers are ours)
        "NULLIF(i.person_id, e.user_id) AS new "
        f"FROM {EVENTS} e LEFT JOIN {IDENTITIES} i ON i.user_id = e.user_id "
        "WHERE e.user_id = ANY(%(ids)s) AND e.person_id IS DISTINCT FROM NULLIF(i.person_id, e.user_id) "
        "LIMIT %(limit)s), "
        f"moved AS (UPDATE {EVENTS} e SET person_id = t.new FROM target t WHERE e.id = t.id AND e.ts = t.ts "
        "RETURNING t.ts, COALESCE(t.old, t.user_id) AS old, COALESCE(t.new, t.user_id) AS new) "
        "SELECT (SELECT count(*) FROM moved), "
        "ARRAY(SELECT DISTINCT (ts AT TIME ZONE %(zone)s)::date FROM moved), "
        "ARRAY(SELECT old FROM moved UNION SELECT new FROM moved)"
    )
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, {"ids": list(user_ids), "limit": rows_per_statement, "zone": settings.REPORTING_TZ.key})
            count, round_days, round_persons = cursor.fetchone()
            if not count:
                break
            moved += count
            days.update(round_days)
            persons.update(round_persons)
    return moved, sorted(days), persons


def _rewrite_events_portable(user_ids: Sequence[str]):
    """The SQLite demo: one UPDATE per id (small data)."""
    current = dict(Identity.objects.filter(user_id__in=user_ids).values_list("user_id", "person_id"))
    moved, days, persons = 0, set(), set()
    for user_id in user_ids:
        new = current.get(user_id)
        new = None if new == user_id else new
        stale = Event.objects.filter(user_id=user_id).filter(
            Q(person_id__isnull=False) if new is None else Q(person_id__isnull=True) | ~Q(person_id=new)
        )
        for day, old in (
            stale.annotate(day=TruncDate("ts", tzinfo=settings.REPORTING_TZ), old=Coalesce("person_id", "user_id"))
            .values_list("day", "old")
            .distinct()
        ):
            days.add(day)
            persons.add(old)
        changed = stale.update(person_id=new)
        if changed:
            moved += changed
            persons.add(new or user_id)
    return moved, sorted(days), persons


def check_people_on_received_events(
    *, events_per_chunk: int = EVENTS_PER_CHECK, margin: timedelta = RECEIVED_BEFORE_WRITE
) -> Check:
    """Record as a PersonChange every id whose events received since the last check carry
    another person than the identity table's; rewrite_pending_people then fixes them.

    This closes the one gap of the rewrite: an ingest transaction that read the identities
    before a link committed, and committed after the rewrite round that worked the link
    off, stored the old person, and nothing else would ever look at those rows again.

    Events are checked once, in (received_at, id) order, from a checkpoint in the database,
    `events_per_chunk` at a time, each chunk in one transaction under an advisory lock (two
    workers take turns). A chunk only reaches events whose writing transaction has surely
    ended: received before the oldest transaction still open on the database began (an
    import holding one transaction for an hour holds the check back, it does not slip
    past it), and before now, less `margin` (a received_at is taken before its transaction
    begins). So every event is checked after it is visible, against identities read after
    that; a link committing later records its ids itself, and its round sees the event.
    """
    events = ids = chunks = 0
    while True:
        with transaction.atomic():
            advisory_xact_lock(CHECK_LOCK)
            stored = ReceivedCheckpoint.objects.filter(name=CHECK_CHECKPOINT).first()
            start = (stored.received_at, stored.event_ref) if stored else None
            settled = (_oldest_open_transaction_start() - margin, 0)
            window = Event.objects.filter(_up_to(settled))
            if start is not None:
                window = window.filter(_after(start))
            ordered = window.order_by("received_at", "pk").values_list("received_at", "pk")
            last = next(iter(ordered[events_per_chunk - 1 : events_per_chunk]), None)
            chunk = window.filter(_up_to(last)) if last else window
            checked = events_per_chunk if last else chunk.count()
            stale = set(
                chunk.annotate(stored=Coalesce("person_id", "user_id"), current=person_expression())
                .exclude(stored=F("current"))
                .values_list("user_id", flat=True)
            )
            note_changed(stale)
            end = last or settled
            if start is None or end > start:
                ReceivedCheckpoint.objects.update_or_create(
                    name=CHECK_CHECKPOINT, defaults={"received_at": end[0], "event_ref": end[1]}
                )
        events += checked
        ids += len(stale)
        chunks += 1
        if last is None:
            return Check(events=events, ids=ids, chunks=chunks)


def person_expression(user_field: str = "user_id") -> Coalesce:
    """ORM expression for "the person behind `user_field`" by the identity table now, e.g.
    `Event.objects.aggregate(people=Count(person_expression(), distinct=True))`."""
    person = Identity.objects.filter(user_id=OuterRef(user_field)).values("person_id")[:1]
    return Coalesce(Subquery(person), F(user_field), output_field=CharField())


def _after(key: tuple[datetime, int]) -> Q:
    """Events after `key` in (received_at, id) order (the event_received_at index)."""
    received_at, pk = key
    # The range on received_at alone is what the index can seek to; the OR only trims its edge.
    return Q(received_at__gte=received_at) & (Q(received_at__gt=received_at) | Q(pk__gt=pk))


def _up_to(key: tuple[datetime, int]) -> Q:
    received_at, pk = key
    return Q(received_at__lte=received_at) & (Q(received_at__lt=received_at) | Q(pk__lte=pk))


def _oldest_open_transaction_start() -> datetime:
    """Now, or the start of the oldest transaction of another session on this database if
    earlier: no event received before that can still be waiting to commit. (On SQLite,
    the zero-set-up demo with one writer at a time, now.)"""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        # The clock first: a transaction beginning after the look at pg_stat_activity
        # began after it too. The statistics snapshot is cleared, or a caller's open
        # transaction would show the sessions as they were at its first look.
        cursor.execute("SELECT clock_timestamp(), pg_stat_clear_snapshot()")
        now = cursor.fetchone()[0]
        cursor.execute(
            "SELECT min(xact_start) FILTER (WHERE backend_type = 'client backend'), "
            "count(*) FILTER (WHERE backend_type IS NULL) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        oldest, hidden = cursor.fetchone()
    if hidden:
        # Another role's sessions show neither their kind nor their times to this one: those
        # transactions cannot hold the check back. Grant this role pg_read_all_stats.
        logger.warning("person check: %d sessions of other roles hide their transaction start", hidden)
    return min(now, oldest) if oldest else now


def _first_touch_select(users: str) -> str:
    """SELECT of FIRST_TOUCH_COLUMNS computed from the events (of the ids `users` names,
    an SQL condition on `e`), the person as the reports take it: the one written on the
    event. (Not the identity table's: the portable write stores a person that a unionid in
    the batch carries before the link that records it.)"""
    people = f"SELECT COALESCE(e.person_id, e.user_id) AS p, e.* FROM {EVENTS} e WHERE {users}"  # noqa: S608 (ours)
    ranked = "SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.p ORDER BY x.ts, x.id) AS rn FROM ({people}) x{where}"
    creative, ad_group = _json_text("f.properties", "creative_id"), _json_text("f.properties", "ad_group")
    return (
        f"SELECT f.p, f.ts, f.id, f.campaign_id, f.placement_id, f.source, f.app_id, {creative}, {ad_group}, "  # noqa: S608 (ours)
        "en.ts, en.id, en.placement_id "
        f"FROM ({ranked.format(people=people, where='')}) f "
        f"LEFT JOIN ({ranked.format(people=people, where=' WHERE x.placement_id IS NOT NULL')}) en "
        "ON en.p = f.p AND en.rn = 1 WHERE f.rn = 1"
    )


def _json_text(column: str, key: str) -> str:
    # By the database's own SQL, not connection.vendor: the write-path tests run the
    # portable write on PostgreSQL by changing the vendor.
    if connection.display_name == "SQLite":
        return f"CAST(json_extract({column}, '$.{key}') AS TEXT)"
    return f"({column} ->> '{key}')"


def refresh_first_touches(persons: Iterable[str], *, user_ids: Iterable[str] = ()) -> int:
    """Recompute the first touches of these persons from their events (a person left with
    no events loses the row); returns how many rows were written. `user_ids`: ids whose
    events carry one of these persons but that the identity table does not link yet."""
    persons = sorted(set(persons))
    carrying = set(user_ids)
    written = 0
    for start in range(0, len(persons), IDS_PER_ROUND):
        chunk = persons[start : start + IDS_PER_ROUND]
        user_ids = sorted(
            set(chunk) | carrying | set(Identity.objects.filter(person_id__in=chunk).values_list("user_id", flat=True))
        )
        FirstTouch.objects.filter(person__in=chunk).delete()
        users = f"e.user_id IN ({', '.join(['%s'] * len(user_ids))})"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {FIRST_TOUCHES} ({FIRST_TOUCH_COLUMNS}) "  # noqa: S608 (ours)
                f"SELECT * FROM ({_first_touch_select(users)}) t WHERE t.p IN ({', '.join(['%s'] * len(chunk))})",
                [*user_ids, *user_ids, *chunk],
            )
            written += cursor.rowcount
    return written


def rebuild_first_touches() -> int:
    """Recompute every first touch from all events (the migration's backfill; a repair)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FIRST_TOUCHES}")  # noqa: S608 (ours)
        cursor.execute(f"INSERT INTO {FIRST_TOUCHES} ({FIRST_TOUCH_COLUMNS}) {_first_touch_select('TRUE')}")
        return cursor.rowcount


def forget(user_ids: Iterable[str]) -> None:
    """Drop the first touches and pending changes of erased ids (events.privacy.erase)."""
    user_ids = list(user_ids)
    FirstTouch.objects.filter(person__in=user_ids).delete()
    PersonChange.objects.filter(user_id__in=user_ids).delete()
