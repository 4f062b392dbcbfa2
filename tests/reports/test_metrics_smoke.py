"""Every metric function runs, with every filter set, on the database the suite uses —
PostgreSQL in `make test`, SQLite when run with DATABASE_URL unset (the demo's database):
    env -u DATABASE_URL .venv/bin/python -m pytest tests/reports/test_metrics_smoke.py
"""

from datetime import date

import pytest

from campaigns.models import Campaign, Placement
from reports.metrics.ads import ads_report, creative_fatigue
from reports.metrics.attribution import attribution
from reports.metrics.cohorts import GROUPINGS, cohorts
from reports.metrics.common import Filters
from reports.metrics.content import content_metrics
from reports.metrics.funnel import DIMENSIONS, funnel, funnel_by
from reports.metrics.headline import headline
from reports.metrics.health import health_check
from reports.metrics.kpis import kpi_values
from reports.metrics.miniprogram import miniprogram_metrics
from reports.metrics.placements import placement_report
from reports.periods import Period
from tests.reports.metrics_data import at, event, save


@pytest.fixture
def filters(db):
    campaign = Campaign.objects.create(code="S1", name="smoke")
    placement = Placement.objects.create(campaign=campaign, name="poster", scene="smoke1")
    common = {"campaign": campaign, "placement": placement, "source": "menu", "app_id": "wxmp"}
    save(
        event("qr_scan", "u1", at("2025-11-10"), **common),
        event("page_view", "u1", at("2025-11-10", "12:01"), page="home", **common),
        event("pay_success", "u1", at("2025-11-10", "12:02"), value="9.90", **common),
    )
    return [
        Filters(),
        Filters(campaign_id=campaign.pk, source="menu", placement_id=placement.pk, app_id="wxmp"),
    ]


def test_smoke_every_metric_function_runs_with_and_without_filters(filters):
    week = Period.iso_week(2025, 46)
    for f in filters:
        kpi_values(week, f)
        assert funnel(week, f, steps=["qr_scan", "pay_success"]).converted == 1
        for dimension in DIMENSIONS:
            funnel_by(week, dimension, f, steps=["qr_scan", "pay_success"])
        content_metrics(week, f)
        assert miniprogram_metrics(week, f).page_views[0].views == 1
        ads_report(week, f)
        creative_fatigue(date(2025, 11, 16), f)
        for by in GROUPINGS:
            assert cohorts(Period.month(2025, 11), f, by=by).totals.people == 1
        assert attribution(week, f).converters == 1
        health_check(date(2025, 11, 10), f)
        assert headline(week, f).figure("orders").value == 1
    assert placement_report(week).rows[0].orders == 1
    assert placement_report(week, campaign_id=filters[1].campaign_id).rows[0].scans == 1
