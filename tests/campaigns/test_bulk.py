"""Placements in bulk from CSV: validated row by row, all or nothing, errors by line."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns import bulk, services, tasks
from campaigns.models import Campaign, IssuedScene, Placement, WeChatApp
from campaigns.wechat_api import WeChatAPIError
from tests.worker import purged_broker, solo_worker, wait_until

pytestmark = pytest.mark.django_db

GOOD = """campaign,name,kind,qr_kind,target_url,utm_content
23Q4-Sale,Store 001 counter,store_counter,web_link,https://shop.example.com/sale,store-001
23Q4-Sale,Store 002 poster,poster,,https://shop.example.com/sale,store-002
23Q4-Sale,Store 003 poster,,,,
"""


def test_every_row_becomes_a_placement_with_its_own_scene(campaign):
    created = bulk.placements_bulk_create(GOOD)

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

    with pytest.raises(bulk.BulkPlacementError) as caught:
        bulk.placements_bulk_create(text)

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

    with pytest.raises(bulk.BulkPlacementError) as caught:
        bulk.placements_bulk_create(text)

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
    with pytest.raises(bulk.BulkPlacementError) as caught:
        bulk.placements_bulk_create(text)

    assert message in str(caught.value)


def test_a_campaign_given_for_the_upload_fills_rows_without_one(campaign):
    created = bulk.placements_bulk_create("name\nA\nB\n", campaign=campaign)

    assert {p.campaign for p in created} == {campaign}


def test_a_wechat_app_is_looked_up_by_appid(campaign):
    app = WeChatApp.objects.create(appid="wxoa1", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT, secret="s3cret")

    (placement,) = bulk.placements_bulk_create("campaign,name,qr_kind,wechat_app\n23Q4-Sale,Door,oa_permanent,wxoa1\n")

    assert placement.wechat_app == app


def test_a_row_asking_for_a_wechat_code_its_app_cannot_issue_is_refused_with_the_reason(campaign):
    WeChatApp.objects.create(appid="wxoa1", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)

    with pytest.raises(bulk.BulkPlacementError) as refused:
        bulk.placements_bulk_create("campaign,name,qr_kind,wechat_app\n23Q4-Sale,Door,oa_permanent,wxoa1\n")

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
    assert "1 line has errors" in page
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
    text = "name\n" + "".join(f"P{n}\n" for n in range(bulk.MAX_ROWS + 1))

    with pytest.raises(bulk.BulkPlacementError, match="At most 5000"):
        bulk.placements_bulk_create(text, campaign=campaign)


# --- WeChat codes: queued, one request per placement, never waited on by the upload ---------

OA_ROWS = "campaign,name,qr_kind,wechat_app\n" + "".join(
    f"23Q4-Sale,Store {n:03} door,oa_permanent,wx0123456789abcdef\n" for n in range(1, 4)
)


def test_the_parser_reads_rows_with_their_line_numbers_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows = bulk.parse_placements_csv("name,kind\r\nA,poster\r\n\r\n ,\r\nB, menu \r\n", campaign_given=True)

    assert [(row.line, row.values) for row in rows] == [
        (2, {"name": "A", "kind": "poster"}),
        (5, {"name": "B", "kind": "menu"}),
    ]


def test_an_upload_with_wechat_codes_queues_one_request_and_calls_wechat_not_at_all(
    campaign, fake_wechat, oa_app, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        created = bulk.placements_bulk_create(OA_ROWS)

    assert fake_wechat.calls == []
    assert len(queued) == 1  # one fan-out message, whatever the number of rows
    assert {p.qr_request_status for p in Placement.objects.all()} == {Placement.QRRequest.PENDING}
    assert {p.qr_request_status for p in created} == {Placement.QRRequest.PENDING}


def test_web_link_placements_ask_wechat_for_nothing(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        bulk.placements_bulk_create(GOOD)

    assert queued == []
    assert {p.qr_request_status for p in Placement.objects.all()} == {Placement.QRRequest.NOT_REQUESTED}


def test_a_queued_request_issues_the_code_once_however_often_it_runs(campaign, fake_wechat, oa_app):
    (placement, *_) = bulk.placements_bulk_create(OA_ROWS)

    assert tasks.issue_wechat_qr(placement.pk) is True
    assert tasks.issue_wechat_qr(placement.pk) is False  # a redelivered message: nothing to do

    placement.refresh_from_db()
    assert placement.qr_url == f"http://weixin.qq.com/q/fake-{placement.scene}"
    assert (placement.qr_request_status, placement.qr_request_attempts) == (Placement.QRRequest.ISSUED, 1)
    assert fake_wechat.paths().count("/cgi-bin/qrcode/create") == 1


def test_a_refusal_by_wechat_is_final_and_kept_with_the_reason(campaign, fake_wechat, oa_app):
    (placement, *_) = bulk.placements_bulk_create(OA_ROWS)
    fake_wechat.qr_errors = [40053]

    assert tasks.issue_wechat_qr(placement.pk) is False

    placement.refresh_from_db()
    assert placement.qr_request_status == Placement.QRRequest.FAILED
    assert "40053" in placement.qr_error


def test_an_unreachable_wechat_leaves_the_request_pending_until_the_last_try(campaign, oa_app, settings):
    (placement, *_) = bulk.placements_bulk_create(OA_ROWS)
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # discard port: nothing answers

    with pytest.raises(WeChatAPIError):  # called directly, a retry re-raises the error
        tasks.issue_wechat_qr(placement.pk)
    placement.refresh_from_db()
    assert placement.qr_request_status == Placement.QRRequest.PENDING
    assert "could not be reached" in placement.qr_error

    assert services.issue_queued_wechat_qr(placement.pk, final=True) is False  # the last try
    placement.refresh_from_db()
    assert (placement.qr_request_status, placement.qr_request_attempts) == (Placement.QRRequest.FAILED, 2)


def test_the_api_answers_with_each_placements_wechat_code_status(api_client_for, marketer, campaign, oa_app):
    response = api_client_for(marketer).generic(
        "POST", "/api/v1/placements/bulk", OA_ROWS.encode(), content_type="text/csv"
    )

    assert response.status_code == 201, response.content
    assert {p["qr_request_status"] for p in response.json()["placements"]} == {"pending"}


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.slow
# Serialized rollback, as the other transactional tests of this folder: the next one restores
# the migrated rows (role groups) without finding copies re-created by a flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_issues_every_queued_code_after_the_upload_commits(api_client_for, make_user, fake_wechat):
    purged_broker()
    marketer = make_user("mia.worker", "Marketer")
    Campaign.objects.create(code="23Q4-Sale", name="Q4 sale")
    WeChatApp.objects.create(
        appid="wx0123456789abcdef", name="Brand OA", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT, secret="s3cret-value"
    )

    with solo_worker("default", WECHAT_API_BASE=fake_wechat.base_url) as log:
        response = api_client_for(marketer).generic(
            "POST", "/api/v1/placements/bulk", OA_ROWS.encode(), content_type="text/csv"
        )
        assert response.status_code == 201, response.content
        assert fake_wechat.calls == []  # the upload answered before any call to WeChat
        wait_until(
            lambda: not Placement.objects.exclude(qr_request_status=Placement.QRRequest.ISSUED).exists(),
            seconds=60,
            lines=log,
        )

    placements = list(Placement.objects.all())
    assert len(placements) == 3
    assert all(p.qr_url == f"http://weixin.qq.com/q/fake-{p.scene}" for p in placements)
    assert fake_wechat.paths().count("/cgi-bin/qrcode/create") == 3
