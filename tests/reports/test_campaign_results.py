"""A campaign's placement results: the admin page linked from the campaign and the API."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Placement
from tests.reports.metrics_data import at, event, save


@pytest.fixture
def results(db, marketer):
    c = Campaign.objects.create(code="C1", name="one", owner=marketer)
    other = Campaign.objects.create(code="C2", name="two")
    poster = Placement.objects.create(campaign=c, name="poster", scene="s1")
    Placement.objects.create(campaign=c, name="window", scene="s2")
    booth = Placement.objects.create(campaign=other, name="booth", scene="s3")
    save(
        # A opens the Mini Program from the poster's code and pays 80 (the poster's);
        # B hits C2's booth link and pays 20 (the booth's, not C1's).
        event("app_launch", "a", at("2025-11-10", "10:00"), placement=poster, properties={"wechat_scene": 1048}),
        event("pay_success", "a", at("2025-11-10", "10:20"), value="80"),
        event("qr_scan", "b", at("2025-11-11"), placement=booth, properties={"via": "short_link"}),
        event("pay_success", "b", at("2025-11-11", "13:00"), value="20"),
    )
    return c


def test_the_campaign_page_links_to_its_placement_results(client, marketer, results):
    client.force_login(marketer)

    html = client.get(reverse("admin:campaigns_campaign_change", args=[results.pk])).content.decode()

    assert reverse("campaign-placements", args=[results.pk]) in html


def test_the_results_page_shows_each_placement_of_the_campaign(client, marketer, results):
    client.force_login(marketer)

    html = client.get(
        reverse("campaign-placements", args=[results.pk]), {"from": "2025-11-10", "to": "2025-11-16"}
    ).content.decode()

    assert "C1 / poster" in html and "C1 / window" in html and "C2 / booth" not in html
    assert "2025-11-10..2025-11-16" in html


def test_the_api_returns_the_rows_and_the_periods_totals(client, analyst, results, django_assert_max_num_queries):
    client.force_login(analyst)

    with django_assert_max_num_queries(8):  # session, user, permissions, campaign, the report's 2
        response = client.get(f"/api/v1/campaigns/{results.pk}/placements", {"from": "2025-11-10", "to": "2025-11-16"})

    body = response.json()
    assert response.status_code == 200
    # poster: A's launch (1 scan, 1 person), A's 80; window: nothing; period: 2 orders, 100.
    assert [(r["label"], r["scans"], r["code_scans"], r["paying_people"], r["revenue"]) for r in body["rows"]] == [
        ("C1 / poster", 1, 1, 1, "80.00"),
        ("C1 / window", 0, 0, 0, "0.00"),
    ]
    assert (body["orders"], body["revenue"], body["period"]) == (2, "100.00", "2025-11-10..2025-11-16")


def test_the_api_refuses_a_bad_range_with_a_clear_message(client, analyst, results):
    client.force_login(analyst)

    backwards = client.get(f"/api/v1/campaigns/{results.pk}/placements", {"from": "2025-11-16", "to": "2025-11-10"})
    typo = client.get(f"/api/v1/campaigns/{results.pk}/placements", {"from": "16/11/2025"})
    too_long = client.get(f"/api/v1/campaigns/{results.pk}/placements", {"from": "2023-01-01", "to": "2025-01-01"})
    far_off = client.get(f"/api/v1/campaigns/{results.pk}/placements", {"to": "0001-01-01"})

    assert (backwards.status_code, typo.status_code, too_long.status_code, far_off.status_code) == (400, 400, 400, 400)
    assert "YYYY-MM-DD" in typo.json()["detail"] and "366" in too_long.json()["detail"]


def test_people_without_the_campaign_view_permission_get_nothing(client, review_owner, results):
    anonymous = client.get(f"/api/v1/campaigns/{results.pk}/placements")
    client.force_login(review_owner)

    assert anonymous.status_code in (401, 403)
    assert client.get(f"/api/v1/campaigns/{results.pk}/placements").status_code == 403
    assert client.get(reverse("campaign-placements", args=[results.pk])).status_code == 403
