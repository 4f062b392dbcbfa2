"""Subscriber email: each new snapshot as readable HTML with one CSV attachment per section.

Called from a task that runs after the build committed; the send is claimed with a
conditional UPDATE on `mailed_at`, so a redelivered task does not mail twice, and the claim
is released if sending fails so the retry can send.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone, translation

from reports.export.spreadsheet import section_csv
from reports.localize import localize_section
from reports.models import Snapshot, SnapshotSubscription
from reports.periods import closed_periods
from wxanalytics.formats import zone_name

logger = logging.getLogger(__name__)

# Backfills are not news: only the two most recent closed periods of a kind are mailed.
MAIL_RECENT_PERIODS = 2


def is_recent(snapshot: Snapshot, now: datetime | None = None) -> bool:
    return snapshot.period_label in {p.label for p in closed_periods(snapshot.kind, MAIL_RECENT_PERIODS, now)}


def unsent_snapshot_ids(now: datetime | None = None) -> list[int]:
    """Built, recent snapshots whose subscribers have not been mailed yet."""
    candidates = Snapshot.objects.filter(built_at__isnull=False, mailed_at__isnull=True).order_by("-period_start")[:20]
    return [s.pk for s in candidates if is_recent(s, now)]


def build_message(snapshot: Snapshot, recipient: str, *, base_url: str | None = None) -> EmailMultiAlternatives:
    """The mail in the site's language (LANGUAGE_CODE): we keep no language per subscriber."""
    with translation.override(settings.LANGUAGE_CODE):
        return _build_message(snapshot, recipient, base_url=base_url)


def _build_message(snapshot: Snapshot, recipient: str, *, base_url: str | None) -> EmailMultiAlternatives:
    base_url = base_url or settings.PUBLIC_BASE_URL
    context = {
        "snapshot": snapshot,
        "data": snapshot.data,
        "sections": [localize_section(section) for section in snapshot.sections],
        "base_url": base_url,
        "time_zone_name": zone_name(translation.get_language()),
    }
    message = EmailMultiAlternatives(
        subject=f"[wxanalytics] {snapshot}",
        body=render_to_string("reports/email/snapshot.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    message.attach_alternative(render_to_string("reports/email/snapshot.html", context), "text/html")
    for section in snapshot.sections:
        message.attach(
            f"{snapshot.kind}-{snapshot.period_label}-{section['key']}.csv", section_csv(section), "text/csv"
        )
    return message


def send_snapshot_mail(snapshot_id: int, *, now: datetime | None = None) -> int:
    """Mail one snapshot to its kind's subscribers; returns how many mails were sent."""
    now = now or timezone.now()
    snapshot = Snapshot.objects.get(pk=snapshot_id)
    if not snapshot.is_ready or not is_recent(snapshot, now):
        return 0
    if not Snapshot.objects.filter(pk=snapshot.pk, mailed_at__isnull=True).update(mailed_at=now):
        return 0  # another delivery of this task claimed it
    recipients = list(
        SnapshotSubscription.objects.filter(kind=snapshot.kind, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    try:
        messages = [build_message(snapshot, email) for email in recipients]
        with get_connection() as connection:
            sent = connection.send_messages(messages) if messages else 0
    except Exception:
        Snapshot.objects.filter(pk=snapshot.pk).update(mailed_at=None)  # let the retry send it
        raise
    logger.info("mailed %s to %d subscribers", snapshot, sent or 0)
    return sent or 0
