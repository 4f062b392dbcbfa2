from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Campaign
from reports.metrics.common import Filters
from reports.metrics.engagement import engagement_metrics
from reports.periods import Period
from tests.reports.metrics_data import at, event, same_person, save

DAY = Period.day(date(2025, 11, 12))


def view(user, session, hhmm, page="home", **fields):
    return event("page_view", user, at("2025-11-12", hhmm), session_id=session, page=page, **fields)


def leave(page, hhmm="12:00", **fields):
    return event("page_leave", "v1", at("2025-11-12", hhmm), page=page, **fields)


def click(user, page, **properties):
    return event("element_click", user, at("2025-11-12"), page=page, properties=properties)


@pytest.fixture
def spring(db):
    return Campaign.objects.create(code="SPRING", name="Spring")


@pytest.fixture
def sessions_day(spring):
    same_person("P1", "v1", "oa1")
    save(
        # s1 (v1, Mini Program, campaign SPRING on its first view): 3 pages.
        view("v1", "s1", "09:00", source="mini_program", campaign=spring),
        view("v1", "s1", "09:01", page="pdp", source="mini_program"),
        view("v1", "s1", "09:02", page="cart", source="mini_program"),
        # s2 (oa1: the same person P1), Mini Program, SPRING: 1 page.
        view("oa1", "s2", "10:00", source="mini_program", campaign=spring),
        # s3 (v2, h5, no campaign): 2 pages; s4 (v3, h5, no campaign): 6 pages.
        view("v2", "s3", "11:00", source="h5"),
        view("v2", "s3", "11:05", page="pdp", source="h5"),
        *[view("v3", "s4", f"12:0{n}", source="h5") for n in range(6)],
        # A page view without a session: counted apart, never as a session of depth 0.
        view("v4", "", "13:00", source="h5"),
        # The next day: out of the period.
        event("page_view", "v1", at("2025-11-13", "00:00"), session_id="s9", source="h5"),
    )


def test_pages_per_session_and_sessions_per_person_by_source_and_campaign(sessions_day, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        result = engagement_metrics(DAY)

    total = result.total
    # Sessions s1..s4 with 3, 1, 2, 6 pages: 12 page views / 4 sessions = 3.00 a session.
    # Sorted 1 2 3 6: the median is rank ⌈0.5 × 4⌉ = 2 → 2 pages.
    # People: P1 (s1, s2), v2, v3 → 3; 4 sessions / 3 people = 1.33.
    assert (total.sessions, total.page_views, total.people) == (4, 12, 3)
    assert total.pages_per_session == Decimal("3.00")
    assert total.median_pages == 2
    assert total.sessions_per_person == Decimal("1.33")
    assert result.page_views_without_session == 1

    rows = [
        (
            g.source,
            g.campaign,
            g.sessions,
            g.page_views,
            g.people,
            g.pages_per_session,
            g.median_pages,
            g.sessions_per_person,
        )
        for g in result.by_source_campaign
    ]
    assert rows == [
        # h5 without campaign: s3 (2), s4 (6): 8 / 2 = 4.00; median rank 1 of [2, 6] = 2; 2 people.
        ("h5", "", 2, 8, 2, Decimal("4.00"), 2, Decimal("1.00")),
        # Mini Program, SPRING: s1 (3 pages; its later views carry no campaign, the first
        # view's counts), s2 (1): 4 / 2 = 2.00; median rank 1 of [1, 3] = 1; one person (P1).
        ("mini_program", "SPRING", 2, 4, 1, Decimal("2.00"), 1, Decimal("2.00")),
    ]


def test_time_on_page_by_template_uses_duration_ms_else_value_by_nearest_rank(db):
    save(
        *[leave("home", properties={"duration_ms": ms}) for ms in (4000, 1000, 3000, 2000)],
        leave("home", value=9000),  # an SDK that sends only value
        leave("home", properties={"how": "hide"}),  # no duration: said apart, not a sample of 0
        leave("pdp", properties={"duration_ms": 500}),
        leave("cart", properties={}),
    )

    result = engagement_metrics(DAY)

    pages = {t.page: (t.samples, t.p50_ms, t.p95_ms, t.without_duration) for t in result.time_on_page}
    # home sorted: 1000 2000 3000 4000 9000 (n = 5): p50 rank ⌈2.5⌉ = 3 → 3000; p95 rank ⌈4.75⌉ = 5 → 9000.
    assert pages["home"] == (5, Decimal(3000), Decimal(9000), 1)
    # pdp: one sample, both percentiles are it.
    assert pages["pdp"] == (1, Decimal(500), Decimal(500), 0)
    # cart: left once, with no duration: no percentile, and the page says so.
    assert pages["cart"] == (0, None, None, 1)
    assert [t.page for t in result.time_on_page] == ["home", "pdp", "cart"]


def test_top_clicked_elements_by_page_count_clicks_and_people(db):
    same_person("P1", "v1", "oa1")
    save(
        click("v1", "pdp", element_id="buy", element_name="Buy now"),
        click("oa1", "pdp", element_id="buy", element_name="Buy now"),
        click("v2", "pdp", element_id="buy", element_name="Buy now"),
        click("v2", "pdp", element_id="fav", element_name="Favourite"),
        click("v2", "pdp", element_name="onHold"),  # no id: the name alone names it
        *[click("v3", "home", element_id=f"tile-{n}", element_name="Tile") for n in range(7)],
        click("v3", "home", element_id="tile-6", element_name="Tile"),
    )

    result = engagement_metrics(DAY)

    rows = [(c.page, c.element_id, c.element_name, c.clicks, c.people) for c in result.top_elements]
    assert rows == [
        # home: tile-6 twice, then the ties by id; 7 elements, the top 5 are kept.
        ("home", "tile-6", "Tile", 2, 1),
        ("home", "tile-0", "Tile", 1, 1),
        ("home", "tile-1", "Tile", 1, 1),
        ("home", "tile-2", "Tile", 1, 1),
        ("home", "tile-3", "Tile", 1, 1),
        # pdp: buy 3 clicks by 2 people (v1 and oa1 are P1), then "" (no id) before "fav".
        ("pdp", "buy", "Buy now", 3, 2),
        ("pdp", "", "onHold", 1, 1),
        ("pdp", "fav", "Favourite", 1, 1),
    ]


def test_filters_select_the_events_and_an_empty_period_says_no_sessions(sessions_day, spring):
    result = engagement_metrics(DAY, Filters(campaign_id=spring.pk))

    # Only the first views of s1 and s2 carry the campaign: 2 sessions of 1 page, one person.
    assert (result.total.sessions, result.total.page_views, result.total.people) == (2, 2, 1)
    assert result.total.median_pages == 1

    empty = engagement_metrics(Period.day(date(2025, 11, 1)))
    assert empty.total.sessions == 0
    assert empty.total.pages_per_session is None
    assert empty.total.median_pages is None
    assert empty.by_source_campaign == []
    assert empty.time_on_page == [] and empty.top_elements == []
