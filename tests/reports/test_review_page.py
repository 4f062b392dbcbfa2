"""/review/: KPIs vs target, the friction point, each owner's entry or a visible gap, and
last week's changes with the KPI before and after — plus a screenshot kept in artifacts/."""

import struct
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns.models import KPI
from reports.models import ReviewEntry, Snapshot
from reports.review.demo import seed_reviews
from reports.review.selectors import format_kpi_value
from reports.review.weeks import parse_review_week
from tests.browser import ARTIFACTS, chromium, skip_without_chromium
from tests.reports.metrics_data import at, event, save


@pytest.fixture
def orders_kpi(db):
    return KPI.objects.create(
        name="Weekly orders", metric_kind="event_count", event_name="pay_success", target=4, period="week"
    )


@pytest.fixture
def review_week(orders_kpi, make_user, review_owner):
    """Week 2025-W47: rob and sue are owners, sue has logged, rob has not. Last week (W46)
    rob changed something aimed at orders: 2 orders in W45, 5 in W47. The W46 snapshot
    names a friction point."""
    sue = make_user("sue", "Review owner", first_name="Sue", last_name="Lee")
    ReviewEntry.objects.create(
        owner=sue, week="2025-W47", insight="Coupon step leaks", change="Pre-select the best coupon", kpi=orders_kpi
    )
    ReviewEntry.objects.create(
        owner=review_owner,
        week="2025-W46",
        insight="Poster scans doubled at eye level",
        change="Move all poster QR codes to eye level",
        kpi=orders_kpi,
        change_status=ReviewEntry.ChangeStatus.DONE,
        outcome_note="Scans up at two of three stores",
    )
    save(*(event("pay_success", f"v{i}", at("2025-11-05")) for i in range(2)))  # W45
    save(*(event("pay_success", f"w{i}", at("2025-11-19")) for i in range(5)))  # W47
    w46 = parse_review_week("2025-W46")
    Snapshot.objects.create(
        kind=Snapshot.Kind.WEEKLY,
        period_start=w46.start,
        period_end=w46.end,
        period_label="2025-W46",
        status=Snapshot.Status.BUILT,
        built_at=timezone.now(),
        data={
            "friction": {
                "step": "select_coupon → start_checkout",
                "sentence": "select_coupon → start_checkout fell from 61.0% to 42.5% since last week.",
                "rate_pct": "42.5",
                "previous_rate_pct": "61.0",
                "change_points": "-18.5",
                "people_lost": 37,
                "reason": "decline",
            }
        },
    )
    return "2025-W47"


def test_the_review_page_shows_the_weeks_kpis_friction_entries_and_gaps(client, analyst, review_week):
    client.force_login(analyst)

    response = client.get(reverse("review-week", args=[review_week]))

    page = response.context["page"]
    html = response.content.decode()
    assert response.status_code == 200
    assert [(row.kpi.name, row.value, row.on_target) for row in page.kpis] == [("Weekly orders", 5, True)]
    assert page.friction.step == "select_coupon → start_checkout"
    assert [(row.owner.username, row.entry is not None) for row in page.owners] == [("rob", False), ("sue", True)]
    assert "Not logged yet" in html
    assert "Pre-select the best coupon" in html


def test_last_weeks_changes_show_the_kpi_in_the_week_before_and_the_week_after(client, analyst, review_week):
    client.force_login(analyst)

    page = client.get(reverse("review-week", args=[review_week])).context["page"]

    [row] = page.last_week_changes
    assert (row.entry.change, row.movement.before, row.movement.after, row.movement.better) == (
        "Move all poster QR codes to eye level",
        2,
        5,
        True,
    )


def test_a_fall_in_a_lower_is_better_kpi_counts_as_better(client, analyst, review_week, orders_kpi):
    orders_kpi.direction = KPI.Direction.DOWN
    orders_kpi.save()
    client.force_login(analyst)

    page = client.get(reverse("review-week", args=[review_week])).context["page"]

    assert page.last_week_changes[0].movement.better is False


def test_past_weeks_link_to_the_week_before_and_after(client, analyst, review_week):
    client.force_login(analyst)

    html = client.get(reverse("review-week", args=["2025-W46"])).content.decode()

    assert f'href="{reverse("review-week", args=["2025-W45"])}"' in html
    assert f'href="{reverse("review-week", args=["2025-W47"])}"' in html


def test_review_without_a_week_is_this_week_and_offers_no_next_week(client, review_owner):
    client.force_login(review_owner)

    with time_machine.travel(datetime(2025, 11, 21, 4, 0, tzinfo=UTC)):
        response = client.get(reverse("review"))

    assert str(response.context["page"].week) == "2025-W47"
    assert response.context["page"].next_week is None
    assert response.context["can_add"] is True


def test_a_week_that_does_not_exist_is_a_404(client, analyst):
    client.force_login(analyst)

    assert client.get("/review/2025-W53/").status_code == 404
    assert client.get("/review/last-week/").status_code == 404


def test_the_review_page_needs_a_staff_login_and_the_review_role(client, marketer):
    anonymous = client.get(reverse("review"))
    client.force_login(marketer)
    forbidden = client.get(reverse("review"))

    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert forbidden.status_code == 403


def test_the_review_page_runs_a_fixed_number_of_queries(client, analyst, review_week, django_assert_max_num_queries):
    client.force_login(analyst)

    # session + user + perms, entries, owners, KPIs, 2 KPI weeks × 1 KPI, snapshots.
    with django_assert_max_num_queries(14):
        client.get(reverse("review-week", args=[review_week]))


def test_demo_reviews_are_deterministic_and_idempotent(orders_kpi):
    now = datetime(2025, 11, 21, 4, 0, tzinfo=UTC)

    created = seed_reviews(weeks=3, now=now)
    again = seed_reviews(weeks=3, now=now)

    entries = ReviewEntry.objects.order_by("week", "owner__username")
    assert (created, again) == (3 * 4 - 1, 0)
    assert entries.filter(week="2025-W47").count() == 2  # one owner left as a visible gap
    zhang_w46 = entries.get(owner__username="zhang.min", week="2025-W46")
    assert (zhang_w46.change_status, zhang_w46.kpi) == ("dropped", orders_kpi)
    assert zhang_w46.insight.startswith("Coupon selection")


@pytest.mark.browser
def test_a_screenshot_of_the_review_page_is_kept_in_artifacts(client, analyst, review_week, tmp_path):
    """The page as the server renders it for a logged-in analyst (test client, real view and
    template), saved to a file and photographed by headless Chromium. The page has inline
    styles and no scripts or external assets, so the file renders as the served page does.
    Logging Chromium itself in would need a test-only login URL in the app, which we refuse."""
    skip_without_chromium()
    client.force_login(analyst)
    html = client.get(reverse("review-week", args=[review_week])).content
    page = tmp_path / "review.html"
    page.write_bytes(html)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "review.png"
    shot.unlink(missing_ok=True)

    chromium(page.as_uri(), profile=tmp_path / "profile", screenshot=shot, window="1280,1800")

    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 1800)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank canvas


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("conversion_rate", "0.8234", "82.3 %"),
        ("value_sum", "12345.5", "¥12,345.50"),
        ("median_time", "14400", "4 h 00 min"),
        ("median_time", "1500", "25 min"),
        ("event_count", "1200", "1,200"),
        ("event_count", None, "—"),
    ],
)
def test_kpi_values_are_shown_the_way_people_read_them(kind, value, shown):
    kpi = KPI(name="k", metric_kind=kind, event_name="a", target=1)

    assert format_kpi_value(kpi, None if value is None else Decimal(value)) == shown


def test_the_admin_detail_page_shows_the_kpi_before_and_after_the_change_week(client, review_owner, review_week):
    entry = ReviewEntry.objects.get(owner=review_owner, week="2025-W46")
    client.force_login(review_owner)

    html = client.get(reverse("admin:reports_reviewentry_change", args=[entry.pk])).content.decode()

    assert "Weekly orders: 2 (2025-W45) → 5 (2025-W47)" in html


def test_the_review_page_in_chinese_shows_chinese_names_family_name_first(client, analyst, make_user, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    make_user("wang.fang", "Review owner", first_name="芳", last_name="王")
    client.force_login(analyst)

    page = client.get(reverse("review-week", args=["2025-W47"])).content.decode()

    assert "周五复盘 · 2025-W47" in page
    assert "11月17日 – 2025年11月23日" in page  # Monday – Sunday, Chinese dates
    assert "王芳" in page and "芳 王" not in page
    assert 'name="language" value="en"' in page  # the language switch
