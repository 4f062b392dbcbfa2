"""Hostile input at every parser (issue 13). Each attack is a test named for it: the answer is
a precise 4xx, never a 500, and on data channels what was refused is kept for replay."""

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from campaigns.models import Placement, WeChatApp
from events.models import AdSpend, Event, OAUserSummary, PayMerchant, RejectedRow

from . import test_wechat_pay as pay
from .test_wechat_push import APPID, TOKEN, event_xml, post_push, signed_query

pytestmark = pytest.mark.django_db

GOOD = {"event_name": "page_view", "user_id": "u1", "ts": "2025-11-01T10:00:00Z"}
CSV_HEADER = "event_name,user_id,ts,properties\n"


def csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# --- the event API --------------------------------------------------------------------------


def test_an_event_with_a_5000_digit_integer_is_refused_with_400_and_kept(post_events):
    body = json.dumps(GOOD)[:-1] + ', "value": ' + "9" * 5000 + "}"

    response = post_events(body)

    assert response.status_code == 400
    assert "digits" in response.json()["error"]
    assert RejectedRow.objects.get(channel="api").raw.endswith("9" * 100 + "}")
    assert not Event.objects.exists()


def test_properties_nested_3000_deep_in_json_are_refused_with_400_and_kept(post_events):
    body = json.dumps(GOOD)[:-1] + ', "properties": {"a": ' + "[" * 3000 + "]" * 3000 + "}}"

    response = post_events(body)

    assert response.status_code == 400
    assert "deep" in response.json()["error"]
    assert RejectedRow.objects.filter(channel="api").count() == 1


def test_properties_nested_deeper_than_the_limit_are_a_row_error_and_kept(post_events):
    nested = {"a": 1}
    for _ in range(40):
        nested = {"a": nested}

    response = post_events(json.dumps([GOOD, {**GOOD, "user_id": "u2", "properties": nested}]))

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    (rejected,) = response.json()["rejected"]
    assert "deep" in rejected["errors"]["properties"]
    assert RejectedRow.objects.get(channel="api").row_index == 1


def test_a_csv_properties_string_nested_3000_deep_is_a_row_error_and_kept(post_events):
    nested = "[" * 3000 + "]" * 3000

    response = post_events(CSV_HEADER + f"page_view,u1,2025-11-01T10:00:00Z,{csv_cell(nested)}\n", "text/csv")

    assert response.status_code == 200
    assert "deep" in response.json()["rejected"][0]["errors"]["properties"]
    assert RejectedRow.objects.filter(channel="csv").count() == 1


def test_replaying_a_kept_body_nested_3000_deep_keeps_it_open_with_a_reason(post_events):
    from events.ingest.replay import replay_rejected

    post_events(json.dumps(GOOD)[:-1] + ', "properties": {"a": ' + "[" * 3000 + "]" * 3000 + "}}")
    kept = RejectedRow.objects.get(channel="api")

    replayed = replay_rejected(kept)

    kept.refresh_from_db()
    assert replayed is False
    assert kept.status == RejectedRow.Status.OPEN
    assert not Event.objects.exists()


def test_an_event_csv_with_cr_only_line_ends_is_read(post_events):
    body = "event_name,user_id,ts\rpage_view,u1,2025-11-01T10:00:00Z\rpage_view,u2,2025-11-01T10:00:00Z\r"

    response = post_events(body, "text/csv")

    assert response.status_code == 200
    assert response.json()["accepted"] == 2


def test_an_event_csv_cell_over_128_kb_is_refused_with_400_and_kept(post_events):
    body = f"event_name,user_id,ts,page\npage_view,u1,2025-11-01T10:00:00Z,{'x' * (129 * 1024)}\n"

    response = post_events(body, "text/csv")

    assert response.status_code == 400
    assert "128 KB" in response.json()["error"]
    assert RejectedRow.objects.filter(channel="csv").count() == 1  # so its replay reads it as CSV


def test_a_ts_of_9999_12_31_with_a_negative_offset_is_a_row_error_and_kept(post_events):
    response = post_events(json.dumps({**GOOD, "ts": "9999-12-31T23:59:59-23:59"}))

    assert response.status_code == 200
    assert "out of range" in response.json()["rejected"][0]["errors"]["ts"]
    assert RejectedRow.objects.filter(channel="api").count() == 1


def test_a_row_with_too_many_fields_is_refused_before_its_fields_are_read(post_events):
    row = {**GOOD, **{f"k{i}": i for i in range(5000)}}

    response = post_events(json.dumps([GOOD, row]))

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert "5,003 fields" in response.json()["rejected"][0]["errors"]["row"]
    assert RejectedRow.objects.get(channel="api").row_index == 1


def test_a_5_mb_body_with_380000_keys_is_refused_with_413_before_parsing_and_kept(post_events):
    keys = ",".join(f'"k{i}":0' for i in range(380_000))
    body = json.dumps(GOOD)[:-1] + "," + keys + "}"

    response = post_events(body)

    assert response.status_code == 413
    assert "380,002 commas" in response.json()["error"]
    assert RejectedRow.objects.get(channel="api").raw.endswith('"k379999":0}')
    assert not Event.objects.exists()


# --- CSV uploads: imports and placements ---------------------------------------------------


@pytest.fixture
def admin_api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def upload(client, kind: str, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return client.generic("POST", f"/api/v1/imports/{kind}", data, content_type="text/csv")


AD_SPEND = (
    "date,campaign,ad_group,creative,spend,impressions,clicks,reach",
    "2025-11-01,23Q4-Sale,Moments,Red poster,120.50,10000,150,8000",
    "2025-11-02,23Q4-Sale,Moments,Red poster,130.00,11000,140,9000",
)
OA_SUMMARY = (
    "app_id,date,user_source,new_users,cancelled_users,cumulative_users",
    "wxoa123,2025-11-01,30,40,3,1200",
    "wxoa123,2025-11-02,30,10,1,1209",
)


@pytest.mark.parametrize(
    ("kind", "lines", "model"), [("ad_spend", AD_SPEND, AdSpend), ("oa_user_summary", OA_SUMMARY, OAUserSummary)]
)
def test_an_import_with_cr_only_line_ends_from_excel_csv_macintosh_is_read(admin_api, campaign, kind, lines, model):
    response = upload(admin_api, kind, "\r".join(lines) + "\r")

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    assert model.objects.count() == 2


def test_a_json_statistics_import_nested_3000_deep_is_refused_with_400(admin_api):
    response = upload(admin_api, "oa_user_summary", '{"list": ' + "[" * 3000 + "]" * 3000 + "}")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_an_import_cell_over_128_kb_is_a_line_error_and_kept(admin_api, campaign):
    big = AD_SPEND[1].replace("Red poster", "x" * (129 * 1024))

    response = upload(admin_api, "ad_spend", "\n".join([AD_SPEND[0], big, AD_SPEND[2]]) + "\n")

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert response.json()["rejected_lines"][0]["line"] == 2
    assert "128 KB" in json.dumps(response.json()["rejected_lines"][0]["errors"])
    assert RejectedRow.objects.filter(channel="import_ad_spend").count() == 1


def test_an_import_line_with_a_nul_byte_is_a_line_error_and_kept(admin_api, campaign):
    bad = AD_SPEND[1].replace("Red poster", "Red\x00poster")

    response = upload(admin_api, "ad_spend", "\n".join([AD_SPEND[0], bad, AD_SPEND[2]]) + "\n")

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert "NUL" in json.dumps(response.json()["rejected_lines"][0]["errors"])
    assert "\\x00" in RejectedRow.objects.get(channel="import_ad_spend").raw


def test_placements_with_cr_only_line_ends_are_created(admin_api, campaign):
    response = admin_api.generic(
        "POST", "/api/v1/placements/bulk", b"name,kind\rStore A,poster\rStore B,poster\r", content_type="text/csv",
        QUERY_STRING="campaign=23Q4-Sale",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    assert Placement.objects.count() == 2


@pytest.mark.parametrize(("cell", "why"), [("x" * (129 * 1024), "128 KB"), ("Store\x00A", "NUL")])
def test_placements_with_a_huge_cell_or_a_nul_byte_are_refused_with_400(admin_api, campaign, cell, why):
    body = f"name,kind\n{cell},poster\nStore B,poster\n".encode()

    response = admin_api.generic(
        "POST", "/api/v1/placements/bulk", body, content_type="text/csv", QUERY_STRING="campaign=23Q4-Sale"
    )

    assert response.status_code == 400
    assert why in json.dumps(response.json())
    assert not Placement.objects.exists()


# --- WeChat ---------------------------------------------------------------------------------


def test_an_official_account_push_declaring_gbk_is_refused_and_kept(client):
    WeChatApp.objects.create(appid=APPID, name="Brand OA", token=TOKEN)
    body = b'<?xml version="1.0" encoding="gbk"?>' + event_xml("subscribe")

    response = post_push(client, body, signed_query(timestamp=str(int(time.time()))))

    # Signed by WeChat, so kept with the precise reason and acknowledged: any other answer
    # makes WeChat retry and then show the follower "该公众号暂时无法提供服务" (issue 13).
    assert (response.status_code, response.content) == (200, b"success")
    kept = RejectedRow.objects.get(channel="wechat_push")
    assert "gbk" in kept.raw
    assert any("encoding" in why for why in kept.errors.values())


@pytest.fixture
def signed_pay(client):
    """POST a body signed by the merchant's platform key, as WeChat Pay would."""
    platform_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = platform_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    PayMerchant.objects.create(
        mchid=pay.MCHID,
        name="Brand shop",
        appid="wxd678efh567hg6787",
        api_v3_key=pay.API_V3_KEY,
        platform_key_serial=pay.SERIAL,
        platform_public_key=pem.decode(),
    )

    def send(body: bytes):
        return pay.notify(client, body, pay.signed_headers(body, platform_key))

    return send


def test_a_signed_pay_notification_nested_30000_deep_is_refused_and_kept(signed_pay):
    response = signed_pay(b'{"resource": ' + b"[" * 30000 + b"]" * 30000 + b"}")

    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert RejectedRow.objects.filter(channel="wechat_pay").count() == 1


def test_a_signed_pay_notification_of_10_to_the_30_fen_is_refused_and_kept(signed_pay):
    resource = pay.transaction(amount={"total": 10**30, "payer_total": 10**30, "currency": "CNY"})

    response = signed_pay(pay.notification_body(resource))

    assert response.status_code == 400
    assert "fen" in response.json()["message"]
    assert RejectedRow.objects.filter(channel="wechat_pay").count() == 1
    assert not Event.objects.exists()


def test_a_signed_pay_notification_paid_in_year_9999_is_refused_and_kept(signed_pay):
    response = signed_pay(pay.notification_body(pay.transaction(success_time="9999-12-31T23:59:59-23:59")))

    assert response.status_code == 400
    assert "success_time" in response.json()["message"]
    assert RejectedRow.objects.filter(channel="wechat_pay").count() == 1
    assert not Event.objects.exists()


# --- NUL in query strings and paths ---------------------------------------------------------


def test_a_short_link_with_a_nul_byte_is_a_400_not_a_503(client):
    response = client.get("/r/p1%00")

    assert response.status_code == 400
    assert b"NUL" in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/admin/events/event/?event_name=%00",
        "/admin/campaigns/placement/?q=a%00b",
        "/admin/events/rejectedrow/?channel__exact=api%00",
    ],
)
def test_a_nul_byte_in_an_admin_list_filter_is_a_400(admin_client, url):
    response = admin_client.get(url)

    assert response.status_code == 400
    assert b"NUL" in response.content
