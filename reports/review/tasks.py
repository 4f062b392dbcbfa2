"""Celery adapter for the Friday reminder (registered through reports/tasks.py)."""

import logging

from celery import shared_task

from wxanalytics.celery import TRANSIENT

from . import services
from .weeks import parse_review_week, this_week

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    max_retries=5,
)
def send_review_reminders(week: str | None = None) -> dict[str, int]:
    """Remind review owners who have not logged `week` (default: this week in the reporting
    time zone). Safe to run again: each owner is mailed at most once per week."""
    iso_week = parse_review_week(week) if week else this_week()
    services.link_week_snapshots()
    run = services.send_review_reminders(week=iso_week)
    logger.info(
        "review reminders %s: mailed %s; already reminded %s; logged %s; without email %s",
        run.week,
        run.reminded,
        run.already_reminded,
        run.logged,
        run.without_email,
    )
    return {
        "reminded": len(run.reminded),
        "already_reminded": len(run.already_reminded),
        "logged": len(run.logged),
        "without_email": len(run.without_email),
    }
