"""Celery adapters: primitives in, one service call, nothing big returned.

Builds are idempotent (a rebuild replaces the row whole), so they acknowledge late and are
re-queued if the worker dies; only database connection errors are retried, with backoff.
"""

import logging
from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports.models import Archive, Snapshot
from reports.review.tasks import send_review_reminders  # noqa: F401  (the Friday reminder, for autodiscovery)
from reports.snapshots import build
from reports.snapshots.periods import last_closed

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def build_snapshot_task(kind: str, period_label: str) -> int:
    """Build one snapshot; returns its id."""
    return build.build_snapshot(kind, period_label).pk


@shared_task
def build_due_snapshots() -> int:
    """Fan out one build per due period (the last closed ones and the catch-up window)."""
    due = build.due_periods()
    for item in due:
        build_snapshot_task.delay(item.kind, item.label)
    if due:
        logger.info(
            "queued %d snapshot builds: %s", len(due), ", ".join(f"{d.kind} {d.label} ({d.reason})" for d in due)
        )
    return len(due)


@shared_task
def mark_stale_snapshots() -> int:
    return build.mark_stale_snapshots()


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=30, max_retries=5)
def send_snapshot_mail_task(snapshot_id: int) -> int:
    from reports.export.mail import send_snapshot_mail

    if not Snapshot.objects.filter(pk=snapshot_id).exists():
        logger.info("snapshot %s is gone; no mail", snapshot_id)
        return 0
    return send_snapshot_mail(snapshot_id)


@shared_task
def send_due_snapshot_mails() -> int:
    from reports.export.mail import unsent_snapshot_ids

    ids = unsent_snapshot_ids()
    for snapshot_id in ids:
        send_snapshot_mail_task.delay(snapshot_id)
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT, retry_backoff=60, max_retries=3)
def archive_month_task(month: str) -> None:
    """Archive one month (YYYY-MM): re-running overwrites the same files."""
    from reports.export.archive import archive_month

    archive_month(month)


@shared_task
def archive_last_month() -> str:
    label = last_closed("monthly").label
    archive_month_task.delay(label)
    return label


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT, retry_backoff=60, max_retries=3)
def remove_erased_from_archives_task(erasure_id: int, months: list[str]) -> int:
    """Rewrite these archived months (YYYY-MM-01) without the rows of one erasure's ids;
    a rerun finds nothing more to remove."""
    from events.models import ErasureRecord
    from reports.export.archive import remove_erased_from_archive

    record = ErasureRecord.objects.filter(pk=erasure_id).first()
    if record is None:
        logger.info("erasure %s is gone; archives left as they are", erasure_id)
        return 0
    return sum(remove_erased_from_archive(date.fromisoformat(m), id_hashes=record.id_hashes) for m in months)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT, retry_backoff=60, max_retries=3)
def pseudonymise_old_archives() -> int:
    """Archived months older than PRIVACY_RETENTION_MONTHS get the same pseudonyms as the
    database's events (each archive once); returns the rows changed."""
    from events.privacy.retention import retention_cutoff
    from reports.export.archive import pseudonymise_archive

    cutoff = retention_cutoff()
    if cutoff is None:
        return 0
    months = Archive.objects.filter(month__lt=cutoff.date()).values_list("month", flat=True)
    return sum(pseudonymise_archive(month) for month in months)
