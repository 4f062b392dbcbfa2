"""KPIs (K1) against their targets, with the previous period: one query per active KPI
(at most three), computing this period and the previous one together."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from campaigns.models import KPI

from .common import (
    EVENTS,
    Filters,
    Period,
    bucket_case,
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

UNITS = {
    KPI.MetricKind.EVENT_COUNT: "events",
    KPI.MetricKind.UNIQUE_USERS: "people",
    KPI.MetricKind.CONVERSION_RATE: "rate",
    KPI.MetricKind.VALUE_SUM: "yuan",
    KPI.MetricKind.MEDIAN_TIME: "seconds",
}


@dataclass
class KPIValue:
    kpi_id: int
    name: str
    metric_kind: str
    event_name: str
    second_event_name: str
    unit: str  # events, people, rate (0–1), yuan, seconds
    direction: str  # up | down
    period_label: str  # the period the value covers (the KPI's own period kind)
    value: Decimal | None
    target: Decimal
    on_target: bool | None  # None when there is no value (e.g. no one did event A)
    previous_value: Decimal | None
    change: Decimal | None  # (value − previous) / previous


def kpi_values(period: Period, filters: Filters | None = None, *, kpis: list[KPI] | None = None) -> list[KPIValue]:
    """Every active KPI (or the given ones) over its period, against its target.

    A KPI is measured over its own period kind (day/week/month) ending on the last day of
    `period`: a weekly KPI in a weekly snapshot covers that week; a monthly KPI shown on a
    weekly snapshot covers the month holding the week's last day (month to date).
    Filters select the counted events (event A for conversion and median time).
    """
    filters = filters or Filters()
    if kpis is None:
        kpis = list(KPI.objects.filter(is_active=True).order_by("name", "pk"))
    results = []
    for kpi in kpis:
        own = period if period.kind == kpi.period else Period.containing(kpi.period, period.last_day)
        current, previous = _measure(kpi, own, filters)
        results.append(
            KPIValue(
                kpi_id=kpi.pk,
                name=kpi.name,
                metric_kind=kpi.metric_kind,
                event_name=kpi.event_name,
                second_event_name=kpi.second_event_name,
                unit=UNITS[kpi.metric_kind],
                direction=kpi.direction,
                period_label=own.label,
                value=current,
                target=kpi.target,
                on_target=kpi.is_on_target(current),
                previous_value=previous,
                change=change(current, previous),
            )
        )
    return results


def _measure(kpi: KPI, period: Period, filters: Filters) -> tuple[Decimal | None, Decimal | None]:
    """(this period, previous period) for one KPI, in one query. Slice 0 is the previous
    period, slice 1 this one."""
    prev = period.previous()
    bucket, bucket_params = bucket_case("e.ts", [prev.start, prev.end, period.end])
    where, where_params = filters.sql("e")
    base_params = [kpi.event_name, db_datetime(prev.start), db_datetime(period.end), *where_params]
    base_where = f"e.event_name = %s AND e.ts >= %s AND e.ts < %s{where}"
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
