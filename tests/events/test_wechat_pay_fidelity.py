"""WeChat Pay details the first pass got wrong: serial numbers are hexadecimal numbers (case
does not matter), the serial of a pasted certificate is read from it, and in partner mode a
payer's openid belongs to the app it was issued under.

Resources follow the v3 notification docs (普通商户 and 服务商 JSAPI 支付通知, WECHAT.md §6).
"""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError

from events.models import Event, PayMerchant
from tests.events.test_wechat_pay import (
    API_V3_KEY,
    MCHID,
    SERIAL,
    notification_body,
    notify,
    public_pem,
    signed_headers,
)

CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A72"


@pytest.fixture
def merchant(db, platform_key):
    return PayMerchant.objects.create(
        mchid=MCHID, api_v3_key=API_V3_KEY, platform_key_serial=SERIAL, platform_public_key=public_pem(platform_key)
    )


def _certificate_pem(key: rsa.RSAPrivateKey, serial: int = int(CERT_SERIAL, 16)) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _merchant_with_certificate(key: rsa.RSAPrivateKey, serial: str = "") -> PayMerchant:
    certified = PayMerchant(
        mchid="1230000109",
        api_v3_key=API_V3_KEY,
        platform_key_serial=serial,
        platform_public_key=_certificate_pem(key),
    )
    certified.full_clean()
    certified.save()
    return certified


def _partner_transaction(payer: dict) -> dict:
    # 服务商 (partner) JSAPI payment, decrypted: sp_/sub_ ids instead of appid/mchid.
    return {
        "sp_appid": "wx8888888888888888",
        "sp_mchid": "1230000109",
        "sub_appid": "wxd678efh567hg6999",
        "sub_mchid": "1900000109",
        "out_trade_no": "1217752501201407033233368018",
        "transaction_id": "4200000001202411281234567892",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMC",
        "attach": "",
        "success_time": "2024-11-28T10:34:56+08:00",
        "payer": payer,
        "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
    }


@pytest.mark.django_db
def test_a_lower_case_wechatpay_serial_still_picks_the_certificate(client, platform_key):
    certified = _merchant_with_certificate(platform_key)
    body = notification_body(
        {**_partner_transaction({"sub_openid": "oSub_1"}), "sp_mchid": certified.mchid}, key=API_V3_KEY
    )

    response = notify(
        client,
        body,
        signed_headers(body, platform_key, serial=CERT_SERIAL.lower()),
        url=f"/wechat/pay/{certified.mchid}/notify/",
    )

    assert response.status_code == 204
    assert Event.objects.filter(event_name="pay_success").count() == 1


@pytest.mark.django_db
def test_the_serial_is_read_from_a_pasted_certificate(platform_key):
    certified = _merchant_with_certificate(platform_key, serial="")

    assert certified.platform_key_serial == CERT_SERIAL


@pytest.mark.django_db
def test_a_typed_serial_that_disagrees_with_the_certificate_is_refused(platform_key):
    with pytest.raises(ValidationError) as refused:
        _merchant_with_certificate(platform_key, serial="4157F09EFDC096DE15EBE81A47057A72")

    assert CERT_SERIAL in refused.value.message_dict["platform_key_serial"][0]
    assert not PayMerchant.objects.exists()


@pytest.mark.django_db
def test_a_typed_serial_in_other_case_is_the_same_serial(platform_key):
    certified = _merchant_with_certificate(platform_key, serial=CERT_SERIAL.lower())

    assert certified.platform_key_for(CERT_SERIAL) is not None


@pytest.mark.django_db
def test_a_bare_public_key_still_needs_its_id(platform_key):
    pem = platform_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    bare = PayMerchant(mchid="1", api_v3_key=API_V3_KEY, platform_public_key=pem.decode())

    with pytest.raises(ValidationError, match="PUB_KEY_ID_"):
        bare.full_clean()


def test_the_admin_fills_the_serial_from_the_certificate(client, analyst, platform_key):
    client.force_login(analyst)

    response = client.post(
        "/admin/events/paymerchant/add/",
        {
            "mchid": "1230000109",
            "api_v3_key": API_V3_KEY,
            "platform_key_serial": "",
            "platform_public_key": _certificate_pem(platform_key),
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert PayMerchant.objects.get().platform_key_serial == CERT_SERIAL


def test_a_partner_payer_with_only_sp_openid_belongs_to_sp_appid(client, merchant, platform_key):
    body = notification_body(_partner_transaction({"sp_openid": "oSp_payer_1"}))

    response = notify(client, body, signed_headers(body, platform_key))

    assert response.status_code == 204
    event = Event.objects.get(event_name="pay_success")
    assert (event.user_id, event.app_id) == ("oSp_payer_1", "wx8888888888888888")


def test_a_partner_payer_with_sub_openid_belongs_to_the_sub_merchants_app(client, merchant, platform_key):
    body = notification_body(_partner_transaction({"sp_openid": "oSp_payer_1", "sub_openid": "oSub_payer_1"}))

    response = notify(client, body, signed_headers(body, platform_key))

    assert response.status_code == 204
    event = Event.objects.get(event_name="pay_success")
    assert (event.user_id, event.app_id) == ("oSub_payer_1", "wxd678efh567hg6999")
