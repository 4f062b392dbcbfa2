"""Writes for the Friday review: saving an entry (one per owner per week, linked to the
week's snapshot) and the Friday reminders (claimed before sending, so never sent twice)."""

import logging
import smtplib
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from reports.models import Snapshot
from reports.periods import Period
from wxanalytics.people import person_name

from .models import ReviewEntry, ReviewReminder, duplicate_entry_message
from .selectors import review_owners, weekly_snapshot

logger = logging.getLogger(__name__)


class ReviewError(Exception):
    """A review write refused for a reason the user can read."""


class DuplicateReviewEntry(ReviewError):
    def __init__(self, week: str):
        self.week = week
        super().__init__(duplicate_entry_message(week))


def save_review_entry(entry: ReviewEntry) -> ReviewEntry:
    """Save a new or changed entry and link it to its week's snapshot when that exists.

    The caller has validated the fields (form or serializer). A concurrent second entry for
    the same owner and week loses at the unique constraint and becomes DuplicateReviewEntry.
    """
    if entry.snapshot_id is None or entry.snapshot.period_label != entry.week:
        entry.snapshot = weekly_snapshot(entry.week)
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as exc:
        # Ask the table rather than parse the message: PostgreSQL names the constraint,
        # SQLite names the columns.
        taken = ReviewEntry.objects.filter(owner_id=entry.owner_id, week=entry.week).exclude(pk=entry.pk)
        if taken.exists():
            raise DuplicateReviewEntry(entry.week) from exc
        raise
    return entry


def link_week_snapshots(*, week: str | None = None) -> int:
    """Attach weekly snapshots built after their entries were logged (an entry is usually
    written on Friday, the week's snapshot is built the Monday after). One UPDATE per week."""
    entries = ReviewEntry.objects.filter(snapshot__isnull=True)
    if week:
        entries = entries.filter(week=week)
    labels = set(entries.values_list("week", flat=True).distinct())
    snapshots = Snapshot.objects.filter(kind=Snapshot.Kind.WEEKLY, period_label__in=labels).values_list(
        "period_label", "pk"
    )
    linked = 0
    for label, snapshot_id in snapshots:
        linked += entries.filter(week=label).update(snapshot_id=snapshot_id, updated_at=timezone.now())
    return linked


@dataclass
class ReminderRun:
    week: str
    reminded: list[str] = field(default_factory=list)  # claimed in this run; mailed after commit
    already_reminded: list[str] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)
    without_email: list[str] = field(default_factory=list)


def send_review_reminders(*, week: Period) -> ReminderRun:
    """Mail every review owner who has not logged an entry for `week`, at most once.

    Steps per owner without an entry: claim (owner, week) in ReviewReminder — the unique
    constraint lets exactly one run win, concurrent or repeated — then mail after the claim
    commits. A mail the backend refuses releases the claim so the next run tries again.
    """
    label = str(week)
    run = ReminderRun(week=label)
    owners = list(review_owners())
    logged = set(ReviewEntry.objects.filter(week=label, owner__in=owners).values_list("owner_id", flat=True))
    for owner in owners:
        if owner.pk in logged:
            run.logged.append(owner.username)
            continue
        if not owner.email:
            run.without_email.append(owner.username)
            continue
        with transaction.atomic():
            reminder, claimed = ReviewReminder.objects.get_or_create(
                owner=owner, week=label, defaults={"email": owner.email}
            )
            if claimed:
                transaction.on_commit(partial(_mail_reminder, reminder.pk))
        (run.reminded if claimed else run.already_reminded).append(owner.username)
    return run


def _mail_reminder(reminder_id: int) -> None:
    reminder = ReviewReminder.objects.select_related("owner").filter(pk=reminder_id, sent_at__isnull=True).first()
    if reminder is None:
        logger.info("review reminder %s is gone or already sent", reminder_id)
        return
    base = settings.PUBLIC_BASE_URL
    add_url = f"{base}{reverse('admin:reports_reviewentry_add')}?week={reminder.week}"
    page_url = f"{base}{reverse('review-week', args=[reminder.week])}"
    # In the site's language: we keep no language per person.
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "Hi %(name)s,\n\n"
            "it is Friday and you have not logged your review for %(week)s yet: "
            "one insight from this week's numbers and one change you will make because of it.\n\n"
            "Log it here: %(add_url)s\n"
            "This week's review page: %(page_url)s\n\n"
            "Next week, record what the change did (status and outcome note) on the same entry.\n"
        ) % {"name": person_name(reminder.owner), "week": reminder.week, "add_url": add_url, "page_url": page_url}
        subject = _("Friday review %(week)s: your insight and change are missing") % {"week": reminder.week}
    try:
        send_mail(
            subject=subject,
            message=body,
            from_email=None,
            recipient_list=[reminder.email],
        )
    except (smtplib.SMTPException, OSError):
        logger.exception(
            "review reminder to %s for %s failed; released for the next run", reminder.email, reminder.week
        )
        ReviewReminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).delete()
        return
    ReviewReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
