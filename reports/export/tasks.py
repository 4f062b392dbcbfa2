"""Celery adapters of the subscriber mail and the monthly archive: primitives in, one
service call, nothing big returned. Registered under their first names (`reports.tasks.…`),
which beat rows, routes and queued messages carry.

A mail send is claimed in the database and an archive run overwrites the same files, so
both acknowledge late; only database connection errors are retried, with backoff.
"""

import logging
from datetime import date

from celery import shared_task

from events.models import ErasureRecord
from events.privacy.retention import retention_cutoff
from reports.export.archive import archive_month, pseudonymise_archive, remove_erased_from_archive
from reports.export.mail import send_snapshot_mail, unsent_snapshot_ids
from reports.models import Archive, Snapshot
from reports.periods import last_closed
from wxanalytics.celery import TRANSIENT

logger = logging.getLogger(__name__)

# An archive run rewrites whole files, so a redelivered message only repeats the same work.
ARCHIVE_RUN = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 60,
    "max_retries": 3,
}


@shared_task(
    name="reports.tasks.send_snapshot_mail_task",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    max_retries=5,
)
def send_snapshot_mail_task(snapshot_id: int) -> int:
    if not Snapshot.objects.filter(pk=snapshot_id).exists():
        logger.info("snapshot %s is gone; no mail", snapshot_id)
        return 0
    return send_snapshot_mail(snapshot_id)


@shared_task(name="reports.tasks.send_due_snapshot_mails")
def send_due_snapshot_mails() -> int:
    ids = unsent_snapshot_ids()
    for snapshot_id in ids:
        send_snapshot_mail_task.delay(snapshot_id)
    return len(ids)


@shared_task(name="reports.tasks.archive_month_task", **ARCHIVE_RUN)
def archive_month_task(month: str) -> None:
    """Archive one month (YYYY-MM): re-running overwrites the same files."""
    archive_month(month)


@shared_task(name="reports.tasks.archive_last_month")
def archive_last_month() -> str:
    label = last_closed("monthly").label
    archive_month_task.delay(label)
    return label


@shared_task(name="reports.tasks.remove_erased_from_archives_task", **ARCHIVE_RUN)
def remove_erased_from_archives_task(erasure_id: int, months: list[str]) -> int:
    """Rewrite these archived months (YYYY-MM-01) without the rows of one erasure's ids;
    a rerun finds nothing more to remove."""
    record = ErasureRecord.objects.filter(pk=erasure_id).first()
    if record is None:
        logger.info("erasure %s is gone; archives left as they are", erasure_id)
        return 0
    return sum(remove_erased_from_archive(date.fromisoformat(m), id_hashes=record.id_hashes) for m in months)


@shared_task(name="reports.tasks.pseudonymise_old_archives", **ARCHIVE_RUN)
def pseudonymise_old_archives() -> int:
    """Archived months older than PRIVACY_RETENTION_MONTHS get the same pseudonyms as the
    database's events (each archive once); returns the rows changed."""
    cutoff = retention_cutoff()
    if cutoff is None:
        return 0
    months = Archive.objects.filter(month__lt=cutoff.date()).values_list("month", flat=True)
    return sum(pseudonymise_archive(month) for month in months)
