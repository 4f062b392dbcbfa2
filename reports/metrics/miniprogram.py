"""Mini Program (seed §4): page views by template, key actions, operational events and
performance signals. Three queries.

Definitions:
- *Template* = the event's `page` (the SDK sends the template name or page path).
- *Page load time* of a `page_load_time` event = its `value` in milliseconds, or
  `properties.ms` when `value` is empty. p50/p95 by nearest rank (see docs/metrics.md).
- *API error rate* = `api_error` events / `page_view` events (errors per page view).
- *Payment retry rate* = `payment_retry` events / `start_checkout` events.
The filters select every event counted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from reports.periods import Period

from .common import (
    API_ERROR,
    KEY_ACTIONS,
    OPERATIONAL_EVENTS,
    PAGE_LOAD_TIME,
    PAGE_VIEW,
    PAYMENT_RETRY,
    START_CHECKOUT,
    Filters,
    events_table,
    in_list,
    in_period,
    json_number,
    number,
    person_of,
    ratio,
)
from .sql import Sql


@dataclass
class PageViews:
    page: str
    views: int
    people: int


@dataclass
class EventCount:
    event_name: str
    events: int
    people: int


@dataclass
class Performance:
    page_load_samples: int
    page_load_p50_ms: Decimal | None
    page_load_p95_ms: Decimal | None
    api_errors: int
    page_views: int
    api_error_rate: Decimal | None  # api_error / page_view
    payment_retries: int
    checkouts: int
    payment_retry_rate: Decimal | None  # payment_retry / start_checkout


@dataclass
class MiniProgramMetrics:
    period_label: str
    page_views: list[PageViews]  # most viewed first
    key_actions: list[EventCount]  # in seed order: add_to_cart, start_checkout, select_coupon, pay_success
    operational: list[EventCount]  # refund_request, return_approved, ticket_created
    performance: Performance


def miniprogram_metrics(period: Period, filters: Filters | None = None) -> MiniProgramMetrics:
    filters = filters or Filters()
    span = in_period(period, filters)
    who = person_of("e")
    events = {"events": events_table(), "person": who.key, "identity": who.join, "span": span}

    pages = (
        Sql(
            """SELECT e.page, COUNT(*), COUNT(DISTINCT {person}) FROM {events} e {identity}
            WHERE e.event_name = %(page_view)s AND {span} GROUP BY e.page ORDER BY COUNT(*) DESC, e.page""",
            {"page_view": PAGE_VIEW},
        )
        .format(**events)
        .fetch()
    )

    counted = (*KEY_ACTIONS, *OPERATIONAL_EVENTS, PAGE_VIEW, API_ERROR, PAYMENT_RETRY)
    counts = {
        name: (found, people)
        for name, found, people in Sql(
            """SELECT e.event_name, COUNT(*), COUNT(DISTINCT {person}) FROM {events} e {identity}
                WHERE e.event_name IN {names} AND {span} GROUP BY e.event_name"""
        )
        .format(names=in_list(counted, "name"), **events)
        .fetch()
    }

    def count(name: str) -> EventCount:
        events, people = counts.get(name, (0, 0))
        return EventCount(name, events, people)

    samples, p50, p95 = (
        Sql(
            """WITH ranked AS (
                SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS rn, COUNT(*) OVER () AS n FROM (
                    SELECT COALESCE(e.value, {load_ms}) AS x FROM {events} e WHERE e.event_name = %(page_load)s AND {span}
                ) v WHERE x IS NOT NULL
            )
            SELECT COUNT(*), MIN(CASE WHEN rn * 100 >= 50 * n THEN x END),
                   MIN(CASE WHEN rn * 100 >= 95 * n THEN x END) FROM ranked""",
            {"page_load": PAGE_LOAD_TIME},
        )
        .format(load_ms=json_number("e.properties", "ms"), events=events_table(), span=span)
        .fetch()[0]
    )

    page_views, api_errors = count(PAGE_VIEW).events, count(API_ERROR).events
    retries, checkouts = count(PAYMENT_RETRY).events, count(START_CHECKOUT).events
    return MiniProgramMetrics(
        period_label=period.label,
        page_views=[PageViews(page, views, people) for page, views, people in pages],
        key_actions=[count(name) for name in KEY_ACTIONS],
        operational=[count(name) for name in OPERATIONAL_EVENTS],
        performance=Performance(
            page_load_samples=samples,
            page_load_p50_ms=number(p50, Decimal("1")),
            page_load_p95_ms=number(p95, Decimal("1")),
            api_errors=api_errors,
            page_views=page_views,
            api_error_rate=ratio(api_errors, page_views),
            payment_retries=retries,
            checkouts=checkouts,
            payment_retry_rate=ratio(retries, checkouts),
        ),
    )
