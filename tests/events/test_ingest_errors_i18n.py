"""Ingest and import errors are stored in English and shown in the reader's language
(docs/i18n.md, "Ingest errors: stored in English, translated when shown")."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from events.models import RejectedRow

BAD_TS = {"event_name": "page_view", "user_id": "u1", "ts": "2025-11-01 10:00"}
NO_ZONE = "has no time zone; add Z or an offset such as +08:00."
NO_ZONE_ZH = "没有时区；请加上 Z 或 +08:00 这样的偏移。"
BAD_VALUE = {"event_name": "pay_success", "user_id": "u1", "ts": "2025-11-01T10:00:00Z", "value": "1,5"}


def test_a_bad_row_is_answered_in_chinese_when_the_sender_asks_for_chinese(post_events):
    response = post_events(json.dumps([BAD_TS, BAD_VALUE]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert [item["errors"] for item in response.json()["rejected"]] == [
        {"ts": NO_ZONE_ZH},
        # The value moves inside the sentence as the translation puts it.
        {"value": "'1,5' 不是十进制数字（请用小数点，例如 199.00）。"},
    ]


def test_a_bad_row_is_answered_in_english_when_the_sender_asks_for_english(post_events):
    response = post_events(json.dumps(BAD_VALUE), HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["rejected"][0]["errors"] == {
        "value": "'1,5' is not a decimal number (use a dot, e.g. 199.00)."
    }


def test_without_accept_language_the_answer_is_in_the_site_language(post_events, settings):
    settings.LANGUAGE_CODE = "zh-hans"

    response = post_events(json.dumps(BAD_TS))

    assert response.json()["rejected"][0]["errors"] == {"ts": NO_ZONE_ZH}


def test_the_kept_row_stays_in_english_and_is_kept_once_whatever_the_language(post_events):
    post_events(json.dumps(BAD_TS), HTTP_ACCEPT_LANGUAGE="zh-hans")
    post_events(json.dumps(BAD_TS), HTTP_ACCEPT_LANGUAGE="en")

    assert list(RejectedRow.objects.values_list("errors", flat=True)) == [{"ts": NO_ZONE}]


def test_a_refused_body_is_answered_in_chinese_and_kept_in_english(post_events):
    response = post_events("{bad", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 400
    assert response.json() == {
        "error": "JSON 无效：第 1 行第 2 列，Expecting property name enclosed in double quotes。"
    }
    assert RejectedRow.objects.get().errors == {
        "body": "Invalid JSON: Expecting property name enclosed in double quotes at line 1, column 2."
    }


def test_a_limit_inside_a_message_is_translated_with_it(post_events):
    response = post_events("[]", HTTP_ACCEPT_LANGUAGE="zh-hans", CONTENT_LENGTH="99999999")

    assert response.status_code == 413
    assert response.json() == {"error": "请求体有 99,999,999 字节；每个请求最多 1,000 个事件、5 MB。请拆成更小的批次。"}


@pytest.fixture
def superuser_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_the_rejected_row_admin_shows_the_errors_in_the_interface_language(post_events, superuser_client):
    post_events(json.dumps(BAD_TS))
    rejected = RejectedRow.objects.get()

    listing = superuser_client.get("/admin/events/rejectedrow/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    detail = superuser_client.get(
        f"/admin/events/rejectedrow/{rejected.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    english = superuser_client.get(
        f"/admin/events/rejectedrow/{rejected.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert f"ts: {NO_ZONE_ZH}" in listing
    assert NO_ZONE_ZH in detail and NO_ZONE not in detail
    assert NO_ZONE in english
    rejected.refresh_from_db()
    assert rejected.errors == {"ts": NO_ZONE}


def test_an_import_summary_lists_bad_lines_in_the_readers_language(marketer, campaign):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.create(user=marketer).key)
    body = "date,campaign,ad_group,creative,spend,impressions,clicks,reach\n2025-11-03,23Q4-Sale,g,c,-5,1,1,1\n"

    response = client.post("/api/v1/imports/ad_spend", body, content_type="text/csv", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.json()["rejected_lines"] == [{"line": 2, "errors": {"spend": "'-5' 是负数。"}}]
    assert RejectedRow.objects.get().errors == {"spend": "'-5' is negative."}


def test_an_unreadable_import_file_is_answered_in_the_readers_language(marketer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.create(user=marketer).key)

    response = client.post(
        "/api/v1/imports/ad_spend",
        "date,spend\n2025-11-03,5\n",
        content_type="text/csv",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 400
    # "campaign" is also a msgid (活动), but it names the column to add: it stays as sent.
    assert response.json()["detail"] == (
        "缺少必需的列：campaign。表头行中有：date, spend。可用的列名见 docs/imports.md。"
    )


def test_an_unknown_key_is_answered_in_the_senders_language(post_events):
    response = post_events("[]", HTTP_AUTHORIZATION="Bearer wxa_not_a_key", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 401
    assert response.json() == {"error": "未知的上报密钥。"}
