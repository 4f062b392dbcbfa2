"""Retries after an erasure (docs/privacy.md): ingest drops an event whose user_id was
erased when the event is dated at or before the erasure.

An SDK keeps unsent events and retries them (for days, offline); WeChat retries pushes.
The erased events' dedupe keys are deleted with them, so without this check a retry
would store the event again. Events dated after the erasure are new activity (the person
came back) and are stored as usual. Dropped events are answered as duplicates: the
sender must not retry them, and nothing about them is kept (a rejected row would keep
the very data that was erased).
"""

from collections.abc import Sequence

from django.db import connection

from events.models import ErasedId

from .hashing import id_hash

_ERASED_SQL = f"SELECT id_hash, erased_at FROM {ErasedId._meta.db_table} WHERE id_hash = ANY(%s)"  # noqa: S608 (ours)


def erased_rows(rows: Sequence) -> set[int]:
    """Positions in `rows` (clean rows with user_id and ts) that belong to an erasure.
    One primary-key look-up per batch."""
    if not rows:
        return set()
    by_hash = {id_hash(user_id): user_id for user_id in {row.user_id for row in rows}}
    if connection.vendor == "postgresql":
        from events.ingest.write import server_bound_cursor  # events.ingest imports this module

        # A prepared statement on the ingest connection, as the insert itself
        # (events.ingest.write): on the single-event path the ORM's own work on this
        # query cost about as much as the round trip (docs/privacy.md has the figures).
        with server_bound_cursor() as cursor:
            cursor.execute(_ERASED_SQL, [list(by_hash)])
            erased = dict(cursor.fetchall())
    else:
        erased = dict(ErasedId.objects.filter(id_hash__in=by_hash).values_list("id_hash", "erased_at"))
    if not erased:
        return set()
    erased_at = {by_hash[value]: moment for value, moment in erased.items()}
    return {
        position for position, row in enumerate(rows) if row.user_id in erased_at and row.ts <= erased_at[row.user_id]
    }
