"""Date formats per language (FORMAT_MODULE_PATH): Django's own, plus the time zone after
every time, so no page shows a time without saying which zone it is in (docs/i18n.md)."""

from django.conf import settings
from django.utils import formats, timezone

# Names people read, per zone and language; another zone shows its IANA name.
ZONE_NAMES = {
    "Asia/Shanghai": {"zh-hans": "中国标准时间", "en": "China Standard Time"},
    "UTC": {"zh-hans": "协调世界时", "en": "UTC"},
}


def zone_name(language: str) -> str:
    """The reporting time zone's name in `language` ("中国标准时间", "China Standard Time")."""
    names = ZONE_NAMES.get(settings.TIME_ZONE, {})
    return names.get(language, settings.TIME_ZONE)


def literal(text: str) -> str:
    """`text` escaped for a Django date format string (letters are format characters)."""
    return "".join("\\" + char if char.isascii() and char.isalpha() else char for char in text)


def local_datetime(value) -> str:
    """An aware datetime as people read it: reporting time zone, the page's language, the
    zone named ("2026年11月29日 14:30 (中国标准时间)"). For text built in Python, such as the
    object names admin shows in titles and messages."""
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
