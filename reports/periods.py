"""The one period type of the reports: a day, an ISO week (from Monday), a month or a custom
span, cut in settings.REPORTING_TZ, and the one way to write and read period labels
(`2025-11-03`, `2025-W46`, `2025-11`). Metric functions, snapshots (whose kinds
daily/weekly/monthly map to day/week/month) and the Friday review's weeks
(`review.weeks.parse_review_week`) all use `Period`. Parsing is strict so a typo is an
error, not an empty report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

DAY = timedelta(days=1)

# Labels by period kind; a label that matches may still name no date (2025-W53).
LABELS = {
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "week": re.compile(r"^(\d{4})-W(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})()$"),
}


class PeriodError(ValueError):
    """A kind or label that names no period."""


def week_label(iso_year: int, iso_week: int) -> str:
    return f"{iso_year:04d}-W{iso_week:02d}"


def label_for(kind: str, first_day: date) -> str:
    """The label of the day, week or month that starts on `first_day`."""
    if kind == "day":
        return first_day.isoformat()
    if kind == "week":
        iso_year, iso_week, _ = first_day.isocalendar()
        return week_label(iso_year, iso_week)
    return f"{first_day:%Y-%m}"


def parse_first_day(kind: str, label: str) -> date:
    """The first day of the day, week or month a label names (`2025-11-03`, `2025-W46`,
    `2025-11`). PeriodError when the label does not have the kind's shape; ValueError when
    it has the shape but names no date (`2025-02-30`, `2025-W53`)."""
    match = LABELS[kind].match(label)
    if not match:
        raise PeriodError(f"{label!r} is not a {kind} label.")
    if kind == "week":
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    return date(int(match[1]), int(match[2]), int(match[3] or 1))


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=settings.REPORTING_TZ)


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of aware datetimes, cut in settings.REPORTING_TZ.

    `kind` is "day", "week" (ISO, from Monday), "month" or "custom"; `previous()` keeps it.
    """

    start: datetime
    end: datetime
    label: str
    kind: str = "custom"

    def __post_init__(self) -> None:
        if timezone.is_naive(self.start) or timezone.is_naive(self.end):
            raise ValueError("Period bounds must be aware datetimes.")
        if self.end <= self.start:
            raise ValueError(f"Period {self.label!r} ends before it starts.")

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(local_midnight(day), local_midnight(day + DAY), label_for("day", day), "day")

    @classmethod
    def iso_week(cls, year: int | date, week: int | None = None) -> Period:
        """`Period.iso_week(2025, 46)`, or `Period.iso_week(some_date)` for the week holding it."""
        if isinstance(year, date):
            monday = year - timedelta(days=year.weekday())
        else:
            if week is None:
                raise TypeError("Period.iso_week(year, week) needs the week number.")
            monday = date.fromisocalendar(year, week, 1)
        return cls(
            local_midnight(monday), local_midnight(monday + timedelta(days=7)), label_for("week", monday), "week"
        )

    @classmethod
    def month(cls, year: int | date, month: int | None = None) -> Period:
        """`Period.month(2025, 11)`, or `Period.month(some_date)` for the month holding it."""
        if isinstance(year, date):
            first = year.replace(day=1)
        else:
            if month is None:
                raise TypeError("Period.month(year, month) needs the month number.")
            first = date(year, month, 1)
        return cls(
            local_midnight(first), local_midnight(_first_of_next_month(first)), label_for("month", first), "month"
        )

    @classmethod
    def span(cls, first_day: date, last_day: date) -> Period:
        """The local days `first_day` to `last_day` (inclusive), labelled `2025-11-01..2025-11-30`."""
        return cls(local_midnight(first_day), local_midnight(last_day + DAY), f"{first_day}..{last_day}", "custom")

    @classmethod
    def containing(cls, kind: str, day: date) -> Period:
        """The day, ISO week or month (by `kind`) that holds `day`."""
        makers = {"day": cls.day, "week": cls.iso_week, "month": cls.month}
        if kind not in makers:
            raise ValueError(f"Unknown period kind {kind!r}; use day, week or month.")
        return makers[kind](day)

    def previous(self, steps: int = 1) -> Period:
        period = self
        for _ in range(steps):
            period = period._before()
        return period

    def next(self) -> Period:
        if self.kind in ("day", "week", "month"):
            return Period.containing(self.kind, self.last_day + DAY)
        length = self.end - self.start
        return Period(self.end, self.end + length, f"after {self.label}", "custom")

    def _before(self) -> Period:
        if self.kind in ("day", "week", "month"):
            return Period.containing(self.kind, self.first_day - DAY)
        length = self.end - self.start
        return Period(self.start - length, self.start, f"before {self.label}", "custom")

    def is_closed(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.end

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start, settings.REPORTING_TZ).date()

    @property
    def last_day(self) -> date:
        """The last local day the period touches (inclusive)."""
        return timezone.localtime(self.end - timedelta(microseconds=1), settings.REPORTING_TZ).date()

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(count)]

    @property
    def day_bounds(self) -> list[datetime]:
        """Local midnights from the first day to the day after the last: slice k is days[k]."""
        return [local_midnight(d) for d in self.days] + [local_midnight(self.last_day + DAY)]

    def __str__(self) -> str:
        return self.label


# --- snapshot periods ----------------------------------------------------------------------

# Snapshot kinds (reports.models.SnapshotKind) and the period each one covers.
SNAPSHOT_PERIOD_KINDS = {"daily": "day", "weekly": "week", "monthly": "month"}
# And back: the snapshot kind of a day, week or month Period.
SNAPSHOT_KIND = {period_kind: kind for kind, period_kind in SNAPSHOT_PERIOD_KINDS.items()}
KINDS = tuple(SNAPSHOT_PERIOD_KINDS)
_EXAMPLES = {"daily": "2025-11-03", "weekly": "2025-W46", "monthly": "2025-11"}


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise PeriodError(f"Unknown snapshot kind {kind!r}; use one of {', '.join(KINDS)}.")
    return kind


def period_containing(kind: str, day: date) -> Period:
    """The day, week or month of snapshot kind `kind` (daily, weekly, monthly) that holds `day`."""
    return Period.containing(SNAPSHOT_PERIOD_KINDS[check_kind(kind)], day)


def parse_label(kind: str, label: str) -> Period:
    """`2025-11-03` (daily), `2025-W46` (weekly, ISO), `2025-11` (monthly)."""
    check_kind(kind)
    label = (label or "").strip()
    try:
        return period_containing(kind, parse_first_day(SNAPSHOT_PERIOD_KINDS[kind], label))
    except PeriodError:
        raise PeriodError(f"{label!r} is not a {kind} period label (expected e.g. {_EXAMPLES[kind]}).") from None
    except ValueError as exc:
        raise PeriodError(f"{label!r} is not a valid {kind} period: {exc}.") from None


def local_today(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), settings.REPORTING_TZ).date()


def last_closed(kind: str, now: datetime | None = None) -> Period:
    """The most recent period of this kind that has fully ended."""
    return period_containing(kind, local_today(now)).previous()


def closed_periods(kind: str, count: int, now: datetime | None = None) -> list[Period]:
    """The last `count` closed periods, oldest first."""
    periods = [last_closed(kind, now)]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods[::-1]


def periods_between(kind: str, first: Period, last: Period) -> list[Period]:
    if first.first_day > last.first_day:
        raise PeriodError(f"{first.label} is after {last.label}.")
    periods = [first]
    while periods[-1].first_day < last.first_day:
        periods.append(periods[-1].next())
    return periods
