"""KPIs (K1) against their targets, with the previous period: one query per active KPI
(at most three), computing this period and the previous one together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from campaigns.models import KPI, MEASURE_UNITS
from reports.periods import DAY, Period

from .common import (
    Filters,
    change,
    db_datetime,
    events_table,
    materialized,
    money,
    number,
    person_of,
    ratio,
    seconds_between,
)
from .sql import Sql


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
    spans = {
        "previous_start": db_datetime(prev.start),
        "previous_end": db_datetime(prev.end),
        "start": db_datetime(period.start),
        "end": db_datetime(period.end),
    }
    bucket = Sql(
        "(CASE WHEN e.ts >= %(previous_start)s AND e.ts < %(previous_end)s THEN 0"
        " WHEN e.ts >= %(start)s AND e.ts < %(end)s THEN 1 END)",
        spans,
    )
    who = person_of("e")
    base_where = Sql(
        "e.event_name = %(event_a)s AND e.ts >= %(previous_start)s AND e.ts < %(end)s AND {bucket} IS NOT NULL{where}",
        {"event_a": kpi.event_name, "previous_start": spans["previous_start"], "end": spans["end"]},
    ).format(bucket=bucket, where=filters.sql("e"))
    events = {"person": who.key, "identity": who.join, "events": events_table()}
    kind = kpi.metric_kind

    if kind in (KPI.MetricKind.EVENT_COUNT, KPI.MetricKind.UNIQUE_USERS, KPI.MetricKind.VALUE_SUM):
        aggregate = {
            KPI.MetricKind.EVENT_COUNT: Sql("COUNT(*)"),
            KPI.MetricKind.UNIQUE_USERS: Sql("COUNT(DISTINCT {person})").format(person=who.key),
            KPI.MetricKind.VALUE_SUM: Sql("SUM(e.value)"),
        }[kind]
        rows = (
            Sql("SELECT {bucket} AS b, {aggregate} FROM {events} e {identity} WHERE {base_where} GROUP BY 1")
            .format(bucket=bucket, aggregate=aggregate, base_where=base_where, events=events_table(), identity=who.join)
            .fetch()
        )
        found = dict(rows)
        if kind == KPI.MetricKind.VALUE_SUM:
            return money(found.get(1)), money(found.get(0))
        return Decimal(found.get(1, 0)), Decimal(found.get(0, 0))

    first_a = Sql(
        "SELECT {bucket} AS b, {person} AS p, MIN(e.ts) AS t FROM {events} e {identity} WHERE {base_where} GROUP BY 1, 2"
    ).format(bucket=bucket, base_where=base_where, **events)
    if kind == KPI.MetricKind.CONVERSION_RATE:
        query = Sql(
            """
            WITH a AS {materialized}({first_a}),
            bev AS {materialized}(
                SELECT {person} AS p, e.ts AS t FROM {events} e {identity}
                WHERE e.event_name = %(event_b)s AND e.ts >= %(previous_start)s AND e.ts < %(end)s
            ),
            conv AS (
                SELECT DISTINCT a.b, a.p FROM a JOIN bev ON bev.p = a.p AND bev.t >= a.t
                AND bev.t < (CASE WHEN a.b = 0 THEN %(previous_end)s ELSE %(end)s END)
            )
            SELECT a.b, COUNT(*), (SELECT COUNT(*) FROM conv WHERE conv.b = a.b) FROM a GROUP BY a.b
        """,
            {
                "event_b": kpi.second_event_name,
                "previous_start": spans["previous_start"],
                "previous_end": spans["previous_end"],
                "end": spans["end"],
            },
        ).format(materialized=materialized(), first_a=first_a, **events)
        found = {b: ratio(converted, entered) for b, entered, converted in query.fetch()}
        return found.get(1), found.get(0)

    query = Sql(
        """
        WITH a AS {materialized}({first_a}),
        bev AS {materialized}(
            SELECT {person} AS p, e.ts AS t FROM {events} e {identity}
            WHERE e.event_name = %(event_b)s AND e.ts >= %(previous_start)s
        ),
        pairs AS (
            SELECT a.b, a.p, a.t AS at, MIN(bev.t) AS bt FROM a JOIN bev ON bev.p = a.p AND bev.t >= a.t
            GROUP BY a.b, a.p, a.t
        ),
        ranked AS (
            SELECT b, secs, ROW_NUMBER() OVER (PARTITION BY b ORDER BY secs) AS rn, COUNT(*) OVER (PARTITION BY b) AS n
            FROM (SELECT b, {wait} AS secs FROM pairs) d
        )
        SELECT b, MIN(secs) FROM ranked WHERE rn * 2 >= n GROUP BY b
    """,
        {"event_b": kpi.second_event_name, "previous_start": spans["previous_start"]},
    ).format(materialized=materialized(), first_a=first_a, **events, wait=seconds_between("at", "bt"))
    found = {b: number(secs, Decimal("1")) for b, secs in query.fetch()}
    return found.get(1), found.get(0)
