"""ISO weeks as the review writes them: `2025-W46`, Monday to Sunday in the reporting zone.
An `IsoWeek` is a key (year, week) that sorts and shifts; its label, bounds and parsing are
the week `Period`'s (reports.periods)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from reports.periods import LABELS, Period, week_label

# The database's check on stored weeks (ReviewEntry's constraint): the label's shape with a
# plausible week number; `IsoWeek.parse` also checks that the week exists.
ISO_WEEK_PATTERN = r"^\d{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$"
# Events start in 2000 (events.ingest.validate.EARLIEST_TS); the upper bound keeps every
# neighbour and period end a page computes (next week, 4 weeks back) a valid date.
FIRST_YEAR, LAST_YEAR = 2000, 2099


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, value: str) -> "IsoWeek":
        """`2025-W46` → IsoWeek(2025, 46); ValueError with a readable reason otherwise."""
        match = LABELS["week"].match(value.strip()) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"{value!r} is not an ISO week; write it like 2025-W46.")
        year, week = int(match[1]), int(match[2])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"{year} is outside the weeks a review can cover ({FIRST_YEAR}–{LAST_YEAR}).")
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {week}.") from None
        return cls(year, week)

    @classmethod
    def containing(cls, day: date) -> "IsoWeek":
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def current(cls, now: datetime | None = None) -> "IsoWeek":
        """The week it is now in the reporting time zone (Friday evening in Shanghai is
        still Friday there even when UTC says otherwise)."""
        local = timezone.localtime(now or timezone.now(), settings.REPORTING_TZ)
        return cls.containing(local.date())

    def __str__(self) -> str:
        return week_label(self.year, self.week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def period(self) -> Period:
        return Period.iso_week(self.year, self.week)

    @property
    def starts_at(self) -> datetime:
        return self.period.start

    @property
    def ends_at(self) -> datetime:
        """Exclusive end: next Monday 00:00 in the reporting zone."""
        return self.period.end

    def shift(self, weeks: int) -> "IsoWeek":
        return IsoWeek.containing(self.monday + timedelta(weeks=weeks))

    @property
    def previous(self) -> "IsoWeek":
        return self.shift(-1)

    @property
    def next(self) -> "IsoWeek":
        return self.shift(1)


def validate_iso_week(value: str) -> None:
    """Field validator: the format and that the week exists (2025 has no W53)."""
    try:
        IsoWeek.parse(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_week") from None
