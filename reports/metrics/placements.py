"""Placements (issue 12 §8): per QR code / link placement, the scans it got and the follows,
payments and refunds it brought. Two queries (the numbers, then the placement labels).

Definitions (docs/metrics.md, "Placements"):
- *Scans* are scans as `reports.metrics.scans` defines them (short-link hits, Official
  Account code scans and Mini Program launches from the placement's code, one per scan),
  split into short-link and WeChat-code scans; *scanners* are the distinct people.
- A *placement touch* is any event that carries a placement: a scan, a follow through the
  code, and every Mini Program event of a session opened from it (the SDK tags the session).
- Each `follow`, `pay_success` and `refund_success` event in the period goes to the
  person's latest placement touch at or before it, no older than `lookback` (30 days, as
  the ads report); a follow through a code is its own touch. Events without such a touch
  are unattributed. So every order goes to at most one placement, and the placements'
  orders and revenue never exceed the period's.
- *Paying people* of a placement are the distinct people with an order attributed to it:
  "converted" means paid (the Conversion stage), never a later funnel step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from campaigns.models import Placement
from reports.periods import Period

from .attribution import touches_cte
from .common import (
    FOLLOW,
    PAY_SUCCESS,
    REFUND_SUCCESS,
    db_datetime,
    events_table,
    in_list,
    materialized,
    money,
    person_of,
    ratio,
    seconds_between,
)
from .scans import scans_sql
from .sql import Sql

LOOKBACK = timedelta(days=30)
UNATTRIBUTED = "(no placement)"


@dataclass
class PlacementRow:
    placement_id: int | None  # None: the unattributed row
    label: str  # "campaign code / placement name"
    campaign_id: int | None
    scans: int = 0
    link_scans: int = 0  # through the short link /r/<scene>
    code_scans: int = 0  # WeChat codes: Official Account parametric codes and Mini Program codes
    scanners: int = 0  # distinct people who scanned
    follows: int = 0
    paying_people: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    refunds: Decimal = Decimal("0.00")

    @property
    def net_revenue(self) -> Decimal:
        return self.revenue - self.refunds

    @property
    def paid_per_scanner(self) -> Decimal | None:
        """Paying people / scanners (people who paid need not have scanned in the period)."""
        return ratio(self.paying_people, self.scanners)


@dataclass
class PlacementReport:
    period_label: str
    rows: list[PlacementRow] = field(default_factory=list)  # most revenue first, then most scans
    unattributed: PlacementRow = field(default_factory=lambda: PlacementRow(None, UNATTRIBUTED, None))
    # The period's totals over every event, attributed or not: the rows plus `unattributed`.
    follows: int = 0
    paying_people: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    refunds: Decimal = Decimal("0.00")


def placement_report(
    period: Period, *, campaign_id: int | None = None, lookback: timedelta = LOOKBACK
) -> PlacementReport:
    """Per placement (of one campaign with `campaign_id`: all its placements, zeros included;
    the attribution itself is the same either way)."""
    who = person_of("e")
    found = (
        Sql(
            """
        WITH conv AS {materialized}(
            SELECT e.id AS id, {person} AS p, e.ts AS ts, e.event_name AS n, e.value AS v
            FROM {events} e {identity}
            WHERE e.event_name IN {names} AND e.ts >= %(start)s AND e.ts < %(end)s
        ),
        touches AS {materialized}(SELECT t.p, t.ts, t.id, t.pl FROM ({touches}) t
                                    WHERE t.pl IS NOT NULL),
        ranked AS (
            SELECT conv.p, conv.n, conv.v, t.pl,
                   ROW_NUMBER() OVER (PARTITION BY conv.id ORDER BY t.ts DESC, t.id DESC) AS rn
            FROM conv LEFT JOIN touches t ON t.p = conv.p AND t.ts <= conv.ts
                 AND {touch_to_conversion} <= %(lookback)s
        ),
        scans AS {materialized}(SELECT e.placement_id AS pl, e.via, e.p FROM {scans} e)
        SELECT 'conv', r.pl, r.n, COUNT(*), COUNT(DISTINCT r.p), SUM(r.v) FROM ranked r WHERE r.rn = 1
        GROUP BY r.pl, r.n
        UNION ALL
        SELECT 'total', NULL, conv.n, COUNT(*), COUNT(DISTINCT conv.p), SUM(conv.v) FROM conv GROUP BY conv.n
        UNION ALL
        SELECT 'scan', s.pl, s.via, COUNT(*), COUNT(DISTINCT s.p), NULL FROM scans s WHERE s.pl IS NOT NULL
        GROUP BY s.pl, s.via
        UNION ALL
        SELECT 'scanners', s.pl, NULL, COUNT(*), COUNT(DISTINCT s.p), NULL FROM scans s WHERE s.pl IS NOT NULL
        GROUP BY s.pl
    """,
            {"start": db_datetime(period.start), "end": db_datetime(period.end), "lookback": lookback.total_seconds()},
        )
        .format(
            materialized=materialized(),
            person=who.key,
            identity=who.join,
            events=events_table(),
            names=in_list([FOLLOW, PAY_SUCCESS, REFUND_SUCCESS], "name"),
            touches=touches_cte(period.end, since=period.start - lookback),
            touch_to_conversion=seconds_between("t.ts", "conv.ts"),
            scans=scans_sql(period),
        )
        .fetch()
    )

    placements = Placement.objects.filter(pk__in={pl for _, pl, *_ in found if pl is not None})
    if campaign_id is not None:
        placements = Placement.objects.filter(campaign_id=campaign_id)
    rows = {
        pk: PlacementRow(pk, f"{code} / {name}", campaign)
        for pk, name, code, campaign in placements.values_list("pk", "name", "campaign__code", "campaign_id")
    }
    report = PlacementReport(period_label=period.label)
    for kind, pl, key, count, people, value in found:
        if kind == "total":
            _add(report, key, count, people, value)
            continue
        row = report.unattributed if pl is None else rows.get(pl)
        if row is None:  # another campaign's placement
            continue
        if kind == "conv":
            _add(row, key, count, people, value)
        elif kind == "scanners":
            row.scanners = people
        else:
            row.scans += count
            if key == "short_link":
                row.link_scans += count
            else:
                row.code_scans += count
    report.rows = sorted(rows.values(), key=lambda r: (-r.revenue, -r.scans, r.label))
    return report


def _add(target: PlacementRow | PlacementReport, name: str, count: int, people: int, value) -> None:
    if name == FOLLOW:
        target.follows += count
    elif name == PAY_SUCCESS:
        target.orders += count
        target.paying_people += people
        target.revenue += money(value)
    else:
        target.refunds += money(value)
