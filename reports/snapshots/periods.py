"""Snapshot periods: a kind plus a label (2025-11-03, 2025-W46, 2025-11) cut in the
reporting time zone, weeks from Monday. Parsing is strict so a typo is an error, not an
empty report."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from reports.models import SnapshotKind

KINDS = tuple(SnapshotKind.values)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A kind or label that names no period."""


@dataclass(frozen=True)
class SnapshotPeriod:
    kind: str
    first_day: date  # first local day of the period
    last_day: date  # last local day (inclusive)

    @property
    def label(self) -> str:
        if self.kind == SnapshotKind.DAILY:
            return self.first_day.isoformat()
        if self.kind == SnapshotKind.WEEKLY:
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first_day:%Y-%m}"

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=settings.REPORTING_TZ)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=settings.REPORTING_TZ)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def is_closed(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.end

    def previous(self, steps: int = 1) -> "SnapshotPeriod":
        period = self
        for _ in range(steps):
            period = period_containing(period.kind, period.first_day - timedelta(days=1))
        return period

    def next(self) -> "SnapshotPeriod":
        return period_containing(self.kind, self.last_day + timedelta(days=1))

    def metrics_period(self):
        """The same period as the metric functions' `Period` (reports.metrics.common)."""
        from reports.metrics.common import Period

        if self.kind == SnapshotKind.DAILY:
            return Period.day(self.first_day)
        if self.kind == SnapshotKind.WEEKLY:
            return Period.iso_week(self.first_day)
        return Period.month(self.first_day)

    def __str__(self) -> str:
        return f"{self.kind} {self.label}"


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise PeriodError(f"Unknown snapshot kind {kind!r}; use one of {', '.join(KINDS)}.")
    return kind


def period_containing(kind: str, day: date) -> SnapshotPeriod:
    check_kind(kind)
    if kind == SnapshotKind.DAILY:
        return SnapshotPeriod(kind, day, day)
    if kind == SnapshotKind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return SnapshotPeriod(kind, monday, monday + timedelta(days=6))
    first = day.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return SnapshotPeriod(kind, first, next_first - timedelta(days=1))


def parse_label(kind: str, label: str) -> SnapshotPeriod:
    """`2025-11-03` (daily), `2025-W46` (weekly, ISO), `2025-11` (monthly)."""
    check_kind(kind)
    label = (label or "").strip()
    try:
        if kind == SnapshotKind.DAILY and (m := _DAY.match(label)):
            return period_containing(kind, date(int(m[1]), int(m[2]), int(m[3])))
        if kind == SnapshotKind.WEEKLY and (m := _WEEK.match(label)):
            return period_containing(kind, date.fromisocalendar(int(m[1]), int(m[2]), 1))
        if kind == SnapshotKind.MONTHLY and (m := _MONTH.match(label)):
            return period_containing(kind, date(int(m[1]), int(m[2]), 1))
    except ValueError as exc:
        raise PeriodError(f"{label!r} is not a valid {kind} period: {exc}.") from None
    example = {"daily": "2025-11-03", "weekly": "2025-W46", "monthly": "2025-11"}[kind]
    raise PeriodError(f"{label!r} is not a {kind} period label (expected e.g. {example}).")


def local_today(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), settings.REPORTING_TZ).date()


def last_closed(kind: str, now: datetime | None = None) -> SnapshotPeriod:
    """The most recent period of this kind that has fully ended."""
    return period_containing(kind, local_today(now)).previous()


def closed_periods(kind: str, count: int, now: datetime | None = None) -> list[SnapshotPeriod]:
    """The last `count` closed periods, oldest first."""
    periods = [last_closed(kind, now)]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods[::-1]


def periods_between(kind: str, first: SnapshotPeriod, last: SnapshotPeriod) -> list[SnapshotPeriod]:
    if first.first_day > last.first_day:
        raise PeriodError(f"{first.label} is after {last.label}.")
    periods = [first]
    while periods[-1].first_day < last.first_day:
        periods.append(periods[-1].next())
    return periods
