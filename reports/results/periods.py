"""The date range of a campaign results request: `from` and `to` (local dates, inclusive),
by default from the campaign's start (or 30 days ago) to today, at most a year."""

from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from reports.periods import Period

DEFAULT_DAYS = 30
MAX_DAYS = 366  # bounds the work of one request (the query reads the range plus 30 days)
# Far-off dates name no data and would overflow the date arithmetic (date.min − 30 days).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


class RangeError(ValueError):
    """A `from`/`to` pair that names no valid range; the message is for the user."""


def results_period(campaign: Campaign, first: str | None, last: str | None) -> Period:
    last_day = _parse(last) if last else timezone.localdate()
    first_day = _parse(first) if first else last_day - timedelta(days=DEFAULT_DAYS - 1)
    if not first and campaign.starts_on and first_day < campaign.starts_on <= last_day:
        first_day = campaign.starts_on
    if first_day > last_day:
        raise RangeError(_("`from` must not be after `to`."))
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise RangeError(_("At most %(days)s days per request.") % {"days": MAX_DAYS})
    return Period.span(first_day, last_day)


def _parse(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise RangeError(_("Dates are YYYY-MM-DD, e.g. 2025-11-03.")) from None
    if not (EARLIEST <= day <= LATEST):
        raise RangeError(_("Dates must fall between %(a)s and %(b)s.") % {"a": EARLIEST, "b": LATEST})
    return day
