"""Engagement depth (issue 18): pages per session and sessions per person by source and
campaign, time on page by template, and the most clicked elements by page. Three queries.

Definitions (docs/metrics.md, "Engagement"):
- A *session* is a `session_id`; it counts in the period when it has a `page_view` there.
  Its pages = its `page_view` events in the period; its source, campaign and person are
  those of its first `page_view` in the period (ties by id). Page views without a
  session_id cannot be put in a session: they are counted apart, never as depth 0.
- *Time on page* of a `page_leave` = `properties.duration_ms` (the SDKs' foreground time),
  else its `value`; p50/p95 by nearest rank per `page` (the template).
- *Clicks* = `element_click` events per `page` and element (`properties.element_id`,
  `properties.element_name`), with unique people; the top `TOP_ELEMENTS` per page.
The filters select every event counted here (the page views, leaves and clicks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from campaigns.models import Campaign
from reports.periods import Period

from .common import (
    PAGE_VIEW,
    Filters,
    events_table,
    in_period,
    json_number,
    json_text,
    materialized,
    number,
    person_of,
    ratio,
)
from .sql import Sql, table

PAGE_LEAVE = "page_leave"
ELEMENT_CLICK = "element_click"
TOP_ELEMENTS = 5
DEPTH_PLACES = Decimal("0.01")


@dataclass
class SessionDepth:
    source: str  # the first page view's source; "" in the totals row
    campaign_id: int | None
    campaign: str  # the campaign's code; "" without one
    sessions: int
    page_views: int
    people: int
    pages_per_session: Decimal | None  # mean, 2 places
    median_pages: int | None  # nearest rank
    sessions_per_person: Decimal | None  # 2 places


@dataclass
class TimeOnPage:
    page: str
    samples: int  # page_leave events with a duration
    p50_ms: Decimal | None
    p95_ms: Decimal | None
    without_duration: int  # page_leave events that carry no duration


@dataclass
class ElementClicks:
    page: str
    element_id: str
    element_name: str
    clicks: int
    people: int


@dataclass
class EngagementMetrics:
    period_label: str
    total: SessionDepth
    by_source_campaign: list[SessionDepth] = field(default_factory=list)  # most sessions first
    page_views_without_session: int = 0
    time_on_page: list[TimeOnPage] = field(default_factory=list)  # most samples first
    top_elements: list[ElementClicks] = field(default_factory=list)  # by page, most clicked first


def engagement_metrics(period: Period, filters: Filters | None = None) -> EngagementMetrics:
    filters = filters or Filters()
    span = in_period(period, filters)
    who = person_of("e")

    # lvl 1: one row per (source, campaign) of the sessions' first page view; lvl 0: all
    # sessions; lvl -1: page views without a session (in the sessions column).
    depth_rows = (
        Sql(
            """WITH pv AS {materialized}(
                SELECT e.session_id AS sid, {person} AS p, e.source AS src, e.campaign_id AS cmp,
                       ROW_NUMBER() OVER (PARTITION BY e.session_id ORDER BY e.ts, e.id) AS rn
                FROM {events} e {identity}
                WHERE e.event_name = %(page_view)s AND e.session_id <> '' AND {span}
            ), sess AS {materialized}(
                SELECT sid, COUNT(*) AS pages, MAX(CASE WHEN rn = 1 THEN src END) AS src,
                       MAX(CASE WHEN rn = 1 THEN cmp END) AS cmp, MAX(CASE WHEN rn = 1 THEN p END) AS p
                FROM pv GROUP BY sid
            ), grouped AS (
                SELECT 1 AS lvl, src, cmp, pages, p FROM sess
                UNION ALL SELECT 0, '', NULL, pages, p FROM sess
            ), ranked AS (
                SELECT lvl, src, cmp, pages, p,
                       ROW_NUMBER() OVER (PARTITION BY lvl, src, cmp ORDER BY pages) AS rn,
                       COUNT(*) OVER (PARTITION BY lvl, src, cmp) AS n
                FROM grouped
            )
            SELECT r.lvl, r.src, r.cmp, COALESCE(MAX(c.code), ''), COUNT(*), SUM(r.pages), COUNT(DISTINCT r.p),
                   MIN(CASE WHEN r.rn * 2 >= r.n THEN r.pages END)
            FROM ranked r LEFT JOIN {campaigns} c ON c.id = r.cmp
            GROUP BY r.lvl, r.src, r.cmp
            UNION ALL
            SELECT -1, '', NULL, '', COUNT(*), 0, 0, NULL FROM {events} e
            WHERE e.event_name = %(page_view)s AND e.session_id = '' AND {span}""",
            {"page_view": PAGE_VIEW},
        )
        .format(
            materialized=materialized(),
            person=who.key,
            events=events_table(),
            identity=who.join,
            span=span,
            campaigns=table(Campaign),
        )
        .fetch()
    )

    def depth(src, cmp, code, sessions, pages, people, median) -> SessionDepth:
        return SessionDepth(
            source=src or "",
            campaign_id=cmp,
            campaign=code,
            sessions=sessions,
            page_views=int(pages or 0),
            people=people,
            pages_per_session=ratio(pages, sessions, DEPTH_PLACES),
            median_pages=median,
            sessions_per_person=ratio(sessions, people, DEPTH_PLACES),
        )

    total = depth("", None, "", 0, 0, 0, None)
    groups, without_session = [], 0
    for lvl, *row in depth_rows:
        if lvl == -1:
            without_session = row[3]
        elif lvl == 0:
            total = depth(*row)
        else:
            groups.append(depth(*row))
    groups.sort(key=lambda g: (-g.sessions, g.source, g.campaign))

    leave_rows = (
        Sql(
            """WITH ranked AS (
                SELECT page, x, ROW_NUMBER() OVER (PARTITION BY page, x IS NULL ORDER BY x) AS rn,
                       COUNT(*) OVER (PARTITION BY page, x IS NULL) AS n
                FROM (SELECT e.page AS page, COALESCE({duration}, e.value) AS x FROM {events} e
                      WHERE e.event_name = %(page_leave)s AND {span}) v
            )
            SELECT page, COUNT(x), MIN(CASE WHEN x IS NOT NULL AND rn * 100 >= 50 * n THEN x END),
                   MIN(CASE WHEN x IS NOT NULL AND rn * 100 >= 95 * n THEN x END), COUNT(*) - COUNT(x)
            FROM ranked GROUP BY page ORDER BY COUNT(x) DESC, page""",
            {"page_leave": PAGE_LEAVE},
        )
        .format(duration=json_number("e.properties", "duration_ms"), events=events_table(), span=span)
        .fetch()
    )

    element_id = f"COALESCE({json_text('e.properties', 'element_id')}, '')"
    element_name = f"COALESCE({json_text('e.properties', 'element_name')}, '')"
    click_rows = (
        Sql(
            """WITH counted AS (
                SELECT e.page AS page, {element_id} AS eid, {element_name} AS ename, COUNT(*) AS clicks,
                       COUNT(DISTINCT {person}) AS people
                FROM {events} e {identity} WHERE e.event_name = %(element_click)s AND {span}
                GROUP BY e.page, {element_id}, {element_name}
            ), ranked AS (
                SELECT page, eid, ename, clicks, people,
                       ROW_NUMBER() OVER (PARTITION BY page ORDER BY clicks DESC, eid, ename) AS rn
                FROM counted
            )
            SELECT page, eid, ename, clicks, people FROM ranked WHERE rn <= %(top)s ORDER BY page, rn""",
            {"element_click": ELEMENT_CLICK, "top": TOP_ELEMENTS},
        )
        .format(
            element_id=element_id,
            element_name=element_name,
            person=who.key,
            events=events_table(),
            identity=who.join,
            span=span,
        )
        .fetch()
    )

    return EngagementMetrics(
        period_label=period.label,
        total=total,
        by_source_campaign=groups,
        page_views_without_session=without_session,
        time_on_page=[
            TimeOnPage(page, samples, number(p50, Decimal("1")), number(p95, Decimal("1")), missing)
            for page, samples, p50, p95, missing in leave_rows
        ],
        top_elements=[ElementClicks(*row) for row in click_rows],
    )
