"""Where nothing exists yet, each page says what to do next and links to it."""

import pytest
from django.urls import reverse

from tests.reports.snapshot_data import built

pytestmark = pytest.mark.postgres


def test_an_empty_dashboard_links_to_building_a_snapshot_and_creating_a_campaign(client, admin_user):
    client.force_login(admin_user)

    html = client.get(reverse("dashboard")).content.decode()

    assert 'id="dashboard-empty"' in html
    assert reverse("admin:reports_snapshot_build") in html and reverse("admin:campaigns_campaign_add") in html
    assert reverse("admin:campaigns_kpi_add") in html


def test_a_dashboard_with_a_snapshot_drops_the_empty_callout(client, admin_user):
    built("weekly", "2025-W46")
    client.force_login(admin_user)

    html = client.get(reverse("dashboard")).content.decode()

    assert 'id="dashboard-empty"' not in html


def test_an_empty_snapshot_list_says_how_snapshots_are_built_with_a_link(client, admin_user):
    client.force_login(admin_user)

    html = client.get(reverse("admin:reports_snapshot_changelist")).content.decode()

    assert "No snapshot yet." in html and reverse("admin:reports_snapshot_build") in html


def test_a_filtered_snapshot_list_with_no_match_is_not_called_empty(client, admin_user):
    built("weekly", "2025-W46")
    client.force_login(admin_user)

    html = client.get(reverse("admin:reports_snapshot_changelist"), {"kind__exact": "daily"}).content.decode()

    assert 'id="snapshots-empty"' not in html


def test_an_empty_review_links_to_adding_a_kpi_and_building_a_snapshot(client, make_user):
    from django.contrib.auth.models import Permission

    owner = make_user("rita", "Review owner")
    owner.user_permissions.add(
        Permission.objects.get(codename="add_kpi"), Permission.objects.get(codename="add_snapshot")
    )
    client.force_login(owner)

    html = client.get(reverse("review")).content.decode()

    assert "No active KPI yet" in html and reverse("admin:campaigns_kpi_add") in html
    assert "names a friction point yet" in html and reverse("admin:reports_snapshot_build") in html
