"""The Friday reminder: one mail per owner who has not logged the week, never two."""

import smtplib
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from reports.models import ReviewEntry, ReviewReminder
from reports.review.tasks import send_review_reminders
from tests.worker import purged_broker, solo_worker, wait_until

WEEK = "2025-W46"


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection refused")


@pytest.fixture
def owners(make_user, review_owner):
    """rob has logged the week; sue and tom have not; ned has no email address."""
    ReviewEntry.objects.create(owner=review_owner, week=WEEK, insight="Scans doubled", change="Move the QR")
    ned = make_user("ned", "Review owner")
    ned.email = ""
    ned.save(update_fields=["email"])
    return {"rob": review_owner, "sue": make_user("sue", "Review owner"), "tom": make_user("tom", "Review owner")}


def test_owners_who_have_not_logged_get_one_mail_each_and_the_second_run_sends_nothing(
    owners, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = send_review_reminders(WEEK)
    with django_capture_on_commit_callbacks(execute=True):
        second = send_review_reminders(WEEK)

    assert sorted(m.to[0] for m in mailoutbox) == ["sue@example.com", "tom@example.com"]
    assert (first["reminded"], first["logged"], first["without_email"]) == (2, 1, 1)
    assert (second["reminded"], second["already_reminded"]) == (0, 2)
    assert set(ReviewReminder.objects.values_list("owner__username", "week")) == {("sue", WEEK), ("tom", WEEK)}
    assert not ReviewReminder.objects.filter(sent_at__isnull=True).exists()


def test_the_reminder_names_the_week_and_links_to_the_entry_form(
    owners, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send_review_reminders(WEEK)

    mail = mailoutbox[0]
    assert WEEK in mail.subject
    assert f"{reverse('admin:reports_reviewentry_add')}?week={WEEK}" in mail.body


def test_no_mail_leaves_before_the_claim_commits(owners, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_review_reminders(WEEK)

    assert (len(callbacks), len(mailoutbox)) == (2, 0)


def test_an_owner_who_logs_after_a_reminder_is_not_reminded_again(
    owners, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send_review_reminders(WEEK)
    ReviewEntry.objects.create(owner=owners["sue"], week=WEEK, insight="i", change="c")

    with django_capture_on_commit_callbacks(execute=True):
        again = send_review_reminders(WEEK)

    assert len(mailoutbox) == 2
    assert (again["logged"], again["already_reminded"]) == (2, 1)


def test_a_refused_mail_releases_the_claim_so_the_next_run_sends_it(
    owners, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        send_review_reminders(WEEK)
    assert not ReviewReminder.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        send_review_reminders(WEEK)

    assert len(mailoutbox) == 2


def test_without_a_week_the_task_reminds_for_this_week_in_the_reporting_time_zone(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user("sue", "Review owner")

    # Thursday 2025-11-20 17:00 UTC is already Friday 01:00 in Shanghai, still week 47.
    with (
        time_machine.travel(datetime(2025, 11, 20, 17, 0, tzinfo=UTC)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        send_review_reminders()

    assert ReviewReminder.objects.get().week == "2025-W47"
    assert "2025-W47" in mailoutbox[0].subject


def test_the_reminder_is_on_the_beat_schedule_friday_morning_in_the_reporting_time_zone(db):
    task = PeriodicTask.objects.get(task="reports.review.tasks.send_review_reminders")

    crontab = task.crontab
    assert (crontab.day_of_week, crontab.hour, crontab.minute) == ("5", "10", "0")
    assert str(crontab.timezone) == "Asia/Shanghai"
    assert task.expire_seconds


def test_admin_lists_who_was_reminded(client, analyst, owners, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send_review_reminders(WEEK)
    client.force_login(analyst)

    response = client.get(reverse("admin:reports_reviewreminder_changelist"))

    assert response.status_code == 200
    assert {r.owner.username for r in response.context["cl"].result_list} == {"sue", "tom"}


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.slow
def test_a_real_worker_mails_each_owner_once_when_the_reminder_is_queued_twice(transactional_db, make_user):
    purged_broker()
    make_user("sue", "Review owner")
    make_user("tom", "Review owner")
    done = "send_review_reminders["
    with solo_worker("default", EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend") as lines:
        send_review_reminders.delay(WEEK)
        send_review_reminders.delay(WEEK)
        wait_until(
            lambda: sum(done in line and "succeeded" in line for line in list(lines)) >= 2, seconds=60, lines=lines
        )

    log = "".join(lines)
    assert log.count("succeeded") >= 2, f"the worker did not run both tasks; its log:\n{log[-3000:]}"
    assert log.count(f"Subject: Friday review {WEEK}") == 2
    assert ReviewReminder.objects.filter(week=WEEK, sent_at__isnull=False).count() == 2
