"""Orders, revenue and leads per creative and lander type: the creative comes from the
person's latest touch of the attributed campaign that names one, by our id or the ad
platform's."""

from decimal import Decimal

import pytest

from campaigns.models import Campaign, Creative
from reports.metrics.ads import ads_report
from reports.periods import Period
from tests.reports.metrics_data import at, event, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16, Shanghai


@pytest.fixture
def clicks(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    c2 = Campaign.objects.create(code="C2", name="two")
    k1 = Creative.objects.create(campaign=c1, name="K1", lander_type="article", external_id="7788990011")
    k2 = Creative.objects.create(campaign=c1, name="K2", lander_type="h5", external_id="42424242")
    save(
        # P1 clicks K1's ad (the platform's id in the landing URL), browses the Mini Program
        # (campaign only) and pays 300: C1, K1, article.
        event("ad_click", "p1", at("2025-11-10", "09:00"), campaign=c1, properties={"creative_id": "7788990011"}),
        event("page_view", "p1", at("2025-11-10", "09:05"), campaign=c1),
        event("pay_success", "p1", at("2025-11-10", "09:10"), value="300"),
        # P2 clicks K2's ad (our id, a number), leaves a lead and pays 100 the next day: C1, K2, h5.
        event("ad_click", "p2", at("2025-11-11", "09:00"), campaign=c1, properties={"creative_id": k2.pk}),
        event("lead_form_submit", "p2", at("2025-11-11", "09:10"), campaign=c1),
        event("pay_success", "p2", at("2025-11-12"), value="100"),
        # P3 clicked K1 on 1 Nov but scanned C2's code last: the 50 is C2's, with no creative.
        event("ad_click", "p3", at("2025-11-01"), campaign=c1, properties={"creative_id": str(k1.pk)}),
        event("qr_scan", "p3", at("2025-11-12"), campaign=c2),
        event("pay_success", "p3", at("2025-11-13"), value="50"),
        # P4's creative id is unknown (and too long to be ours): C1's 40, no creative.
        event("ad_click", "p4", at("2025-11-14"), campaign=c1, properties={"creative_id": "999999999999"}),
        event("pay_success", "p4", at("2025-11-14", "13:00"), value="40"),
    )
    return k1, k2


def test_creatives_and_landers_get_the_orders_revenue_and_leads_of_their_clicks(clicks, django_assert_max_num_queries):
    k1, k2 = clicks

    with django_assert_max_num_queries(5):
        report = ads_report(WEEK)

    creatives = {r.key: (r.leads, r.orders, r.revenue) for r in report.by_creative}
    assert creatives == {str(k1.pk): (0, 1, Decimal("300.00")), str(k2.pk): (1, 1, Decimal("100.00"))}
    landers = {r.key: (r.leads, r.orders, r.revenue) for r in report.by_lander_type}
    assert landers == {"article": (0, 1, Decimal("300.00")), "h5": (1, 1, Decimal("100.00"))}
    campaigns = {r.label: (r.leads, r.orders, r.revenue) for r in report.by_campaign}
    # C1: P1 300 + P2 100 + P4 40; C2: P3 50.
    assert campaigns == {"C1": (1, 3, Decimal("440.00")), "C2": (0, 1, Decimal("50.00"))}


def test_creative_revenue_never_exceeds_campaign_or_period_revenue(clicks):
    report = ads_report(WEEK)

    creative_revenue = sum((r.revenue for r in report.by_creative), Decimal("0"))
    campaign_revenue = sum((r.revenue for r in report.by_campaign), Decimal("0"))
    assert creative_revenue <= campaign_revenue <= campaign_revenue + report.unattributed_revenue
    assert campaign_revenue + report.unattributed_revenue == Decimal("490.00")  # every pay_success of the week
