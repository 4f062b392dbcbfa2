"""How reports honour an erasure (docs/privacy.md): aggregates are rebuilt, never edited.

events.privacy.erase sends `person_erased` inside its transaction with the local days
that lost events. Here, in that same transaction, every built snapshot covering one of
those days is marked stale; once the erasure commits, a task reads every archived month
(gzip CSV) and rewrites the files that hold the person's rows without them.
"""

from datetime import date
from functools import partial

from django.db import transaction

from reports.export.tasks import remove_erased_from_archives_task
from reports.models import Archive
from reports.snapshots.build import mark_stale_for_days


def on_person_erased(sender, *, record, days: list[date], **kwargs) -> int:
    """Returns how many snapshots became stale (the erasure record keeps the count)."""
    # Every archived month, not only those of `days`: a month dropped from the database
    # after its archive (drop_archived_month) lives only in its file, and only reading the
    # file tells whether the person is in it.
    archived = [month.isoformat() for month in Archive.objects.order_by("month").values_list("month", flat=True)]
    if archived:
        transaction.on_commit(partial(remove_erased_from_archives_task.delay, record.pk, archived))
    return mark_stale_for_days(days)
