"""`GET /r/<code>`: a placement's short link (C4).

Records the scan through `ingest_rows` (event `qr_scan`, via=short_link, with the
placement's campaign and compact UTMs) and answers 302 to the placement's configured
target with utm_source/utm_medium/utm_campaign/utm_content added. The mapping lives on the
server, so attribution survives redirects and shares; the target is always the configured
one — nothing in the request can change where we redirect (no open redirect).
"""

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import DatabaseError
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_safe

from campaigns.models import Campaign, Placement, SourceAlias
from events.handover import HandoverTarget
from events.ingest import ingest_rows
from events.ingest.ratelimit import THIS_ADDRESS, Budget, RateLimited, check_rate
from wxanalytics.process_cache import ProcessCache
from wxanalytics.security import client_address

logger = logging.getLogger(__name__)

VISITOR_COOKIE = "wxa_vid"
VISITOR_COOKIE_AGE = 365 * 24 * 3600
# Salt of the visitor cookie's signature (with SECRET_KEY): a client cannot choose its id.
VISITOR_COOKIE_SALT = "events.shortlinks.visitor"
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def visitor_id(request: HttpRequest) -> str:
    """A first-party random id from the signed cookie; a missing, malformed or forged
    cookie gets a new one (otherwise anyone could scan as someone else, or as many people)."""
    current = request.get_signed_cookie(VISITOR_COOKIE, default="", salt=VISITOR_COOKIE_SALT)
    if _VISITOR_ID.match(current):
        return current
    return secrets.token_urlsafe(16)


# The repeat-window cookie: for each placement this visitor scanned lately, when the scan
# that opened its current window was recorded (Unix ms). A window that starts at the
# visitor's own scan, not on the clock, is what makes a reload one second later a repeat
# even across a 5-minute boundary (fixed clock windows stored 5 of ~2,300 such reloads
# twice in bench/web.py's spike). Kept apart from the visitor cookie, which lasts a year and
# whose value the hand-over and the H5 page rely on.
REPEAT_COOKIE = "wxa_rw"
# Salt of its signature (with SECRET_KEY): a client cannot move or invent a window. Both
# cookies are signed through Django's signed-cookie API, so its fixes reach them (5.2.19
# changed how a cookie's name and salt enter the signature).
REPEAT_COOKIE_SALT = "events.shortlinks.repeat-windows"
# A phone that scans more placements than this within one window forgets the oldest
# (rescanned, it counts again); keeps the cookie near 1 KB even with 32-character scenes.
REPEAT_COOKIE_MAX_PLACEMENTS = 20
_REPEAT_ENTRY = re.compile(r"^([A-Za-z0-9_-]{1,64})\.([0-9]{1,15})$")


def open_windows(request: HttpRequest, *, visitor: str, now_ms: int) -> dict[str, int]:
    """Scene → start (Unix ms) of this visitor's windows still open at `now_ms`, from the
    repeat-window cookie. A missing, malformed or forged cookie, or one written for
    another visitor id, holds none (the scan then opens a new window)."""
    payload = request.get_signed_cookie(REPEAT_COOKIE, default=None, salt=REPEAT_COOKIE_SALT)
    if payload is None:
        return {}
    owner, *entries = payload.split("~")
    if owner != visitor:
        return {}
    window_ms = settings.SHORT_LINK_REPEAT_WINDOW_SECONDS * 1000
    windows = {}
    for entry in entries[:REPEAT_COOKIE_MAX_PLACEMENTS]:
        match = _REPEAT_ENTRY.match(entry)
        # abs(): a start a little ahead of this server's clock (another server's) still holds.
        if match and abs(now_ms - int(match[2])) < window_ms:
            windows[match[1]] = int(match[2])
    return windows


def repeat_cookie_value(windows: dict[str, int], *, visitor: str, scene: str) -> str:
    """The cookie's value before signing: `scene`'s window and the most recent others, at
    most REPEAT_COOKIE_MAX_PLACEMENTS in all."""
    others = sorted(((start, name) for name, start in windows.items() if name != scene), reverse=True)
    kept = [(windows[scene], scene), *others[: REPEAT_COOKIE_MAX_PLACEMENTS - 1]]
    return "~".join([visitor, *(f"{name}.{start}" for start, name in kept)])


def utm_params(placement: Placement) -> dict[str, str]:
    params = {
        "utm_source": SourceAlias.normalise(placement.effective_utm_source()),
        "utm_medium": SourceAlias.normalise(placement.effective_utm_medium()),
        "utm_campaign": placement.campaign.code,
        "utm_content": placement.utm_content.strip() or placement.scene,
    }
    return {name: value for name, value in params.items() if value}


def target_with_utms(target_url: str, utms: dict[str, str]) -> str | None:
    """The configured target with our UTMs merged into its query (ours win over the same
    names); None if the target is not an http(s) URL."""
    parts = urlsplit(target_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in utms]
    query.extend(utms.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class ShortLink:
    """What a redirect needs of a placement, looked up once and remembered briefly."""

    placement: Placement  # with its campaign
    utms: dict[str, str]
    target: str | None  # the configured target with our UTMs; None if there is none
    handover_target: HandoverTarget | None  # the same, split once where each scan's hand-over goes


# Short links this process resolved recently, by code: a poster in a busy store means the
# same code thousands of times. An edit (placement, campaign, alias) applies at once in
# the process that saved it and within SHORT_LINK_CACHE_SECONDS everywhere else.
_recent_links: ProcessCache[ShortLink] = ProcessCache("SHORT_LINK_CACHE_SECONDS")
for _model in (Placement, Campaign, SourceAlias):
    post_save.connect(_recent_links.clear, sender=_model, dispatch_uid=f"forget-short-links-{_model.__name__}")
    post_delete.connect(_recent_links.clear, sender=_model, dispatch_uid=f"forget-short-links-del-{_model.__name__}")


def resolve(code: str) -> ShortLink | None:
    """The short link of a placement scene, or None if no placement has it."""
    link = _recent_links.get(code)
    if link is not None:
        return link
    placement = Placement.objects.select_related("campaign").filter(scene=code).first()
    if placement is None:
        return None
    utms = utm_params(placement)
    target = target_with_utms(placement.target_url, utms) if placement.target_url else None
    link = ShortLink(
        placement=placement,
        utms=utms,
        target=target,
        handover_target=HandoverTarget.of(target) if target is not None else None,
    )
    _recent_links.put(code, link)
    return link


def record_scan(link: ShortLink, *, visitor: str, window_start_ms: int) -> None:
    """Store the scan. One visitor's scans of one placement within
    SHORT_LINK_REPEAT_WINDOW_SECONDS of the scan that opened the window (`window_start_ms`,
    from the repeat-window cookie, or now for a scan that opens one) are one scan: the
    event id and the recorded time both come from the window's start, so a repeat or a
    retry is a duplicate, never a conflict left for review (a first-visit flag here made it
    one; whether a visitor is new is their first qr_scan, which reports can see)."""
    scene = link.placement.scene
    event_id = hashlib.sha256(f"{visitor}:{scene}:{window_start_ms}".encode()).hexdigest()[:40]
    ingest_rows(
        [
            {
                "event_name": "qr_scan",
                "user_id": visitor,
                "source": link.utms.get("utm_source", ""),
                "campaign": link.placement.campaign.code,
                "placement_scene": scene,
                "ts": datetime.fromtimestamp(window_start_ms // 1000, tz=UTC)
                + timedelta(milliseconds=window_start_ms % 1000),
                "event_id": event_id,
                "properties": {"via": "short_link", **link.utms},
            }
        ],
        channel="short_link",
        source="short_link",
    )


@require_safe
def short_link(request: HttpRequest, code: str) -> HttpResponse:
    try:
        link = resolve(code)
    except DatabaseError:
        logger.warning("short link %s: database unavailable", code, exc_info=True)
        response = render(request, "events/shortlink_not_found.html", {"unavailable": True}, status=503)
        response["Retry-After"] = "30"
        return response
    if link is None:
        return render(request, "events/shortlink_not_found.html", {"code": code[:64]}, status=404)

    visitor = visitor_id(request)
    now = time.time()
    repeat_cookie = None  # set only when a scan was recorded
    if request.method == "GET":  # a HEAD (link checkers, previews) is not a scan
        budget = Budget(
            f"short-link-addr:{client_address(request)}",
            settings.SHORT_LINK_RATE_LIMIT_PER_MINUTE,
            THIS_ADDRESS,
        )
        try:
            check_rate([budget])
        except RateLimited as exc:
            # Nothing recorded, and the answer says so; a person behind a busy address
            # still gets a link to where the code leads.
            response = render(request, "events/shortlink_not_found.html", {"busy": True, "link": link}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        scene = link.placement.scene
        windows = open_windows(request, visitor=visitor, now_ms=int(now * 1000))
        window_start_ms = windows.setdefault(scene, int(now * 1000))  # a first scan opens one
        try:
            record_scan(link, visitor=visitor, window_start_ms=window_start_ms)
        except DatabaseError:
            # The visitor still gets where they were going; the miss is logged.
            logger.warning("short link %s: scan not recorded", code, exc_info=True)
        else:
            repeat_cookie = repeat_cookie_value(windows, visitor=visitor, scene=scene)

    if link.handover_target is None:
        response = render(request, "events/shortlink_not_found.html", {"placement": link.placement}, status=200)
    else:
        # The H5 page learns the scan's visitor and placement from a signed hand-over
        # (events/handover.py), so its events continue this visitor's journey.
        target = link.handover_target.with_handover(
            visitor=visitor,
            placement=link.placement.scene,
            campaign=link.placement.campaign.code,
            now=now,
        )
        response = HttpResponseRedirect(target)
    response.set_signed_cookie(
        VISITOR_COOKIE,
        visitor,
        salt=VISITOR_COOKIE_SALT,
        max_age=VISITOR_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    if repeat_cookie is not None:
        response.set_signed_cookie(
            REPEAT_COOKIE,
            repeat_cookie,
            salt=REPEAT_COOKIE_SALT,
            max_age=settings.SHORT_LINK_REPEAT_WINDOW_SECONDS,  # no window outlives it
            path=request.path.rsplit("/", 1)[0] + "/",  # sent to short links only
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response
