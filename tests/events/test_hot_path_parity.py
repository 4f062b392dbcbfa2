"""The event API and short links answer the same through the hot-path chain as through
settings.MIDDLEWARE whole (wxanalytics/hot_paths.py).

Each request in HOT_REQUESTS is sent as a WSGI environ to Django's own WSGIHandler and to
the production handler, each in a transaction rolled back afterwards, at one frozen time
(signed cookies and hand-overs carry it), with the caches emptied; status, body and every
header (Set-Cookie lines included) must be equal. A new visitor's random id is the one
value put aside. Adding a case is one line in the table."""

import io
import json
import re
from dataclasses import dataclass

import pytest
import time_machine
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signing import get_cookie_signer
from django.db import close_old_connections, transaction
from django.test import RequestFactory

from campaigns.models import Placement
from events.ingest.keys import forget_keys
from events.ingest.origins import forget_origins
from events.shortlinks import VISITOR_COOKIE, VISITOR_COOKIE_SALT, _recent_links
from wxanalytics.hot_paths import HotPathWSGIHandler

pytestmark = pytest.mark.django_db

NOW = 1_796_000_000.0  # 2026-11-29, frozen for both sides
EVENT = {"event_name": "page_view", "user_id": "u1", "ts": "2026-11-01T10:15:23Z", "event_id": "parity-1"}
ORIGIN = "https://shop.example.com"
KNOWN_VISITOR = "visitor-0123456789abcdef"


@dataclass
class Hot:
    """One row of the table: a request, and whether the short chain takes it."""

    method: str
    path: str
    body: object = b""
    headers: dict | None = None
    key: str = "server"  # which key goes in Authorization: server, client, none, or unknown
    hot: bool = True


def event(**changes) -> bytes:
    return json.dumps({**EVENT, **changes}).encode()


HOT_REQUESTS = {
    "single event": Hot("POST", "/api/v1/events", event()),
    "batch": Hot("POST", "/api/v1/events", json.dumps([EVENT, {**EVENT, "event_id": "parity-2"}]).encode()),
    "duplicate in one batch": Hot("POST", "/api/v1/events", json.dumps([EVENT, EVENT]).encode()),
    "invalid row": Hot("POST", "/api/v1/events", event(ts="yesterday")),
    "invalid body in English": Hot("POST", "/api/v1/events", b"{not json", {"HTTP_ACCEPT_LANGUAGE": "en"}),
    "invalid body in Chinese": Hot("POST", "/api/v1/events", b"{not json", {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}),
    "invalid body, language cookie": Hot("POST", "/api/v1/events", b"[", {"HTTP_COOKIE": "django_language=zh-hans"}),
    "unknown key": Hot("POST", "/api/v1/events", event(), key="unknown"),
    "no key": Hot("POST", "/api/v1/events", event(), key="none"),
    "client key, allowed origin": Hot("POST", "/api/v1/events", event(), {"HTTP_ORIGIN": ORIGIN}, key="client"),
    "client key, wrong origin": Hot(
        "POST", "/api/v1/events", event(), {"HTTP_ORIGIN": "https://evil.example.net"}, key="client"
    ),
    "unsupported content type": Hot("POST", "/api/v1/events", b"x", {"CONTENT_TYPE": "text/plain"}),
    "stale request": Hot("POST", "/api/v1/events", event(), {"HTTP_X_REQUEST_START": f"t={NOW - 60:.3f}"}),
    "fresh request": Hot("POST", "/api/v1/events", event(), {"HTTP_X_REQUEST_START": f"t={NOW - 0.01:.3f}"}),
    "NUL in the query": Hot("POST", "/api/v1/events", event(), {"QUERY_STRING": "a=%00"}),
    "disallowed host": Hot("POST", "/api/v1/events", event(), {"HTTP_HOST": "evil.example.net"}),
    "https behind the proxy": Hot("POST", "/api/v1/events", event(), {"wsgi.url_scheme": "https"}),
    "CORS preflight": Hot(
        "OPTIONS",
        "/api/v1/events",
        headers={"HTTP_ORIGIN": ORIGIN, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"},
        key="none",
        hot=False,
    ),
    "GET of the event API": Hot("GET", "/api/v1/events", hot=False),
    "first scan": Hot("GET", "/r/p7Kx2", key="none"),
    "scan with a visitor cookie": Hot("GET", "/r/p7Kx2", key="none", headers={"visitor": KNOWN_VISITOR}),
    "scan with a forged visitor cookie": Hot("GET", "/r/p7Kx2", key="none", headers={"HTTP_COOKIE": "wxa_vid=x:y"}),
    "scan in Chinese": Hot("GET", "/r/p7Kx2", key="none", headers={"HTTP_ACCEPT_LANGUAGE": "zh-hans"}),
    "scan of a placement without target": Hot("GET", "/r/noTarget", key="none", headers={"visitor": KNOWN_VISITOR}),
    "unknown code": Hot("GET", "/r/nope", key="none"),
    "unknown code in Chinese": Hot("GET", "/r/nope", key="none", headers={"HTTP_ACCEPT_LANGUAGE": "zh-CN"}),
    "HEAD of a short link": Hot("HEAD", "/r/p7Kx2", key="none", headers={"visitor": KNOWN_VISITOR}),
    "stale scan": Hot("GET", "/r/p7Kx2", key="none", headers={"HTTP_X_REQUEST_START": f"t={NOW - 60:.3f}"}),
    "NUL in a code": Hot("GET", "/r/p7%00Kx2", key="none"),
    "POST to a short link": Hot("POST", "/r/p7Kx2", key="none", hot=False),
    "short link with a slash": Hot("GET", "/r/p7Kx2/x", key="none", hot=False),
}


@pytest.fixture
def keys(db):
    from events.models import IngestKey

    return {
        "server": IngestKey.generate(name="Backend", source="mini_program", kind="server")[1],
        "client": IngestKey.generate(name="Shop page", source="h5", kind="client", origins=[ORIGIN])[1],
        "unknown": "wxa_not-a-key",
    }


@pytest.fixture
def placements(campaign):
    Placement.objects.create(
        campaign=campaign, name="Poster", scene="p7Kx2", target_url="https://shop.example.com/l?a=1"
    )
    Placement.objects.create(campaign=campaign, name="Draft", scene="noTarget", target_url="")


@pytest.fixture
def handlers():
    # As Django's test client does: the test's transaction must survive the signals.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"full": WSGIHandler(), "hot": HotPathWSGIHandler()}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def environ(case: Hot, keys: dict) -> dict:
    headers = dict(case.headers or {})
    if visitor := headers.pop("visitor", None):
        headers["HTTP_COOKIE"] = (
            f"{VISITOR_COOKIE}={get_cookie_signer(salt=VISITOR_COOKIE + VISITOR_COOKIE_SALT).sign(visitor)}"
        )
    if case.key in {"server", "client", "unknown"}:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {keys[case.key]}"
    headers.setdefault("HTTP_X_FORWARDED_FOR", "203.0.113.7")
    headers.setdefault("CONTENT_TYPE", "application/json")
    request = RequestFactory().generic(case.method, case.path, case.body, **headers)
    return request.environ


def answer(handler, environ: dict) -> tuple:
    """(status, sorted headers, body) of one request, in a transaction rolled back after it."""
    cache.clear()
    forget_keys()
    forget_origins()
    _recent_links.clear()
    started = []
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        # Each side reads the body from the start.
        body = environ["wsgi.input"].read() if "body" not in environ else environ["body"]
        environ["body"] = body
        response = handler(
            {**environ, "wsgi.input": io.BytesIO(body)},
            lambda status, headers, exc_info=None: started.append((status, headers)),
        )
        body = b"".join(response)
        response.close()
        transaction.set_rollback(True)
    status, headers = started[0]
    return status, sorted(headers), body, getattr(response, "wsgi_request", None)


def without_new_visitor(answered: tuple) -> tuple:
    """The answer with a new visitor's random id replaced by a mark (it is in the signed
    cookies, the hand-over and their signatures)."""
    status, headers, body, _ = answered
    cookie = next((v.strip() for n, v in headers if n == "Set-Cookie" and f" {VISITOR_COOKIE}=" in f" {v}"), "")
    text = repr((status, headers, body))
    if cookie and KNOWN_VISITOR not in text:
        signed = cookie.split(";")[0].split("=", 1)[1].strip('"')
        visitor = signed.split(":")[0]
        text = text.replace(signed, "<signed cookie>").replace(visitor, "<new visitor>")
        text = re.sub(r"wxa_sig=[A-Za-z0-9_-]+", "wxa_sig=<signature>", text)
        text = re.sub(r":[A-Za-z0-9_-]{43};", ":<cookie signature>;", text)  # the repeat-window cookie's
    return text


@pytest.mark.parametrize("name", HOT_REQUESTS)
def test_a_hot_request_is_answered_the_same_through_both_chains(name, handlers, keys, placements, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.REQUEST_QUEUE_TIMEOUT_SECONDS = 10
    case = HOT_REQUESTS[name]
    env = environ(case, keys)

    full = answer(handlers["full"], env)
    hot = answer(handlers["hot"], env)

    assert without_new_visitor(hot) == without_new_visitor(full)
    assert (handlers["hot"].hot_route(WSGIRequest(dict(env))) is not None) is case.hot


def test_the_answers_compared_carry_the_headers_that_matter(handlers, keys, placements, settings):
    # The comparison above is only worth something if the answers have these at all.
    settings.ALLOWED_HOSTS = ["testserver"]
    status, headers, body, _ = answer(handlers["hot"], environ(HOT_REQUESTS["invalid body in Chinese"], keys))
    names = dict(headers)
    assert status.startswith("400")
    assert names["Content-Language"] == "zh-hans"
    assert "Accept-Language" in names["Vary"]
    assert "default-src 'self'" in names["Content-Security-Policy"]
    assert names["X-Frame-Options"] == "DENY"
    assert names["X-Content-Type-Options"] == "nosniff"
    assert body.decode("unicode_escape") != body.decode()  # a translated (non-ASCII) message

    status, headers, _, _ = answer(handlers["hot"], environ(HOT_REQUESTS["scan with a visitor cookie"], keys))
    assert status.startswith("302")
    cookie = next(v for n, v in headers if n == "Set-Cookie" and f" {VISITOR_COOKIE}=" in f" {v}")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    assert KNOWN_VISITOR in dict(headers)["Location"]
