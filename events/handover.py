"""The signed hand-over from a short link to the H5 page it redirects to.

`/r/<code>` knows, on the server, which placement was scanned and which visitor scanned it.
The H5 snippet can only learn that from the URL it lands on, and anything in a URL can be
typed by anyone. So the redirect appends the facts together with an HMAC over them, made with
a key derived from SECRET_KEY, and an expiry; the snippet forwards the parameters unchanged
with its events, and the server believes the placement and visitor only if this module says
the signature holds. The format is documented in docs/ingest.md ("Short link → H5 hand-over").

    wxa_v    visitor id (the short link's first-party cookie id)
    wxa_p    placement scene
    wxa_c    campaign code (may be empty)
    wxa_e    expiry, Unix seconds
    wxa_sig  base64url (no padding) of the first 16 bytes of HMAC-SHA256 over the four above
"""

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

PARAMS = ("wxa_v", "wxa_p", "wxa_c", "wxa_e")
SIGNATURE_PARAM = "wxa_sig"
# Long enough for a page opened from a chat hours later or events queued offline for a
# while; short enough that a copied URL stops vouching for anyone by the next day.
MAX_AGE_SECONDS = 24 * 3600
_KEY_SALT = "wxanalytics.events.handover"  # a key of its own: a signature here is valid nowhere else
_SIGNATURE = re.compile(r"^[A-Za-z0-9_-]{22}$")
_MAX_VALUE = 128


class InvalidHandover(ValueError):
    """The parameters are missing, malformed, forged or expired; the message says which and
    `status` names the case ("malformed", "forged" or "expired") for what is stored."""

    def __init__(self, message: str, status: str = "malformed"):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Handover:
    visitor: str
    placement: str
    campaign: str
    expires_at: int  # Unix seconds


def _message(values: tuple[str, str, str, str]) -> str:
    # urlencode percent-encodes every value, so no value can shift text into another field.
    return urlencode(list(zip(PARAMS, values, strict=True)))


def _signature(message: str, secret: str | None) -> str:
    digest = salted_hmac(_KEY_SALT, message, secret=secret or settings.SECRET_KEY, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _signed_values(
    *, visitor: str, placement: str, campaign: str = "", now: float, max_age: int = MAX_AGE_SECONDS
) -> tuple[str, str, str, str]:
    values = (visitor, placement, campaign or "", str(int(now) + max_age))
    for name, value in zip(PARAMS, values, strict=True):
        if not value and name != "wxa_c":
            raise ValueError(f"{name} must not be empty")
        if len(value) > _MAX_VALUE:
            raise ValueError(f"{name} is longer than {_MAX_VALUE} characters")
    return values


def sign_handover(
    *, visitor: str, placement: str, campaign: str = "", now: float, max_age: int = MAX_AGE_SECONDS, secret=None
) -> dict[str, str]:
    """The query parameters the redirect appends to the H5 target."""
    values = _signed_values(visitor=visitor, placement=placement, campaign=campaign, now=now, max_age=max_age)
    return {**dict(zip(PARAMS, values, strict=True)), SIGNATURE_PARAM: _signature(_message(values), secret)}


def handover_query(
    *, visitor: str, placement: str, campaign: str = "", now: float, max_age: int = MAX_AGE_SECONDS, secret=None
) -> str:
    """sign_handover's parameters as a query string, encoded once: the signed message is
    already their encoding, and a signature's characters need none."""
    values = _signed_values(visitor=visitor, placement=placement, campaign=campaign, now=now, max_age=max_age)
    message = _message(values)
    return f"{message}&{SIGNATURE_PARAM}={_signature(message, secret)}"


def verify_handover(params: Mapping[str, object], *, now: float, secret=None) -> Handover:
    """The hand-over if its signature holds and it has not expired; InvalidHandover otherwise.

    Pure: no database, no request. `params` may hold other keys (the whole query string)."""
    values = []
    for name in (*PARAMS, SIGNATURE_PARAM):
        value = params.get(name, "")
        if not isinstance(value, str):
            raise InvalidHandover(f"{name} must be a string")
        if len(value) > _MAX_VALUE:
            raise InvalidHandover(f"{name} is longer than {_MAX_VALUE} characters")
        values.append(value)
    visitor, placement, campaign, expires, signature = values
    if not visitor or not placement or not expires or not signature:
        raise InvalidHandover("the hand-over needs wxa_v, wxa_p, wxa_e and wxa_sig")
    if not expires.isdigit():
        raise InvalidHandover("wxa_e must be Unix seconds")
    if not _SIGNATURE.match(signature):
        raise InvalidHandover("wxa_sig is not a hand-over signature")
    # Compare before looking at the expiry, so a forger learns nothing from the answer.
    if not constant_time_compare(signature, _signature(_message((visitor, placement, campaign, expires)), secret)):
        raise InvalidHandover("wxa_sig does not match: the hand-over was not made by this server", "forged")
    if int(expires) < now:
        raise InvalidHandover("the hand-over has expired", "expired")
    return Handover(visitor=visitor, placement=placement, campaign=campaign, expires_at=int(expires))


@dataclass(frozen=True)
class HandoverTarget:
    """A target URL split where a hand-over goes, once per short link: a scan then appends
    its signed parameters instead of parsing and re-encoding the target's whole query
    (a quarter of a redirect's CPU when done per scan, docs/scaling.md "Issue 17")."""

    head: str  # scheme, host, path and query without hand-over parameters, then "?" or "&"
    fragment: str  # "#…" or ""

    @classmethod
    def of(cls, url: str) -> "HandoverTarget":
        """Any hand-over parameters already in `url` are dropped, the rest of its query kept."""
        parts = urlsplit(url)
        names = {*PARAMS, SIGNATURE_PARAM}
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names])
        head = urlunsplit(parts._replace(query=query, fragment=""))
        return cls(head=head + ("&" if query else "?"), fragment=f"#{parts.fragment}" if parts.fragment else "")

    def with_handover(self, **signed) -> str:
        return f"{self.head}{handover_query(**signed)}{self.fragment}"


def with_handover(url: str, **signed) -> str:
    """`url` with a fresh hand-over appended (`signed` = sign_handover's arguments); any
    hand-over parameters already in the URL are replaced, the rest of its query is kept."""
    return HandoverTarget.of(url).with_handover(**signed)
