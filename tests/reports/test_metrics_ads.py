from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Campaign, Creative
from events.models import AdSpend
from reports.metrics.ads import ads_report, creative_fatigue
from reports.metrics.common import Filters
from reports.periods import Period
from tests.reports.metrics_data import at, event, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16, Shanghai


@pytest.fixture
def ads(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    c2 = Campaign.objects.create(code="C2", name="two")
    k1 = Creative.objects.create(campaign=c1, name="K1", ad_group="G1", lander_type="article")
    k2 = Creative.objects.create(campaign=c1, name="K2", ad_group="G1", lander_type="mini_program")
    k3 = Creative.objects.create(campaign=c2, name="K3", ad_group="G2", lander_type="h5")

    def spend(day, campaign, creative, amount, impressions, clicks, reach):
        AdSpend.objects.create(
            date=date(2025, 11, day),
            campaign_code=campaign.code,
            campaign=campaign,
            ad_group=creative.ad_group,
            creative_name=creative.name,
            creative=creative,
            spend=Decimal(amount),
            impressions=impressions,
            clicks=clicks,
            reach=reach,
        )

    spend(10, c1, k1, "100", 10000, 200, 5000)
    spend(11, c1, k1, "100", 10000, 100, 4000)
    spend(10, c1, k2, "50", 5000, 100, 1000)
    spend(12, c2, k3, "30", 2000, 20, 2000)
    spend(17, c1, k1, "999", 1, 1, 1)  # next week
    spend(5, c1, k1, "50", 10000, 250, 5000)  # the week before: only fatigue looks back
    spend(6, c1, k2, "50", 5000, 50, 1000)
    save(
        event("ad_click", "p1", at("2025-11-10"), campaign=c1, properties={"creative_id": k1.pk}),
        event("pay_success", "p1", at("2025-11-11"), value="300"),
        event("ad_click", "p2", at("2025-11-10", "09:00"), campaign=c1, properties={"creative_id": k2.pk}),
        event("lead_form_submit", "p2", at("2025-11-10", "10:00")),
        event("pay_success", "p2", at("2025-11-12"), value="100"),
        event("qr_scan", "p3", at("2025-11-01"), campaign=c2),
        event("pay_success", "p3", at("2025-11-13"), value="60"),
        event("qr_scan", "p4", at("2025-09-01"), campaign=c1),  # older than the 30-day lookback
        event("pay_success", "p4", at("2025-11-14"), value="40"),
        event("ad_click", "p5", at("2025-11-12", "09:00"), campaign=c2),
        event("lead_form_submit", "p5", at("2025-11-12", "10:00")),
    )
    return c1, c2


def test_totals_cost_per_lead_and_order_and_roas(ads, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        report = ads_report(WEEK)

    t = report.totals
    assert (t.spend, t.impressions, t.clicks, t.reach) == (Decimal("280.00"), 27000, 420, 12000)
    assert t.ctr == Decimal("0.0156")  # 420 / 27000 = 0.01556
    assert t.cpc == Decimal("0.67")  # 280 / 420
    assert t.cpm == Decimal("10.37")  # 280 / 27000 × 1000
    assert t.frequency == Decimal("2.25")  # 27000 / 12000
    # orders: p1 300 (C1/K1), p2 100 (C1/K2), p3 60 (C2, touch 12 days before); p4's touch is too old
    assert (t.orders, t.revenue, t.leads) == (3, Decimal("460.00"), 2)
    assert t.cost_per_order == Decimal("93.33")  # 280 / 3
    assert t.cost_per_lead == Decimal("140.00")  # 280 / 2
    assert t.roas == Decimal("1.64")  # 460 / 280 = 1.6429, shown with 2 decimals
    assert (report.unattributed_orders, report.unattributed_revenue) == (1, Decimal("40.00"))


def test_breakdown_by_campaign_creative_and_lander_type(ads):
    report = ads_report(WEEK)

    assert [(r.label, r.spend, r.orders, r.revenue, r.leads, r.roas) for r in report.by_campaign] == [
        ("C1", Decimal("250.00"), 2, Decimal("400.00"), 1, Decimal("1.6000")),  # 400 / 250
        ("C2", Decimal("30.00"), 1, Decimal("60.00"), 1, Decimal("2.0000")),  # 60 / 30
    ]
    assert [(r.label, r.spend, r.orders, r.roas) for r in report.by_creative] == [
        ("C1 / K1", Decimal("200.00"), 1, Decimal("1.5000")),  # 300 / 200
        ("C1 / K2", Decimal("50.00"), 1, Decimal("2.0000")),  # 100 / 50
        ("C2 / K3", Decimal("30.00"), 0, Decimal("0.0000")),  # p3 and p5 touched C2 without a creative
    ]
    assert [(r.label, r.revenue, r.roas) for r in report.by_lander_type] == [
        ("article", Decimal("300.00"), Decimal("1.5000")),
        ("mini_program", Decimal("100.00"), Decimal("2.0000")),
        ("h5", Decimal("0.00"), Decimal("0.0000")),
    ]


def test_fatigue_flags_rising_cpc_with_falling_ctr_and_frequency_over_the_cap(ads, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        flags = creative_fatigue(date(2025, 11, 16))

    k1, k2, k3 = flags
    # K1 last 7 days: CTR 300/20000 = 0.015, CPC 200/300 = 0.67; before: 250/10000 = 0.025, 50/250 = 0.20
    assert (k1.label, k1.ctr_last, k1.ctr_previous, k1.cpc_last, k1.cpc_previous) == (
        "C1 / K1",
        Decimal("0.0150"),
        Decimal("0.0250"),
        Decimal("0.67"),
        Decimal("0.20"),
    )
    assert k1.fatigued and not k1.over_frequency_cap  # frequency 20000 / 9000 = 2.22
    # K2: CTR 0.01 → 0.02 and CPC 1.00 → 0.50 (healthier), but 5000 / 1000 = 5 impressions per person
    assert (k2.label, k2.fatigued, k2.frequency, k2.over_frequency_cap) == ("C1 / K2", False, Decimal("5.00"), True)
    assert (k3.label, k3.fatigued, k3.cpc_previous) == ("C2 / K3", False, None)  # nothing to compare with


def test_the_campaign_filter_applies_to_spend_and_attributed_orders(ads):
    _, c2 = ads

    report = ads_report(WEEK, Filters(campaign_id=c2.pk))

    t = report.totals
    assert (t.spend, t.orders, t.revenue, t.leads) == (Decimal("30.00"), 1, Decimal("60.00"), 1)
