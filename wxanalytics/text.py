"""Text as this project stores and names it: lower snake case names, and text a PostgreSQL
`text` column can hold (no NUL, no lone surrogates — JSON and broken UTF-8 carry both)."""

import re

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def snake_case(name: str, *, split_camel: bool = True) -> str:
    """`API_error` → `api_error`, `Add To Cart` → `add_to_cart`, `addToCart` → `add_to_cart`
    (`addtocart` with `split_camel=False`, for names WeChat writes in capitals anyway).
    May return "" (nothing but punctuation) or a name starting with a digit: check it
    against SNAKE_CASE where a valid name is required."""
    if split_camel:
        name = _CAMEL_BOUNDARY.sub("_", name.strip())
    return _NON_WORD.sub("_", name.lower()).strip("_")


def is_valid_unicode(text: str) -> bool:
    """False when `text` holds a lone surrogate (which UTF-8, and so PostgreSQL, cannot hold)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_storable(text: str) -> bool:
    return "\x00" not in text and is_valid_unicode(text)


def storable_text(raw: bytes | str) -> str:
    """Raw content, as received, in a form a text column holds: bytes read as UTF-8 with
    undecodable bytes kept as `\\xNN` escapes; NUL and lone surrogates kept as escapes too.
    For keeping what was refused, so it can be read, fixed and replayed."""
    text = raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else raw
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
