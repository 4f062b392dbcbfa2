"""Official Account push at /wechat/<appid>/ (E3).

Pushes are built here the way WeChat documents them: sha1 signatures over the sorted
token/timestamp/nonce, and for safe mode AES-256-CBC vectors made with the documented
layout (random16 + length + xml + appid, PKCS#7 to 32 bytes).
"""

import base64
import hashlib
import struct
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Placement, WeChatApp
from events.models import Event, RejectedRow
from events.wechat import crypto, push
from tests.events.write_cost import write_statements

APPID = "wx1234567890abcdef"
TOKEN = "pushtoken123"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
CREATE_TIME = 1732762800  # 2024-11-28T03:00:00Z


@pytest.fixture
def oa_app(db):
    return WeChatApp.objects.create(
        appid=APPID, name="Brand OA", token=TOKEN, encoding_aes_key=AES_KEY, original_id="gh_abcdef123456"
    )


@pytest.fixture
def poster(campaign):
    return Placement.objects.create(campaign=campaign, name="Store poster", scene="c1p1")


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (WeChat's algorithm)


def now_timestamp() -> str:
    return str(int(time.time()))


def signed_query(token: str = TOKEN, timestamp: str | None = None, nonce: str = "n0nce", **extra: str) -> dict:
    """A query as WeChat signs it, stamped now unless `timestamp` is given."""
    timestamp = timestamp or now_timestamp()
    return {"signature": sha1_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def event_xml(event: str, *, openid: str = "oOA_user_1", event_key: str | None = None, **fields: str) -> bytes:
    parts = [
        "<xml>",
        "<ToUserName><![CDATA[gh_abcdef123456]]></ToUserName>",
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
        f"<CreateTime>{fields.pop('create_time', CREATE_TIME)}</CreateTime>",
        "<MsgType><![CDATA[event]]></MsgType>",
        f"<Event><![CDATA[{event}]]></Event>",
    ]
    if event_key is not None:
        parts.append(f"<EventKey><![CDATA[{event_key}]]></EventKey>")
    parts.extend(f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items())
    parts.append("</xml>")
    return "".join(parts).encode()


def post_push(client, body: bytes, query: dict | None = None, appid: str = APPID):
    return client.post(f"/wechat/{appid}/?{urlencode(query or signed_query())}", data=body, content_type="text/xml")


def wechat_encrypt(xml: bytes, *, appid: str = APPID, key: str = AES_KEY) -> str:
    """The documented algorithm, written out independently of events.wechat.crypto."""
    aes_key = base64.b64decode(key + "=")
    plain = b"R" * 16 + struct.pack(">I", len(xml)) + xml + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def events_named(name: str):
    return Event.objects.filter(event_name=name, source="official_account")


# Handshake


def test_the_console_handshake_echoes_echostr_when_the_signature_matches(client, oa_app):
    response = client.get(f"/wechat/{APPID}/", signed_query(echostr="5837397520541427011"))

    assert response.status_code == 200
    assert response.content == b"5837397520541427011"


def test_the_handshake_is_refused_with_a_wrong_token(client, oa_app):
    response = client.get(f"/wechat/{APPID}/", signed_query(token="other-token", echostr="123"))

    assert response.status_code == 403
    assert b"123" not in response.content


def test_an_unknown_appid_is_404(client, db):
    response = post_push(client, event_xml("subscribe"), appid="wxunknown")

    assert response.status_code == 404


# Signature and safe parsing


def test_a_post_with_a_bad_signature_is_403_and_stores_nothing(client, oa_app):
    query = signed_query()
    query["signature"] = "0" * 40

    response = post_push(client, event_xml("subscribe"), query)

    assert response.status_code == 403
    assert not Event.objects.exists()


def test_a_signature_copied_from_a_log_cannot_forge_a_follow_after_the_freshness_window(client, oa_app, settings):
    # Plaintext mode signs only token/timestamp/nonce: a query seen in a log 6 minutes ago
    # is a valid signature for any body. It is refused, and nothing is stored or kept.
    settings.WECHAT_PUSH_MAX_AGE_SECONDS = 300
    leaked = signed_query(timestamp=str(int(time.time()) - 360))

    response = post_push(client, event_xml("subscribe", openid="oForged"), leaked)

    assert response.status_code == 403
    assert "300 seconds" in response.content.decode()
    assert not Event.objects.exists()
    assert not RejectedRow.objects.exists()


def test_a_push_stamped_in_the_future_beyond_the_window_is_refused(client, oa_app, settings):
    settings.WECHAT_PUSH_MAX_AGE_SECONDS = 300

    response = post_push(client, event_xml("subscribe"), signed_query(timestamp=str(int(time.time()) + 400)))

    assert response.status_code == 403
    assert not Event.objects.exists()


def test_a_push_stamped_within_the_window_is_stored(client, oa_app, settings):
    # WeChat's clock and ours may differ a little; 4 minutes old is fine with a 5-minute window.
    settings.WECHAT_PUSH_MAX_AGE_SECONDS = 300

    response = post_push(client, event_xml("subscribe"), signed_query(timestamp=str(int(time.time()) - 240)))

    assert response.content == b"success"
    assert events_named("follow").count() == 1


def test_a_signed_push_we_cannot_read_is_kept_once_and_answered_success_on_every_retry(client, oa_app):
    # WeChat retries a push three times when the answer is not "success", then shows the
    # follower "该公众号暂时无法提供服务": each delivery is acknowledged and kept once.
    body = b"<xml><FromUserName>oOA_user_1</FromUserName><CreateTime>soon</CreateTime></xml>"

    answers = [post_push(client, body, signed_query(nonce=f"retry{i}")) for i in range(3)]

    assert [(a.status_code, a.content) for a in answers] == [(200, b"success")] * 3
    kept = RejectedRow.objects.get(channel="wechat_push")
    assert kept.errors["CreateTime"] == "CreateTime must be Unix seconds."
    assert kept.raw == body.decode()


def test_xml_with_an_external_entity_is_rejected_and_kept(client, oa_app):
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<xml><FromUserName>&xxe;</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgType>event</MsgType><Event>subscribe</Event></xml>"
    )

    response = post_push(client, xxe)

    assert (response.status_code, response.content) == (200, b"success")  # kept; WeChat stops retrying
    assert not Event.objects.exists()
    kept = RejectedRow.objects.get(channel="wechat_push")
    assert kept.source == "official_account"
    assert "DOCTYPE" in kept.raw
    assert "DTD" in kept.errors["xml"]


def test_a_billion_laughs_bomb_is_rejected_without_expanding(client, oa_app):
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
        )
        + b"]><xml><FromUserName>&lol9;</FromUserName></xml>"
    )

    response = post_push(client, lol)

    assert (response.status_code, response.content) == (200, b"success")  # kept; WeChat stops retrying
    assert RejectedRow.objects.filter(channel="wechat_push").count() == 1


def test_malformed_xml_is_kept_for_review_and_acknowledged(client, oa_app):
    response = post_push(client, b"<xml><FromUserName>oops</xml")

    assert (response.status_code, response.content) == (200, b"success")  # kept; WeChat stops retrying
    assert RejectedRow.objects.filter(channel="wechat_push").exists()


def test_a_body_over_64_kb_is_413(client, oa_app):
    response = post_push(client, b"<xml>" + b"a" * (65 * 1024) + b"</xml>")

    assert response.status_code == 413


def test_a_push_without_a_sender_is_kept_and_acknowledged(client, oa_app):
    body = b"<xml><CreateTime>1732762800</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>"

    response = post_push(client, body)

    assert (response.status_code, response.content) == (200, b"success")  # kept; WeChat stops retrying
    assert "FromUserName" in RejectedRow.objects.get().errors


# Mapping


def test_a_subscribe_from_a_qr_code_is_a_scan_and_a_follow_attributed_to_the_placement(client, oa_app, poster):
    response = post_push(client, event_xml("subscribe", event_key="qrscene_c1p1", Ticket="gQH47joAAAAAAAAAASxo"))

    assert response.status_code == 200
    assert response.content == b"success"
    scan = events_named("qr_scan").get()
    follow = events_named("follow").get()
    for event in (scan, follow):
        assert event.placement_id == poster.pk
        assert event.campaign_id == poster.campaign_id
        assert event.user_id == "oOA_user_1"
        assert event.app_id == APPID
        assert event.ts == datetime.fromtimestamp(CREATE_TIME, tz=UTC)
    assert scan.properties["ticket"] == "gQH47joAAAAAAAAAASxo"
    assert scan.properties["via"] == "subscribe"


def test_a_subscribe_without_a_qr_code_is_only_a_follow(client, oa_app):
    post_push(client, event_xml("subscribe", event_key=""))

    assert list(Event.objects.values_list("event_name", flat=True)) == ["follow"]
    assert Event.objects.get().placement_id is None


def test_a_scan_by_a_follower_is_a_qr_scan_with_the_bare_scene(client, oa_app, poster):
    post_push(client, event_xml("SCAN", event_key="c1p1", Ticket="t1"))

    scan = events_named("qr_scan").get()
    assert scan.placement_id == poster.pk
    assert scan.properties["via"] == "scan"
    assert not events_named("follow").exists()


def test_event_names_are_matched_whatever_their_case(client, oa_app, poster):
    post_push(client, event_xml("scan", event_key="c1p1"))
    post_push(client, event_xml("Unsubscribe", openid="oOA_user_2"))

    assert events_named("qr_scan").count() == 1
    assert events_named("unfollow").count() == 1


def test_an_unsubscribe_is_an_unfollow(client, oa_app):
    post_push(client, event_xml("unsubscribe", event_key=""))

    assert events_named("unfollow").get().user_id == "oOA_user_1"


@pytest.mark.parametrize(
    ("event", "event_key", "field"),
    [
        ("CLICK", "V1001_TODAY_DEALS", "menu_key"),
        ("VIEW", "https://shop.example.com/sale", "url"),
        ("view_miniprogram", "pages/index/index", "page"),
    ],
)
def test_menu_events_are_menu_clicks_with_their_target(client, oa_app, event, event_key, field):
    post_push(client, event_xml(event, event_key=event_key, MenuId="208379533"))

    click = events_named("menu_click").get()
    assert click.properties[field] == event_key
    assert click.properties["kind"] == event.lower()
    assert click.properties["menu_id"] == "208379533"


def test_other_events_are_kept_as_oa_events(client, oa_app):
    post_push(client, event_xml("LOCATION", Latitude="23.137466", Longitude="113.352425", Precision="119.385040"))

    location = events_named("oa_location").get()
    assert location.properties["latitude"] == "23.137466"


def test_user_messages_are_oa_message_without_their_content(client, oa_app):
    body = (
        b"<xml><ToUserName>gh_abcdef123456</ToUserName><FromUserName>oOA_user_1</FromUserName>"
        b"<CreateTime>1732762800</CreateTime><MsgType>text</MsgType><Content>my phone is 123</Content>"
        b"<MsgId>1234567890123456</MsgId></xml>"
    )

    post_push(client, body)

    message = events_named("oa_message").get()
    assert message.properties == {"msg_type": "text", "msg_id": "1234567890123456"}


def test_wechat_retrying_the_same_push_three_times_stores_it_once(client, oa_app, poster):
    body = event_xml("subscribe", event_key="qrscene_c1p1")

    answers = [post_push(client, body, signed_query(nonce=f"retry{i}")) for i in range(3)]

    assert [a.content for a in answers] == [b"success"] * 3
    assert events_named("qr_scan").count() == 1
    assert events_named("follow").count() == 1


def test_two_follows_by_one_user_at_different_times_are_both_stored(client, oa_app):
    post_push(client, event_xml("subscribe", create_time=CREATE_TIME))
    post_push(client, event_xml("subscribe", create_time=CREATE_TIME + 3600))

    assert events_named("follow").count() == 2


# Safe (encrypted) mode


def encrypted_envelope(inner: bytes, *, timestamp: str | None = None, nonce: str = "n0nce") -> tuple[bytes, dict]:
    timestamp = timestamp or now_timestamp()
    encrypted = wechat_encrypt(inner)
    body = f"<xml><ToUserName><![CDATA[gh_abcdef123456]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = signed_query(
        timestamp=timestamp,
        nonce=nonce,
        encrypt_type="aes",
        msg_signature=sha1_signature(TOKEN, timestamp, nonce, encrypted),
    )
    return body.encode(), query


def test_an_encrypted_push_is_decrypted_mapped_and_answered_with_an_empty_body(client, oa_app, poster):
    body, query = encrypted_envelope(event_xml("subscribe", event_key="qrscene_c1p1"))

    response = post_push(client, body, query)

    assert response.status_code == 200
    assert response.content == b""
    assert events_named("follow").get().placement_id == poster.pk


def test_an_encrypted_push_with_a_wrong_msg_signature_is_403(client, oa_app):
    body, query = encrypted_envelope(event_xml("subscribe"))
    query["msg_signature"] = sha1_signature(TOKEN, "1", "2", "tampered")

    response = post_push(client, body, query)

    assert response.status_code == 403
    assert not Event.objects.exists()


def test_a_push_encrypted_for_another_appid_is_rejected(client, oa_app):
    encrypted = wechat_encrypt(event_xml("subscribe"), appid="wxsomeoneelse0000")
    body = f"<xml><Encrypt>{encrypted}</Encrypt></xml>".encode()
    timestamp = now_timestamp()
    query = signed_query(
        timestamp=timestamp, encrypt_type="aes", msg_signature=sha1_signature(TOKEN, timestamp, "n0nce", encrypted)
    )

    response = post_push(client, body, query)

    assert (response.status_code, response.content) == (200, b"")  # kept; safe mode's "received"
    assert "another appid" in RejectedRow.objects.get().errors["Encrypt"]


def test_the_crypto_module_round_trips_and_matches_the_documented_layout():
    xml = event_xml("CLICK", event_key="K")

    ours = crypto.encrypt(xml, encoding_aes_key=AES_KEY, appid=APPID, random_prefix=b"R" * 16)

    assert ours == wechat_encrypt(xml)
    assert crypto.decrypt(ours, encoding_aes_key=AES_KEY, appid=APPID) == xml


def test_a_malformed_encoding_aes_key_is_refused():
    with pytest.raises(crypto.PushCryptoError):
        crypto.aes_key_from_encoding_key("too-short")


def test_rows_from_a_message_ignore_nested_elements_where_text_is_expected(oa_app):
    message = push.parse_xml(
        b"<xml><FromUserName><a>x</a></FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>"
    )

    with pytest.raises(push.PushRejected):
        push.rows_from_message(message, app=oa_app)


def test_a_body_with_nul_bytes_is_rejected_and_kept_readably(client, oa_app):
    response = post_push(client, b"<xml><FromUserName>a\x00b</FromUserName></xml>")

    assert (response.status_code, response.content) == (200, b"success")  # kept; WeChat stops retrying
    assert "\\x00" in RejectedRow.objects.get(channel="wechat_push").raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda tag, text: f"<xml><{tag}>{text}</{tag}><MsgType>event</MsgType></xml>".encode(),
            st.sampled_from(["FromUserName", "CreateTime", "Event", "EventKey", "Encrypt"]),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="<&"), max_size=40),
        ),
    ),
    encrypted=st.booleans(),
)
def test_no_signed_body_makes_the_callback_fail_with_a_500(client, oa_app, body, encrypted):
    query = signed_query(encrypt_type="aes", msg_signature="0" * 40) if encrypted else signed_query()

    response = post_push(client, body, query)

    assert response.status_code in {200, 400, 403}


def test_a_push_costs_a_handful_of_queries(client, oa_app, poster, django_assert_max_num_queries):
    from datetime import UTC, datetime

    from events.partitions import ensure_partitions

    body = event_xml("subscribe", event_key="qrscene_c1p1")
    # The month's partition exists, as it does for every push but the first of a month
    # (creating it is a once-a-month cost, tested in test_partitions.py).
    ensure_partitions([datetime.fromtimestamp(CREATE_TIME, tz=UTC)])

    # The write itself is one statement on PostgreSQL (tests/events/write_cost.py).
    with django_assert_max_num_queries(7 + write_statements(placement=True)):
        response = post_push(client, body)

    assert response.content == b"success"


def test_a_mini_program_push_in_xml_mode_is_stored_with_the_mini_program_source(client, db):
    WeChatApp.objects.create(appid="wxmp0000000000001", token=TOKEN, kind=WeChatApp.Kind.MINI_PROGRAM)

    post_push(client, event_xml("user_enter_tempsession", openid="oMP_1"), appid="wxmp0000000000001")

    assert Event.objects.get().source == "mini_program"
    assert Event.objects.get().event_name == "mp_user_enter_tempsession"


def test_the_callback_url_also_works_without_its_trailing_slash(client, oa_app):
    response = client.post(
        f"/wechat/{APPID}?{urlencode(signed_query())}", data=event_xml("subscribe"), content_type="text/xml"
    )

    assert response.status_code == 200
    assert events_named("follow").count() == 1
