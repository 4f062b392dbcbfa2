from datetime import date
from decimal import Decimal

import pytest

from reports.metrics.common import Filters
from reports.metrics.miniprogram import miniprogram_metrics
from reports.periods import Period
from tests.reports.metrics_data import at, event, save

DAY = Period.day(date(2025, 11, 12))


@pytest.fixture
def app_day(db):
    views = [("v1", "home"), ("v1", "home"), ("v2", "home"), ("v1", "pdp"), ("v3", "cart")]
    save(
        *[event("page_view", user, at("2025-11-12"), page=page, app_id="wxmp") for user, page in views],
        event("page_view", "v1", at("2025-11-13", "00:00"), page="home"),  # next day
        event("add_to_cart", "v1", at("2025-11-12")),
        event("add_to_cart", "v1", at("2025-11-12")),
        event("add_to_cart", "v2", at("2025-11-12")),
        *[event("start_checkout", u, at("2025-11-12")) for u in ("v1", "v2", "v3", "v4")],
        event("pay_success", "v1", at("2025-11-12"), value="99"),
        event("refund_request", "v1", at("2025-11-12")),
        event("ticket_created", "v2", at("2025-11-12", "10:00")),
        event("ticket_created", "v2", at("2025-11-12", "11:00")),
        event("api_error", "v1", at("2025-11-12")),
        event("api_error", "v3", at("2025-11-12")),
        event("payment_retry", "v2", at("2025-11-12")),
        *[event("page_load_time", "v1", at("2025-11-12"), value=ms) for ms in (120, 80, 300, 1500, 200)],
        event("page_load_time", "v2", at("2025-11-12"), properties={"ms": 950}),
        event("page_load_time", "v2", at("2025-11-12")),  # no measurement: not a sample
    )


def test_page_views_by_template_and_action_counts(app_day, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        result = miniprogram_metrics(DAY)

    assert [(p.page, p.views, p.people) for p in result.page_views] == [
        ("home", 3, 2),  # v1 twice, v2; the next day's view is out
        ("cart", 1, 1),
        ("pdp", 1, 1),
    ]
    assert [(a.event_name, a.events, a.people) for a in result.key_actions] == [
        ("add_to_cart", 3, 2),
        ("start_checkout", 4, 4),
        ("select_coupon", 0, 0),
        ("pay_success", 1, 1),
    ]
    assert [(a.event_name, a.events, a.people) for a in result.operational] == [
        ("refund_request", 1, 1),
        ("return_approved", 0, 0),
        ("ticket_created", 2, 1),
    ]


def test_performance_percentiles_and_error_and_retry_rates(app_day):
    perf = miniprogram_metrics(DAY).performance

    # samples sorted: 80 120 200 300 950 1500 (950 from properties.ms); n = 6
    assert perf.page_load_samples == 6
    assert perf.page_load_p50_ms == Decimal(200)  # rank ⌈0.5 × 6⌉ = 3
    assert perf.page_load_p95_ms == Decimal(1500)  # rank ⌈0.95 × 6⌉ = 6
    assert perf.api_error_rate == Decimal("0.4000")  # 2 errors / 5 page views
    assert perf.payment_retry_rate == Decimal("0.2500")  # 1 retry / 4 checkouts


def test_filters_select_the_events(app_day):
    result = miniprogram_metrics(DAY, Filters(app_id="wxmp"))

    assert sum(p.views for p in result.page_views) == 5
    assert result.performance.page_load_samples == 0
    assert result.performance.page_load_p50_ms is None
