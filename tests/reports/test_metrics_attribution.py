from decimal import Decimal

import pytest

from campaigns.models import Campaign, Placement
from reports.metrics.attribution import attribution
from reports.metrics.common import Filters
from reports.periods import Period
from tests.reports.metrics_data import at, event, same_person, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16, Shanghai


@pytest.fixture
def journeys(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    c2 = Campaign.objects.create(code="C2", name="two")
    poster = Placement.objects.create(campaign=c1, name="poster", scene="s1")
    booth = Placement.objects.create(campaign=c2, name="booth", scene="s2")
    same_person("PA", "oa-a", "mp-a")
    save(
        # A scans C1's poster on the Official Account (placement only), clicks C2's Moments ad
        # in the Mini Program, pays twice; the later booth scan is after the first payment
        event("qr_scan", "oa-a", at("2025-11-01"), placement=poster),
        event("ad_click", "mp-a", at("2025-11-11", "09:00"), campaign=c2, properties={"scene": "1084"}),
        event("pay_success", "mp-a", at("2025-11-11", "10:00"), value="100", app_id="wxmp"),
        event("qr_scan", "oa-a", at("2025-11-12", "09:00"), placement=booth, campaign=c2),
        event("pay_success", "mp-a", at("2025-11-12", "10:00"), value="50", app_id="wxmp"),
        # B scans the booth and pays the same day
        event("qr_scan", "b", at("2025-11-10", "09:00"), placement=booth, campaign=c2),
        event("pay_success", "b", at("2025-11-10", "12:00"), value="30"),
        # C pays without any touch; D scans but pays next week
        event("pay_success", "c", at("2025-11-13"), value="20"),
        event("qr_scan", "d", at("2025-11-12"), placement=poster, campaign=c1),
        event("pay_success", "d", at("2025-11-18"), value="999"),
    )


def rows(result, model, dimension):
    return [(r.label, r.converters, r.orders, r.revenue) for r in result.touches[model][dimension]]


def test_first_and_last_touch_of_people_who_paid(journeys, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        result = attribution(WEEK)

    # converters: PA (2 orders, 150), B (1, 30), C (1, 20); D paid next week
    assert (result.converters, result.orders, result.revenue) == (3, 4, Decimal("200.00"))
    assert result.unattributed == 1  # C
    assert rows(result, "first", "campaign") == [("C1", 1, 2, Decimal("150.00")), ("C2", 1, 1, Decimal("30.00"))]
    # last touch before PA's first payment is C2's ad click (the booth scan came after it)
    assert rows(result, "last", "campaign") == [("C2", 2, 3, Decimal("180.00"))]
    assert result.touches["last"]["campaign"][0].share == Decimal("0.6667")  # 2 / 3
    assert rows(result, "first", "placement") == [
        ("C1 / poster", 1, 2, Decimal("150.00")),
        ("C2 / booth", 1, 1, Decimal("30.00")),
    ]
    assert rows(result, "last", "placement") == [
        ("(none)", 1, 2, Decimal("150.00")),
        ("C2 / booth", 1, 1, Decimal("30.00")),
    ]
    # scene: the placement's scene value, else the WeChat scene of the touch
    assert rows(result, "first", "scene") == [("s1", 1, 2, Decimal("150.00")), ("s2", 1, 1, Decimal("30.00"))]
    assert rows(result, "last", "scene") == [("1084", 1, 2, Decimal("150.00")), ("s2", 1, 1, Decimal("30.00"))]


def test_filters_select_the_payments(journeys):
    result = attribution(WEEK, Filters(app_id="wxmp"))

    assert (result.converters, result.orders, result.revenue) == (1, 2, Decimal("150.00"))
    assert rows(result, "last", "campaign") == [("C2", 1, 2, Decimal("150.00"))]


def test_a_period_without_payments_is_empty(db):
    result = attribution(WEEK)

    assert (result.converters, result.unattributed) == (0, 0)
    assert result.touches["first"]["campaign"] == []
