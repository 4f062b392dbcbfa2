"""The daily health check (seed §10): one day's spend, CTR, orders, payment value,
follows, unfollows and QR scans, each against its trailing 7-day average. Two queries.

Definitions:
- The *trailing average* is the mean of the 7 local days before `day` (days without data
  count as 0). For CTR it is clicks / impressions over those 7 days (a ratio of sums, so a
  quiet day does not weigh as much as a busy one).
- *Change* = (value − average) / average; a metric is *flagged* when |change| exceeds the
  threshold (default 30 %). With an average of 0 the change is undefined and not flagged.
- Orders = `pay_success` events, payment value = their value.
- QR scans = scans as `reports.metrics.scans` defines them: `qr_scan` events and Mini
  Program launches from a placement's code, one per scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from events.models import AdSpend

from .common import (
    EVENTS,
    FOLLOW,
    PAY_SUCCESS,
    QR_SCAN,
    UNFOLLOW,
    Filters,
    Period,
    bucket_case,
    change,
    db_datetime,
    fetch,
    in_list,
    money,
    ratio,
)
from .scans import scans_sql

TRAILING_DAYS = 7


@dataclass
class HealthMetric:
    key: str
    label: str
    value: Decimal | None
    trailing_average: Decimal | None
    change: Decimal | None
    flagged: bool
    series: list[Decimal | None] = field(default_factory=list)  # the 7 days before, then the day


@dataclass
class HealthCheck:
    day: date
    threshold: Decimal
    metrics: list[HealthMetric]

    @property
    def flagged(self) -> list[HealthMetric]:
        return [m for m in self.metrics if m.flagged]


def health_check(day: date, filters: Filters | None = None, *, threshold: Decimal = Decimal("0.30")) -> HealthCheck:
    filters = filters or Filters()
    first = day - timedelta(days=TRAILING_DAYS)
    days = [first + timedelta(days=i) for i in range(TRAILING_DAYS + 1)]
    window = Period(Period.day(first).start, Period.day(day).end, f"{first}..{day}")

    spend_rows = AdSpend.objects.filter(date__gte=first, date__lte=day)
    if filters.campaign_id:
        spend_rows = spend_rows.filter(campaign_id=filters.campaign_id)
    spend = {
        row["date"]: row
        for row in spend_rows.values("date").annotate(s=Sum("spend"), i=Sum("impressions"), c=Sum("clicks")).order_by()
    }

    names = (PAY_SUCCESS, FOLLOW, UNFOLLOW)
    bucket, bucket_params = bucket_case("e.ts", window.day_bounds)
    name_sql, name_params = in_list(names)
    where, where_params = filters.sql("e")
    scans, scan_params = scans_sql(window)  # QR scans: short links and WeChat codes, one per scan
    counted = {
        (int(d), name): (count, value)
        for d, name, count, value in fetch(
            f"""SELECT {bucket} AS d, e.event_name, COUNT(*), SUM(e.value) FROM {EVENTS} e
                WHERE e.event_name IN {name_sql} AND e.ts >= %s AND e.ts < %s{where} GROUP BY 1, 2
                UNION ALL
                SELECT {bucket} AS d, e.event_name, COUNT(*), NULL FROM {scans} e WHERE 1 = 1{where} GROUP BY 1, 2""",
            [
                *bucket_params,
                *name_params,
                db_datetime(window.start),
                db_datetime(window.end),
                *where_params,
                *bucket_params,
                *scan_params,
                *where_params,
            ],
        )
        if d is not None
    }

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
    ctr_average = ratio(sum(clicks[:-1]), sum(impressions[:-1]))

    metrics = [
        _metric("spend", "Ad spend", spend_series, threshold),
        _metric("ctr", "CTR", ctr_series, threshold, average=ctr_average),
        _metric("orders", "Orders (pay_success)", events(PAY_SUCCESS), threshold),
        _metric("revenue", "Payment value", events(PAY_SUCCESS, value=True), threshold),
        _metric("follows", "Follows", events(FOLLOW), threshold),
        _metric("unfollows", "Unfollows", events(UNFOLLOW), threshold),
        _metric("qr_scans", "QR scans", events(QR_SCAN), threshold),
    ]
    return HealthCheck(day=day, threshold=threshold, metrics=metrics)


def _metric(key: str, label: str, series: list, threshold: Decimal, *, average: Decimal | None = None) -> HealthMetric:
    if average is None and key != "ctr":
        average = ratio(sum(series[:-1]), TRAILING_DAYS, Decimal("0.01"))
    value = series[-1]
    moved = change(value, average)
    return HealthMetric(
        key=key,
        label=label,
        value=value,
        trailing_average=average,
        change=moved,
        flagged=moved is not None and abs(moved) > threshold,
        series=series,
    )
