"""A marketer's first hour, in headless Chromium against the live server: log in to admin →
the home shows KPIs and links → dashboard → the campaign page → download a QR PNG → the
Friday review. A screenshot of each step is kept in artifacts/first-hour/."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Placement
from campaigns.services import placement_create
from events.models import AdSpend
from tests.browser import Browser, skip_without_chromium
from tests.reports.metrics_data import event, save
from tests.reports.snapshot_data import KPI_SECTION, built, orders_kpi

pytestmark = [pytest.mark.postgres, pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "first-hour"


@pytest.fixture
def first_hour(transactional_db, make_user, campaign):
    user = make_user("li", "Marketer", "Review owner")
    orders_kpi("20")
    built(
        "weekly",
        "2025-W46",
        data={
            "headline": {"entered": 100, "orders": 12},
            "friction": {"step": "add_to_cart → pay_success", "sentence": "Fix first: check the pay page."},
            "sections": [KPI_SECTION],
        },
    )
    poster = placement_create(Placement(campaign=campaign, name="春节海报"))
    now = timezone.now() - timedelta(minutes=1)
    # Today: Wei scans the poster and pays ¥300; the campaign spent ¥100 → ROAS 3.00.
    save(
        event("qr_scan", "wei", now - timedelta(seconds=30), placement=poster, properties={"via": "short_link"}),
        event("pay_success", "wei", now, value="300"),
    )
    AdSpend.objects.create(
        date=timezone.localdate(), campaign_code=campaign.code, campaign=campaign, spend=Decimal("100.00")
    )
    return user, campaign, poster


def test_a_marketers_first_hour_in_a_real_browser(live_server, first_hour, tmp_path):
    skip_without_chromium()
    user, campaign, poster = first_hour
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = Browser(tmp_path / "profile")
    try:
        landed = browser.goto(f"{live_server.url}/")
        assert "/admin/login/" in landed  # `/` → dashboard → log in first
        browser.screenshot(ARTIFACTS / "01-login.png")

        after_login = browser.submit({"id_username": user.username, "id_password": f"pw-{user.username}"})
        assert after_login.endswith("/dashboard/")  # the login goes on to where `/` was heading

        browser.goto(f"{live_server.url}/admin/")
        home = browser.text()
        browser.screenshot(ARTIFACTS / "02-home.png")
        assert "KPIs against target" in home and "Weekly orders" in home and "target 20" in home
        assert "add_to_cart → pay_success" in home and "Needs attention" in home
        links = browser.evaluate("[...document.querySelectorAll('.wxa-home-links a')].map(a => a.textContent)")
        assert links[:3] == ["Dashboard", "Friday review", "New campaign"]

        browser.evaluate("document.querySelector('.wxa-home-links a').click()")
        browser.wait_for_event("Page.loadEventFired")
        dashboard = browser.text()
        browser.screenshot(ARTIFACTS / "03-dashboard.png")
        assert browser.evaluate("location.pathname") == "/dashboard/"
        assert "KPIs vs target" in dashboard and "Fix first: check the pay page." in dashboard

        browser.goto(f"{live_server.url}{reverse('admin:campaigns_campaign_change', args=[campaign.pk])}")
        results = reverse("campaign-placements", args=[campaign.pk])
        browser.evaluate(f"document.querySelector('a[href=\"{results}\"]').click()")
        browser.wait_for_event("Page.loadEventFired")
        page = browser.text()
        browser.screenshot(ARTIFACTS / "04-campaign.png")
        assert "Ad spend and ROAS" in page and "¥100.00" in page and "3.00" in page
        assert "春节海报" in page and "1 → 0 → 1 → ¥300.00" in page
        assert "short link: a web short link was chosen" in page

        png = browser.download(f'a[href^="/api/v1/placements/{poster.pk}/qr.png?download=1"]', ARTIFACTS)
        assert png.name.endswith(".png") and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        browser.screenshot(ARTIFACTS / "05-after-download.png")

        browser.goto(f"{live_server.url}/admin/")
        browser.evaluate("[...document.querySelectorAll('.wxa-home-links a')][1].click()")
        browser.wait_for_event("Page.loadEventFired")
        review = browser.text()
        browser.screenshot(ARTIFACTS / "06-review.png")
        assert "Friday review" in review and "KPIs vs target" in review
    finally:
        browser.close()

    for name in ("02-home.png", "03-dashboard.png", "04-campaign.png", "06-review.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000  # a real rendering, not a blank page
