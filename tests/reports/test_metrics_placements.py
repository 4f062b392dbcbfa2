from decimal import Decimal

import pytest

from campaigns.models import Campaign, Placement
from reports.metrics.placements import placement_report
from reports.periods import Period
from tests.reports.metrics_data import at, event, same_person, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16, Shanghai


@pytest.fixture
def journeys(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    c2 = Campaign.objects.create(code="C2", name="two")
    poster = Placement.objects.create(campaign=c1, name="poster", scene="s1")
    counter = Placement.objects.create(campaign=c1, name="counter", scene="s2")
    booth = Placement.objects.create(campaign=c2, name="booth", scene="s3")
    Placement.objects.create(campaign=c1, name="window", scene="s4")  # nothing happened here
    same_person("PA", "oa-a", "mp-a")
    mp = {"app_id": "wxmp"}
    save(
        # A follows by scanning the poster's Official Account code (the push gives a qr_scan and
        # a follow, both with the placement) …
        event("qr_scan", "oa-a", at("2025-11-10", "09:00"), placement=poster, properties={"via": "subscribe"}),
        event("follow", "oa-a", at("2025-11-10", "09:00"), placement=poster),
        # … opens the Mini Program from the counter's code the next day, views a page in that
        # session (tagged with the counter) and pays 100; pays 50 the day after without a new
        # touch, and is refunded 50: both orders and the refund go to the counter.
        event(
            "app_launch", "mp-a", at("2025-11-11", "10:00"), placement=counter, properties={"wechat_scene": 1047}, **mp
        ),
        event("page_view", "mp-a", at("2025-11-11", "10:01"), placement=counter, **mp),
        event("pay_success", "mp-a", at("2025-11-11", "10:05"), value="100", **mp),
        event("pay_success", "mp-a", at("2025-11-12", "12:00"), value="50", **mp),
        event("refund_success", "mp-a", at("2025-11-13"), value="50", **mp),
        # B hits the booth's short link, follows the account (no placement) and pays 30.
        event("qr_scan", "b", at("2025-11-14", "09:00"), placement=booth, properties={"via": "short_link"}),
        event("follow", "b", at("2025-11-14", "09:10")),
        event("pay_success", "b", at("2025-11-14", "09:30"), value="30"),
        # C follows and pays 20 with no touch at all: unattributed.
        event("follow", "c", at("2025-11-15", "08:00")),
        event("pay_success", "c", at("2025-11-15"), value="20"),
        # D scanned the poster on 5 Oct, 38 days before paying 40: older than the 30-day lookback.
        event("qr_scan", "d", at("2025-10-05"), placement=poster),
        event("pay_success", "d", at("2025-11-12"), value="40"),
        # E hits the poster's short link on Sunday night and pays on Monday (next week).
        event("qr_scan", "e", at("2025-11-16", "23:00"), placement=poster, properties={"via": "short_link"}),
        event("pay_success", "e", at("2025-11-17", "00:30"), value="999"),
    )
    return poster, counter, booth


def numbers(row):
    return (
        row.scans,
        row.link_scans,
        row.code_scans,
        row.scanners,
        row.follows,
        row.paying_people,
        row.orders,
        row.revenue,
        row.refunds,
    )


def test_each_placement_gets_its_scans_follows_payers_orders_revenue_and_refunds(journeys, django_assert_num_queries):
    poster, counter, booth = journeys

    with django_assert_num_queries(2):
        report = placement_report(WEEK)

    rows = {r.placement_id: r for r in report.rows}
    assert set(rows) == {poster.pk, counter.pk, booth.pk}
    # poster: A's code scan + E's short-link hit (2 people), A's follow; no payment attributed.
    assert numbers(rows[poster.pk]) == (2, 1, 1, 2, 1, 0, 0, Decimal("0.00"), Decimal("0.00"))
    # counter: A's Mini Program code launch; A's 2 orders (100 + 50) and the 50 refund.
    assert numbers(rows[counter.pk]) == (1, 0, 1, 1, 0, 1, 2, Decimal("150.00"), Decimal("50.00"))
    # booth: B's short-link hit, B's follow 10 min later and B's 30.
    assert numbers(rows[booth.pk]) == (1, 1, 0, 1, 1, 1, 1, Decimal("30.00"), Decimal("0.00"))
    # unattributed: C's follow and 20, D's 40 (touch too old).
    assert numbers(report.unattributed) == (0, 0, 0, 0, 1, 2, 2, Decimal("60.00"), Decimal("0.00"))
    # Period: 5 orders by A, B, C, D worth 240, 50 refunded, 3 follows.
    assert (report.orders, report.paying_people, report.revenue, report.refunds, report.follows) == (
        5,
        4,
        Decimal("240.00"),
        Decimal("50.00"),
        3,
    )
    # Most revenue first.
    assert [r.placement_id for r in report.rows] == [counter.pk, booth.pk, poster.pk]


def test_placement_revenue_and_orders_never_exceed_the_period_and_add_up_with_the_unattributed(journeys):
    report = placement_report(WEEK)

    placed = sum((r.revenue for r in report.rows), Decimal("0"))
    assert placed <= report.revenue
    assert placed + report.unattributed.revenue == report.revenue
    assert sum(r.orders for r in report.rows) + report.unattributed.orders == report.orders
    assert sum(r.refunds for r in report.rows) + report.unattributed.refunds == report.refunds


def test_a_campaign_lists_all_its_placements_with_the_same_attribution(journeys, django_assert_num_queries):
    poster, _, _ = journeys

    with django_assert_num_queries(2):
        report = placement_report(WEEK, campaign_id=poster.campaign_id)

    assert [r.label for r in report.rows] == ["C1 / counter", "C1 / poster", "C1 / window"]
    assert report.rows[0].revenue == Decimal("150.00")
    assert numbers(report.rows[2]) == (0, 0, 0, 0, 0, 0, 0, Decimal("0.00"), Decimal("0.00"))
