"""The beat schedule, in one place. Entries become django-celery-beat rows (crontabs in the
reporting time zone) after `migrate`; an existing row is never overwritten, so times edited
in admin stay edited. Every entry has an expiry so a backlog after downtime does not run a
pile of identical fan-outs."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    minute: str
    hour: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"
    day_of_week: str = "*"
    expire_seconds: int = 3600
    queue: str = "default"
    description: str = ""


SCHEDULE = [
    Entry(
        "reports: build due snapshots",
        "reports.tasks.build_due_snapshots",
        minute="20",
        expire_seconds=50 * 60,
        description="Builds the last closed day, week and month, and any closed period of the catch-up window "
        "without a snapshot (hourly, so a lost message or an outage heals itself).",
    ),
    Entry(
        "reports: mark stale snapshots",
        "reports.tasks.mark_stale_snapshots",
        minute="*/15",
        expire_seconds=10 * 60,
        description="Flags built snapshots whose period received events after the build.",
    ),
    Entry(
        "reports: send snapshot mails",
        "reports.tasks.send_due_snapshot_mails",
        minute="40",
        expire_seconds=50 * 60,
        description="Mails subscribers any new snapshot not yet sent (the after-build send is the fast path).",
    ),
    Entry(
        "reports: archive last month",
        "reports.tasks.archive_last_month",
        minute="0",
        hour="4",
        day_of_month="2",
        expire_seconds=6 * 3600,
        queue="reports",
        description="Writes last month's events, ad spend and snapshots as gzip CSV to the default storage.",
    ),
    Entry(
        "events: create next month's partitions",
        "events.tasks.create_next_month_partitions",
        minute="5",
        hour="3",
        expire_seconds=6 * 3600,
        description="Creates this and next month's event partitions ahead of time (PostgreSQL), so no "
        "ingest request waits on partition creation at a month boundary.",
    ),
    Entry(
        "events: rewrite the person on events",
        "events.tasks.rewrite_people_task",
        minute="*/10",
        expire_seconds=9 * 60,
        description="Works off identity changes whose events still carry the old person (each link queues this "
        "at once; the periodic run catches a change whose message was lost).",
    ),
    Entry(
        "events: check the person on received events",
        "events.tasks.check_people_on_received_events_task",
        minute="5-59/10",
        expire_seconds=9 * 60,
        description="Compares the person on events received since the last check with the identities and "
        "queues the rewrite for any id that differs (an ingest that committed after the rewrite of a link it "
        "raced); each event is checked once, after its transaction ended.",
    ),
    Entry(
        "events: link WeChat followers' unionids",
        "events.tasks.link_wechat_followers",
        minute="50",
        expire_seconds=50 * 60,
        description="Asks WeChat's user-info API for the unionids of recent Official Account followers, "
        "so their Official Account and Mini Program ids count as one person (apps with an AppSecret only).",
    ),
    Entry(
        "campaigns: renew temporary QR codes",
        "campaigns.tasks.renew_temporary_qr_codes",
        minute="35",
        hour="*/6",
        expire_seconds=5 * 3600,
        description="Asks WeChat for new temporary Official Account codes that expire within 3 days while their "
        "campaign still runs; admin marks them renewed (printed copies of the old code stop working).",
    ),
    Entry(
        "events: pseudonymise events past retention",
        "events.tasks.apply_retention",
        minute="30",
        hour="4",
        day_of_month="3",
        expire_seconds=12 * 3600,
        queue="reports",
        description="Monthly, after the archive: events older than PRIVACY_RETENTION_MONTHS lose their "
        "user_id/session_id (keyed pseudonyms) and id properties; older rejected rows are deleted "
        "(docs/privacy.md).",
    ),
    Entry(
        "reports: pseudonymise archives past retention",
        "reports.tasks.pseudonymise_old_archives",
        minute="30",
        hour="5",
        day_of_month="3",
        expire_seconds=12 * 3600,
        queue="reports",
        description="Monthly, after the events: archived months older than PRIVACY_RETENTION_MONTHS get the "
        "same pseudonyms as the database (each archive once; docs/privacy.md).",
    ),
    Entry(
        "events: erase people who unfollowed",
        "events.tasks.erase_unfollowed_people",
        minute="10",
        hour="5",
        expire_seconds=6 * 3600,
        description="Daily: erases people who unfollowed an Official Account that opted in, after its "
        "delay, when they did nothing since (docs/privacy.md).",
    ),
    Entry(
        "reports: Friday review reminders",
        "reports.review.tasks.send_review_reminders",
        minute="0",
        hour="10",
        day_of_week="5",
        expire_seconds=6 * 3600,
        description="Friday 10:00: mails review owners who have not logged this week's insight and change "
        "(each owner at most once per week), and links entries to weekly snapshots built since.",
    ),
]


def sync_beat_schedule(**kwargs) -> None:
    """post_migrate receiver: create missing PeriodicTask rows; leave existing ones alone."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    for entry in SCHEDULE:
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=entry.minute,
            hour=entry.hour,
            day_of_month=entry.day_of_month,
            month_of_year=entry.month_of_year,
            day_of_week=entry.day_of_week,
            timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            crontab=crontab,
            expire_seconds=entry.expire_seconds,
            queue=entry.queue,
            description=entry.description,
        )
