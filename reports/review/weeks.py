"""ISO weeks as the review writes them: `2025-W46`, Monday to Sunday in the reporting zone.
A review week is a week `Period` (reports.periods); this module adds the review's own
bounds on which weeks it accepts, with readable errors."""

from datetime import datetime

from django.core.exceptions import ValidationError

from reports.periods import LABELS, Period, local_today

# The database's check on stored weeks (ReviewEntry's constraint): the label's shape with a
# plausible week number; `parse_review_week` also checks that the week exists.
ISO_WEEK_PATTERN = r"^\d{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$"
# Events start in 2000 (events.ingest.validate.EARLIEST_TS); the upper bound keeps every
# neighbour and period end a page computes (next week, 4 weeks back) a valid date.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def parse_review_week(value: str) -> Period:
    """`2025-W46` → that week's Period; ValueError with a readable reason otherwise."""
    match = LABELS["week"].match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not an ISO week; write it like 2025-W46.")
    year, week = int(match[1]), int(match[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{year} is outside the weeks a review can cover ({FIRST_YEAR}–{LAST_YEAR}).")
    try:
        return Period.iso_week(year, week)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}.") from None


def this_week(now: datetime | None = None) -> Period:
    """The week it is now in the reporting time zone (Friday evening in Shanghai is
    still Friday there even when UTC says otherwise)."""
    return Period.iso_week(local_today(now))


def validate_iso_week(value: str) -> None:
    """Field validator: the format and that the week exists (2025 has no W53)."""
    try:
        parse_review_week(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_week") from None
