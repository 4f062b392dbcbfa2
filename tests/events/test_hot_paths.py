"""The event API and short links take a short middleware chain (wxanalytics/hot_paths.py),
without session, auth, messages and CSRF; what guards them must still run, and every other
page keeps the whole chain. (The `client` fixture dispatches as the production handler does;
tests/events/test_hot_path_parity.py compares the two chains' answers.)"""

import json

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from campaigns.models import Placement
from events.models import Event
from wxanalytics.hot_paths import HotPathWSGIHandler

pytestmark = pytest.mark.django_db

EVENT = {"event_name": "page_view", "user_id": "u1", "ts": "2026-11-01T10:15:23Z", "event_id": "lean-1"}


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def poster(campaign):
    return Placement.objects.create(
        campaign=campaign, name="Store poster", scene="p7Kx2", target_url="https://shop.example.com/landing"
    )


def assert_security_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_only_a_post_to_the_event_api_and_a_get_or_head_of_a_short_link_take_the_short_chain():
    handler = HotPathWSGIHandler()

    def hot(method: str, path: str) -> bool:
        return handler.hot_route(RequestFactory().generic(method, path)) is not None

    assert hot("POST", "/api/v1/events")
    assert hot("GET", "/r/p7Kx2")
    assert hot("HEAD", "/r/p7Kx2")
    assert not hot("POST", "/r/p7Kx2")  # refused by CSRF in the whole chain
    assert not hot("OPTIONS", "/api/v1/events")
    assert not hot("GET", "/api/v1/events")
    assert not hot("POST", "/api/v1/events/")
    assert not hot("POST", "/api/v1/eventsx")
    assert not hot("GET", "/r/")
    assert not hot("GET", "/r/p7Kx2/more")
    assert not hot("POST", "/api/v1/identify")
    assert not hot("GET", "/admin/login/")
    assert not hot("GET", "/healthz")


def test_an_event_is_stored_and_answered_with_the_security_headers_and_no_session(post_as_client):
    response = post_as_client(json.dumps(EVENT))

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert Event.objects.filter(event_id="lean-1").exists()
    assert_security_headers(response)
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies
    # The bypass is in effect: no session or user was set up for this request.
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "user")


def test_the_event_api_still_refuses_a_bad_key_with_the_security_headers(post_as_client):
    response = post_as_client(json.dumps(EVENT), HTTP_AUTHORIZATION="Bearer wxa_not-a-key")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="events"'
    assert_security_headers(response)
    assert not Event.objects.exists()


def test_the_event_api_still_refuses_an_origin_its_key_does_not_allow(client):
    from events.models import IngestKey

    _, raw = IngestKey.generate(name="Shop page", source="h5", kind="client", origins=["https://shop.example.com"])

    response = client.post(
        "/api/v1/events",
        json.dumps(EVENT),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ORIGIN="https://evil.example.net",
    )

    assert response.status_code == 403
    assert not Event.objects.exists()


def test_a_redirect_sets_only_its_own_cookies_and_keeps_the_security_headers(client, poster):
    response = client.get("/r/p7Kx2")

    assert response.status_code == 302
    assert set(response.cookies) == {"wxa_vid", "wxa_rw"}  # the visitor and their repeat windows
    assert not hasattr(response.wsgi_request, "session")
    assert "Cookie" not in response.get("Vary", "")
    assert_security_headers(response)


def test_a_post_to_a_short_link_is_still_refused_by_csrf_and_records_nothing(poster):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/r/p7Kx2")

    assert response.status_code == 403
    assert not Event.objects.exists()


def test_pages_outside_the_lean_paths_still_have_sessions_and_users(client, marketer):
    client.force_login(marketer)

    admin = client.get("/admin/")

    assert admin.status_code == 200
    assert admin.wsgi_request.user == marketer  # AuthenticationMiddleware ran
    assert admin.wsgi_request.session.session_key  # SessionMiddleware ran


def test_the_admin_login_form_still_gets_its_csrf_cookie(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert "csrftoken" in response.cookies


def test_a_hot_request_still_sends_request_started_and_finished(poster):
    # close_old_connections listens to both: the connection a hot request may use (a key or
    # link cache miss) is health-checked before it and closed when broken or too old after.
    from django.core import signals
    from django.db import close_old_connections

    sent = []

    def started(**kwargs):
        sent.append("started")

    def finished(**kwargs):
        sent.append("finished")

    handler = HotPathWSGIHandler()
    request = RequestFactory().get("/r/p7Kx2")
    assert handler.hot_route(request) is not None
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    # Not close_old_connections itself: it would close the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        response = handler(request.environ, lambda status, headers, exc_info=None: None)
        assert sent == ["started"]
        response.close()
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)

    assert response.status_code == 302
    assert sent == ["started", "finished"]
