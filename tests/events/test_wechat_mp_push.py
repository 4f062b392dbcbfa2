"""Mini Program message push at /wechat/<appid>/, in both data formats the console offers
(JSON and XML), plaintext and safe mode, with the Official Account push's rules: the same
signature, decryption, dedupe and "nothing lost".

The bodies are the Mini Program docs' examples (消息推送 → 客服消息 进入会话事件, 订阅消息
用户操作弹窗/管理/发送结果事件): numbers are numbers in JSON, the popup result is a
"List" of templates at the top of the JSON and inside <SubscribeMsgPopupEvent><List> in XML.
"""

import json
from urllib.parse import urlencode

import pytest

from campaigns.models import WeChatApp
from events.models import Event, RejectedRow
from tests.events.test_wechat_push import AES_KEY, TOKEN, now_timestamp, sha1_signature, signed_query, wechat_encrypt

MP_APPID = "wxmp0000000000001"
CREATE_TIME = 1482048670


@pytest.fixture
def mp_app(db):
    return WeChatApp.objects.create(
        appid=MP_APPID, name="Brand MP", kind=WeChatApp.Kind.MINI_PROGRAM, token=TOKEN, encoding_aes_key=AES_KEY
    )


def enter_session(**overrides) -> dict:
    return {
        "ToUserName": "gh_mp0123456789",
        "FromUserName": "oMP_user_1",
        "CreateTime": CREATE_TIME,
        "MsgType": "event",
        "Event": "user_enter_tempsession",
        "SessionFrom": "pdp-contact-button",
        **overrides,
    }


def popup_json(*results: tuple[str, str]) -> dict:
    return {
        "ToUserName": "gh_mp0123456789",
        "FromUserName": "oMP_user_1",
        "CreateTime": "1620973045",  # a string in the documented example
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "List": [
            {"TemplateId": template, "SubscribeStatusString": status, "PopupScene": "0"} for template, status in results
        ],
    }


POPUP_XML = b"""<xml>
  <ToUserName><![CDATA[gh_mp0123456789]]></ToUserName>
  <FromUserName><![CDATA[oMP_user_1]]></FromUserName>
  <CreateTime>1620973045</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[subscribe_msg_popup_event]]></Event>
  <SubscribeMsgPopupEvent>
    <List>
      <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
      <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
      <PopupScene>2</PopupScene>
    </List>
    <List>
      <TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>
      <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
      <PopupScene>2</PopupScene>
    </List>
  </SubscribeMsgPopupEvent>
</xml>"""


def post_json(client, body: bytes, query: dict | None = None):
    return client.post(
        f"/wechat/{MP_APPID}/?{urlencode(query or signed_query())}", data=body, content_type="application/json"
    )


def _json(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def test_a_json_session_entry_is_an_mp_event_with_its_session_from(client, mp_app):
    response = post_json(client, _json(enter_session()))

    assert (response.status_code, response.content) == (200, b"success")
    event = Event.objects.get()
    assert (event.event_name, event.source, event.user_id, event.app_id) == (
        "mp_user_enter_tempsession",
        "mini_program",
        "oMP_user_1",
        MP_APPID,
    )
    assert event.properties["session_from"] == "pdp-contact-button"
    assert int(event.ts.timestamp()) == CREATE_TIME


def test_a_json_popup_result_is_one_event_per_template_with_its_choice(client, mp_app):
    post_json(client, _json(popup_json(("tmpl-ship", "accept"), ("tmpl-coupon", "reject"))))

    results = {
        e["properties"]["template_id"]: e["properties"]["status"]
        for e in Event.objects.filter(event_name="mp_subscribe_msg_popup_event").values("properties")
    }
    assert results == {"tmpl-ship": "accept", "tmpl-coupon": "reject"}


def test_an_xml_popup_result_is_read_the_same_way(client, mp_app):
    client.post(f"/wechat/{MP_APPID}/?{urlencode(signed_query())}", data=POPUP_XML, content_type="text/xml")

    rows = Event.objects.filter(event_name="mp_subscribe_msg_popup_event").order_by("event_id")
    assert sorted((r.properties["status"], r.properties["popup_scene"]) for r in rows) == [
        ("accept", "2"),
        ("reject", "2"),
    ]


def test_a_json_customer_service_message_keeps_its_id_but_never_its_content(client, mp_app):
    message = {
        "ToUserName": "gh_mp0123456789",
        "FromUserName": "oMP_user_1",
        "CreateTime": CREATE_TIME,
        "MsgType": "text",
        "Content": "我的快递到哪了",
        "MsgId": 1234567890123456,
    }

    post_json(client, _json(message))

    event = Event.objects.get()
    assert (event.event_name, event.properties) == ("mp_message", {"msg_type": "text", "msg_id": "1234567890123456"})


def test_wechat_retrying_a_json_push_stores_it_once(client, mp_app):
    body = _json(popup_json(("tmpl-ship", "accept")))

    answers = [post_json(client, body).status_code for _ in range(4)]

    assert answers == [200] * 4
    assert Event.objects.count() == 1


def test_a_json_push_with_a_wrong_signature_is_403_and_stores_nothing(client, mp_app):
    query = signed_query(token="not-the-token")

    response = post_json(client, _json(enter_session()), query)

    assert response.status_code == 403
    assert not Event.objects.exists()


def test_an_encrypted_json_push_is_checked_decrypted_and_answered_empty(client, mp_app):
    # Safe mode in the JSON data format: {"ToUserName", "Encrypt"}, the plaintext is JSON too.
    encrypted = wechat_encrypt(_json(enter_session()), appid=MP_APPID)
    timestamp = now_timestamp()
    query = signed_query(
        timestamp=timestamp, encrypt_type="aes", msg_signature=sha1_signature(TOKEN, timestamp, "n0nce", encrypted)
    )
    body = _json({"ToUserName": "gh_mp0123456789", "Encrypt": encrypted})

    response = post_json(client, body, query)
    forged = post_json(client, body, {**query, "msg_signature": "0" * 40})

    assert (response.status_code, response.content) == (200, b"")
    assert Event.objects.get().event_name == "mp_user_enter_tempsession"
    assert forged.status_code == 403


def test_unreadable_signed_json_is_kept_for_review_and_acknowledged(client, mp_app):
    response = post_json(client, b'{"FromUserName": "oMP_user_1", "CreateTime": ')

    assert (response.status_code, response.content) == (200, b"success")  # WeChat stops retrying
    kept = RejectedRow.objects.get(channel="wechat_push")
    assert kept.source == "mini_program"
    assert "Malformed JSON" in kept.errors["json"]


def test_deeply_nested_json_is_kept_and_acknowledged_not_a_crash(client, mp_app):
    response = post_json(client, b'{"a": ' + b"[" * 20000 + b"]" * 20000 + b"}")

    assert (response.status_code, response.content) == (200, b"success")
    assert RejectedRow.objects.filter(channel="wechat_push").count() == 1
