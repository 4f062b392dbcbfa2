"""Celery adapters for events: primitives in, one service call each."""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.dispatch import receiver
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from campaigns.models import WeChatApp
from campaigns.wechat_api import WeChatAPIError
from events import people
from events.imports.runs import import_run_create, import_run_execute
from events.partitions import ensure_partitions
from events.privacy import retention, unfollow
from events.wechat.userinfo import link_followers

logger = logging.getLogger(__name__)

FOLLOWER_WINDOW = timedelta(hours=48)


@shared_task
def link_wechat_followers() -> int:
    """Fan out one unionid look-up per Official Account that has an AppSecret."""
    app_ids = list(
        WeChatApp.objects.filter(kind=WeChatApp.Kind.OFFICIAL_ACCOUNT).exclude(secret="").values_list("pk", flat=True)
    )
    for app_id in app_ids:
        link_app_followers.delay(app_id)
    return len(app_ids)


@shared_task(autoretry_for=(WeChatAPIError,), retry_backoff=60, max_retries=3)
def link_app_followers(app_id: int) -> int:
    app = WeChatApp.objects.filter(pk=app_id).first()
    if app is None:
        logger.info("WeChat app %s is gone; nothing to link", app_id)
        return 0
    return link_followers(app, since=timezone.now() - FOLLOWER_WINDOW).linked


@shared_task
def create_next_month_partitions() -> None:
    """Create this month's and next month's event partitions ahead of time, so ingest never
    takes the partition-creating lock at a month boundary (no-op outside PostgreSQL)."""
    now = timezone.now()
    ensure_partitions([now, now + timedelta(days=32)])


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_retention() -> int:
    """Pseudonymise events older than PRIVACY_RETENTION_MONTHS (idempotent: a rerun finds
    only what is left); returns the events changed."""
    result = retention.apply_retention()
    logger.info(
        "retention before %s: %d events of %d ids pseudonymised, %d rejected rows deleted",
        result.cutoff,
        result.events,
        result.people,
        result.rejected_rows,
    )
    return result.events


@shared_task
def erase_unfollowed_people() -> int:
    """Fan out one erase-on-unfollow run per Official Account that opted in."""
    app_ids = list(
        WeChatApp.objects.filter(
            kind=WeChatApp.Kind.OFFICIAL_ACCOUNT, erase_unfollowed_after_days__isnull=False
        ).values_list("pk", flat=True)
    )
    for app_id in app_ids:
        erase_app_unfollowers.delay(app_id)
    return len(app_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def erase_app_unfollowers(app_id: int) -> int:
    app = WeChatApp.objects.filter(pk=app_id).first()
    if app is None:
        logger.info("WeChat app %s is gone; nobody to erase", app_id)
        return 0
    return len(unfollow.erase_unfollowed(app))


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
)
def run_import_task(run_id: int) -> None:
    """Import one stored upload (events.imports.runs); re-running it replaces, never doubles."""
    import_run_execute(run_id)


def import_in_background(*, kind: str, upload, defaults: dict, user=None):
    """Store an upload as an import run and queue its task once the run is committed (here,
    not in events.imports, so the import code never imports the tasks that call it)."""
    with transaction.atomic():
        run = import_run_create(kind=kind, upload=upload, defaults=defaults, user=user)
        run_import_task.delay_on_commit(run.pk)
    return run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rewrite_people_task() -> int:
    """Rewrite the person on the events (and the first touches) of ids whose person changed;
    idempotent (a rerun finds the rows left), returns the events changed."""
    result = people.rewrite_pending_people()
    if result.ids:
        logger.info(
            "person rewrite: %d ids, %d events, %d first touches, %d snapshots stale",
            result.ids,
            result.events,
            result.people,
            result.stale_snapshots,
        )
    return result.events


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_people_on_received_events_task() -> int:
    """Queue a person rewrite for ids whose newly received events carry an outdated person
    (an ingest that raced a link); resumes from its checkpoint, returns the ids found."""
    result = people.check_people_on_received_events()
    if result.ids:
        logger.warning(
            "person check: %d ids among %d events received carried an outdated person; rewrite queued",
            result.ids,
            result.events,
        )
    return result.ids


@receiver(people.person_changes_recorded, dispatch_uid="events.queue_person_rewrite")
def queue_person_rewrite(sender, **kwargs) -> None:
    try:
        rewrite_people_task.delay()
    except BrokerError:
        # The rows stay in PersonChange; the beat entry works them off when the queue is back.
        logger.warning("person rewrite not queued (broker unavailable); the periodic run will do it")
