"""R6: the three groups and what each may read and change, in admin and API."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from campaigns.models import KPI
from wxanalytics import roles

pytestmark = pytest.mark.django_db


def _codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_migrations_create_the_three_groups_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Marketer", "Analyst", "Review owner"}
    assert "campaigns.add_placement" in _codenames("Marketer")
    assert "campaigns.add_kpi" in _codenames("Analyst")
    assert "campaigns.view_kpi" in _codenames("Review owner")


def test_every_mapped_permission_that_exists_is_held():
    for group_name, labels in roles.ROLE_PERMISSIONS.items():
        existing = {
            label
            for label in labels
            if Permission.objects.filter(
                content_type__app_label=label.split(".")[0], codename=label.split(".")[1]
            ).exists()
        }
        assert _codenames(group_name) == existing


def test_sync_skips_codenames_of_models_that_do_not_exist_yet(monkeypatch):
    monkeypatch.setitem(
        roles.ROLE_PERMISSIONS,
        roles.MARKETER,
        ["campaigns.view_campaign", "futureapp.view_thing", "events.view_nothing"],
    )

    held = roles.sync_role_groups()

    assert held[roles.MARKETER] == 1
    assert _codenames("Marketer") == {"campaigns.view_campaign"}


def test_sync_removes_permissions_added_by_hand():
    group = Group.objects.get(name="Review owner")
    group.permissions.add(Permission.objects.get(codename="delete_campaign"))

    roles.sync_role_groups()

    assert "campaigns.delete_campaign" not in _codenames("Review owner")


def test_sync_recreates_a_deleted_group():
    Group.objects.filter(name="Analyst").delete()

    roles.sync_role_groups()

    assert "campaigns.change_kpi" in _codenames("Analyst")


# --- admin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url_name", "status"),
    [
        ("marketer", "admin:campaigns_campaign_add", 200),
        ("marketer", "admin:campaigns_placement_bulk_upload", 200),
        ("marketer", "admin:campaigns_kpi_changelist", 200),
        ("marketer", "admin:campaigns_kpi_add", 403),
        ("marketer", "admin:campaigns_wechatapp_add", 403),
        ("analyst", "admin:campaigns_kpi_add", 200),
        ("analyst", "admin:campaigns_wechatapp_add", 200),
        ("analyst", "admin:campaigns_eventdefinition_add", 200),
        ("analyst", "admin:campaigns_campaign_changelist", 200),
        ("analyst", "admin:campaigns_campaign_add", 403),
        ("analyst", "admin:campaigns_placement_bulk_upload", 403),
        ("review_owner", "admin:campaigns_kpi_changelist", 200),
        ("review_owner", "admin:campaigns_campaign_changelist", 403),
        ("review_owner", "admin:campaigns_kpi_add", 403),
    ],
)
def test_admin_pages_follow_the_groups(request, client, role, url_name, status):
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse(url_name))

    assert response.status_code == status


def test_a_marketer_sees_a_kpi_read_only(client, marketer):
    kpi = KPI.objects.create(name="Leads", metric_kind="event_count", event_name="lead_form_submit", target=1)
    client.force_login(marketer)

    response = client.get(reverse("admin:campaigns_kpi_change", args=[kpi.pk]))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False


# --- API --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        ("marketer", "get", "/api/v1/campaigns/", 200),
        ("marketer", "post", "/api/v1/campaigns/", 201),
        ("marketer", "get", "/api/v1/kpis/", 200),
        ("marketer", "post", "/api/v1/kpis/", 403),
        ("marketer", "post", "/api/v1/event-definitions/", 403),
        ("analyst", "get", "/api/v1/campaigns/", 200),
        ("analyst", "post", "/api/v1/campaigns/", 403),
        ("analyst", "post", "/api/v1/kpis/", 201),
        ("analyst", "post", "/api/v1/event-definitions/", 201),
        ("analyst", "get", "/api/v1/funnel-stages/", 200),
        ("review_owner", "get", "/api/v1/kpis/", 200),
        ("review_owner", "get", "/api/v1/campaigns/", 403),
        ("review_owner", "get", "/api/v1/placements/", 403),
        ("review_owner", "post", "/api/v1/kpis/", 403),
    ],
)
def test_api_access_follows_the_groups(request, api_client_for, role, method, path, status):
    bodies = {
        "/api/v1/campaigns/": {"code": "NEW-1", "name": "New"},
        "/api/v1/kpis/": {"name": "K", "metric_kind": "event_count", "event_name": "follow", "target": "1"},
        "/api/v1/event-definitions/": {"name": "coupon_view", "category": "key_action"},
    }
    client = api_client_for(request.getfixturevalue(role))

    response = getattr(client, method)(path, bodies.get(path), format="json")

    assert response.status_code == status


def test_anonymous_api_calls_are_refused(client):
    response = client.get("/api/v1/campaigns/")

    assert response.status_code in {401, 403}


def test_token_auth_works_for_scripts(client, marketer):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=marketer)

    response = client.get("/api/v1/placements/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200


def test_a_review_owner_cannot_download_qr_codes(api_client_for, review_owner, make_placement):
    placement = make_placement()

    response = api_client_for(review_owner).get(f"/api/v1/placements/{placement.pk}/qr.png")

    assert response.status_code == 403


# --- role labels in admin: stored names are identifiers, people see their language ------


@pytest.fixture
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"


def test_the_groups_list_shows_each_role_in_chinese_with_what_it_may_do(admin_client, chinese):
    page = admin_client.get(reverse("admin:auth_group_changelist")).content.decode()

    assert "营销人员" in page and "分析师" in page and "复盘负责人" in page
    assert "每周五记录一条洞察和一项改进" in page


def test_a_role_group_page_shows_the_chinese_role_and_its_description_and_keeps_the_name(admin_client, chinese):
    group = Group.objects.get(name=roles.MARKETER)

    page = admin_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()

    assert "营销人员" in page
    assert "创建活动、投放位和创意及其二维码和短链接" in page
    # The name is what code looks the group up by: shown, not editable.
    assert 'name="name"' not in page


def test_the_group_picker_and_filter_of_the_user_pages_show_chinese_roles(admin_client, chinese, analyst):
    analyst_group = Group.objects.get(name=roles.ANALYST)

    edit = admin_client.get(reverse("admin:auth_user_change", args=[analyst.pk])).content.decode()
    listing = admin_client.get(reverse("admin:auth_user_changelist")).content.decode()

    assert f'<option value="{analyst_group.pk}" selected>分析师</option>' in edit
    assert ">营销人员</option>" in edit and ">复盘负责人</option>" in edit
    assert f'href="?groups__id__exact={analyst_group.pk}"' in listing
    assert "分析师</a>" in listing


def test_in_english_the_roles_keep_their_english_names(admin_client):
    page = admin_client.get(reverse("admin:auth_group_changelist")).content.decode()

    assert "Marketer" in page and "Review owner" in page
    assert "营销人员" not in page


def test_a_group_of_our_own_is_shown_and_edited_by_its_name(admin_client, chinese):
    group = Group.objects.create(name="Agency")

    page = admin_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()

    assert roles.role_label("Agency") == "Agency"
    assert 'name="name"' in page and 'value="Agency"' in page
