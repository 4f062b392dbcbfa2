"""Attribution (seed §7): first and last touch by campaign, placement and scene for the
people who paid in the period, following each person across the Official Account and the
Mini Program (people, not ids). Three queries (one for the numbers, two for labels).

Definitions:
- A *touch* is an event that carries a campaign or a placement (a QR scan, a short-link
  click, a follow through a scene QR, an ad click …). Its campaign is the event's campaign,
  else its placement's campaign. Its *scene* is the placement's scene value, else the
  WeChat scene in `properties.scene` (e.g. 1047 for a scanned Mini Program code).
- *Converters* are people with a `pay_success` in the period (the filters select these
  payment events). For each, the *first touch* is their earliest touch ever at or before
  their first payment in the period, and the *last touch* their latest touch at or before
  that payment; a touch after paying is neither.
- Each converter's orders and revenue in the period go to that touch. Converters without a
  touch are counted as unattributed.

`attributed_conversions_sql` (per-order last touch within a lookback) is shared with the
ads report, which needs cost per order per campaign and creative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from campaigns.models import Campaign, Placement
from reports.periods import Period

from .common import (
    PAY_SUCCESS,
    Filters,
    db_datetime,
    events_table,
    in_list,
    json_text,
    materialized,
    money,
    person_of,
    ratio,
    seconds_between,
)
from .sql import EMPTY, Sql, table

MODELS = ("first", "last")
DIMENSIONS = ("campaign", "placement", "scene")
NONE_LABEL = "(none)"


def touches_cte(before: datetime, since: datetime | None = None) -> Sql:
    """SELECT of touches before `before` (and from `since`): person p, ts, id, campaign c,
    placement pl, scene, creative ref."""
    who = person_of("e")
    lower = Sql(" AND e.ts >= %(touches_since)s", {"touches_since": db_datetime(since)}) if since else EMPTY
    return Sql(
        """
        SELECT {person} AS p, e.ts AS ts, e.id AS id,
               COALESCE(e.campaign_id, pl.campaign_id) AS c, e.placement_id AS pl,
               COALESCE(pl.scene, {scene}) AS scene,
               {creative_id} AS cr
        FROM {events} e {identity}
        LEFT JOIN {placements} pl ON pl.id = e.placement_id
        WHERE (e.campaign_id IS NOT NULL OR e.placement_id IS NOT NULL) AND e.ts < %(touches_before)s{lower}
    """,
        {"touches_before": db_datetime(before)},
    ).format(
        person=who.key,
        identity=who.join,
        events=events_table(),
        placements=table(Placement),
        scene=json_text("e.properties", "scene"),
        creative_id=json_text("e.properties", "creative_id"),
        lower=lower,
    )


def attributed_conversions_sql(
    period: Period, names: Sequence[str], *, lookback: timedelta, campaign_id: int | None = None
) -> Sql:
    """Conversions (events named `names` in the period) each attributed to the person's
    latest touch at or before it, no older than `lookback`; the creative is the
    `properties.creative_id` of the person's latest touch *of that campaign* carrying one
    in the same span (a click on an ad names the creative; the Mini Program session after it
    carries the campaign but not the creative). Rows: (event_name, campaign id, creative
    ref, conversions, value). Unattributed conversions have campaign NULL."""
    who = person_of("e")
    campaign = Sql(" AND picked.c = %(campaign_id)s", {"campaign_id": campaign_id}) if campaign_id else EMPTY
    return Sql(
        """
        WITH conv AS {materialized}(
            SELECT e.id AS id, {person} AS p, e.ts AS ts, e.event_name AS n, e.value AS v
            FROM {events} e {identity}
            WHERE e.event_name IN {names} AND e.ts >= %(start)s AND e.ts < %(end)s
        ),
        touches AS {materialized}({touches}),
        ranked AS (
            SELECT conv.id, conv.p, conv.ts, conv.n, conv.v, t.c,
                   ROW_NUMBER() OVER (PARTITION BY conv.id ORDER BY t.ts DESC, t.id DESC) AS rn
            FROM conv LEFT JOIN touches t ON t.p = conv.p AND t.ts <= conv.ts
                 AND {touch_to_conversion} <= %(lookback)s
        ),
        picked AS {materialized}(SELECT id, p, ts, n, v, c FROM ranked WHERE rn = 1),
        creatives AS (
            SELECT picked.id, t.cr,
                   ROW_NUMBER() OVER (PARTITION BY picked.id ORDER BY t.ts DESC, t.id DESC) AS rn
            FROM picked JOIN touches t ON t.p = picked.p AND t.c = picked.c AND t.cr IS NOT NULL AND t.cr <> ''
                 AND t.ts <= picked.ts AND {touch_to_pick} <= %(lookback)s
        )
        SELECT picked.n, picked.c, k.cr, COUNT(*), SUM(picked.v)
        FROM picked LEFT JOIN creatives k ON k.id = picked.id AND k.rn = 1
        WHERE 1 = 1{campaign}
        GROUP BY picked.n, picked.c, k.cr
    """,
        {"start": db_datetime(period.start), "end": db_datetime(period.end), "lookback": lookback.total_seconds()},
    ).format(
        materialized=materialized(),
        person=who.key,
        identity=who.join,
        events=events_table(),
        names=in_list(names, "name"),
        touches=touches_cte(period.end, since=period.start - lookback),
        touch_to_conversion=seconds_between("t.ts", "conv.ts"),
        touch_to_pick=seconds_between("t.ts", "picked.ts"),
        campaign=campaign,
    )


@dataclass
class TouchRow:
    key: str | None  # campaign id, placement id or scene, as text; None = no such value on the touch
    label: str
    converters: int
    orders: int
    revenue: Decimal
    share: Decimal | None  # converters / all converters


@dataclass
class Attribution:
    period_label: str
    converters: int
    orders: int
    revenue: Decimal
    unattributed: int  # converters with no touch before paying
    # model ("first"/"last") → dimension ("campaign"/"placement"/"scene") → rows, most converters first
    touches: dict[str, dict[str, list[TouchRow]]] = field(default_factory=dict)


def attribution(period: Period, filters: Filters | None = None) -> Attribution:
    filters = filters or Filters()
    who = person_of("e")
    rows = (
        Sql(
            """
        WITH pays AS {materialized}(
            SELECT {person} AS p, MIN(e.ts) AS t, COUNT(*) AS orders, SUM(e.value) AS revenue
            FROM {events} e {identity}
            WHERE e.event_name = %(pay)s AND e.ts >= %(start)s AND e.ts < %(end)s{where}
            GROUP BY 1
        ),
        touches AS {materialized}({touches}),
        ranked AS (
            SELECT t.p, t.c, t.pl, t.scene,
                   ROW_NUMBER() OVER (PARTITION BY t.p ORDER BY t.ts, t.id) AS fr,
                   ROW_NUMBER() OVER (PARTITION BY t.p ORDER BY t.ts DESC, t.id DESC) AS lr
            FROM touches t JOIN pays ON pays.p = t.p AND t.ts <= pays.t
        ),
        picked AS (
            SELECT 'first' AS model, p, c, pl, scene FROM ranked WHERE fr = 1
            UNION ALL
            SELECT 'last' AS model, p, c, pl, scene FROM ranked WHERE lr = 1
        )
        SELECT picked.model, picked.c, picked.pl, picked.scene, COUNT(*), SUM(pays.orders), SUM(pays.revenue)
        FROM picked JOIN pays ON pays.p = picked.p GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT 'all', NULL, NULL, NULL, COUNT(*), SUM(orders), SUM(revenue) FROM pays
    """,
            {"pay": PAY_SUCCESS, "start": db_datetime(period.start), "end": db_datetime(period.end)},
        )
        .format(
            materialized=materialized(),
            person=who.key,
            identity=who.join,
            events=events_table(),
            where=filters.sql("e"),
            touches=touches_cte(period.end),
        )
        .fetch()
    )

    totals = next(r for r in rows if r[0] == "all")
    converters, orders, revenue = totals[4] or 0, totals[5] or 0, money(totals[6])
    combos = [r for r in rows if r[0] != "all"]
    campaign_labels = dict(Campaign.objects.filter(pk__in={r[1] for r in combos if r[1]}).values_list("pk", "code"))
    placement_labels = {
        pk: f"{code} / {name}"
        for pk, code, name in Placement.objects.filter(pk__in={r[2] for r in combos if r[2]}).values_list(
            "pk", "campaign__code", "name"
        )
    }

    touches: dict[str, dict[str, list[TouchRow]]] = {}
    attributed = 0
    for model in MODELS:
        touches[model] = {}
        for index, dimension in enumerate(DIMENSIONS, start=1):
            merged: dict = {}
            for row in combos:
                if row[0] != model:
                    continue
                acc = merged.setdefault(row[index], [0, 0, Decimal("0")])
                acc[0] += row[4]
                acc[1] += row[5] or 0
                acc[2] += money(row[6])
            labels = {1: campaign_labels, 2: placement_labels, 3: {}}[index]
            touches[model][dimension] = sorted(
                (
                    TouchRow(
                        key=None if key is None else str(key),
                        label=NONE_LABEL if key is None else labels.get(key, str(key)),
                        converters=people,
                        orders=count,
                        revenue=money(value),
                        share=ratio(people, converters),
                    )
                    for key, (people, count, value) in merged.items()
                ),
                key=lambda r: (-r.converters, r.label),
            )
        if model == "first":
            attributed = sum(r[4] for r in combos if r[0] == model)
    return Attribution(
        period_label=period.label,
        converters=converters,
        orders=orders,
        revenue=revenue,
        unattributed=converters - attributed,
        touches=touches,
    )
