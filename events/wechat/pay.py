"""WeChat Pay API v3 notifications → ingest rows (WECHAT.md §6).

Steps for one POST to `/wechat/pay/<mchid>/notify/`:
1. `verify_signature`: SHA256withRSA over `timestamp\\nnonce\\nbody\\n` built from the RAW
   body bytes, with the merchant's platform key chosen by `Wechatpay-Serial`; a timestamp
   more than 5 minutes off is refused (a captured notification cannot be replayed later).
   WeChat's deliberate signature-probe traffic fails here like any forgery.
2. `decrypt_resource`: AES-256-GCM with the API v3 key, nonce and associated_data.
3. `rows_from_notification`: TRANSACTION.SUCCESS → `pay_success`, REFUND.* → `refund_<status>`
   (REFUND.SUCCESS → `refund_success`), amounts from fen to yuan.
4. `store_notification`: ingest with event_id = transaction_id (refund_id for refunds), so
   WeChat's retries and replays count once.
"""

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection
from django.db.models import Subquery
from django.utils import timezone

from events.ingest import IngestResult, ingest_rows
from events.ingest.dedupe import dedupe_key, digest
from events.ingest.validate import MAX_VALUE, CleanRow, clean_ts
from events.models import Event, EventKey, PayMerchant, RejectedRow
from wxanalytics.text import snake_case, storable_text

logger = logging.getLogger(__name__)

CHANNEL = "wechat_pay"
SOURCE = "wechat_pay"
MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW_SECONDS = 5 * 60
FEN_PER_YUAN = Decimal(100)
MAX_FEN = int(MAX_VALUE * FEN_PER_YUAN)
SIGNATURE_HEADERS = ("Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce")


class PayNotificationError(ValueError):
    """A notification we refuse; WeChat gets `status` and retries on its schedule."""

    def __init__(self, message: str, *, status: int = 400, keep: bool = False):
        super().__init__(message)
        self.status = status
        self.keep = keep  # True once the sender is verified: the payload is real data worth keeping.


@dataclass(frozen=True)
class Notification:
    """A verified, decrypted notification."""

    id: str
    event_type: str
    create_time: str
    resource: dict[str, Any]


def verify_signature(
    *, merchant: PayMerchant, headers: dict[str, str], body: bytes, now: datetime | None = None
) -> None:
    """Raise PayNotificationError(401) unless the headers carry a fresh, valid platform signature."""
    missing = [name for name in SIGNATURE_HEADERS if not headers.get(name)]
    if missing:
        raise PayNotificationError(f"Missing signature headers: {', '.join(missing)}.", status=401)
    serial = headers["Wechatpay-Serial"]
    try:
        platform_key = merchant.platform_key_for(serial)
    except (ValueError, UnsupportedAlgorithm):
        logger.exception("WeChat Pay merchant %s has an unusable platform key", merchant.mchid)
        raise PayNotificationError("The configured platform key is unusable; fix it in admin.", status=401) from None
    if platform_key is None:
        raise PayNotificationError(
            f"Wechatpay-Serial {serial!r} is not one of this merchant's platform keys; add it in admin.", status=401
        )
    try:
        timestamp = int(headers["Wechatpay-Timestamp"])
    except ValueError:
        raise PayNotificationError("Wechatpay-Timestamp must be Unix seconds.", status=401) from None
    current = (now or timezone.now()).timestamp()
    if abs(current - timestamp) > MAX_CLOCK_SKEW_SECONDS:
        raise PayNotificationError("Wechatpay-Timestamp is more than 5 minutes off; refused as a replay.", status=401)
    try:
        signature = base64.b64decode(headers["Wechatpay-Signature"], validate=True)
    except binascii.Error:
        raise PayNotificationError("Wechatpay-Signature is not base64.", status=401) from None
    message = headers["Wechatpay-Timestamp"].encode() + b"\n" + headers["Wechatpay-Nonce"].encode() + b"\n"
    message += body + b"\n"
    try:
        platform_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise PayNotificationError("Wechatpay-Signature does not verify.", status=401) from None


def decrypt_resource(resource: dict[str, Any], *, api_v3_key: str) -> dict[str, Any]:
    """The decrypted `resource` as a dict (AEAD_AES_256_GCM)."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise PayNotificationError(f"Unsupported resource algorithm {resource.get('algorithm')!r}.", keep=True)
    try:
        ciphertext = base64.b64decode(resource["ciphertext"], validate=True)
        nonce = resource["nonce"].encode()
        associated_data = (resource.get("associated_data") or "").encode()
    except (KeyError, AttributeError, binascii.Error):
        raise PayNotificationError("resource needs base64 ciphertext and a nonce.", keep=True) from None
    try:
        plaintext = AESGCM(api_v3_key.encode()).decrypt(nonce, ciphertext, associated_data)
    except (InvalidTag, ValueError):
        raise PayNotificationError("Cannot decrypt resource: check the merchant's API v3 key.", keep=True) from None
    try:
        decoded = json.loads(plaintext)
    except (ValueError, RecursionError):
        raise PayNotificationError("The decrypted resource is not JSON (or nested too deeply).", keep=True) from None
    if not isinstance(decoded, dict):
        raise PayNotificationError("The decrypted resource is not a JSON object.", keep=True)
    return decoded


def parse_notification(*, merchant: PayMerchant, body: bytes) -> Notification:
    try:
        envelope = json.loads(body)
    except RecursionError:
        raise PayNotificationError("The body is JSON nested too deeply.", keep=True) from None
    except ValueError:
        raise PayNotificationError("The body is not JSON.", keep=True) from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("resource"), dict):
        raise PayNotificationError("The body needs a resource object.", keep=True)
    return Notification(
        id=str(envelope.get("id") or ""),
        event_type=str(envelope.get("event_type") or ""),
        create_time=str(envelope.get("create_time") or ""),
        resource=decrypt_resource(envelope["resource"], api_v3_key=merchant.api_v3_key),
    )


def fen_to_yuan(fen: Any) -> Decimal:
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise PayNotificationError(f"Amount {fen!r:.40} is not a whole number of fen.", keep=True)
    if fen > MAX_FEN:
        raise PayNotificationError(
            f"Amount of {len(str(fen))} digits in fen is larger than any event value.", keep=True
        )
    return (Decimal(fen) / FEN_PER_YUAN).quantize(Decimal("0.01"))


def parse_attach(attach: str) -> dict[str, str]:
    """The campaign/session/scene carried in `attach`: JSON (`{"campaign": "…"}`) or
    `key=value` pairs separated by `;` or `&` (`campaign=23Q4-Sale;session=s1`)."""
    text = (attach or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError):
            return {}
        if not isinstance(decoded, dict):
            return {}
        return {str(k).strip().lower(): str(v).strip() for k, v in decoded.items() if isinstance(v, str | int)}
    pairs = {}
    for part in text.replace("&", ";").split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            pairs[key.strip().lower()] = value.strip()
    return pairs


def _attribution(attach: str) -> dict[str, str]:
    fields = parse_attach(attach)
    return {
        "campaign": fields.get("campaign", "")[:64],
        "session_id": (fields.get("session") or fields.get("session_id") or "")[:128],
        "placement_scene": (fields.get("scene") or fields.get("placement") or "")[:64],
    }


def _str(data: dict[str, Any], key: str) -> str:
    """A text field of the decrypted resource; "" when missing or not text."""
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _payer(resource: dict[str, Any], payer: dict[str, Any]) -> tuple[str, str]:
    """The payer's openid and the appid it belongs to. An openid is only meaningful under
    its own app: in partner (service-provider) mode `sub_openid` belongs to `sub_appid`
    and `sp_openid` to the service provider's `sp_appid` (WECHAT.md §6)."""
    if _str(payer, "openid"):
        return _str(payer, "openid"), _str(resource, "appid") or _str(resource, "sub_appid")
    if _str(payer, "sub_openid"):
        return _str(payer, "sub_openid"), _str(resource, "sub_appid")
    return _str(payer, "sp_openid"), _str(resource, "sp_appid")


def _transaction_row(resource: dict[str, Any], *, merchant: PayMerchant, notification: Notification) -> dict:
    transaction_id = _str(resource, "transaction_id")
    if not transaction_id:
        raise PayNotificationError("The transaction has no transaction_id.", keep=True)
    payer, amount = _obj(resource, "payer"), _obj(resource, "amount")
    openid, app_id = _payer(resource, payer)
    if not openid:
        raise PayNotificationError("The transaction has no payer openid.", keep=True)
    attach = _str(resource, "attach")
    properties = {
        "out_trade_no": _str(resource, "out_trade_no"),
        "transaction_id": transaction_id,
        "trade_type": _str(resource, "trade_type"),
        "mchid": _str(resource, "mchid") or _str(resource, "sp_mchid") or merchant.mchid,
        "attach": attach,
    }
    if "payer_total" in amount:
        properties["payer_total"] = str(fen_to_yuan(amount["payer_total"]))
    return {
        "event_name": "pay_success",
        "user_id": openid,
        "source": SOURCE,
        "value": fen_to_yuan(amount.get("total")),
        "currency": _str(amount, "currency") or "CNY",
        "ts": _event_time(resource, notification),
        "event_id": transaction_id,
        "app_id": app_id or merchant.appid,
        "properties": {key: value for key, value in properties.items() if value},
        **_attribution(attach),
    }


def _event_time(resource: dict[str, Any], notification: Notification) -> str:
    """success_time (else the notification's create_time), checked here so that a signed
    notification with an impossible time is refused with the reason, not stored."""
    text = _str(resource, "success_time") or notification.create_time
    try:
        clean_ts(text, now=timezone.now())
    except ValueError as exc:
        raise PayNotificationError(f"success_time {text[:40]!r} {exc}", keep=True) from None
    return text


def _payment_of(transaction_id: str) -> dict[str, Any] | None:
    """The stored pay_success of a transaction, found through the unique dedupe key."""
    probe = CleanRow(event_name="pay_success", user_id="", ts=timezone.now(), event_id=transaction_id)
    key = digest(dedupe_key(probe, scope=SOURCE, content=""))
    payments = Event.objects.filter(dedupe_key=key, event_name="pay_success")
    if connection.vendor == "postgresql":
        # The key table's primary key gives the payment's instant, and event_name_ts then
        # finds the row: no index on events_event.dedupe_key (docs/scaling.md, "Storage").
        payments = payments.filter(ts=Subquery(EventKey.objects.filter(dedupe_key=key).values("ts")[:1]))
    return payments.values("user_id", "session_id", "campaign_code", "app_id").first()


def _refund_row(resource: dict[str, Any], *, merchant: PayMerchant, notification: Notification) -> dict:
    refund_id = _str(resource, "refund_id")
    if not refund_id:
        raise PayNotificationError("The refund has no refund_id.", keep=True)
    raw_status = _str(resource, "refund_status") or notification.event_type.partition(".")[2]
    status = snake_case(raw_status, split_camel=False)[:20] or "unknown"
    amount = _obj(resource, "amount")
    transaction_id = _str(resource, "transaction_id")
    # Refund notifications carry no openid: the refund belongs to whoever paid.
    payment = _payment_of(transaction_id) if transaction_id else None
    out_trade_no = _str(resource, "out_trade_no")
    properties = {
        "out_trade_no": out_trade_no,
        "out_refund_no": _str(resource, "out_refund_no"),
        "transaction_id": transaction_id,
        "refund_id": refund_id,
        "refund_status": status,
        "mchid": _str(resource, "mchid") or merchant.mchid,
        "user_received_account": _str(resource, "user_received_account"),
    }
    if "total" in amount:
        properties["order_total"] = str(fen_to_yuan(amount["total"]))
    return {
        "event_name": f"refund_{status}",
        "user_id": payment["user_id"] if payment else f"wxpay_order:{out_trade_no or transaction_id or refund_id}",
        "session_id": payment["session_id"] if payment else "",
        "campaign": payment["campaign_code"] if payment else "",
        "source": SOURCE,
        "value": fen_to_yuan(amount.get("refund")),
        "currency": _str(amount, "currency") or "CNY",
        "ts": _event_time(resource, notification),
        # The status is part of the id: ABNORMAL is not final and may later become SUCCESS.
        "event_id": refund_id if status == "success" else f"{refund_id}:{status}",
        "app_id": (payment["app_id"] if payment else "") or merchant.appid,
        "properties": {key: value for key, value in properties.items() if value},
    }


def rows_from_notification(notification: Notification, *, merchant: PayMerchant) -> list[dict[str, Any]]:
    """Event rows for a decrypted notification; event types we do not track give none."""
    resource = notification.resource
    if notification.event_type == "TRANSACTION.SUCCESS":
        if resource.get("trade_state", "SUCCESS") != "SUCCESS":  # Only SUCCESS is sent today; be strict.
            return []
        return [_transaction_row(resource, merchant=merchant, notification=notification)]
    if notification.event_type.startswith("REFUND."):
        return [_refund_row(resource, merchant=merchant, notification=notification)]
    logger.info("WeChat Pay notification %s of type %s ignored", notification.id, notification.event_type)
    return []


def keep_rejected_notification(*, body: bytes, error: PayNotificationError, mchid: str) -> int:
    """Keep a notification we could not use; a retry of it is the same row. Returns its id."""
    row = RejectedRow(
        channel=CHANNEL,
        source=SOURCE,
        raw=storable_text(body[:MAX_BODY_BYTES]),
        errors={"notification": str(error), "mchid": mchid},
    )
    return RejectedRow.objects.keep([row])[0]


def store_notification(rows: list[dict[str, Any]]) -> IngestResult:
    return ingest_rows(rows, channel=CHANNEL, source=SOURCE)
