"""WeChat Pay API v3 notifications at /wechat/pay/<mchid>/notify/ (E4).

Each test plays WeChat Pay: its own RSA "platform" key pair signs
`timestamp\\nnonce\\nbody\\n`, and the resource is encrypted with AES-256-GCM under the
merchant's API v3 key, as the v3 docs describe.
"""

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Event, PayMerchant, RejectedRow
from events.wechat.pay import parse_attach

MCHID = "1900009191"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
SERIAL = "PUB_KEY_ID_0114232134912410000"
URL = f"/wechat/pay/{MCHID}/notify/"


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def merchant(db, platform_key):
    return PayMerchant.objects.create(
        mchid=MCHID,
        name="Brand shop",
        appid="wxd678efh567hg6787",
        api_v3_key=API_V3_KEY,
        platform_key_serial=SERIAL,
        platform_public_key=public_pem(platform_key),
    )


def transaction(**overrides) -> dict:
    resource = {
        "appid": "wxd678efh567hg6787",
        "mchid": MCHID,
        "out_trade_no": "1217752501201407033233368018",
        "transaction_id": "4200000001202411281234567890",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMC",
        "attach": "campaign=23Q4-Sale;session=sess-42",
        "success_time": "2024-11-28T10:34:56+08:00",
        "payer": {"openid": "oMP_payer_1"},
        "amount": {"total": 19900, "payer_total": 19900, "currency": "CNY", "payer_currency": "CNY"},
    }
    resource.update(overrides)
    return resource


def refund(**overrides) -> dict:
    resource = {
        "mchid": MCHID,
        "out_trade_no": "1217752501201407033233368018",
        "transaction_id": "4200000001202411281234567890",
        "out_refund_no": "R-1",
        "refund_id": "50000000382019052709732678859",
        "refund_status": "SUCCESS",
        "success_time": "2024-11-29T09:00:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 19900, "refund": 5000, "payer_total": 19900, "payer_refund": 5000},
    }
    resource.update(overrides)
    return resource


def notification_body(resource: dict, *, event_type: str = "TRANSACTION.SUCCESS", key: str = API_V3_KEY) -> bytes:
    nonce = "fdasflkja484"
    associated_data = "transaction" if event_type.startswith("TRANSACTION") else "refund"
    ciphertext = AESGCM(key.encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated_data.encode()
    )
    envelope = {
        "id": "EV-2018022511223320873",
        "create_time": "2024-11-28T10:35:00+08:00",
        "event_type": event_type,
        "resource_type": "encrypt-resource",
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": associated_data,
            "nonce": nonce,
        },
    }
    # Not compact on purpose: the signature covers these exact bytes, spaces included.
    return json.dumps(envelope, ensure_ascii=False, indent=1).encode()


def signed_headers(body: bytes, key, *, timestamp: int | None = None, serial: str = SERIAL) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = "593BEC0C930BF1AFEB40B4A08C8FB242"
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "HTTP_WECHATPAY_SERIAL": serial,
        "HTTP_WECHATPAY_SIGNATURE": base64.b64encode(signature).decode(),
        "HTTP_WECHATPAY_TIMESTAMP": str(timestamp),
        "HTTP_WECHATPAY_NONCE": nonce,
        "HTTP_WECHATPAY_SIGNATURE_TYPE": "WECHATPAY2-SHA256-RSA2048",
    }


def notify(client, body: bytes, headers: dict, url: str = URL):
    return client.post(url, data=body, content_type="application/json", **headers)


def test_a_valid_payment_notification_is_a_pay_success_in_yuan(client, merchant, platform_key, campaign):
    body = notification_body(transaction())

    response = notify(client, body, signed_headers(body, platform_key))

    assert response.status_code == 204
    event = Event.objects.get(event_name="pay_success")
    assert event.value == Decimal("199.00")
    assert event.currency == "CNY"
    assert event.user_id == "oMP_payer_1"
    assert event.source == "wechat_pay"
    assert event.app_id == "wxd678efh567hg6787"
    assert event.event_id == "4200000001202411281234567890"
    assert event.campaign_id == campaign.pk
    assert event.session_id == "sess-42"
    assert event.ts == datetime(2024, 11, 28, 2, 34, 56, tzinfo=UTC)
    assert event.properties["out_trade_no"] == "1217752501201407033233368018"


def test_a_notification_replayed_twice_is_counted_once(client, merchant, platform_key):
    body = notification_body(transaction())

    answers = [notify(client, body, signed_headers(body, platform_key)) for _ in range(3)]

    assert [a.status_code for a in answers] == [204, 204, 204]
    assert Event.objects.filter(event_name="pay_success").count() == 1


def test_a_bad_signature_is_refused_with_the_documented_failure_body(client, merchant, platform_key):
    body = notification_body(transaction())
    headers = signed_headers(body, platform_key)
    headers["HTTP_WECHATPAY_SIGNATURE"] = "WECHATPAY/SIGNTEST/" + headers["HTTP_WECHATPAY_SIGNATURE"][19:]

    response = notify(client, body, headers)

    assert response.status_code == 401
    assert response.json()["code"] == "FAIL"
    assert not Event.objects.exists()


def test_a_notification_signed_by_another_key_is_refused(client, merchant):
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = notification_body(transaction())

    response = notify(client, body, signed_headers(body, impostor))

    assert response.status_code == 401
    assert not Event.objects.exists()


def test_the_signature_covers_the_raw_body_so_a_reserialised_body_fails(client, merchant, platform_key):
    body = notification_body(transaction())
    headers = signed_headers(body, platform_key)
    compact = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()

    response = notify(client, compact, headers)

    assert response.status_code == 401


def test_a_timestamp_more_than_five_minutes_old_is_refused_as_a_replay(client, merchant, platform_key):
    body = notification_body(transaction())
    stale = int(time.time()) - 6 * 60

    response = notify(client, body, signed_headers(body, platform_key, timestamp=stale))

    assert response.status_code == 401
    assert "5 minutes" in response.json()["message"]
    assert not Event.objects.exists()


def test_an_unknown_serial_is_refused(client, merchant, platform_key):
    body = notification_body(transaction())

    response = notify(client, body, signed_headers(body, platform_key, serial="5157F09EFDC096DE15EBE81A47057A72"))

    assert response.status_code == 401


def test_missing_signature_headers_are_refused(client, merchant):
    response = notify(client, notification_body(transaction()), {})

    assert response.status_code == 401
    assert "Wechatpay-Signature" in response.json()["message"]


def test_an_unknown_merchant_is_404(client, merchant, platform_key):
    body = notification_body(transaction())

    response = notify(client, body, signed_headers(body, platform_key), url="/wechat/pay/1111111111/notify/")

    assert response.status_code == 404


def test_a_resource_encrypted_with_another_api_v3_key_is_400_and_kept(client, merchant, platform_key):
    body = notification_body(transaction(), key="Z" * 32)

    response = notify(client, body, signed_headers(body, platform_key))

    assert response.status_code == 400
    assert "API v3 key" in response.json()["message"]
    assert RejectedRow.objects.get(channel="wechat_pay").errors["mchid"] == MCHID


def test_a_refund_is_a_refund_success_in_yuan_for_the_payer(client, merchant, platform_key):
    paid = notification_body(transaction())
    notify(client, paid, signed_headers(paid, platform_key))
    body = notification_body(refund(), event_type="REFUND.SUCCESS")

    response = notify(client, body, signed_headers(body, platform_key))

    assert response.status_code == 204
    event = Event.objects.get(event_name="refund_success")
    assert event.value == Decimal("50.00")
    assert event.user_id == "oMP_payer_1"
    assert event.campaign_code == "23Q4-Sale"
    assert event.event_id == "50000000382019052709732678859"
    assert event.properties["out_refund_no"] == "R-1"


def test_a_refund_before_its_payment_is_known_goes_to_the_order(client, merchant, platform_key):
    body = notification_body(refund(), event_type="REFUND.SUCCESS")

    notify(client, body, signed_headers(body, platform_key))

    assert Event.objects.get(event_name="refund_success").user_id == "wxpay_order:1217752501201407033233368018"


def test_a_refund_replayed_is_counted_once(client, merchant, platform_key):
    body = notification_body(refund(), event_type="REFUND.SUCCESS")

    for _ in range(2):
        notify(client, body, signed_headers(body, platform_key))

    assert Event.objects.filter(event_name="refund_success").count() == 1


def test_a_platform_certificate_works_as_well_as_a_bare_public_key(client, merchant, platform_key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(platform_key.public_key())
        .serial_number(0x5157F09EFDC096DE15EBE81A47057A72)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(platform_key, hashes.SHA256())
    )
    merchant.platform_public_key = certificate.public_bytes(serialization.Encoding.PEM).decode()
    merchant.platform_key_serial = "5157F09EFDC096DE15EBE81A47057A72"
    merchant.save()
    body = notification_body(transaction())

    response = notify(client, body, signed_headers(body, platform_key, serial=merchant.platform_key_serial))

    assert response.status_code == 204


def test_a_json_attach_carries_campaign_and_session(client, merchant, platform_key, campaign):
    body = notification_body(transaction(attach=json.dumps({"campaign": "23Q4-Sale", "session": "s-9"})))

    notify(client, body, signed_headers(body, platform_key))

    event = Event.objects.get(event_name="pay_success")
    assert (event.campaign_id, event.session_id) == (campaign.pk, "s-9")


@pytest.mark.parametrize(
    ("attach", "expected"),
    [
        ("campaign=23Q4-Sale;session=s1", {"campaign": "23Q4-Sale", "session": "s1"}),
        ("campaign=A&scene=c1p1", {"campaign": "A", "scene": "c1p1"}),
        ('{"campaign": "A", "session": 7}', {"campaign": "A", "session": "7"}),
        ("free text from the shop", {}),
        ("{not json", {}),
        ("", {}),
    ],
)
def test_attach_is_read_as_key_value_pairs_or_json(attach, expected):
    assert parse_attach(attach) == expected


def test_a_non_json_body_with_a_valid_signature_is_400_and_kept(client, merchant, platform_key):
    body = b"<xml>not json</xml>"

    response = notify(client, body, signed_headers(body, platform_key))

    assert response.status_code == 400
    assert RejectedRow.objects.filter(channel="wechat_pay").count() == 1


def test_the_api_v3_key_must_be_32_characters(merchant):
    merchant.api_v3_key = "short"

    with pytest.raises(ValidationError, match="32 characters"):
        merchant.full_clean()


def test_a_get_on_the_notify_url_is_405(client, merchant):
    assert client.get(URL).status_code == 405


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    resource=st.dictionaries(
        st.sampled_from(["transaction_id", "payer", "amount", "success_time", "attach", "trade_state", "refund_id"]),
        st.one_of(
            st.none(),
            st.integers(-5, 10**12),
            st.text(max_size=30),
            st.dictionaries(st.text(max_size=8), st.integers()),
        ),
    ),
    event_type=st.sampled_from(["TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.ABNORMAL", "OTHER"]),
)
def test_no_signed_and_decryptable_notification_makes_the_callback_fail_with_a_500(
    client, merchant, platform_key, resource, event_type
):
    body = notification_body(resource, event_type=event_type)

    response = notify(client, body, signed_headers(body, platform_key))

    assert response.status_code in {204, 400}


def test_the_admin_never_shows_the_api_v3_key_and_keeps_it_when_left_empty(client, analyst, merchant):
    client.force_login(analyst)
    url = f"/admin/events/paymerchant/{merchant.pk}/change/"

    page = client.get(url)
    response = client.post(
        url,
        {
            "mchid": MCHID,
            "name": "Renamed shop",
            "appid": merchant.appid,
            "api_v3_key": "",
            "platform_key_serial": SERIAL,
            "platform_public_key": merchant.platform_public_key,
            "is_active": "on",
        },
    )

    assert page.status_code == 200
    assert API_V3_KEY not in page.content.decode()
    assert f"/wechat/pay/{MCHID}/notify/" in page.content.decode()
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.name, merchant.api_v3_key) == ("Renamed shop", API_V3_KEY)
    assert API_V3_KEY not in client.get("/admin/events/paymerchant/").content.decode()


def test_during_a_key_migration_either_configured_key_verifies(client, merchant, platform_key):
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    merchant.second_key_serial = "PUB_KEY_ID_0114232134912410001"
    merchant.second_public_key = public_pem(new_key)
    merchant.full_clean()
    merchant.save()
    old_body = notification_body(transaction())
    new_body = notification_body(transaction(transaction_id="4200000001202411281234567891"))

    answers = [
        notify(client, old_body, signed_headers(old_body, platform_key)),
        notify(client, new_body, signed_headers(new_body, new_key, serial=merchant.second_key_serial)),
        notify(client, new_body, signed_headers(new_body, platform_key, serial=merchant.second_key_serial)),
    ]

    assert [a.status_code for a in answers] == [204, 204, 401]
    assert Event.objects.filter(event_name="pay_success").count() == 2


def test_the_notify_url_also_works_without_its_trailing_slash(client, merchant, platform_key):
    body = notification_body(transaction())

    response = notify(client, body, signed_headers(body, platform_key), url=URL.rstrip("/"))

    assert response.status_code == 204
