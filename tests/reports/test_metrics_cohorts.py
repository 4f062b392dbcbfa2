from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Campaign, Creative, Placement
from events.models import AdSpend
from reports.metrics.cohorts import cohorts
from reports.metrics.common import Filters
from reports.periods import Period
from tests.reports.metrics_data import at, event, same_person, save

NOVEMBER = Period.month(2025, 11)
AS_OF = datetime(2026, 1, 31, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def people(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    c2 = Campaign.objects.create(code="C2", name="two")
    c3 = Campaign.objects.create(code="C3", name="three")
    k1 = Creative.objects.create(campaign=c1, name="K1", ad_group="G1", lander_type="article")
    poster = Placement.objects.create(campaign=c1, name="poster", scene="s1")
    booth = Placement.objects.create(campaign=c2, name="booth", scene="s2")
    same_person("PE", "oa-e", "mp-e")
    save(
        # a: week 45, C1 ad (creative K1 of ad group G1) at the poster; back after 2 days, pays, refunds
        event(
            "qr_scan", "a", at("2025-11-03", "10:00"), campaign=c1, placement=poster, properties={"creative_id": k1.pk}
        ),
        event("pay_success", "a", at("2025-11-05", "10:00"), value="100"),
        event("refund_success", "a", at("2025-11-20"), value="20"),
        # b: week 45 at C2's booth (campaign through the placement); same-day event is no return
        event("qr_scan", "b", at("2025-11-04", "12:00"), placement=booth),
        event("pay_success", "b", at("2025-11-04", "20:00"), value="50"),
        event("page_view", "b", at("2025-11-15")),  # 11 days later
        # c: week 46, organic; scans the poster exactly 24 h later (a return, and the entry point)
        event("page_view", "c", at("2025-11-12", "12:00")),
        event("qr_scan", "c", at("2025-11-13", "12:00"), placement=poster),
        # d: first seen in October, not in November's cohorts
        event("page_view", "d", at("2025-10-20")),
        event("pay_success", "d", at("2025-11-10"), value="999"),
        # e: week 47 on C1 with an ad group property; pays 35 days later in the Mini Program
        event("follow", "oa-e", at("2025-11-20"), campaign=c1, properties={"ad_group": "G1"}),
        event("pay_success", "mp-e", at("2025-12-25"), value="200"),
        # f: Sunday night of week 48 on C2
        event("qr_scan", "f", at("2025-11-30", "23:00"), campaign=c2),
    )
    for campaign, amount in [(c1, "300"), (c2, "100"), (c3, "50")]:
        AdSpend.objects.create(
            date=date(2025, 11, 10), campaign_code=campaign.code, campaign=campaign, spend=Decimal(amount)
        )
    AdSpend.objects.create(date=date(2025, 12, 1), campaign_code="C1", campaign=c1, spend=Decimal("999"))
    return c1, c2


def test_cohorts_by_first_touch_week(people, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        report = cohorts(NOVEMBER, by="week", as_of=AS_OF)

    rows = {r.label: r for r in report.rows}
    assert list(rows) == ["2025-W45", "2025-W46", "2025-W47", "2025-W48"]
    w45 = rows["2025-W45"]
    assert w45.people == 2  # a, b
    # a came back after 2 days; b after 11 days (its same-evening payment is no return)
    assert w45.returned == {7: 1, 14: 2, 30: 2}
    assert w45.return_rate[7] == Decimal("0.5000")
    assert (w45.orders, w45.revenue, w45.refunds) == (2, Decimal("150.00"), Decimal("20.00"))
    assert w45.cost_of_goods == Decimal("78.00")  # 0.6 × (150 − 20)
    # C1's 300 shared by its 2 people (a, e) = 150 each; C2's 100 by b, f = 50 each → a + b = 200
    assert w45.ad_spend == Decimal("200.00")
    assert w45.contribution_margin == Decimal("-148.00")  # 150 − 20 − 78 − 200
    assert w45.ltv == Decimal("65.00")  # (150 − 20) / 2
    assert rows["2025-W46"].returned == {7: 1, 14: 1, 30: 1}  # exactly 24 h counts
    w47 = rows["2025-W47"]  # PE's payment 35 days later: revenue, but no return within 30 days
    assert (w47.returned, w47.revenue, w47.contribution_margin) == (
        {7: 0, 14: 0, 30: 0},
        Decimal("200.00"),
        Decimal("-70.00"),  # 200 − 120 − 150
    )
    t = report.totals
    assert (t.people, t.returned) == (5, {7: 2, 14: 3, 30: 3})
    # 350 − 20 − 0.6 × 330 − 400
    assert (t.revenue, t.cost_of_goods, t.ad_spend, t.contribution_margin) == (
        Decimal("350.00"),
        Decimal("198.00"),
        Decimal("400.00"),
        Decimal("-268.00"),
    )
    assert report.unallocated_spend == Decimal("50.00")  # C3 brought nobody
    assert t.complete == {7: True, 14: True, 30: True}


def test_a_first_touch_naming_the_creative_by_the_platforms_id_has_that_creatives_ad_group(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    Creative.objects.create(campaign=c1, name="K1", ad_group="G1", lander_type="h5", external_id="tx-901")
    k2 = Creative.objects.create(campaign=c1, name="K2", ad_group="G2", lander_type="h5", external_id="tx-902")
    # "5" is also the platform's id of a creative whose own id is not 5: the platform's id wins.
    Creative.objects.create(campaign=c1, name="K3", ad_group="G3", lander_type="h5", external_id=str(k2.pk))
    save(
        event("ad_click", "g", at("2025-11-03"), campaign=c1, properties={"creative_id": "tx-901"}),
        event("ad_click", "h", at("2025-11-04"), campaign=c1, properties={"creative_id": k2.pk}),
        event("ad_click", "i", at("2025-11-05"), campaign=c1, properties={"creative_id": "tx-unknown"}),
    )

    report = cohorts(NOVEMBER, by="ad_group", as_of=AS_OF)

    # g → G1 by the platform's id; h → G3 (k2's id is K3's external id); i → (none)
    assert {r.label: r.people for r in report.rows} == {"G1": 1, "G3": 1, "(none)": 1}


def test_cohorts_by_ad_group_of_the_first_touch(people):
    report = cohorts(NOVEMBER, by="ad_group", as_of=AS_OF)

    assert [(r.label, r.people, r.revenue, r.ad_spend, r.contribution_margin) for r in report.rows] == [
        # a (creative K1 → G1), PE (properties.ad_group): 300 − 20 − 0.6 × 280 − 300
        ("G1", 2, Decimal("300.00"), Decimal("300.00"), Decimal("-188.00")),
        # b, c, f: 50 − 0.6 × 50 − (50 + 0 + 50)
        ("(none)", 3, Decimal("50.00"), Decimal("100.00"), Decimal("-80.00")),
    ]


def test_cohorts_by_qr_entry_point(people, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        report = cohorts(NOVEMBER, by="entry_point", as_of=AS_OF)

    assert [(r.label, r.people) for r in report.rows] == [
        ("C1 / poster", 2),  # a, and c through its later scan
        ("C2 / booth", 1),  # b
        ("(none)", 2),  # PE and f never scanned a placement
    ]


def test_filters_select_the_first_touch_and_the_cost_ratio_is_an_argument(people):
    c1, _ = people

    report = cohorts(NOVEMBER, Filters(campaign_id=c1.pk), by="week", cost_ratio=Decimal("0.5"), as_of=AS_OF)

    t = report.totals
    assert t.people == 2  # a, PE: first events carrying C1 (b came through C2's booth)
    assert t.cost_of_goods == Decimal("140.00")  # 0.5 × (300 − 20)
    assert t.ad_spend == Decimal("300.00")


def test_return_windows_still_open_are_marked_incomplete(people):
    report = cohorts(NOVEMBER, by="week", as_of=datetime(2025, 12, 10, tzinfo=ZoneInfo("Asia/Shanghai")))

    assert report.totals.complete == {7: True, 14: False, 30: False}  # Dec 1 + 7 ≤ Dec 10 < Dec 1 + 14


def test_all_groupings_at_once_match_one_grouping_at_a_time(people, django_assert_max_num_queries):
    from reports.metrics.cohorts import cohort_reports

    with django_assert_max_num_queries(3):
        reports = cohort_reports(NOVEMBER, as_of=AS_OF)

    for by, report in reports.items():
        alone = cohorts(NOVEMBER, by=by, as_of=AS_OF)
        assert [(r.label, r.people, r.returned, r.contribution_margin) for r in report.rows] == [
            (r.label, r.people, r.returned, r.contribution_margin) for r in alone.rows
        ]
        assert report.totals.contribution_margin == Decimal("-268.00")


def test_the_window_not_yet_closed_marker_is_decided_per_cohort_row(people):
    from reports.snapshots.monthly import _cohort_section

    as_of = datetime(2025, 12, 10, tzinfo=ZoneInfo("Asia/Shanghai"))

    report = cohorts(NOVEMBER, by="week", as_of=as_of)

    rows = {r.label: r for r in report.rows}
    # W45: a (Nov 3 10:00) and b (Nov 4 12:00): 30-day windows end Dec 3 10:00 and Dec 4 12:00,
    # both before Dec 10 → complete, although the month's last cohort is still open.
    assert rows["2025-W45"].complete == {7: True, 14: True, 30: True}
    # W46: c (Nov 12 12:00): 14 days end Nov 26, 30 days end Dec 12 12:00 > Dec 10
    assert rows["2025-W46"].complete == {7: True, 14: True, 30: False}
    # W47: PE (Nov 20 12:00): 14 days end Dec 4, 30 days end Dec 20
    assert rows["2025-W47"].complete == {7: True, 14: True, 30: False}
    # W48: f (Nov 30 23:00): 7 days end Dec 7 23:00, 14 days end Dec 14 23:00
    assert rows["2025-W48"].complete == {7: True, 14: False, 30: False}
    assert report.totals.complete == {7: True, 14: False, 30: False}  # the last member decides

    section = _cohort_section("cohorts_week", "Cohorts by first-touch week", report).as_dict()
    shown = {row[0]: row[2:5] for row in section["rows"]}
    # W45: a returned within 7 days, b within 14: 50 %, 100 %, 100 % — no marker
    assert shown["2025-W45"] == ["50.0", "100.0", "100.0"]
    assert shown["2025-W48"] == ["0.0", "0.0*", "0.0*"]  # f never returned; 14 and 30 days still open


def test_a_window_ending_exactly_at_as_of_is_not_yet_closed(people):
    # b's 30-day window ends at Nov 4 12:00 + 30 days = Dec 4 12:00 (inclusive): an event at
    # that very instant still counts, and as_of excludes it, so the window is still open.
    at_end = datetime(2025, 12, 4, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    just_after = datetime(2025, 12, 4, 12, 0, 1, tzinfo=ZoneInfo("Asia/Shanghai"))

    assert cohorts(NOVEMBER, by="week", as_of=at_end).rows[0].complete[30] is False
    assert cohorts(NOVEMBER, by="week", as_of=just_after).rows[0].complete[30] is True
