"""The period's numbers and the placement table in the snapshots and on the dashboard."""

from decimal import Decimal

import pytest

from campaigns.models import Campaign, Placement
from reports.snapshots import build
from tests.reports.metrics_data import at, event, save
from tests.reports.snapshot_data import AFTER_WEEK, WEEK, ensure_funnel_plan


@pytest.fixture
def week(db):
    ensure_funnel_plan()
    c = Campaign.objects.create(code="C1", name="one")
    poster = Placement.objects.create(campaign=c, name="poster", scene="s1")
    save(
        # Week 46: A hits the poster's short link and pays 99 and 1; B opens the Mini Program from the
        # poster's code and never pays; C pays 50 with no touch and is refunded 50.
        event(
            "qr_scan", "a", at("2025-11-10", "10:00"), placement=poster, campaign=c, properties={"via": "short_link"}
        ),
        event("pay_success", "a", at("2025-11-10", "10:30"), value="99.00"),
        event("pay_success", "a", at("2025-11-11", "10:30"), value="1.00"),
        event("app_launch", "b", at("2025-11-12"), placement=poster, campaign=c, properties={"wechat_scene": 1047}),
        event("pay_success", "c", at("2025-11-13"), value="50.00"),
        event("refund_success", "c", at("2025-11-14"), value="50.00"),
        # Week 45: D scans and pays 100.
        event("qr_scan", "d", at("2025-11-04"), placement=poster, campaign=c),
        event("pay_success", "d", at("2025-11-04", "13:00"), value="100.00"),
    )
    return poster


def test_the_weekly_snapshot_states_the_weeks_numbers_and_placement_payments(week, client, analyst):
    snapshot = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)

    head = snapshot.data["headline"]
    # 3 orders by A, A, C = 150; C's 50 refunded: net 100. Entrants A and B (a code launch is a
    # scan); A paid: 50 %. Week 45: 1 order of 100 by D, who entered and paid: 100 %.
    assert (head["orders"], head["paying_people"], head["gross_revenue"], head["refunds"], head["net_revenue"]) == (
        3,
        2,
        "150.00",
        "50.00",
        "100.00",
    )
    assert (head["entrants"], head["paid_entrants"], head["entry_to_paid_pct"], head["missing"]) == (2, 1, "50.0", [])
    numbers = {row[0]: row[1:] for row in snapshot.section("headline")["rows"]}
    assert [Decimal(v) for v in numbers["Gross revenue"][:3]] == [150, 100, 50] and numbers["Gross revenue"][3] == "¥"
    assert [Decimal(v) for v in numbers["Entry → paid"][:3]] == [50, 100, -50] and numbers["Entry → paid"][3] == "%"
    assert snapshot.data["summary"][0].startswith("2025-W46: 3 orders by 2 paying people, gross revenue ¥150")
    # The poster: A's scan and B's code launch (2 people), A's 2 orders worth 100; C's 50 has
    # no placement touch.
    placements = {row[0]: row[1:] for row in snapshot.section("placements")["rows"]}
    assert placements["C1 / poster"][:7] == [2, 1, 1, 2, 0, 1, 2]
    assert [Decimal(v) for v in placements["C1 / poster"][7:]] == [100, 0]
    assert placements["No placement touch"][-4:-2] == [1, 1]
    assert [Decimal(v) for v in placements["No placement touch"][-2:]] == [50, 50]
    assert placements["All (the period)"][-4:-2] == [2, 3]
    assert [Decimal(v) for v in placements["All (the period)"][-2:]] == [150, 50]

    client.force_login(analyst)
    html = client.get("/dashboard/").content.decode()
    assert "The week in numbers" in html and "Net revenue" in html


def test_a_week_without_events_says_its_numbers_are_missing_on_the_dashboard(db, client, analyst):
    ensure_funnel_plan()
    build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)
    client.force_login(analyst)

    html = client.get("/dashboard/").content.decode()

    assert "No event was received for 2025-W46: its numbers are missing, not zero." in html
