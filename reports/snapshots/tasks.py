"""Celery adapters of the snapshot builds: primitives in, one service call, nothing big
returned. Registered under their first names (`reports.tasks.…`), which beat rows, routes
and queued messages carry.

Builds are idempotent (a rebuild replaces the row whole), so they acknowledge late and are
re-queued if the worker dies; only database connection errors are retried, with backoff.
"""

import logging

from celery import shared_task

from reports.snapshots import build
from wxanalytics.celery import TRANSIENT

logger = logging.getLogger(__name__)


@shared_task(
    name="reports.tasks.build_snapshot_task",
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


@shared_task(name="reports.tasks.build_due_snapshots")
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


@shared_task(name="reports.tasks.mark_stale_snapshots")
def mark_stale_snapshots() -> int:
    return build.mark_stale_snapshots()
