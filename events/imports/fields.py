"""Columns of an import file and the plain functions that parse one cell.

A parser takes the cell's text (already stripped; never empty) and returns the value, or
raises `ValueError` with a message a marketer can act on. Empty cells never reach a parser:
the column's `required` flag or `default` decides what they mean.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

# Cells that mean "no value": the seed's schema writes `-`; exports write N/A or --.
EMPTY_MARKERS = frozenset({"", "-", "--", "n/a", "na", "null", "none"})

CENT = Decimal("0.01")
MAX_COUNT = 2**63 - 1  # PositiveBigIntegerField; smaller fields cap themselves below.


def normalise_header(name: str) -> str:
    """`Valid Click Count` → `valid_click_count`; a UTF-8 BOM and stray quotes are dropped,
    and so is a trailing unit in brackets, as console downloads write it (`次均停留时长(秒)`)."""
    name = name.replace("\ufeff", "").strip().strip('"').strip()
    name = re.sub(r"\s*[(（][^()（）]*[)）]$", "", name)
    name = re.sub(r"[\s\-./]+", "_", name.lower())
    return name.strip("_")


@dataclass(frozen=True)
class Column:
    """One field of an import kind: the model field, the header names that mean it, how to
    parse a cell. `scale` divides the parsed number (fen → yuan)."""

    name: str
    parse: Callable[[str], Any]
    aliases: tuple[str, ...] = ()
    required: bool = False
    default: Any = None
    help: str = ""
    # Header alias → a function applied after parsing (e.g. cost_fen → yuan).
    alias_transforms: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.name, *self.aliases, *self.alias_transforms)


DATE_FORMS = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$|^(\d{4})(\d{2})(\d{2})$|^(\d{4})/(\d{1,2})/(\d{1,2})$")


def parse_date(text: str) -> dt.date:
    """ISO `2025-11-01`, WeChat Mini Program `20251101` or `2025/11/01`; not in the future."""
    # Spreadsheet exports sometimes add a midnight time: 2025-11-01 00:00:00.
    head = text.strip().split(" ")[0].split("T")[0]
    match = DATE_FORMS.match(head)
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(part) for part in match.groups() if part is not None)
        value = dt.date(year, month, day)
    except ValueError:
        raise ValueError(
            gettext_noop("%(text)s is not a date; use YYYY-MM-DD (or YYYYMMDD).") % {"text": repr(text)}
        ) from None
    today = timezone.now().astimezone(settings.REPORTING_TZ).date()
    if value > today:
        raise ValueError(
            gettext_noop("%(date)s is in the future (today is %(today)s in %(zone)s).")
            % {"date": value.isoformat(), "today": today.isoformat(), "zone": settings.TIME_ZONE}
        )
    return value


def _number_text(text: str) -> str:
    # Thousands separators and currency signs are how spreadsheets show numbers.
    return text.replace(",", "").replace("¥", "").replace("￥", "").replace(" ", "").strip()


def _decimal(text: str, not_expected: str) -> Decimal:
    """A finite decimal from spreadsheet text, or ValueError with `not_expected` (a msgid
    with %(text)s): one whole sentence per parser, so a translation can word it freely."""
    try:
        number = Decimal(_number_text(text))
    except InvalidOperation:
        raise ValueError(not_expected % {"text": repr(text)}) from None
    if not number.is_finite():
        raise ValueError(not_expected % {"text": repr(text)})
    return number


def parse_count(text: str) -> int:
    """A whole, non-negative number. `1,234` and `12.0` are fine; `12.5` and `-3` are not."""
    number = _decimal(text, gettext_noop("%(text)s is not a number."))
    if number != number.to_integral_value():
        raise ValueError(gettext_noop("%(text)s is not a whole number.") % {"text": repr(text)})
    if number < 0:
        raise ValueError(gettext_noop("%(text)s is negative.") % {"text": repr(text)})
    if number > MAX_COUNT:
        raise ValueError(gettext_noop("%(text)s is too large.") % {"text": repr(text)})
    return int(number)


def parse_count_32(text: str) -> int:
    """A count stored in a 32-bit positive integer column."""
    value = parse_count(text)
    if value > 2_147_483_647:
        raise ValueError(
            gettext_noop("%(text)s is too large for this column (at most 2147483647).") % {"text": repr(text)}
        )
    return value


def parse_money(text: str) -> Decimal:
    """Yuan as a decimal, rounded to the fen: `1,234.5` → 1234.50. Never negative."""
    number = _decimal(text, gettext_noop("%(text)s is not an amount; write yuan like 1234.56."))
    if number < 0:
        raise ValueError(gettext_noop("%(text)s is negative.") % {"text": repr(text)})
    if number >= Decimal("1e12"):
        raise ValueError(gettext_noop("%(text)s is too large.") % {"text": repr(text)})
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def fen_to_yuan(value: Decimal) -> Decimal:
    """Tencent Ads' API reports money as integer fen (WECHAT.md §7)."""
    if value != value.to_integral_value():
        raise ValueError(gettext_noop("%(value)s fen is not a whole number of fen.") % {"value": value})
    return (value / 100).quantize(CENT)


def parse_rate(text: str) -> Decimal:
    """A share between 0 and 1: `0.63`, or a percentage `63%` / `63.5 %`."""
    cleaned = text.replace(" ", "").strip()
    percent = cleaned.endswith("%")
    if percent:
        cleaned = cleaned[:-1]
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(gettext_noop("%(text)s is not a rate; write 0.63 or 63%%.") % {"text": repr(text)}) from None
    if not number.is_finite():
        raise ValueError(gettext_noop("%(text)s is not a rate.") % {"text": repr(text)})
    if percent:
        number = number / 100
    if not Decimal(0) <= number <= Decimal(1):
        raise ValueError(gettext_noop("%(text)s is not between 0 and 1 (or 0%% and 100%%).") % {"text": repr(text)})
    return number.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def parse_seconds(text: str) -> Decimal:
    """Seconds as a decimal (WeChat reports average stay time as a float)."""
    cleaned = _number_text(text)
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(gettext_noop("%(text)s is not a number of seconds.") % {"text": repr(text)}) from None
    if not number.is_finite() or number < 0:
        raise ValueError(gettext_noop("%(text)s is not a non-negative number of seconds.") % {"text": repr(text)})
    if number >= Decimal("1e8"):
        raise ValueError(gettext_noop("%(text)s is too large.") % {"text": repr(text)})
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def text_parser(max_length: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > max_length:
            raise ValueError(
                gettext_noop("is %(length)s characters long; at most %(limit)s.")
                % {"length": len(text), "limit": max_length}
            )
        return text

    return parse


APP_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def parse_app_id(text: str) -> str:
    if not APP_ID.match(text):
        raise ValueError(
            gettext_noop("%(text)s is not a WeChat appid (letters and digits, at most 32, e.g. wx1234567890abcdef).")
            % {"text": repr(text)}
        )
    return text
