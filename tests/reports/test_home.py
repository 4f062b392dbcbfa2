"""The admin index is the home page: KPIs against target, the friction point, links, the latest
snapshots and what needs attention — read from snapshots and a few bounded counts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Placement
from campaigns.services import placement_create
from events.models import RejectedRow
from reports import home
from reports.models import Snapshot
from tests.reports.snapshot_data import KPI_SECTION, built, orders_kpi

pytestmark = pytest.mark.postgres


def _rejected(status=RejectedRow.Status.OPEN) -> RejectedRow:
    return RejectedRow.objects.create(
        channel="api", raw="{}", errors={"ts": "missing"}, status=status, received_at=timezone.now()
    )


def test_slash_and_view_site_lead_to_the_dashboard(client, analyst):
    client.force_login(analyst)

    assert client.get("/")["Location"] == "/dashboard/"
    html = client.get("/admin/").content.decode()
    assert 'href="/dashboard/">View site' in html


def test_the_home_shows_this_weeks_kpis_the_friction_point_links_and_latest_snapshots(
    client, analyst, django_assert_max_num_queries
):
    orders_kpi()
    week = built(
        "weekly",
        "2025-W46",
        data={"friction": {"step": "add_to_cart → pay_success", "sentence": "Fix first: the pay page."}},
    )
    # Yesterday's daily snapshot holds the weekly KPI to that day: it wins over last week's.
    day = built("daily", "2025-11-19", data={"sections": [KPI_SECTION]})
    client.force_login(analyst)

    with django_assert_max_num_queries(16):  # snapshots and bounded counts only: no metric query
        html = client.get("/admin/").content.decode()

    assert "Weekly orders" in html and "target 20" in html and "behind" in html and "2025-W46" in html
    assert "as of 2025-11-19" in html
    assert "add_to_cart → pay_success" in html and "Fix first: the pay page." in html
    for url in (reverse("dashboard"), reverse("review"), reverse("admin:reports_snapshot_changelist")):
        assert f'href="{url}"' in html
    for snapshot in (week, day):
        assert reverse("admin:reports_snapshot_change", args=[snapshot.pk]) in html
    assert 'id="content-main"' in html  # the usual app list follows the home blocks


def test_the_home_query_count_does_not_grow_with_snapshots_placements_or_rejected_rows(
    analyst, campaign, django_assert_num_queries
):
    for day in range(1, 29):
        built("daily", f"2025-11-{day:02d}", stale=day % 2 == 0)
    for n in range(5):
        placement_create(Placement(campaign=campaign, name=f"Poster {n}"))
        _rejected()

    with django_assert_num_queries(9):
        page = home.home_page()

    assert len(page.latest) == home.LATEST_SNAPSHOTS


def test_what_needs_attention_counts_stale_failed_expiring_refused_and_open_rejected_rows(db, campaign):
    now = timezone.now()
    built("weekly", "2025-W45", stale=True)
    built("weekly", "2025-W46", stale=True)
    Snapshot.objects.create(
        kind="daily",
        period_start=now - timedelta(days=2),
        period_end=now - timedelta(days=1),
        period_label="2025-11-01",
        status=Snapshot.Status.FAILED,
        error="boom",
    )
    soon = placement_create(Placement(campaign=campaign, name="Booth"))
    later = placement_create(Placement(campaign=campaign, name="Poster"))
    refused = placement_create(Placement(campaign=campaign, name="Article"))
    Placement.objects.filter(pk=soon.pk).update(qr_expires_at=now + timedelta(days=3))  # within 7 days
    Placement.objects.filter(pk=later.pk).update(qr_expires_at=now + timedelta(days=20))  # not yet
    Placement.objects.filter(pk=refused.pk).update(qr_error="40001 invalid credential")
    _rejected(), _rejected(), _rejected(RejectedRow.Status.REPLAYED)

    items = {item.text: item.url for item in home.attention_items()}

    assert items == {
        "2 snapshots are stale: events arrived for their periods after they were built.": (
            "/admin/reports/snapshot/?stale__exact=1"
        ),
        "1 snapshot build failed.": "/admin/reports/snapshot/?status__exact=failed",
        "1 WeChat code expires within a week.": "/admin/campaigns/placement/?qr_expiry=soon",
        "WeChat refused 1 code.": "/admin/campaigns/placement/?qr_expiry=refused",
        "2 rejected rows are open: fix and replay them, or dismiss them.": (
            "/admin/events/rejectedrow/?status__exact=open"
        ),
    }


def test_open_rejected_rows_are_counted_only_up_to_a_limit(db, monkeypatch):
    monkeypatch.setattr(home, "REJECTED_COUNT_LIMIT", 2)
    _rejected(), _rejected(), _rejected()

    texts = [item.text for item in home.attention_items()]

    assert texts == ["2+ rejected rows are open: fix and replay them, or dismiss them."]


def test_each_attention_link_opens_the_filtered_list_where_it_is_fixed(client, admin_user, campaign):
    built("weekly", "2025-W46", stale=True)
    soon = placement_create(Placement(campaign=campaign, name="Booth"))
    Placement.objects.filter(pk=soon.pk).update(qr_expires_at=timezone.now() + timedelta(days=1))
    client.force_login(admin_user)

    for item in home.attention_items():
        response = client.get(item.url)
        assert response.status_code == 200, item.url
        assert "?e=1" not in response.get("Location", "")  # admin's sign of an unknown filter


def test_an_empty_home_says_what_to_do_next_with_links(client, admin_user):
    client.force_login(admin_user)

    html = client.get("/admin/").content.decode()

    assert "No KPI is defined yet" in html and reverse("admin:campaigns_kpi_add") in html
    assert "No snapshot yet" in html and reverse("admin:reports_snapshot_build") in html
    assert "No campaign yet" in html and reverse("admin:campaigns_campaign_add") in html
    assert "Nothing needs attention" in html


def test_with_kpis_but_no_snapshot_the_home_asks_for_a_build_not_a_kpi(client, admin_user):
    orders_kpi()
    client.force_login(admin_user)

    html = client.get("/admin/").content.decode()

    assert "No KPI is defined yet" not in html
    assert "No snapshot holds the KPIs yet" in html


def test_the_review_link_is_shown_only_to_those_who_may_open_the_review(client, marketer, analyst):
    client.force_login(marketer)
    marketer_home = client.get("/admin/").content.decode()
    client.force_login(analyst)
    analyst_home = client.get("/admin/").content.decode()

    assert f'href="{reverse("review")}"' not in marketer_home
    assert f'href="{reverse("review")}"' in analyst_home


def test_a_user_who_may_not_read_reports_gets_the_plain_index(client, make_user):
    client.force_login(make_user("nogroup"))

    html = client.get("/admin/").content.decode()

    assert 'id="home"' not in html and "Needs attention" not in html
