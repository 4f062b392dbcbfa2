import re

import pytest
from django.urls import reverse

from reports.models import Snapshot
from reports.snapshots.charts import bar_chart, funnel_chart, line_chart, section_chart
from tests.browser import ARTIFACTS, chromium, logged_in_proxy, skip_without_chromium
from tests.reports.snapshot_data import built

FUNNEL = {
    "key": "funnel",
    "title": "Funnel",
    "columns": ["Step", "People"],
    "rows": [["qr_scan", 100], ["add_to_cart", 40], ["pay_success", 30]],
    "chart": {"type": "funnel", "x": 0, "y": [1]},
    "flagged": [1],
    "note": "",
}
KPIS = {
    "key": "kpis",
    "title": "KPIs vs target",
    "columns": ["KPI", "Value", "Target", "Previous", "Change %", "Status", "Unit", "Period"],
    "rows": [["Weekly orders", "12", "20", "10", "20.0", "behind", "events", "2025-W46"]],
    "chart": None,
    "flagged": [0],
    "note": "",
}

ENGAGEMENT = {
    "key": "engagement",
    "title": "Engagement: session depth",
    "columns": ["Source", "Campaign", "Sessions", "Page views", "People", "Pages per session"],
    "rows": [["All sources", "All campaigns", 4, 12, 3, "3.00"]],
    "chart": None,
    "flagged": [],
    "note": "3 page views carried no session id and are not in any session.",
}


# --- charts --------------------------------------------------------------------------


def test_a_line_chart_draws_one_polyline_per_series_and_breaks_at_gaps():
    svg = line_chart(["W1", "W2", "W3", "W4"], [("Orders", [1, 2, None, 4]), ("Leads", [3, 3, 3, 3])], title="Trend")

    assert svg.startswith("<svg") and 'data-chart="line"' in svg
    assert svg.count("<polyline") == 2  # Orders: [1,2] as a line, [4] as a dot; Leads: one line
    assert svg.count("<circle") == 1
    assert "<title>Trend</title>" in svg


def test_a_bar_chart_has_one_bar_per_label_and_escapes_labels():
    svg = bar_chart(["<script>alert(1)</script>", "Poster"], [5, 10])

    assert svg.count('class="bar"') == 2
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_funnel_chart_marks_the_worst_step_in_red():
    svg = funnel_chart([("scan", 100), ("cart", 40), ("pay", 30)])

    steps = re.findall(r'<rect class="step"[^>]*fill="([^"]+)"', svg)
    assert steps == ["#2563eb", "#dc2626", "#2563eb"]  # cart keeps 40 % of scans, pay 75 % of carts
    assert "40.0% of previous" in svg


def test_a_section_asks_for_its_chart_and_a_table_without_a_hint_gets_none():
    assert 'data-chart="funnel"' in section_chart(FUNNEL)
    assert section_chart(KPIS) is None
    assert section_chart({**FUNNEL, "rows": []}) is None


# --- dashboard -----------------------------------------------------------------------


@pytest.fixture
def board_snapshots(db):
    weeks = [
        built(
            "weekly",
            label,
            data={
                "title": label,
                "headline": {"entered": 100 + i, "converted": 10 + i, "orders": 5 + i},
                "friction": {"step": "add_to_cart → pay_success", "sentence": "Fix first: check the pay page."},
                "sections": [KPIS, FUNNEL, ENGAGEMENT],
            },
        )
        for i, label in enumerate(["2025-W44", "2025-W45", "2025-W46"])
    ]
    daily = built(
        "daily",
        "2025-11-16",
        data={
            "title": "Daily",
            "flags": ["Spend is 45% above the 7-day average."],
            "good_news": ["Good news: Unfollows is 60.0% below its 7-day average (1 vs 2.5)."],
            "sections": [
                {
                    **KPIS,
                    "key": "health",
                    "title": "Health check",
                    "columns": ["Metric"],
                    "rows": [["Spend"], ["Unfollows"]],
                    "flagged": [0],
                    "good": [1],
                }
            ],
        },
    )
    monthly = built(
        "monthly",
        "2025-10",
        data={
            "sections": [
                {
                    **KPIS,
                    "key": "signals",
                    "title": "Scale or stop",
                    "columns": ["Campaign", "Signal"],
                    "rows": [["C1", "scale"]],
                }
            ]
        },
    )
    return weeks, daily, monthly


def test_the_dashboard_needs_a_staff_login(client, db):
    response = client.get("/dashboard/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_staff_user_without_the_report_viewing_permission_gets_403_on_the_dashboard(client, make_user):
    client.force_login(make_user("nogroup"))

    response = client.get("/dashboard/")

    assert response.status_code == 403
    assert b"revenue" not in response.content.lower()


@pytest.mark.parametrize("group", ["Marketer", "Analyst", "Review owner"])
def test_every_role_that_views_reports_opens_the_dashboard(client, make_user, group):
    client.force_login(make_user("viewer", group))

    assert client.get("/dashboard/").status_code == 200


def test_the_dashboard_shows_kpis_health_friction_trends_funnel_and_links(
    client, analyst, board_snapshots, django_assert_max_num_queries
):
    weeks, daily, monthly = board_snapshots
    client.force_login(analyst)

    with django_assert_max_num_queries(12):  # snapshots only: no metric query runs
        html = client.get("/dashboard/").content.decode()

    assert "Weekly orders" in html and "target 20" in html and "behind" in html
    assert "Spend is 45% above the 7-day average." in html
    # good news apart from the alerts, and its row green rather than orange
    assert '<ul class="wxa-good-news"><li>Good news: Unfollows is 60.0% below' in html
    assert '<tr class="wxa-good"><td>Unfollows</td>' in html and '<tr class="wxa-flagged"><td>Spend</td>' in html
    assert "Fix first: check the pay page." in html
    assert 'data-chart="funnel"' in html and 'data-chart="line"' in html
    assert "C1" in html and "scale" in html
    assert "Engagement" in html and "All campaigns" in html and "3.00" in html
    assert "3 page views carried no session id" in html
    for snapshot in (weeks[-1], daily, monthly):
        assert reverse("admin:reports_snapshot_change", args=[snapshot.pk]) in html


def test_an_empty_dashboard_says_what_is_missing(client, analyst):
    client.force_login(analyst)

    html = client.get("/dashboard/").content.decode()

    assert "No daily snapshot yet." in html and "Trends appear once weekly snapshots are built." in html
    assert "No weekly snapshot with engagement yet" in html


# --- snapshot admin ------------------------------------------------------------------


def test_the_snapshot_page_shows_tables_and_charts_not_raw_json(client, analyst, board_snapshots):
    week = board_snapshots[0][-1]
    client.force_login(analyst)

    html = client.get(reverse("admin:reports_snapshot_change", args=[week.pk])).content.decode()

    assert "<table" in html and "Weekly orders" in html and 'data-chart="funnel"' in html
    assert '"sections"' not in html and "&quot;rows&quot;" not in html
    assert reverse("snapshot-section-csv", args=[week.pk, "kpis"]) in html
    assert "Friction point: add_to_cart → pay_success" in html


def test_the_snapshot_list_filters_by_kind_status_and_stale(client, analyst, board_snapshots):
    Snapshot.objects.filter(period_label="2025-W45").update(stale=True)
    client.force_login(analyst)

    html = client.get(reverse("admin:reports_snapshot_changelist"), {"stale__exact": "1"}).content.decode()

    assert "2025-W45" in html and "2025-W46" not in html


def test_a_section_downloads_as_csv_for_analysts_only(client, analyst, marketer, board_snapshots):
    week = board_snapshots[0][-1]
    url = reverse("snapshot-section-csv", args=[week.pk, "kpis"])

    client.force_login(marketer)
    refused = client.get(url)
    client.force_login(analyst)
    response = client.get(url)

    assert refused.status_code == 403
    assert response["Content-Type"].startswith("text/csv")
    assert (
        response.content.decode("utf-8-sig").splitlines()[0] == "KPI,Value,Target,Previous,Change %,Status,Unit,Period"
    )
    assert client.get(reverse("snapshot-section-csv", args=[week.pk, "nope"])).status_code == 404


def test_the_rebuild_action_queues_one_build_per_snapshot_after_commit(
    client, analyst, board_snapshots, django_capture_on_commit_callbacks
):
    weeks = board_snapshots[0]
    client.force_login(analyst)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("admin:reports_snapshot_changelist"),
            {"action": "rebuild_selected", "_selected_action": [w.pk for w in weeks]},
        )

    assert response.status_code == 302
    assert len(callbacks) == 3


def test_the_build_form_queues_a_range_and_refuses_an_open_period(
    client, analyst, db, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    url = reverse("admin:reports_snapshot_build")

    with django_capture_on_commit_callbacks() as callbacks:
        ok = client.post(url, {"kind": "daily", "first": "2025-11-01", "last": "2025-11-07"})
    refused = client.post(url, {"kind": "monthly", "first": "2999-01"})

    assert ok.status_code == 302 and len(callbacks) == 7
    assert refused.status_code == 200 and "Only closed periods" in refused.content.decode()


def test_a_marketer_cannot_use_the_build_form(client, marketer):
    client.force_login(marketer)

    assert client.get(reverse("admin:reports_snapshot_build")).status_code == 403


# --- in a real browser ---------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_the_dashboard_and_a_snapshot_page_render_their_charts_in_headless_chromium(
    live_server, transactional_db, django_user_model, tmp_path
):
    from django.test import Client

    skip_without_chromium()
    week = built(
        "weekly",
        "2025-W46",
        data={
            "title": "Weekly review 2025-W46",
            "headline": {"entered": 100, "converted": 12, "orders": 12},
            "friction": {"step": "add_to_cart → pay_success", "sentence": "Fix first: check the pay page."},
            "sections": [KPIS, FUNNEL],
        },
    )
    built("weekly", "2025-W45", data={"headline": {"entered": 90, "converted": 10, "orders": 10}, "sections": [FUNNEL]})
    admin = django_user_model.objects.create_superuser("browser", "browser@example.com", "pw-browser")
    login = Client()
    login.force_login(admin)
    proxy = logged_in_proxy(live_server.url, login.cookies["sessionid"].value)
    base = f"http://127.0.0.1:{proxy.server_address[1]}"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        dashboard_dom = chromium(f"{base}/dashboard/", profile=tmp_path / "profile", budget_ms=3000)
        detail_url = f"{base}{reverse('admin:reports_snapshot_change', args=[week.pk])}"
        detail_dom = chromium(detail_url, profile=tmp_path / "profile", budget_ms=3000)
        chromium(
            f"{base}/dashboard/", profile=tmp_path / "profile", screenshot=ARTIFACTS / "dashboard.png", budget_ms=3000
        )
        chromium(detail_url, profile=tmp_path / "profile", screenshot=ARTIFACTS / "snapshot-weekly.png", budget_ms=3000)
    finally:
        proxy.shutdown()

    assert 'data-chart="line"' in dashboard_dom and 'data-chart="funnel"' in dashboard_dom
    assert "<polyline" in dashboard_dom and 'class="step"' in dashboard_dom
    assert "Fix first: check the pay page." in dashboard_dom
    assert 'data-chart="funnel"' in detail_dom and "Weekly orders" in detail_dom
    for name in ("dashboard.png", "snapshot-weekly.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000  # a real rendering, not a blank page
