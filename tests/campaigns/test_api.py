"""The define API: pagination, filters, search, placement create/update, query counts."""

import pytest

from campaigns.models import Campaign, Creative, IssuedScene, Placement

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer_api(api_client_for, marketer):
    return api_client_for(marketer)


def test_lists_are_paginated_fifty_a_page(marketer_api):
    Campaign.objects.bulk_create([Campaign(code=f"C-{n}", name=f"Campaign {n}") for n in range(51)])

    first = marketer_api.get("/api/v1/campaigns/").json()
    last = marketer_api.get("/api/v1/campaigns/?page=2").json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["next"].endswith("page=2")
    assert len(last["results"]) == 1


def test_campaigns_filter_by_status_and_search_by_name(marketer_api):
    Campaign.objects.create(code="A-1", name="Spring fair", status="active")
    Campaign.objects.create(code="A-2", name="Summer sale", status="draft")
    Campaign.objects.create(code="A-3", name="Autumn sale", status="active")

    active = marketer_api.get("/api/v1/campaigns/?status=active").json()["results"]
    sales = marketer_api.get("/api/v1/campaigns/?search=sale").json()["results"]

    assert {c["code"] for c in active} == {"A-1", "A-3"}
    assert {c["code"] for c in sales} == {"A-2", "A-3"}


def test_placements_filter_by_campaign_code_and_kind(marketer_api, make_placement):
    other = Campaign.objects.create(code="OTHER", name="Other")
    make_placement("Counter", kind="store_counter")
    make_placement("Poster")
    make_placement("Elsewhere", campaign=other)

    response = marketer_api.get("/api/v1/placements/?campaign__code=23Q4-Sale&kind=store_counter").json()

    assert [p["name"] for p in response["results"]] == ["Counter"]


def test_event_definitions_filter_by_stage_name_from_the_default_plan(marketer_api):
    response = marketer_api.get("/api/v1/event-definitions/?stage__name=Discovery").json()

    assert {"qr_scan", "ad_click", "search_exposure", "profile_view"} <= {e["name"] for e in response["results"]}


def test_creating_a_placement_issues_its_scene_and_links(marketer_api, campaign, settings):
    settings.PUBLIC_BASE_URL = "https://wx.example.com"

    response = marketer_api.post(
        "/api/v1/placements/",
        {"campaign": campaign.pk, "name": "Store 9", "kind": "store_counter", "scene": "hijack"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scene"] != "hijack"
    assert IssuedScene.objects.filter(value=body["scene"]).exists()
    assert body["short_link_url"] == f"https://wx.example.com/r/{body['scene']}"
    assert body["qr_png_url"].endswith(f"/api/v1/placements/{body['id']}/qr.png")


def test_a_duplicate_placement_name_in_one_campaign_is_a_400(marketer_api, campaign, make_placement):
    make_placement("Store 9")

    response = marketer_api.post("/api/v1/placements/", {"campaign": campaign.pk, "name": "Store 9"}, format="json")

    assert response.status_code == 400


def test_an_official_account_code_needs_an_official_account_app(marketer_api, campaign):
    from campaigns.models import WeChatApp

    mini = WeChatApp.objects.create(appid="wxmini", kind=WeChatApp.Kind.MINI_PROGRAM)

    response = marketer_api.post(
        "/api/v1/placements/",
        {"campaign": campaign.pk, "name": "P", "qr_kind": "oa_temporary", "wechat_app": mini.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "Official Account app" in response.json()["wechat_app"][0]


def test_updating_a_placement_keeps_its_scene(marketer_api, make_placement):
    placement = make_placement("Poster")

    response = marketer_api.patch(f"/api/v1/placements/{placement.pk}/", {"utm_content": "door"}, format="json")

    assert response.status_code == 200
    placement.refresh_from_db()
    assert placement.utm_content == "door"
    assert response.json()["scene"] == placement.scene


def test_api_changes_land_in_the_admin_history(marketer_api, campaign):
    from django.contrib.admin.models import LogEntry

    marketer_api.post("/api/v1/placements/", {"campaign": campaign.pk, "name": "Logged"}, format="json")

    assert LogEntry.objects.filter(object_repr__contains="Logged").exists()


def test_creatives_filter_by_lander_type(marketer_api, campaign):
    Creative.objects.create(campaign=campaign, name="Video", lander_type="mini_program")
    Creative.objects.create(campaign=campaign, name="Story", lander_type="article")

    response = marketer_api.get("/api/v1/creatives/?lander_type=article").json()

    assert [c["name"] for c in response["results"]] == ["Story"]


def test_the_schema_generates(client, marketer):
    client.force_login(marketer)

    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/placements/bulk" in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/campaigns/",
        "/api/v1/placements/",
        "/api/v1/creatives/",
        "/api/v1/funnel-stages/",
        "/api/v1/event-definitions/",
        "/api/v1/kpis/",
    ],
)
def test_list_endpoints_use_a_fixed_number_of_queries(marketer_api, campaign, django_assert_max_num_queries, path):
    from campaigns.models import KPI

    for n in range(30):
        Placement.objects.create(campaign=campaign, name=f"P{n}", scene=f"t{n}")
        Creative.objects.create(campaign=campaign, name=f"C{n}", lander_type="h5")
    KPI.objects.create(name="K", metric_kind="event_count", event_name="follow", target=1)

    # session/user + permissions + count + page (+ one prefetch for funnel stages)
    with django_assert_max_num_queries(6):
        response = marketer_api.get(path)

    assert response.status_code == 200


def test_a_created_campaign_answers_with_its_placement_count(marketer_api):
    response = marketer_api.post("/api/v1/campaigns/", {"code": "NEW-1", "name": "New"}, format="json")

    assert response.status_code == 201
    assert response.json()["placement_count"] == 0


def test_an_event_outside_the_funnel_has_no_stage_name(marketer_api):
    response = marketer_api.get("/api/v1/event-definitions/?search=api_error").json()

    assert response["results"][0]["stage_name"] is None
