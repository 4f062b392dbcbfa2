"""Building, staleness and scheduling of snapshots (the services the tasks, the command,
admin and the API call).

A build reads everything into memory first (the metric functions aggregate in SQL and return
small dataclasses), then replaces the row's content with ONE UPDATE in a transaction: a
reader sees the previous complete snapshot or the new complete one, never a mix. Building
the same period twice gives the same row, so tasks may be redelivered (acks_late).
"""

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone, translation

from events.models import AdSpend, Event
from reports.export.tasks import send_snapshot_mail_task
from reports.metrics.common import refresh_planner_statistics, report_queries
from reports.models import Snapshot, SnapshotKind, SnapshotSubscription
from reports.periods import Period, closed_periods, parse_label
from reports.review.services import link_week_snapshots
from reports.snapshots import daily, monthly, weekly
from wxanalytics.replica import read_as_of, reading_reports

logger = logging.getLogger(__name__)

BUILDERS = {
    SnapshotKind.DAILY: daily.build_data,
    SnapshotKind.WEEKLY: weekly.build_data,
    SnapshotKind.MONTHLY: monthly.build_data,
}

# How far back the catch-up looks for closed periods without a snapshot.
CATCH_UP_PERIODS = {SnapshotKind.DAILY: 14, SnapshotKind.WEEKLY: 8, SnapshotKind.MONTHLY: 3}
# A row left "building" longer than this lost its worker (the broker redelivers after the
# visibility timeout; this is the backstop when the message itself was lost).
STUCK_AFTER = timedelta(hours=2)
# mark_stale_snapshots looks at rows received this long before each run (it runs every
# 15 minutes; a week of overlap survives a long outage of beat or the workers).
STALE_WINDOW = timedelta(days=7)


class SnapshotError(Exception):
    """A snapshot that cannot be built as asked (open period, bad label)."""


@dataclass(frozen=True)
class DuePeriod:
    kind: str
    label: str
    reason: str  # "missing", "failed" or "stuck"


def build_snapshot(kind: str, label: str, *, now: datetime | None = None) -> Snapshot:
    """Build (or rebuild) the snapshot of one closed period and return it.

    Steps: claim the row (create it as `building` if new), compute the data in memory,
    then one UPDATE writes data/status/built_at/duration. On failure the previous data
    stays, the error and duration are recorded, and the exception propagates.
    """
    period = parse_label(kind, label)
    now = now or timezone.now()
    if not period.is_closed(now):
        raise SnapshotError(f"{period.label} has not ended yet; only closed periods are built.")
    snapshot = _claim(kind, period, now)
    started = time.monotonic()
    # After a bulk load (or where autovacuum is off) the planner would guess near-empty tables.
    refresh_planner_statistics()
    try:
        # Reads from the reports replica when there is one (wxanalytics.replica); the build
        # is then as of the replica's last replayed commit, not of `now`. Stored text is
        # English whatever the active language: snapshot JSON is data (compared across
        # builds, served by the API); pages translate it when they show it
        # (reports.localize).
        with reading_reports(), report_queries(), translation.override("en"):
            read_as_of_time = read_as_of(now)
            data = _jsonable(BUILDERS[kind](period))
    except Exception as exc:
        # Recorded for admin, then re-raised for the task's retry policy.
        Snapshot.objects.filter(pk=snapshot.pk).update(
            status=Snapshot.Status.FAILED, error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started)
        )
        raise
    with transaction.atomic():
        Snapshot.objects.filter(pk=snapshot.pk).update(
            data=data,
            status=Snapshot.Status.BUILT,
            built_at=read_as_of_time,  # events received after it make the snapshot stale
            duration_ms=_ms(started),
            error="",
            stale=False,
            stale_since=None,
            builds=F("builds") + 1,
        )
        if kind == SnapshotKind.WEEKLY:  # Friday review entries of this week point at it
            link_week_snapshots(week=period.label)
        transaction.on_commit(lambda: _after_build(snapshot.pk, kind))
    snapshot.refresh_from_db()
    logger.info("built %s in %s ms", snapshot, snapshot.duration_ms)
    return snapshot


def _claim(kind: str, period: Period, now: datetime) -> Snapshot:
    defaults = {
        "period_end": period.end,
        "period_label": period.label,
        "status": Snapshot.Status.BUILDING,
        "build_started_at": now,
    }
    try:
        snapshot, created = Snapshot.objects.get_or_create(kind=kind, period_start=period.start, defaults=defaults)
    except IntegrityError:  # a concurrent build created it first
        snapshot, created = Snapshot.objects.get(kind=kind, period_start=period.start), False
    if not created:
        # Keep status "built" while rebuilding: the old data stays readable until replaced.
        Snapshot.objects.filter(pk=snapshot.pk).update(build_started_at=now)
    return snapshot


def _after_build(snapshot_id: int, kind: str) -> None:
    """Queue the subscriber mail (after commit, so the worker sees the new data); no
    subscribers, no task."""
    if SnapshotSubscription.objects.filter(kind=kind).exists():
        send_snapshot_mail_task.delay(snapshot_id)


def _jsonable(data: dict) -> dict:
    # Round-trip so what we store is exactly what readers get back (Decimals, dates).
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def due_periods(*, now: datetime | None = None, catch_up: dict | None = None) -> list[DuePeriod]:
    """Closed periods that need a build: the last closed period of each kind and every
    closed period in the catch-up window that has no built snapshot, failed, or whose
    build is stuck. One query per kind."""
    now = now or timezone.now()
    catch_up = catch_up or CATCH_UP_PERIODS
    due = []
    for kind in SnapshotKind.values:
        periods = closed_periods(kind, catch_up[kind], now)
        rows = {
            s.period_label: s
            for s in Snapshot.objects.filter(kind=kind, period_label__in=[p.label for p in periods]).only(
                "period_label", "status", "built_at", "build_started_at"
            )
        }
        for period in periods:
            snapshot = rows.get(period.label)
            if snapshot is None:
                due.append(DuePeriod(kind, period.label, "missing"))
            elif snapshot.status == Snapshot.Status.FAILED:
                due.append(DuePeriod(kind, period.label, "failed"))
            elif snapshot.status == Snapshot.Status.BUILDING and (
                snapshot.build_started_at is None or snapshot.build_started_at < now - STUCK_AFTER
            ):
                due.append(DuePeriod(kind, period.label, "stuck"))
    return due


def mark_stale_snapshots(*, now: datetime | None = None, window: timedelta | None = None) -> int:
    """Flag built snapshots whose period received events (or ad spend imports) after they
    were built; returns how many became stale.

    Steps: one grouped query over the rows received within `window` before `now` (an index
    range on received_at / a small table) gives, per local day, the latest arrival; then one
    UPDATE flags every snapshot whose period holds such a day and was built before that
    arrival. The cost follows the recent arrivals, not the number of snapshots or events.
    """
    now = now or timezone.now()
    since = now - (window or STALE_WINDOW)
    latest_by_day: dict = {}
    arrivals = (
        Event.objects.filter(received_at__gte=since)
        .annotate(day=TruncDate("ts", tzinfo=settings.REPORTING_TZ))
        .values("day")
        .annotate(latest=Max("received_at"))
        .order_by()
    )
    imports = (
        AdSpend.objects.filter(imported_at__gte=since).values("date").annotate(latest=Max("imported_at")).order_by()
    )
    for day, latest in [(a["day"], a["latest"]) for a in arrivals] + [(i["date"], i["latest"]) for i in imports]:
        latest_by_day[day] = max(latest, latest_by_day.get(day, latest))
    if not latest_by_day:
        return 0
    late = Q()
    for day, latest in latest_by_day.items():
        start = datetime.combine(day, datetime.min.time(), tzinfo=settings.REPORTING_TZ)
        late |= Q(period_start__lte=start, period_end__gt=start, built_at__lt=latest)
    return Snapshot.objects.filter(late, built_at__isnull=False, stale=False).update(stale=True, stale_since=now)


def mark_stale_for_days(days: Iterable[date], *, now: datetime | None = None) -> int:
    """Flag built snapshots whose period holds one of these local days (events of those
    days were erased); returns how many became stale. One UPDATE."""
    covered = Q()
    for day in set(days):
        start = datetime.combine(day, datetime.min.time(), tzinfo=settings.REPORTING_TZ)
        covered |= Q(period_start__lte=start, period_end__gt=start)
    if not covered:
        return 0
    now = now or timezone.now()
    return Snapshot.objects.filter(covered, built_at__isnull=False, stale=False).update(stale=True, stale_since=now)


def on_people_moved(sender, *, days: list[date], **kwargs) -> int:
    """Events of these days changed person (an identity link; events.people announces it):
    the snapshots that counted them are rebuilt. Returns how many became stale."""
    return mark_stale_for_days(days)


def latest_built(kind: str) -> Snapshot | None:
    return Snapshot.objects.filter(kind=kind, built_at__isnull=False).order_by("-period_start").first()
