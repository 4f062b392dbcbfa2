"""Official Account push and Mini Program message push → ingest rows (WECHAT.md §2).

Steps for one POST to `/wechat/<appid>/`, each a plain function the view calls in order:
1. `parse_body`: XML (`parse_xml`: defusedxml with DTDs forbidden, so entity tricks (XXE,
   billion laughs) never expand; anything that is not an `<xml>` envelope is a
   PushRejected), or JSON (`parse_json`) for a Mini Program whose console chose the JSON
   data format. Both give the same {field: text} message.
2. `open_envelope`: in compatible/safe mode (`encrypt_type=aes`) check `msg_signature`
   over the ciphertext and decrypt it (crypto.py); plaintext mode uses the envelope as is.
3. `rows_from_message`: map the message to event rows (table in docs/wechat.md).
4. `store_push`: hand the rows to `ingest_rows` with deterministic event ids, so WeChat's
   retries of the same XML are stored once.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from campaigns.models import WeChatApp
from events.ingest import IngestResult, ingest_rows
from events.models import RejectedRow
from wxanalytics.text import snake_case, storable_text

from . import crypto
from .signature import check_msg_signature

logger = logging.getLogger(__name__)

CHANNEL = "wechat_push"
SOURCE = "official_account"
MINI_PROGRAM_SOURCE = "mini_program"  # Mini Program message push: the same fields, in XML or JSON.
MAX_BODY_BYTES = 64 * 1024  # A push is well under 2 KB; 64 KB leaves room and bounds the parser.
QR_SUBSCRIBE_PREFIX = "qrscene_"
MAX_SUBSCRIBE_ITEMS = 20  # a popup asks for at most 3 templates; bounds what one push can write
MENU_EVENTS = {"click": "menu_key", "view": "url", "view_miniprogram": "page"}
# Fields copied into properties for the catch-all `oa_<event>` rows (LOCATION, job results, …).
# Message content (Content, PicUrl, …) is deliberately not copied: it is the user's words.
EXTRA_FIELDS = {
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Precision": "precision",
    "MsgID": "msg_id",
    "Status": "status",
    "MenuId": "menu_id",
    "Ticket": "ticket",
    "SessionFrom": "session_from",  # user_enter_tempsession: the session-from of the contact button
}
# Subscription-message events carry one item per template; the XML wraps the items in
# <Container><List>…</List></Container>, the JSON data format puts a "List" array at the top.
SUBSCRIBE_MESSAGE_EVENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}
SUBSCRIBE_MESSAGE_FIELDS = {
    "TemplateId": "template_id",
    "SubscribeStatusString": "status",
    "PopupScene": "popup_scene",
    "MsgID": "msg_id",
    "ErrorCode": "error_code",
    "ErrorStatus": "error_status",
}


class PushRejected(ValueError):
    """The push cannot become events; kept as a RejectedRow and answered with `status`."""

    def __init__(self, message: str, *, field: str = "xml", status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class PushQuery:
    """The query string WeChat appends to every POST."""

    timestamp: str
    nonce: str
    encrypt_type: str = ""
    msg_signature: str = ""

    @property
    def encrypted(self) -> bool:
        return self.encrypt_type.lower() == "aes"


def parse_xml(body: bytes) -> dict[str, Any]:
    """The children of a WeChat `<xml>` envelope as {tag: text}; one level of nesting
    (ScanCodeInfo, SendPicsInfo, …) becomes a nested dict."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise PushRejected(f"XML with a DTD or entity declaration is refused ({type(exc).__name__}).") from None
    except ParseError as exc:
        raise PushRejected(f"Malformed XML: {exc}.") from None
    except (ValueError, LookupError) as exc:
        # expat reads only UTF-8/16, Latin-1 and ASCII; WeChat sends UTF-8, so a declared
        # encoding="gbk" (or an unknown one) is a sender we do not understand.
        raise PushRejected(f"The XML declares an encoding expat cannot read ({exc}); WeChat sends UTF-8.") from None
    if root.tag != "xml":
        raise PushRejected(f"Expected an <xml> root element, got <{root.tag}>.")
    message: dict[str, Any] = {}
    for child in root:
        if len(child):
            message[child.tag] = _nested_xml(child)
        else:
            message[child.tag] = (child.text or "").strip()
    return message


def _nested_xml(element) -> dict[str, Any]:
    """ScanCodeInfo-style children as {tag: text}; repeated item elements (the `<List>` of
    subscription-message events) as {tag: [{tag: text}, …]}."""
    value: dict[str, Any] = {}
    for child in element:
        if len(child):
            value.setdefault(child.tag, []).append({leaf.tag: (leaf.text or "").strip() for leaf in child})
        else:
            value[child.tag] = (child.text or "").strip()
    return value


def _json_scalar(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _json_value(value: Any) -> Any:
    """The JSON data format's value in the shape parse_xml gives: text, {field: text}, or a
    list of {field: text} items. Numbers become text (CreateTime, MsgId are numbers there)."""
    if isinstance(value, list):
        return [{k: _json_scalar(v) for k, v in item.items()} for item in value if isinstance(item, dict)]
    if isinstance(value, dict):
        return {k: _json_value(v) if isinstance(v, list) else _json_scalar(v) for k, v in value.items()}
    return _json_scalar(value)


def parse_json(body: bytes) -> dict[str, Any]:
    """A Mini Program push in the JSON data format, as the same message parse_xml gives."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PushRejected(f"Malformed JSON: {exc}.", field="json") from None
    if not isinstance(data, dict):
        raise PushRejected("Expected a JSON object.", field="json")
    return {str(key): _json_value(value) for key, value in data.items()}


def parse_body(body: bytes) -> dict[str, Any]:
    """XML or JSON, told by the first character: a Mini Program's console picks one data
    format for its push, the Official Account push is always XML."""
    if body.lstrip()[:1] == b"{":
        return parse_json(body)
    return parse_xml(body)


def open_envelope(envelope: dict[str, Any], *, app: WeChatApp, query: PushQuery) -> dict[str, Any]:
    """The message inside the envelope: decrypted and re-parsed in encrypted mode."""
    if not query.encrypted:
        return envelope
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise PushRejected("encrypt_type=aes but the body has no <Encrypt> element.", field="Encrypt")
    if not app.encoding_aes_key:
        raise PushRejected(
            "This app has no EncodingAESKey configured; add it or switch the console to plaintext mode.",
            field="Encrypt",
        )
    if not check_msg_signature(
        token=app.token,
        timestamp=query.timestamp,
        nonce=query.nonce,
        encrypted=encrypted,
        msg_signature=query.msg_signature,
    ):
        raise PushRejected("msg_signature does not match the ciphertext.", field="msg_signature", status=403)
    try:
        xml = crypto.decrypt(encrypted, encoding_aes_key=app.encoding_aes_key, appid=app.appid)
    except crypto.PushCryptoError as exc:
        raise PushRejected(f"Cannot decrypt: {exc}", field="Encrypt") from None
    return parse_body(xml)


def _event_name_for(event: str, *, prefix: str) -> str:
    """`oa_` (`mp_` for a Mini Program) + the WeChat event in lower snake case
    (`TEMPLATESENDJOBFINISH` → `oa_templatesendjobfinish`)."""
    slug = snake_case(event, split_camel=False) or "unknown"
    return f"{prefix}_{slug}"[:64]


def _dedupe_id(appid: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join((appid, *parts)).encode()).hexdigest()[:40]
    return f"oa:{digest}"


def _text(message: dict[str, Any], field: str) -> str:
    """A leaf element's text; "" when missing or when WeChat (or a forger) nested it."""
    value = message.get(field)
    return value if isinstance(value, str) else ""


def rows_from_message(message: dict[str, Any], *, app: WeChatApp) -> list[dict[str, Any]]:
    """Event rows for one push message (see docs/wechat.md for the table).

    The event id hashes appid + FromUserName + CreateTime + Event + EventKey (or the
    MsgId of a user message), so the same XML delivered again maps to the same ids.
    """
    openid = _text(message, "FromUserName")
    create_time = _text(message, "CreateTime")
    msg_type = _text(message, "MsgType").lower()
    if not openid:
        raise PushRejected("FromUserName is missing.", field="FromUserName")
    if not (create_time.isascii() and create_time.isdigit()) or len(create_time) > 10:
        raise PushRejected("CreateTime must be Unix seconds.", field="CreateTime")
    if not msg_type:
        raise PushRejected("MsgType is missing.", field="MsgType")
    ts = datetime.fromtimestamp(int(create_time), tz=UTC)
    prefix = "mp" if app.kind == WeChatApp.Kind.MINI_PROGRAM else "oa"

    def row(event_name: str, event_id: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "event_name": event_name,
            "user_id": openid,
            "session_id": "",
            "source": source_for(app),
            "campaign": "",
            "page": "",
            "value": None,
            "currency": "",
            "ts": ts,
            "event_id": event_id,
            "app_id": app.appid,
            "properties": {key: value for key, value in properties.items() if value not in (None, "")},
            **extra,
        }

    if msg_type != "event":
        msg_id = _text(message, "MsgId") or _text(message, "MsgID")
        key = _dedupe_id(app.appid, "msg", msg_id) if msg_id else _dedupe_id(app.appid, openid, create_time, msg_type)
        return [row(f"{prefix}_message", key, {"msg_type": msg_type, "msg_id": msg_id})]

    raw_event = _text(message, "Event")
    if not raw_event:
        raise PushRejected("An event push needs an Event element.", field="Event")
    event = raw_event.lower()  # WeChat mixes `subscribe` and `SCAN`, `CLICK`.
    event_key = _text(message, "EventKey")
    ticket = _text(message, "Ticket")
    base_id = _dedupe_id(app.appid, openid, create_time, event, event_key)

    if event == "subscribe":
        if event_key.startswith(QR_SUBSCRIBE_PREFIX) and len(event_key) > len(QR_SUBSCRIBE_PREFIX):
            scene = event_key[len(QR_SUBSCRIBE_PREFIX) :]
            props = {"scene": scene, "ticket": ticket, "via": "subscribe"}
            return [
                row("qr_scan", f"{base_id}:qr_scan", props, placement_scene=scene),
                row("follow", f"{base_id}:follow", {"scene": scene}, placement_scene=scene),
            ]
        return [row("follow", base_id, {})]
    if event == "scan":
        props = {"scene": event_key, "ticket": ticket, "via": "scan"}
        return [row("qr_scan", base_id, props, placement_scene=event_key or None)]
    if event == "unsubscribe":
        return [row("unfollow", base_id, {})]
    if event in MENU_EVENTS:
        props = {"kind": event, MENU_EVENTS[event]: event_key, "menu_id": _text(message, "MenuId")}
        return [row("menu_click", base_id, props)]

    items = _subscribe_message_items(message, event)
    if items:
        name = _event_name_for(event, prefix=prefix)
        return [
            row(name, f"{base_id}:{n}:{item.get('TemplateId', '')}"[:128], _subscribe_message_props(raw_event, item))
            for n, item in enumerate(items)
        ]

    props = {"event": raw_event, "event_key": event_key}
    for field, name in EXTRA_FIELDS.items():
        value = message.get(field)
        if isinstance(value, str):
            props[name] = value
    for nested_field in ("ScanCodeInfo", "SendLocationInfo"):
        if isinstance(message.get(nested_field), dict):
            props[nested_field.lower()] = message[nested_field]
    return [row(_event_name_for(event, prefix=prefix), base_id, props)]


def _subscribe_message_items(message: dict[str, Any], event: str) -> list[dict[str, str]]:
    """The per-template items of a subscription-message event, from either data format."""
    container = SUBSCRIBE_MESSAGE_EVENTS.get(event)
    if container is None:
        return []
    holder = message.get(container)
    if isinstance(holder, dict):  # XML, and JSON written like the XML
        holder = holder.get("List")
    if holder is None:  # the JSON data format: "List" at the top
        holder = message.get("List")
    if isinstance(holder, dict):
        holder = [holder]
    return [item for item in holder or [] if isinstance(item, dict)][:MAX_SUBSCRIBE_ITEMS]


def _subscribe_message_props(raw_event: str, item: dict[str, str]) -> dict[str, str]:
    props = {"event": raw_event}
    for field, name in SUBSCRIBE_MESSAGE_FIELDS.items():
        value = item.get(field)
        if isinstance(value, str):
            props[name] = value[:200]
    return props


def keep_rejected_push(*, body: bytes, error: PushRejected, app: WeChatApp) -> int:
    """Keep a push we could not read, with the reason, so nothing WeChat sent is lost.
    WeChat's retries of it are the same row (RejectedRow.objects.keep); returns its id."""
    row = RejectedRow(
        channel=CHANNEL,
        source=source_for(app),
        raw=storable_text(body[:MAX_BODY_BYTES]),
        errors={error.field: str(error), "appid": app.appid},
    )
    return RejectedRow.objects.keep([row])[0]


def source_for(app: WeChatApp) -> str:
    return MINI_PROGRAM_SOURCE if app.kind == WeChatApp.Kind.MINI_PROGRAM else SOURCE


def store_push(rows: list[dict[str, Any]], *, app: WeChatApp) -> IngestResult:
    """Ingest the rows of one push; retries are duplicates by event id (scoped by the app's source)."""
    return ingest_rows(rows, channel=CHANNEL, source=source_for(app))
