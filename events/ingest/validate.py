"""Validation: plain, fast functions that turn one received row into a clean row or a
field → reason mapping. No database access here (campaign and placement lookups happen
once per batch in `events.ingest`)."""

import functools
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from wxanalytics.text import SNAKE_CASE, is_valid_unicode, snake_case

from .currencies import ISO_4217

KNOWN_FIELDS = frozenset(
    {
        "event_name",
        "user_id",
        "session_id",
        "source",
        "campaign",
        "page",
        "value",
        "currency",
        "ts",
        "event_id",
        "properties",
        "app_id",
        "placement_scene",
    }
)
REQUIRED = ("event_name", "user_id", "ts")
TEXT_FIELDS = ("user_id", "session_id", "source", "campaign", "page", "event_id", "app_id", "placement_scene")

# Limits follow the columns of events.Event; a longer value is an error, never truncated.
MAX_LENGTH = {
    "event_name": 64,
    "user_id": 128,
    "session_id": 128,
    "source": 64,
    "campaign": 64,
    "page": 200,
    "event_id": 128,
    "app_id": 32,
    "placement_scene": 64,
    "currency": 3,
}
MAX_PROPERTIES_CHARS = 16_000
# Bounds on the work one row can ask for, checked before any per-field step: a 5 MB body of
# one row with 380,000 keys once cost 10-15x a normal batch (docs/ingest.md, bench/wide_rows.py).
MAX_FIELDS_PER_ROW = 100
MAX_PROPERTIES_DEPTH = 10
MAX_PROPERTIES_ITEMS = 1_000
# DecimalField(max_digits=14, decimal_places=2).
MAX_VALUE = Decimal("999999999999.99")
# Client clocks drift; a day ahead is already wrong, more than that is a bug (ms vs s…).
MAX_FUTURE = timedelta(days=1)
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class CleanRow:
    """A row that passed validation, with values as they will be stored; the write takes
    it as it is (events.ingest.write)."""

    event_name: str
    user_id: str
    ts: datetime
    session_id: str = ""
    source: str = ""
    campaign_code: str = ""
    page: str = ""
    value: Decimal | None = None
    currency: str = ""
    event_id: str = ""
    app_id: str = ""
    scene: str = ""
    properties: dict = field(default_factory=dict)
    # The properties as JSON text, dumped once by validation and reused by the write.
    properties_json: str = "{}"
    # Set by ingest_rows before the write: the digests of events.ingest.dedupe, the sender's key.
    dedupe_key: uuid.UUID | None = None
    content_hash: uuid.UUID | None = None
    ingest_key_id: int | None = None


def is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() in {"", "-"})


def clean_text(name: str, raw: Any) -> str:
    """A short text field: strings, or numbers sent where text was meant (ids)."""
    if raw is None:
        return ""
    if type(raw) is str:
        text = raw.strip()
        if not text or text == "-":
            return ""
    elif isinstance(raw, int) and not isinstance(raw, bool):
        text = str(raw)
    else:
        raise ValueError(gettext_noop("must be text, got %(type)s.") % {"type": type(raw).__name__})
    limit = MAX_LENGTH[name]
    if len(text) > limit:
        raise ValueError(
            gettext_noop("is %(length)s characters long; at most %(limit)s allowed.")
            % {"length": f"{len(text):,}", "limit": limit}
        )
    if "\x00" in text:
        raise ValueError(gettext_noop("contains a NUL character."))
    if not text.isascii() and not is_valid_unicode(text):
        raise ValueError(gettext_noop("contains invalid Unicode (a lone surrogate)."))
    return text


def clean_event_name(raw: Any) -> str:
    text = clean_text("event_name", raw)
    if not text:
        raise ValueError(gettext_noop("is required."))
    name = _normalised_event_name(text)
    if name is None:
        raise ValueError(
            gettext_noop(
                "%(text)s does not make a lower snake case name (letters, digits, '_', starting with a letter)."
            )
            % {"text": repr(text)}
        )
    return name


@functools.lru_cache(maxsize=4096)
def _normalised_event_name(text: str) -> str | None:
    """A batch repeats a handful of names a thousand times: normalise each once."""
    name = snake_case(text)
    return name if SNAKE_CASE.match(name) else None


def clean_ts(raw: Any, *, now: datetime) -> datetime:
    if is_empty(raw):
        raise ValueError(gettext_noop("is required."))
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if len(text) > 40:
            raise ValueError(gettext_noop("is too long for a timestamp."))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                gettext_noop("%(text)s is not an ISO 8601 timestamp (e.g. 2025-11-01T10:15:23Z).")
                % {"text": repr(text)}
            ) from None
    else:
        raise ValueError(gettext_noop("must be an ISO 8601 string, got %(type)s.") % {"type": type(raw).__name__})
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(gettext_noop("has no time zone; add Z or an offset such as +08:00."))
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            gettext_noop("%(value)s is out of range (the year 9999 with a negative offset).")
            % {"value": f"{raw!s:.40}"}
        ) from None
    if moment > now + MAX_FUTURE:
        raise ValueError(
            gettext_noop("is more than a day in the future (server time %(now)s).")
            % {"now": f"{now:%Y-%m-%dT%H:%M:%SZ}"}
        )
    if moment < EARLIEST_TS:
        raise ValueError(gettext_noop("is before 2000-01-01; check the clock or the unit."))
    return moment


def clean_value(raw: Any) -> Decimal | None:
    if is_empty(raw):
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise ValueError(gettext_noop("must be a decimal number, got %(type)s.") % {"type": type(raw).__name__})
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError(gettext_noop("must be a finite number."))
    text = str(raw).strip()
    if len(text) > 40:
        raise ValueError(gettext_noop("is too long for a number."))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(
            gettext_noop("%(text)s is not a decimal number (use a dot, e.g. 199.00).") % {"text": repr(text)}
        ) from None
    if not value.is_finite():
        raise ValueError(gettext_noop("must be a finite number."))
    if value < 0:
        raise ValueError(gettext_noop("must not be negative (send refunds as refund events with a positive value)."))
    if value > MAX_VALUE:
        raise ValueError(gettext_noop("is larger than %(limit)s.") % {"limit": f"{MAX_VALUE:,}"})
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(gettext_noop("has more than 2 decimal places."))
    return value.quantize(Decimal("0.01"))


# Events whose `value` is a measurement, not money (page_load_time: milliseconds). They
# never carry a currency: none is defaulted, and one sent is refused.
MEASUREMENT_EVENTS = frozenset({"page_load_time"})


def clean_currency(raw: Any, *, has_value: bool, event_name: str | None = None) -> str:
    if event_name in MEASUREMENT_EVENTS:
        if not is_empty(raw):
            raise ValueError(
                gettext_noop("%(event)s's value is a measurement, not money: send it without a currency.")
                % {"event": event_name}
            )
        return ""
    if is_empty(raw):
        return settings.DEFAULT_CURRENCY if has_value else ""
    if not isinstance(raw, str):
        raise ValueError(gettext_noop("must be a 3-letter ISO 4217 code such as CNY."))
    text = raw.strip().upper()
    if text not in ISO_4217:
        shown = text if len(text) <= 10 else text[:10] + "…"
        raise ValueError(
            gettext_noop("%(code)s is not an ISO 4217 currency code (e.g. CNY, USD).") % {"code": repr(shown)}
        )
    return text


def clean_properties(raw: Any) -> dict:
    if is_empty(raw):
        return {}
    if isinstance(raw, str):
        # A CSV `properties` column carries the object as JSON text.
        if len(raw) > MAX_PROPERTIES_CHARS:
            raise ValueError(_too_large())
        try:
            raw = json.loads(raw)
        except RecursionError:
            raise ValueError(_too_deep()) from None
        except ValueError:
            raise ValueError(gettext_noop('is text that is not a JSON object (e.g. {"template": "PDP"}).')) from None
    if not isinstance(raw, dict):
        raise ValueError(gettext_noop("must be a JSON object, got %(type)s.") % {"type": type(raw).__name__})
    return raw


def _too_large() -> str:
    return gettext_noop("are larger than %(limit)s characters as JSON.") % {"limit": f"{MAX_PROPERTIES_CHARS:,}"}


def _too_deep() -> str:
    return gettext_noop("are nested more than %(limit)s levels deep.") % {"limit": MAX_PROPERTIES_DEPTH}


def properties_shape_error(properties: dict) -> str | None:
    """Why the properties are too deep or too many, or None; stops at the first limit, so
    the check costs at most MAX_PROPERTIES_ITEMS steps whatever was sent."""
    items = 0
    stack: list[tuple[Any, int]] = [(properties, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_PROPERTIES_DEPTH:
            return _too_deep()
        items += len(node)
        if items > MAX_PROPERTIES_ITEMS:
            return gettext_noop("have more than %(limit)s keys and items.") % {"limit": f"{MAX_PROPERTIES_ITEMS:,}"}
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return None


# Built once: json.dumps with options builds a new encoder on every call.
_PROPERTIES_JSON = json.JSONEncoder(ensure_ascii=False, default=str, allow_nan=False).encode


def properties_json(properties: dict) -> tuple[str, str | None]:
    """(properties as JSON text, why PostgreSQL's jsonb would refuse them or None)."""
    try:
        dumped = _PROPERTIES_JSON(properties)
    except ValueError:
        return "", gettext_noop("contain NaN or Infinity, which JSON cannot store.")
    if len(dumped) > MAX_PROPERTIES_CHARS:
        return dumped, _too_large()
    if "\\u0000" in dumped or "\x00" in dumped:
        return dumped, gettext_noop("contain a NUL character.")
    if not dumped.isascii() and not is_valid_unicode(dumped):
        return dumped, gettext_noop("contain invalid Unicode (a lone surrogate).")
    return dumped, None


def validate_row(row: Any, *, now: datetime) -> tuple[CleanRow | None, dict[str, str]]:
    """Check one received row. Returns (clean row, {}) or (None, {field: why}).

    Written out field by field rather than through a table of checks: this runs 1,000
    times per batch and is a good part of the ingest's CPU (bench/ingest.py)."""
    if not isinstance(row, dict):
        return None, {
            "row": gettext_noop("must be an object with event fields, got %(type)s.") % {"type": type(row).__name__}
        }
    if len(row) > MAX_FIELDS_PER_ROW:
        return None, {
            "row": gettext_noop("has %(count)s fields; at most %(limit)s (put the rest in properties).")
            % {"count": f"{len(row):,}", "limit": MAX_FIELDS_PER_ROW}
        }
    errors: dict[str, str] = {}
    text: dict[str, str] = {}
    event_name = ts = value = currency = properties = None
    try:
        event_name = clean_event_name(row.get("event_name"))
    except ValueError as exc:
        errors["event_name"] = str(exc)
    try:
        ts = clean_ts(row.get("ts"), now=now)
    except ValueError as exc:
        errors["ts"] = str(exc)
    for name in TEXT_FIELDS:
        try:
            text[name] = clean_text(name, row.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    if text.get("user_id") == "":
        errors["user_id"] = gettext_noop("is required.")
    try:
        value = clean_value(row.get("value"))
    except ValueError as exc:
        errors["value"] = str(exc)
    try:
        currency = clean_currency(row.get("currency"), has_value=value is not None, event_name=event_name)
    except ValueError as exc:
        errors["currency"] = str(exc)
    try:
        properties = dict(clean_properties(row.get("properties")))
    except ValueError as exc:
        errors["properties"] = str(exc)
        properties = {}

    # Unknown top-level fields (extra CSV columns, extra JSON keys) are kept as properties.
    if len(row) > len(KNOWN_FIELDS & row.keys()):
        for key, raw in row.items():
            if key not in KNOWN_FIELDS and not is_empty(raw):
                if not isinstance(key, str) or len(key) > 64:
                    errors.setdefault("properties", gettext_noop("has a field name longer than 64 characters."))
                    continue
                properties.setdefault(snake_case(key) or key, raw)
    scene = text.get("placement_scene", "")
    if scene:
        properties.setdefault("scene", scene)
    dumped = "{}"
    if "properties" not in errors and properties:
        dumped, problem = "", properties_shape_error(properties)
        if problem is None:
            dumped, problem = properties_json(properties)
        if problem:
            errors["properties"] = problem
    if errors:
        return None, errors

    return CleanRow(
        event_name=event_name,
        user_id=text["user_id"],
        ts=ts,
        session_id=text["session_id"],
        source=text["source"].lower(),
        campaign_code=text["campaign"],
        page=text["page"],
        value=value,
        currency=currency,
        event_id=text["event_id"],
        app_id=text["app_id"],
        scene=scene or _scene_property(properties),
        properties=properties,
        properties_json=dumped,
    ), {}


def _scene_property(properties: dict) -> str:
    scene = properties.get("scene")
    if isinstance(scene, str | int) and not isinstance(scene, bool):
        text = str(scene).strip()
        if 0 < len(text) <= MAX_LENGTH["placement_scene"]:
            return text
    return ""
