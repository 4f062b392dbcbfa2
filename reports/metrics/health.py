"""The daily health check (seed §10): one day's spend, CTR, orders, payment value,
follows, unfollows and QR scans, each against its trailing 7-day average. Two queries.

Definitions:
- The *trailing average* is the mean of the 7 local days before `day` (days without data
  count as 0). For CTR it is clicks / impressions over those 7 days (a ratio of sums, so a
  quiet day does not weigh as much as a busy one).
- *Change* = (value − average) / average, computed exactly (as fractions) and rounded only
  for display: 2 unfollows against 20 over 7 days is −30 % exactly, not past a 30 % rule.
  A metric is *flagged* when |exact change| exceeds the threshold (default 30 %). With an
  average of 0 the change is undefined and not flagged.
- Each metric knows which way is good (`good_direction`: more orders is good, fewer
  unfollows is good; ad spend has no good direction). A flagged move is `news = "good"`
  or `"bad"` (or `"check"` when no direction is good), so fewer unfollows is not an alarm.
- A rate (CTR) is flagged only when both the day and the trailing days have at least
  `settings.REPORTS_MIN_RATE_SAMPLE` impressions: 1 click in 4 impressions says nothing.
- Orders = `pay_success` events, payment value = their value.
- QR scans = scans as `reports.metrics.scans` defines them: `qr_scan` events and Mini
  Program launches from a placement's code, one per scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import gettext_noop

from events.models import AdSpend
from reports.periods import Period

from .common import (
    FOLLOW,
    PAY_SUCCESS,
    QR_SCAN,
    RATE_PLACES,
    UNFOLLOW,
    Filters,
    bucket_case,
    db_datetime,
    events_table,
    in_list,
    money,
    ratio,
)
from .scans import scans_sql
from .sql import Sql

TRAILING_DAYS = 7
# Which way each metric should move; None = neither way is good news in itself.
GOOD_DIRECTION = {
    "spend": None,
    "ctr": "up",
    "orders": "up",
    "revenue": "up",
    "follows": "up",
    "unfollows": "down",
    "qr_scans": "up",
}


@dataclass
class HealthMetric:
    key: str
    label: str
    value: Decimal | None
    trailing_average: Decimal | None  # rounded for display (money 2 places, CTR 4, counts 1)
    change: Decimal | None  # rounded to 4 places for display; the flag uses the exact value
    flagged: bool
    series: list[Decimal | None] = field(default_factory=list)  # the 7 days before, then the day
    good_direction: str | None = None  # up | down | None
    news: str = ""  # good | bad | check (flagged, no good direction) | "" (not flagged)
    sample_too_small: bool = False  # a rate whose denominator is below REPORTS_MIN_RATE_SAMPLE


@dataclass
class HealthCheck:
    day: date
    threshold: Decimal
    metrics: list[HealthMetric]

    @property
    def flagged(self) -> list[HealthMetric]:
        return [m for m in self.metrics if m.flagged]

    @property
    def alerts(self) -> list[HealthMetric]:
        """Flagged moves that need attention (bad news or no good direction)."""
        return [m for m in self.metrics if m.flagged and m.news != "good"]


def health_check(day: date, filters: Filters | None = None, *, threshold: Decimal = Decimal("0.30")) -> HealthCheck:
    filters = filters or Filters()
    first = day - timedelta(days=TRAILING_DAYS)
    days = [first + timedelta(days=i) for i in range(TRAILING_DAYS + 1)]
    window = Period.span(first, day)

    spend_rows = AdSpend.objects.filter(date__gte=first, date__lte=day)
    if filters.campaign_id:
        spend_rows = spend_rows.filter(campaign_id=filters.campaign_id)
    spend = {
        row["date"]: row
        for row in spend_rows.values("date").annotate(s=Sum("spend"), i=Sum("impressions"), c=Sum("clicks")).order_by()
    }

    names = (PAY_SUCCESS, FOLLOW, UNFOLLOW)
    query = Sql(
        """SELECT {bucket} AS d, e.event_name, COUNT(*), SUM(e.value) FROM {events} e
                WHERE e.event_name IN {names} AND e.ts >= %(start)s AND e.ts < %(end)s{where} GROUP BY 1, 2
                UNION ALL
                SELECT {bucket} AS d, e.event_name, COUNT(*), NULL FROM {scans} e WHERE 1 = 1{where} GROUP BY 1, 2""",
        {"start": db_datetime(window.start), "end": db_datetime(window.end)},
    ).format(
        bucket=bucket_case("e.ts", window.day_bounds, "day"),
        events=events_table(),
        names=in_list(names, "name"),
        where=filters.sql("e"),
        scans=scans_sql(window),  # QR scans: short links and WeChat codes, one per scan
    )
    counted = {(int(d), name): (count, value) for d, name, count, value in query.fetch() if d is not None}

    def daily_spend(key: str) -> list:
        return [spend.get(d, {}).get(key) or 0 for d in days]

    def events(name: str, value: bool = False) -> list[Decimal]:
        index = 1 if value else 0
        return [
            money(counted.get((i, name), (0, 0))[index]) if value else Decimal(counted.get((i, name), (0, 0))[0])
            for i in range(len(days))
        ]

    spend_series = [money(v) for v in daily_spend("s")]
    clicks, impressions = daily_spend("c"), daily_spend("i")
    ctr_series = [ratio(c, i) for c, i in zip(clicks, impressions, strict=True)]
    minimum = settings.REPORTS_MIN_RATE_SAMPLE
    ctr_exact = (
        Fraction(clicks[-1], impressions[-1]) if impressions[-1] else None,
        Fraction(sum(clicks[:-1]), sum(impressions[:-1])) if sum(impressions[:-1]) else None,
    )

    metrics = [
        _metric("spend", gettext_noop("Ad spend"), spend_series, threshold),
        _metric(
            "ctr",
            gettext_noop("CTR"),
            ctr_series,
            threshold,
            exact=ctr_exact,
            too_small=min(impressions[-1], sum(impressions[:-1])) < minimum,
        ),
        _metric("orders", gettext_noop("Orders (pay_success)"), events(PAY_SUCCESS), threshold),
        _metric("revenue", gettext_noop("Payment value"), events(PAY_SUCCESS, value=True), threshold),
        _metric("follows", gettext_noop("Follows"), events(FOLLOW), threshold),
        _metric("unfollows", gettext_noop("Unfollows"), events(UNFOLLOW), threshold),
        _metric("qr_scans", gettext_noop("QR scans"), events(QR_SCAN), threshold),
    ]
    return HealthCheck(day=day, threshold=threshold, metrics=metrics)


def _metric(
    key: str,
    label: str,
    series: list,
    threshold: Decimal,
    *,
    exact: tuple[Fraction | None, Fraction | None] | None = None,
    too_small: bool = False,
) -> HealthMetric:
    """One metric from its 8-day series. `exact` = (the day, the trailing average) as exact
    fractions when they are not the series' plain mean (CTR: a ratio of sums)."""
    if exact is None:
        exact = (Fraction(series[-1]), Fraction(sum(series[:-1])) / TRAILING_DAYS)
    value, average = exact
    moved = None if value is None or not average else value / average - 1
    flagged = moved is not None and abs(moved) > Fraction(threshold) and not too_small
    good = GOOD_DIRECTION[key]
    news = ""
    if flagged:
        news = "check" if good is None else ("good" if (moved > 0) == (good == "up") else "bad")
    # Display rounding: CTR 4 places, money 2 (¥), a mean of counts 1 (2.9 follows a day).
    places = {"ctr": RATE_PLACES, "spend": Decimal("0.01"), "revenue": Decimal("0.01")}.get(key, Decimal("0.1"))
    return HealthMetric(
        key=key,
        label=label,
        value=series[-1],
        trailing_average=None if average is None else _decimal(average, places),
        change=None if moved is None else _decimal(moved, RATE_PLACES),
        flagged=flagged,
        series=series,
        good_direction=good,
        news=news,
        sample_too_small=too_small,
    )


def _decimal(value: Fraction, places: Decimal) -> Decimal:
    """An exact fraction rounded half-up for display."""
    return ratio(value.numerator, value.denominator, places)
