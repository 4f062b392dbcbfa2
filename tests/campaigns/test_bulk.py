"""Placements in bulk from CSV: validated row by row, all or nothing, errors by line."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, IssuedScene, Placement, WeChatApp

pytestmark = pytest.mark.django_db

GOOD = """campaign,name,kind,qr_kind,target_url,utm_content
23Q4-Sale,Store 001 counter,store_counter,web_link,https://shop.example.com/sale,store-001
23Q4-Sale,Store 002 poster,poster,,https://shop.example.com/sale,store-002
23Q4-Sale,Store 003 poster,,,,
"""


def test_every_row_becomes_a_placement_with_its_own_scene(campaign):
    created = services.placements_bulk_create(GOOD)

    assert [p.name for p in created] == ["Store 001 counter", "Store 002 poster", "Store 003 poster"]
    assert len({p.scene for p in created}) == 3
    assert IssuedScene.objects.filter(value__in=[p.scene for p in created]).count() == 3
    counter = Placement.objects.get(name="Store 001 counter")
    assert (counter.kind, counter.utm_content) == ("store_counter", "store-001")
    assert Placement.objects.get(name="Store 003 poster").kind == "poster"  # the model default


def test_one_bad_row_refuses_the_whole_file_with_errors_by_line(campaign):
    text = (
        "campaign,name,kind,target_url\n"
        "23Q4-Sale,Good one,poster,https://shop.example.com\n"
        "NOPE,Unknown campaign,poster,\n"
        "23Q4-Sale,Bad kind,billboard,not a url\n"
        "23Q4-Sale,,poster,\n"
    )

    with pytest.raises(services.BulkPlacementError) as caught:
        services.placements_bulk_create(text)

    errors = {e.line: e.errors for e in caught.value.errors}
    assert set(errors) == {3, 4, 5}
    assert errors[3] == {"campaign": ["No campaign with code 'NOPE'."]}
    assert set(errors[4]) == {"kind", "target_url"}
    assert "name" in errors[5]
    assert Placement.objects.count() == 0
    assert IssuedScene.objects.count() == 0


def test_duplicates_within_the_file_and_against_the_database_are_reported(campaign, make_placement):
    make_placement("Existing")
    text = "campaign,name\n23Q4-Sale,Existing\n23Q4-Sale,Twice\n23Q4-Sale,Twice\n"

    with pytest.raises(services.BulkPlacementError) as caught:
        services.placements_bulk_create(text)

    errors = {e.line: e.errors for e in caught.value.errors}
    assert errors[2] == {"name": ["A placement with this name already exists."]}
    assert errors[4] == {"name": ["Same campaign and name as line 3."]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty"),
        ("campaign,name,colour\n", "Unknown column(s): colour"),
        ("kind\nposter\n", "Missing column(s): name, campaign"),
        ("campaign,name\n", "No placements in the file"),
    ],
)
def test_a_malformed_file_is_refused_with_a_reason(campaign, text, message):
    with pytest.raises(services.BulkPlacementError) as caught:
        services.placements_bulk_create(text)

    assert message in str(caught.value)


def test_a_campaign_given_for_the_upload_fills_rows_without_one(campaign):
    created = services.placements_bulk_create("name\nA\nB\n", campaign=campaign)

    assert {p.campaign for p in created} == {campaign}


def test_a_wechat_app_is_looked_up_by_appid(campaign):
    app = WeChatApp.objects.create(appid="wxoa1", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT, secret="s3cret")

    (placement,) = services.placements_bulk_create(
        "campaign,name,qr_kind,wechat_app\n23Q4-Sale,Door,oa_permanent,wxoa1\n"
    )

    assert placement.wechat_app == app


def test_a_row_asking_for_a_wechat_code_its_app_cannot_issue_is_refused_with_the_reason(campaign):
    WeChatApp.objects.create(appid="wxoa1", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)

    with pytest.raises(services.BulkPlacementError) as refused:
        services.placements_bulk_create("campaign,name,qr_kind,wechat_app\n23Q4-Sale,Door,oa_permanent,wxoa1\n")

    assert "no AppSecret" in str(refused.value)
    assert not Placement.objects.filter(name="Door").exists()


def test_the_api_creates_placements_from_a_csv_body(api_client_for, marketer, campaign):
    response = api_client_for(marketer).generic(
        "POST", "/api/v1/placements/bulk", GOOD.encode(), content_type="text/csv"
    )

    assert response.status_code == 201, response.content
    assert response.json()["created"] == 3
    assert all(p["scene"] for p in response.json()["placements"])


def test_the_api_answers_400_with_errors_by_line(api_client_for, marketer, campaign):
    response = api_client_for(marketer).generic(
        "POST",
        "/api/v1/placements/bulk",
        b"name,kind\nA,poster\nB,billboard\n",
        content_type="text/csv",
        QUERY_STRING="campaign=23Q4-Sale",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 3
    assert "kind" in response.json()["errors"][0]["errors"]
    assert Placement.objects.count() == 0


def test_the_api_refuses_other_content_types_with_415(api_client_for, marketer, campaign):
    response = api_client_for(marketer).post("/api/v1/placements/bulk", {"name": "x"}, format="json")

    assert response.status_code == 415


def test_an_analyst_may_not_bulk_create(api_client_for, analyst, campaign):
    response = api_client_for(analyst).generic(
        "POST", "/api/v1/placements/bulk", GOOD.encode(), content_type="text/csv"
    )

    assert response.status_code == 403


def test_the_admin_upload_page_creates_placements(client, marketer, campaign):
    client.force_login(marketer)
    upload = SimpleUploadedFile("placements.csv", ("\ufeff" + GOOD).encode(), content_type="text/csv")

    response = client.post(reverse("admin:campaigns_placement_bulk_upload"), {"file": upload}, follow=True)

    assert response.status_code == 200
    assert "Created 3 placement(s)" in response.content.decode()
    assert campaign.placements.count() == 3


def test_the_admin_upload_page_lists_errors_by_line_and_creates_nothing(client, marketer, campaign):
    client.force_login(marketer)
    other = Campaign.objects.create(code="OTHER", name="Other")
    upload = SimpleUploadedFile("p.csv", b"campaign,name,kind\nOTHER,Fine,poster\nOTHER,Wrong,billboard\n")

    response = client.post(reverse("admin:campaigns_placement_bulk_upload"), {"file": upload})

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 line(s) have errors" in page
    assert "<td>3</td><td>kind</td>" in page
    assert other.placements.count() == 0


def test_a_csv_that_is_not_utf8_is_a_400(api_client_for, marketer, campaign):
    body = "campaign,name\n23Q4-Sale,Café\n".encode("utf-16")

    response = api_client_for(marketer).generic("POST", "/api/v1/placements/bulk", body, content_type="text/csv")

    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


def test_an_oversized_csv_is_a_413(api_client_for, marketer, campaign):
    body = b"campaign,name\n" + b"23Q4-Sale,x\n" * 200_000

    response = api_client_for(marketer).generic("POST", "/api/v1/placements/bulk", body, content_type="text/csv")

    assert response.status_code == 413
    assert Placement.objects.count() == 0


def test_more_rows_than_the_limit_are_refused(campaign):
    text = "name\n" + "".join(f"P{n}\n" for n in range(services.BULK_MAX_ROWS + 1))

    with pytest.raises(services.BulkPlacementError, match="At most 5000"):
        services.placements_bulk_create(text, campaign=campaign)
