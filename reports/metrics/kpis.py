"""KPIs (K1) against their targets, with the previous period: one query per active KPI
(at most three), computing this period and the previous one together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from campaigns.models import KPI, MEASURE_UNITS

from .common import (
    DAY,
    EVENTS,
    Filters,
    Period,
    change,
    db_datetime,
    fetch,
    identity_join,
    materialized,
    money,
    number,
    person,
    ratio,
    seconds_between,
)


@dataclass
class KPIValue:
    kpi_id: int
    name: str
    metric_kind: str
    event_name: str
    second_event_name: str
    unit: str  # events, people, rate (0–1), yuan, seconds
    direction: str  # up | down
    period_label: str  # the span the value covers (the KPI's own period kind, to date)
    previous_label: str  # the span the previous value covers (same span of the period before)
    value: Decimal | None
    target: Decimal
    on_target: bool | None  # None when there is no value (e.g. no one did event A)
    previous_value: Decimal | None
    change: Decimal | None  # (value − previous) / previous


def kpi_values(period: Period, filters: Filters | None = None, *, kpis: list[KPI] | None = None) -> list[KPIValue]:
    """Every active KPI (or the given ones) over its period, against its target.

    A KPI is measured over its own period kind (day/week/month) *to date*: from the start of
    the day/week/month holding the last day of `period`, up to the end of that last day
    (`to_date`). Its previous value covers the same span of the period before.
    Filters select the counted events (event A for conversion and median time).
    """
    filters = filters or Filters()
    if kpis is None:
        kpis = list(KPI.objects.filter(is_active=True).order_by("name", "pk"))
    results = []
    for kpi in kpis:
        own, before = to_date(kpi.period, period.last_day)
        current, previous = _measure(kpi, own, before, filters)
        results.append(
            KPIValue(
                kpi_id=kpi.pk,
                name=kpi.name,
                metric_kind=kpi.metric_kind,
                event_name=kpi.event_name,
                second_event_name=kpi.second_event_name,
                unit=MEASURE_UNITS[kpi.metric_kind],
                direction=kpi.direction,
                period_label=own.label,
                previous_label=before.label,
                value=current,
                target=kpi.target,
                on_target=kpi.is_on_target(current),
                previous_value=previous,
                change=change(current, previous),
            )
        )
    return results


def to_date(kind: str, last_day: date) -> tuple[Period, Period]:
    """(the day/week/month holding `last_day`, cut at the end of `last_day`; the same span of
    the period before). The span is counted in days from the period's first day and capped
    at the previous period's end (1–31 Mar to date 30 Mar → 1–28 Feb); a whole period's
    previous value is the whole previous period (November → all of October)."""
    full = Period.containing(kind, last_day)
    whole_before = full.previous()
    if last_day == full.last_day:
        return full, whole_before
    current = Period(full.start, Period.day(last_day).end, f"{full.label} to {last_day.isoformat()}", "custom")
    span = (last_day - full.first_day).days
    before_last = min(whole_before.first_day + timedelta(days=span), whole_before.last_day)
    previous = Period(
        whole_before.start,
        Period.day(before_last).start + DAY,
        f"{whole_before.label} to {before_last.isoformat()}",
        "custom",
    )
    return current, previous


def _measure(kpi: KPI, period: Period, prev: Period, filters: Filters) -> tuple[Decimal | None, Decimal | None]:
    """(this span, previous span) for one KPI, in one query. Slice 0 is the previous span,
    slice 1 this one; events between the two (the rest of the previous period) are in
    neither."""
    bucket = "(CASE WHEN e.ts >= %s AND e.ts < %s THEN 0 WHEN e.ts >= %s AND e.ts < %s THEN 1 END)"
    bucket_params = [db_datetime(t) for t in (prev.start, prev.end, period.start, period.end)]
    where, where_params = filters.sql("e")
    # The plain range first, so the (event_name, ts) index bounds the scan.
    base_params = [kpi.event_name, bucket_params[0], bucket_params[3], *bucket_params, *where_params]
    base_where = f"e.event_name = %s AND e.ts >= %s AND e.ts < %s AND {bucket} IS NOT NULL{where}"
    kind = kpi.metric_kind

    if kind in (KPI.MetricKind.EVENT_COUNT, KPI.MetricKind.UNIQUE_USERS, KPI.MetricKind.VALUE_SUM):
        aggregate = {
            KPI.MetricKind.EVENT_COUNT: "COUNT(*)",
            KPI.MetricKind.UNIQUE_USERS: f"COUNT(DISTINCT {person()})",
            KPI.MetricKind.VALUE_SUM: "SUM(e.value)",
        }[kind]
        rows = fetch(
            f"SELECT {bucket} AS b, {aggregate} FROM {EVENTS} e {identity_join()} WHERE {base_where} GROUP BY 1",
            bucket_params + base_params,
        )
        found = dict(rows)
        if kind == KPI.MetricKind.VALUE_SUM:
            return money(found.get(1)), money(found.get(0))
        return Decimal(found.get(1, 0)), Decimal(found.get(0, 0))

    # Conversion and median time: each person's first A in the slice, then B after it.
    first_a = (
        f"SELECT {bucket} AS b, {person()} AS p, MIN(e.ts) AS t "
        f"FROM {EVENTS} e {identity_join()} WHERE {base_where} GROUP BY 1, 2"
    )
    if kind == KPI.MetricKind.CONVERSION_RATE:
        # B must happen in the same period as A, at or after A.
        sql = f"""
            WITH a AS {materialized()}({first_a}),
            bev AS {materialized()}(
                SELECT {person()} AS p, e.ts AS t FROM {EVENTS} e {identity_join()}
                WHERE e.event_name = %s AND e.ts >= %s AND e.ts < %s
            ),
            conv AS (
                SELECT DISTINCT a.b, a.p FROM a JOIN bev ON bev.p = a.p AND bev.t >= a.t
                AND bev.t < (CASE WHEN a.b = 0 THEN %s ELSE %s END)
            )
            SELECT a.b, COUNT(*), (SELECT COUNT(*) FROM conv WHERE conv.b = a.b) FROM a GROUP BY a.b
        """
        params = [
            *bucket_params,
            *base_params,
            kpi.second_event_name,
            db_datetime(prev.start),
            db_datetime(period.end),
            db_datetime(prev.end),
            db_datetime(period.end),
        ]
        found = {b: ratio(converted, entered) for b, entered, converted in fetch(sql, params)}
        return found.get(1), found.get(0)

    # Median time: the first B at or after the person's first A (B may come after the period).
    sql = f"""
        WITH a AS {materialized()}({first_a}),
        bev AS {materialized()}(
            SELECT {person()} AS p, e.ts AS t FROM {EVENTS} e {identity_join()}
            WHERE e.event_name = %s AND e.ts >= %s
        ),
        pairs AS (
            SELECT a.b, a.p, a.t AS at, MIN(bev.t) AS bt FROM a JOIN bev ON bev.p = a.p AND bev.t >= a.t
            GROUP BY a.b, a.p, a.t
        ),
        ranked AS (
            SELECT b, secs, ROW_NUMBER() OVER (PARTITION BY b ORDER BY secs) AS rn, COUNT(*) OVER (PARTITION BY b) AS n
            FROM (SELECT b, {seconds_between("at", "bt")} AS secs FROM pairs) d
        )
        SELECT b, MIN(secs) FROM ranked WHERE rn * 2 >= n GROUP BY b
    """
    params = [*bucket_params, *base_params, kpi.second_event_name, db_datetime(prev.start)]
    found = {b: number(secs, Decimal("1")) for b, secs in fetch(sql, params)}
    return found.get(1), found.get(0)
