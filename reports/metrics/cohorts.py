"""Cohorts and LTV (seed §6): people grouped by first-touch week, ad set or QR entry
point; 7/14/30-day return rates; revenue, refunds, LTV and contribution margin per cohort.
Three queries (the cohort maths, the ad spend, the labels).

Definitions:
- A person's *first touch* is their first event ever; the cohort holds the people whose
  first touch falls in the period. The filters select the first-touch event (e.g. people
  whose first event came through campaign X).
- Grouping (`by`):
  - `week`: the ISO week (reporting time zone) of the first touch;
  - `ad_group`: the ad set of the first touch: the ad group of the creative named by its
    `properties.creative_id` (our id or the ad platform's `external_id`, the platform's first
    when a value is both), else its `properties.ad_group`; people without one are "(none)";
  - `entry_point`: the QR entry point: the placement of the person's first event that has a
    placement, up to the end of the period; people who never came through one are "(none)".
- *Returned within N days*: any event at least 24 h and at most N × 24 h after the first
  touch. `complete[N]` is decided per row: whether every member *of that row* had their
  N-day window (inclusive of its last instant, t0 + N × 24 h) close before `as_of`. A cohort
  of people first seen early in the month can be complete while a later one is not.
- *Revenue* = value of `pay_success`, *refunds* = value of `refund_success`, from the first
  touch up to `as_of` (default: now). *Cost of goods* = `cost_ratio` × (revenue − refunds);
  the ratio comes from the argument, else `settings.REPORTS_COST_OF_GOODS_RATIO`, else 0.6.
- *Ad spend* of a cohort: each campaign's spend over the period is shared equally among the
  cohort people (of every group) whose first touch carries that campaign; a cohort's spend is
  the sum over its members. Spend of campaigns that brought nobody is `unallocated_spend`.
- *Contribution margin* = revenue − refunds − cost of goods − ad spend; *LTV* = (revenue −
  refunds) / people; *margin per person* = contribution margin / people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from campaigns.models import Creative, Placement
from events.models import AdSpend, FirstTouch
from reports.periods import DAY, Period

from .common import (
    PAY_SUCCESS,
    REFUND_SUCCESS,
    Filters,
    bucket_case,
    db_datetime,
    events_table,
    materialized,
    money,
    person_of,
    ratio,
    seconds_between,
)
from .sql import Sql, table

GROUPINGS = ("week", "ad_group", "entry_point")
RETURN_DAYS = (7, 14, 30)
NONE_LABEL = "(none)"


@dataclass
class CohortRow:
    key: str | None
    label: str
    people: int = 0
    returned: dict[int, int] = field(default_factory=dict)  # N → people who returned within N days
    return_rate: dict[int, Decimal | None] = field(default_factory=dict)
    complete: dict[int, bool] = field(default_factory=dict)  # N → every member's window closed
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    refunds: Decimal = Decimal("0.00")
    cost_of_goods: Decimal = Decimal("0.00")
    ad_spend: Decimal = Decimal("0.00")
    contribution_margin: Decimal = Decimal("0.00")
    ltv: Decimal | None = None
    margin_per_person: Decimal | None = None


@dataclass
class CohortReport:
    period_label: str
    by: str
    cost_ratio: Decimal
    as_of: datetime
    rows: list[CohortRow]
    totals: CohortRow
    unallocated_spend: Decimal


def cohorts(
    period: Period,
    filters: Filters | None = None,
    *,
    by: str = "week",
    cost_ratio: Decimal | None = None,
    as_of: datetime | None = None,
) -> CohortReport:
    return cohort_reports(period, filters, groupings=(by,), cost_ratio=cost_ratio, as_of=as_of)[by]


def cohort_reports(
    period: Period,
    filters: Filters | None = None,
    *,
    groupings: Sequence[str] = GROUPINGS,
    cost_ratio: Decimal | None = None,
    as_of: datetime | None = None,
) -> dict[str, CohortReport]:
    """The cohort report of each grouping, from ONE query: the per-person work (first touch,
    entry point, later activity) is done once and then grouped each way (UNION ALL, which
    SQLite also has; GROUPING SETS it has not)."""
    for by in groupings:
        if by not in GROUPINGS:
            raise ValueError(f"Unknown cohort grouping {by!r}; use one of {', '.join(GROUPINGS)}.")
    filters = filters or Filters()
    as_of = as_of or timezone.now()
    if cost_ratio is None:
        cost_ratio = settings.REPORTS_COST_OF_GOODS_RATIO

    week, week_labels = _week_bucket(period)
    returns = ", ".join(
        f"MAX(CASE WHEN {seconds_between('co.t0', 'e.ts')} >= 86400"
        f" AND {seconds_between('co.t0', 'e.ts')} <= {days * 86400} THEN 1 ELSE 0 END) AS r{days}"
        for days in RETURN_DAYS
    )
    sums = ", ".join(f"SUM(COALESCE(a.r{days}, 0))" for days in RETURN_DAYS)
    # A member's N-day window has closed when its last instant (t0 + N days, inclusive) is
    # before as_of; a group is complete for N when every member's window has.
    closed = ", ".join(
        f"CASE WHEN {seconds_between('firsts.t0', '%(as_of)s')} > {days * 86400} THEN 1 ELSE 0 END AS closed{days}"
        for days in RETURN_DAYS
    )
    all_closed = ", ".join(f"MIN(co.closed{days})" for days in RETURN_DAYS)
    branches = " UNION ALL ".join(
        f"""SELECT '{by}', CAST(co.g_{by} AS TEXT), co.c, COUNT(*), {all_closed}, {sums}, SUM(COALESCE(a.orders, 0)),
               SUM(COALESCE(a.revenue, 0)), SUM(COALESCE(a.refunds, 0))
        FROM cohort co LEFT JOIN activity a ON a.p = co.p
        GROUP BY co.g_{by}, co.c"""
        for by in groupings
    )
    who = person_of("e")
    # `activity` joins the events straight to the (small) cohort by hash: no copy of every
    # later event, sorted by person, as a materialized CTE of its own.
    query = Sql(
        """
        WITH firsts AS {materialized}(
            -- Each person's first touch is kept as events arrive (events.models.FirstTouch):
            -- the people first seen in the period, without reading earlier history.
            SELECT ft.person AS p, ft.ts AS t0 FROM {first_touches} ft WHERE ft.ts >= %(start)s AND ft.ts < %(end)s
        ),
        first_events AS {materialized}(
            SELECT * FROM (
                SELECT ft.person AS p, ft.ts, ft.campaign_id, ft.source, ft.placement_id, ft.app_id,
                       COALESCE(ft.campaign_id, pl.campaign_id) AS c,
                       COALESCE(crx.ad_group, cr.ad_group, ft.ad_group) AS ad_group
                FROM {first_touches} ft
                LEFT JOIN {placements} pl ON pl.id = ft.placement_id
                -- creative_id is the ad platform's id (external_id, first when a value is both)
                -- or ours, as in the ads report.
                LEFT JOIN {creatives} crx ON crx.external_id <> '' AND crx.external_id = ft.creative_ref
                LEFT JOIN {creatives} cr ON CAST(cr.id AS TEXT) = ft.creative_ref
                WHERE ft.ts >= %(start)s AND ft.ts < %(end)s
            ) f WHERE 1 = 1{where}
        ),
        entry_points AS {materialized}(
            -- Cohort members were first seen in the period, so their first placement event
            -- is in it when it comes before its end.
            SELECT ft.person AS p, ft.entry_placement_id AS placement_id FROM {first_touches} ft
            WHERE ft.entry_ts >= %(start)s AND ft.entry_ts < %(end)s
        ),
        cohort AS {materialized}(
            SELECT firsts.p, firsts.t0, f.c, {week} AS g_week, {closed}, NULLIF(f.ad_group, '') AS g_ad_group,
                   ep.placement_id AS g_entry_point
            FROM firsts JOIN first_events f ON f.p = firsts.p
            LEFT JOIN entry_points ep ON ep.p = firsts.p
        ),
        activity AS {materialized}(
            SELECT co.p, {returns},
                   SUM(CASE WHEN e.event_name = %(pay)s THEN 1 ELSE 0 END) AS orders,
                   SUM(CASE WHEN e.event_name = %(pay)s THEN e.value ELSE 0 END) AS revenue,
                   SUM(CASE WHEN e.event_name = %(refund)s THEN e.value ELSE 0 END) AS refunds
            FROM {events} e {identity}
            -- firsts, not cohort: the same people and t0 (cohort only drops some by filter),
            -- and its row estimate lets the planner hash the people, not the ~1M events.
            JOIN firsts co ON co.p = {person}
            WHERE e.ts >= %(start)s AND e.ts < %(as_of)s AND e.ts >= co.t0
            GROUP BY co.p
        )
        {branches}
    """,
        {
            "start": db_datetime(period.start),
            "end": db_datetime(period.end),
            "as_of": db_datetime(as_of),
            "pay": PAY_SUCCESS,
            "refund": REFUND_SUCCESS,
        },
    ).format(
        materialized=materialized(),
        events=events_table(),
        placements=table(Placement),
        creatives=table(Creative),
        person=who.key,
        identity=who.join,
        first_touches=table(FirstTouch),
        where=filters.sql("f"),
        week=week,
        closed=Sql(closed, {"as_of": db_datetime(as_of)}),
        returns=returns,
        branches=branches,
    )
    rows_by: dict[str, list[tuple]] = {by: [] for by in groupings}
    for by, g, *rest in query.fetch():
        if g is not None and by == "week":
            g = week_labels[int(g)]
        elif g is not None and by == "entry_point":
            g = int(g)
        rows_by[by].append((g, *rest))

    spend_rows = AdSpend.objects.filter(date__gte=period.first_day, date__lte=period.last_day)
    if filters.campaign_id:
        spend_rows = spend_rows.filter(campaign_id=filters.campaign_id)
    spend = {
        row["campaign_id"]: money(row["total"])
        for row in spend_rows.values("campaign_id").annotate(total=Sum("spend")).order_by()
    }
    placement_keys = {g for g, *_ in rows_by.get("entry_point", []) if g is not None}
    placements = {
        pk: f"{code} / {name}"
        for pk, code, name in Placement.objects.filter(pk__in=placement_keys).values_list(
            "pk", "campaign__code", "name"
        )
    }
    return {
        by: _report(by, rows_by[by], placements, spend, period=period, cost_ratio=cost_ratio, as_of=as_of)
        for by in groupings
    }


def _report(
    by: str,
    rows: list[tuple],
    labels: dict,
    spend: dict,
    *,
    period: Period,
    cost_ratio: Decimal,
    as_of: datetime,
) -> CohortReport:
    """One grouping's report from its (group, campaign, people, closed…, returned…, orders,
    revenue, refunds) rows; week groups arrive as their labels."""
    people_by_campaign: dict = {}
    for _, campaign, people, *_ in rows:
        if campaign is not None:
            people_by_campaign[campaign] = people_by_campaign.get(campaign, 0) + people

    cohorts_by_key: dict = {}
    totals = CohortRow(key=None, label="All people")
    n = len(RETURN_DAYS)
    for g, campaign, people, *rest in rows:
        closed = dict(zip(RETURN_DAYS, rest[:n], strict=True))
        returned = dict(zip(RETURN_DAYS, rest[n : 2 * n], strict=True))
        orders, revenue, refunds = rest[2 * n :]
        allocated = Decimal("0")
        if campaign in spend and people_by_campaign.get(campaign):
            allocated = spend[campaign] * people / people_by_campaign[campaign]
        if g is None or g == "":
            key, label = None, NONE_LABEL
        elif by == "week":
            key = label = g
        else:
            key, label = str(g), labels.get(g, str(g))
        for row in (cohorts_by_key.setdefault(key, CohortRow(key=key, label=label)), totals):
            row.people += people
            for days in RETURN_DAYS:
                row.returned[days] = row.returned.get(days, 0) + int(returned[days] or 0)
                row.complete[days] = row.complete.get(days, True) and bool(closed[days])
            row.orders += int(orders or 0)
            row.revenue += money(revenue)
            row.refunds += money(refunds)
            row.ad_spend += allocated

    unallocated = sum((amount for c, amount in spend.items() if not people_by_campaign.get(c)), Decimal("0.00"))
    for row in [*cohorts_by_key.values(), totals]:
        _finish(row, cost_ratio)
    ordered = sorted(cohorts_by_key.values(), key=lambda r: (r.key is None, r.label))
    return CohortReport(
        period_label=period.label,
        by=by,
        cost_ratio=cost_ratio,
        as_of=as_of,
        rows=ordered,
        totals=totals,
        unallocated_spend=money(unallocated),
    )


def _week_bucket(period: Period) -> tuple[Sql, dict]:
    """SQL for the index of a person's first-touch ISO week (a column of firsts), and the
    week label of each index."""
    monday = period.first_day - timedelta(days=period.first_day.weekday())
    weeks = []
    while monday <= period.last_day:
        weeks.append(Period.iso_week(monday))
        monday += 7 * DAY
    bucket = bucket_case("firsts.t0", [w.start for w in weeks] + [weeks[-1].end], "week")
    return bucket, {index: week.label for index, week in enumerate(weeks)}


def _finish(row: CohortRow, cost_ratio: Decimal) -> None:
    cents = Decimal("0.01")
    row.ad_spend = money(row.ad_spend)
    row.cost_of_goods = money((row.revenue - row.refunds) * cost_ratio)
    row.contribution_margin = row.revenue - row.refunds - row.cost_of_goods - row.ad_spend
    row.ltv = ratio(row.revenue - row.refunds, row.people, cents)
    row.margin_per_person = ratio(row.contribution_margin, row.people, cents)
    for days in RETURN_DAYS:
        row.return_rate[days] = ratio(row.returned.get(days, 0), row.people)
        row.complete.setdefault(days, True)  # a row with no members has nothing left open
