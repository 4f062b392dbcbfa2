"""Client keys restricted to their web origins, and CORS for them (events/ingest/origins.py)."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from events import partitions
from events.ingest.replay import replay_rejected
from events.models import Event, IngestKey, RejectedRow, normalise_origin
from tests.events.write_cost import write_statements

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com"
EVIL = "https://evil.example.net"


@pytest.fixture
def h5_key(db):
    return IngestKey.generate(name="H5 pages", source="h5", kind="client", origins=[SHOP])


def event(**fields):
    return {"event_name": "page_view", "user_id": "v1", "ts": "2025-11-03T10:00:00+08:00", **fields}


def post(client, raw_key, body, *, origin=None, path="/api/v1/events", content_type="application/json"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return client.generic("POST", path, body.encode(), content_type=content_type, **headers)


def preflight(client, origin, path="/api/v1/events"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )


# --- the origins of a key ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "origin"),
    [
        ("https://Shop.Example.com/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("https://商店.example", "https://xn--czrs0t.example"),
    ],
)
def test_an_origin_is_stored_as_browsers_send_it(written, origin):
    assert normalise_origin(written) == origin


@pytest.mark.parametrize(
    "written", ["shop.example.com", "ftp://shop.example.com", "https://shop.example.com/h5", "https://a.com?x=1"]
)
def test_what_is_not_an_origin_is_refused_with_the_reason(written):
    with pytest.raises(ValidationError) as refused:
        IngestKey.generate(name="H5", source="h5", kind="client", origins=[written])

    assert written in " ".join(refused.value.messages)
    assert not IngestKey.objects.exists()


def test_a_server_key_cannot_have_origins():
    with pytest.raises(ValidationError, match="Only client keys have allowed origins"):
        IngestKey.generate(name="Backend", source="crm", kind="server", origins=[SHOP])


def test_the_command_creates_a_client_key_with_its_origins():
    out, err = StringIO(), StringIO()

    call_command(
        "create_ingest_key",
        "h5",
        "--origin",
        "https://Shop.example.com/",
        "--origin",
        SHOP + ":8443",
        stdout=out,
        stderr=err,
    )

    key = IngestKey.objects.get()
    assert key.origins == {SHOP, SHOP + ":8443"}
    assert key.key_hash == IngestKey.hash_key(out.getvalue().strip())
    assert "allowed from https://shop.example.com" in err.getvalue()


def test_the_command_refuses_an_origin_on_a_server_key():
    with pytest.raises(CommandError, match="Only client keys have allowed origins"):
        call_command(
            "create_ingest_key", "crm", "--kind", "server", "--origin", SHOP, stdout=StringIO(), stderr=StringIO()
        )


def test_admin_adds_a_client_key_with_its_origins(admin_client):
    answer = admin_client.post(
        "/admin/events/ingestkey/add/",
        {"name": "H5", "source": "h5", "kind": "client", "allowed_origins": "https://Shop.example.com/\r\n"},
    )

    assert answer.status_code == 302
    assert IngestKey.objects.get().origins == {SHOP}


def test_admin_refuses_origins_on_a_server_key(admin_client):
    answer = admin_client.post(
        "/admin/events/ingestkey/add/", {"name": "CRM", "source": "crm", "kind": "server", "allowed_origins": SHOP}
    )

    assert answer.status_code == 200
    assert "Only client keys have allowed origins" in answer.content.decode()
    assert not IngestKey.objects.exists()


def test_admin_edits_a_keys_origins_and_they_apply_at_once(admin_client, h5_key, client):
    key, raw_key = h5_key
    page = f"/admin/events/ingestkey/{key.pk}/change/"
    assert post(client, raw_key, json.dumps(event()), origin="https://m.example.com").status_code == 403

    answer = admin_client.post(page, {"name": key.name, "allowed_origins": f"{SHOP}\r\nhttps://M.example.com/\r\n"})

    assert answer.status_code == 302, answer.content.decode()[:2000]
    key.refresh_from_db()
    assert key.allowed_origins == f"{SHOP}\nhttps://m.example.com"
    assert post(client, raw_key, json.dumps(event()), origin="https://m.example.com").status_code == 200


def test_admin_explains_an_origin_it_cannot_use(admin_client, h5_key):
    key, _ = h5_key

    answer = admin_client.post(
        f"/admin/events/ingestkey/{key.pk}/change/", {"name": key.name, "allowed_origins": "shop.example.com"}
    )

    assert answer.status_code == 200
    assert "is not an origin" in answer.content.decode()


# --- preflight -----------------------------------------------------------------------------


def test_a_preflight_from_a_configured_origin_gets_the_cors_answer(client, h5_key):
    answer = preflight(client, SHOP)

    assert answer.status_code == 204
    assert answer["Access-Control-Allow-Origin"] == SHOP
    assert answer["Access-Control-Allow-Methods"] == "POST"
    assert {h.strip().lower() for h in answer["Access-Control-Allow-Headers"].split(",")} >= {
        "authorization",
        "content-type",
        "x-wxa-device",
    }
    assert "Origin" in answer["Vary"]


def test_a_preflight_from_an_origin_no_key_allows_is_refused_and_says_how_to_allow_it(client, h5_key):
    answer = preflight(client, EVIL)

    assert answer.status_code == 403
    assert "Access-Control-Allow-Origin" not in answer
    assert "https://evil.example.net is not allowed on any client ingest key" in answer.json()["error"]


def test_a_revoked_keys_origins_no_longer_pass_preflight(client, h5_key):
    h5_key[0].revoke()

    assert preflight(client, SHOP).status_code == 403


def test_identify_answers_the_same_preflight(client, h5_key):
    assert preflight(client, SHOP, "/api/v1/identify")["Access-Control-Allow-Origin"] == SHOP
    assert preflight(client, EVIL, "/api/v1/identify").status_code == 403


def test_an_options_request_without_origin_is_drfs_as_before(client, h5_key):
    answer = client.options("/api/v1/events")

    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer


# --- the request itself --------------------------------------------------------------------


def test_a_request_from_an_allowed_origin_is_stored_and_readable_by_the_page(client, h5_key):
    answer = post(client, h5_key[1], json.dumps(event()), origin=SHOP)

    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == SHOP
    assert "Retry-After" in answer["Access-Control-Expose-Headers"]
    assert Event.objects.count() == 1


def test_a_request_from_another_origin_is_refused_and_kept_for_replay(client, h5_key):
    body = json.dumps([event(event_id="a"), event(event_id="b")])

    answer = post(client, h5_key[1], body, origin=EVIL)

    assert answer.status_code == 403
    assert "Access-Control-Allow-Origin" not in answer
    message = answer.json()["error"]
    assert "may be used only from https://shop.example.com" in message
    assert "this request came from https://evil.example.net" in message
    assert not Event.objects.exists()
    kept = RejectedRow.objects.get()
    assert (kept.reason, kept.ingest_key, kept.errors) == ("forbidden", h5_key[0], {"origin": message})
    assert json.loads(kept.raw) == json.loads(body)


def test_a_refused_origins_body_sent_again_is_kept_once(client, h5_key):
    body = json.dumps(event())

    post(client, h5_key[1], body, origin=EVIL)
    post(client, h5_key[1], body, origin=EVIL)

    assert RejectedRow.objects.count() == 1


def test_an_analyst_can_replay_a_refused_origins_rows_once_the_page_is_known(client, h5_key):
    post(client, h5_key[1], json.dumps([event(event_id="a"), event(event_id="b")]), origin=EVIL)

    assert replay_rejected(RejectedRow.objects.get()) is True

    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["a", "b"]


def test_a_request_without_origin_is_not_restricted(client, h5_key):
    # The Mini Program's wx.request and servers send no Origin; outside a browser any Origin
    # can be written, so a missing one is not refused.
    answer = post(client, h5_key[1], json.dumps(event()))

    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer


def test_a_key_without_origins_keeps_answering_as_before(client, client_key):
    answer = post(client, client_key[1], json.dumps(event()), origin=EVIL)

    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer
    assert Event.objects.count() == 1


def test_a_server_key_is_unaffected_by_origins(client, ingest_key, h5_key):
    answer = post(client, ingest_key[1], json.dumps(event()), origin=EVIL)

    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer


def test_a_rate_limited_answer_carries_cors_so_the_page_can_read_retry_after(client, h5_key, settings):
    settings.INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE = 1
    headers = {"HTTP_X_WXA_DEVICE": "device-cccccccc", "HTTP_AUTHORIZATION": f"Bearer {h5_key[1]}", "HTTP_ORIGIN": SHOP}
    client.generic("POST", "/api/v1/events", json.dumps(event()).encode(), content_type="application/json", **headers)

    answer = client.generic(
        "POST", "/api/v1/events", json.dumps(event()).encode(), content_type="application/json", **headers
    )

    assert answer.status_code == 429
    assert answer["Access-Control-Allow-Origin"] == SHOP


def test_identify_refuses_another_origin_and_answers_an_allowed_one_with_cors(client, h5_key):
    link = json.dumps({"user_id": "member-9", "alias": "v1"})

    refused = post(client, h5_key[1], link, origin=EVIL, path="/api/v1/identify")
    allowed = post(client, h5_key[1], link, origin=SHOP, path="/api/v1/identify")

    assert refused.status_code == 403
    assert "this request came from https://evil.example.net" in refused.json()["error"]
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == SHOP


def test_an_invalid_identify_body_from_an_allowed_origin_is_readable_by_the_page(client, h5_key):
    answer = post(client, h5_key[1], json.dumps({"user_id": "member-9"}), origin=SHOP, path="/api/v1/identify")

    assert answer.status_code == 400
    assert answer["Access-Control-Allow-Origin"] == SHOP


def test_a_single_event_from_an_allowed_origin_with_its_preflight_costs_one_statement(
    client, h5_key, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(partitions, "_known", set(partitions._known))
    with django_capture_on_commit_callbacks(execute=True):
        preflight(client, SHOP)
        post(client, h5_key[1], json.dumps(event(event_id="warm-up")), origin=SHOP)

    # The key, the client policy and the origins are remembered: only the write.
    with django_assert_num_queries(write_statements()):
        assert preflight(client, SHOP).status_code == 204
        answer = post(client, h5_key[1], json.dumps(event(event_id="second")), origin=SHOP)

    assert answer.json()["accepted"] == 1
