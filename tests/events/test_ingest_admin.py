import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.ingest import ingest_rows
from events.models import Event, IngestKey, RejectedRow

pytestmark = pytest.mark.django_db

GOOD = {"event_name": "page_view", "user_id": "u1", "ts": "2025-11-01T10:00:00Z"}
BARE_EVENT_COUNT = re.compile(r'SELECT COUNT\(\*\)[^()]*FROM "events_event"(?!.*WHERE)', re.S)


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_create_ingest_key_prints_a_working_key_once():
    out, err = StringIO(), StringIO()

    call_command("create_ingest_key", "Mini Program", "--name", "MP prod", stdout=out, stderr=err)

    raw_key = out.getvalue().strip()
    key = IngestKey.objects.get()
    assert key.key_hash == IngestKey.hash_key(raw_key)
    assert (key.name, key.source, key.prefix) == ("MP prod", "mini_program", raw_key[:8])
    assert raw_key not in err.getvalue()


def test_adding_a_key_in_admin_shows_the_raw_key_once(superuser_client):
    response = superuser_client.post(
        "/admin/events/ingestkey/add/", {"name": "CRM", "source": " CRM ", "kind": "server"}, follow=True
    )

    key = IngestKey.objects.get(source="crm")
    assert key.kind == "server"
    shown = re.search(r"copy it now: (wxa_\S+)", response.content.decode()).group(1)
    assert key.key_hash == IngestKey.hash_key(shown)
    listing = superuser_client.get("/admin/events/ingestkey/").content.decode()
    assert shown not in listing
    assert f"{key.prefix}…" in listing


def test_admin_offers_a_client_key_by_default_and_refuses_one_for_a_server_source(superuser_client):
    form = superuser_client.get("/admin/events/ingestkey/add/").content.decode()
    refused = superuser_client.post(
        "/admin/events/ingestkey/add/", {"name": "Pay", "source": "wechat_pay", "kind": "client"}
    )

    assert re.search(r'<option value="client" selected>', form)
    assert refused.status_code == 200  # the form again, with the reason
    assert "client key cannot send as it" in refused.content.decode()
    assert not IngestKey.objects.exists()


def test_the_revoke_action_revokes_keys(superuser_client):
    key, _ = IngestKey.generate(name="old", source="crm", kind="server")

    superuser_client.post("/admin/events/ingestkey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True)

    key.refresh_from_db()
    assert not key.is_active


def test_the_events_list_never_counts_the_whole_table(superuser_client):
    ingest_rows([GOOD, {**GOOD, "user_id": "u2"}], channel="api", source="s")

    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get("/admin/events/event/")

    assert response.status_code == 200
    assert "u2" in response.content.decode()
    bare_counts = [q["sql"] for q in queries.captured_queries if BARE_EVENT_COUNT.search(q["sql"])]
    assert bare_counts == []


def test_the_events_list_filters_and_searches(superuser_client):
    ingest_rows([GOOD, {**GOOD, "user_id": "u2", "event_name": "add_to_cart"}], channel="api", source="s")

    by_name = superuser_client.get("/admin/events/event/", {"event_name": "add_to_cart"}).content.decode()
    by_user = superuser_client.get("/admin/events/event/", {"q": "u1"}).content.decode()

    assert ">u2<" in by_name and ">u1<" not in by_name
    assert ">u1<" in by_user and ">u2<" not in by_user


def test_an_event_detail_page_is_read_only(superuser_client):
    ingest_rows([{**GOOD, "properties": {"template": "home"}}], channel="api", source="s")
    event = Event.objects.get()

    response = superuser_client.get(f"/admin/events/event/{event.pk}/change/")

    assert response.status_code == 200
    assert "template" in response.content.decode()
    assert 'name="_save"' not in response.content.decode()


def test_rejected_rows_list_and_detail_pages_load(superuser_client):
    ingest_rows([{**GOOD, "ts": "soon"}], channel="csv", source="s")
    rejected = RejectedRow.objects.get()

    listing = superuser_client.get("/admin/events/rejectedrow/", {"channel": "csv", "status": "open"})
    detail = superuser_client.get(f"/admin/events/rejectedrow/{rejected.pk}/change/")

    assert "ts: &#x27;soon&#x27; is not an ISO 8601 timestamp" in listing.content.decode()
    assert 'name="_replay"' in detail.content.decode()


def test_replaying_a_fixed_rejected_row_stores_it(superuser_client, django_user_model):
    ingest_rows([{**GOOD, "ts": "2025-11-01 10:00"}], channel="api", source="s")
    rejected = RejectedRow.objects.get()
    fixed = json.dumps({**GOOD, "ts": "2025-11-01T10:00:00+08:00"})

    superuser_client.post(f"/admin/events/rejectedrow/{rejected.pk}/change/", {"raw": fixed, "_replay": "1"})

    rejected.refresh_from_db()
    assert rejected.status == RejectedRow.Status.REPLAYED
    assert rejected.replayed_by == django_user_model.objects.get(username="root")
    assert rejected.replayed_at is not None
    assert Event.objects.get().ts.isoformat() == "2025-11-01T02:00:00+00:00"
    assert RejectedRow.objects.count() == 1


def test_replaying_a_row_that_is_still_bad_updates_its_errors(superuser_client):
    ingest_rows([{**GOOD, "ts": "2025-11-01 10:00"}], channel="api", source="s")
    rejected = RejectedRow.objects.get()

    superuser_client.post(
        f"/admin/events/rejectedrow/{rejected.pk}/change/",
        {"raw": json.dumps({**GOOD, "value": "abc"}), "_replay": "1"},
    )

    rejected.refresh_from_db()
    assert rejected.status == RejectedRow.Status.OPEN
    assert rejected.errors == {"value": "'abc' is not a decimal number (use a dot, e.g. 199.00)."}
    assert Event.objects.count() == 0


def test_the_replay_action_replays_an_unreadable_body_once_it_is_fixed(superuser_client):
    rejected = RejectedRow.objects.create(channel="api", raw=json.dumps([GOOD, {**GOOD, "user_id": "u2"}]))

    superuser_client.post(
        "/admin/events/rejectedrow/", {"action": "replay", "_selected_action": [rejected.pk]}, follow=True
    )

    rejected.refresh_from_db()
    assert rejected.status == RejectedRow.Status.REPLAYED
    assert Event.objects.count() == 2


def test_an_analyst_creates_keys_and_replays_rows_but_a_marketer_cannot(client, analyst, marketer):
    ingest_rows([{**GOOD, "ts": "2025-11-01 10:00"}], channel="api", source="s")
    rejected = RejectedRow.objects.get()
    client.force_login(analyst)

    added = client.post("/admin/events/ingestkey/add/", {"name": "Server", "source": "server", "kind": "server"})
    client.post(
        f"/admin/events/rejectedrow/{rejected.pk}/change/",
        {"raw": json.dumps({**GOOD, "ts": "2025-11-01T10:00:00Z"}), "_replay": "1"},
    )
    client.force_login(marketer)
    marketer_keys = client.get("/admin/events/ingestkey/")
    marketer_rejected = client.get("/admin/events/rejectedrow/")
    marketer_events = client.get("/admin/events/event/")

    assert added.status_code == 302
    assert IngestKey.objects.filter(source="server").exists()
    rejected.refresh_from_db()
    assert rejected.status == RejectedRow.Status.REPLAYED
    assert (marketer_keys.status_code, marketer_rejected.status_code, marketer_events.status_code) == (403, 403, 200)


def test_a_replayed_row_keeps_its_senders_event_id_scope():
    from events.ingest.replay import replay_rejected

    bad = {**GOOD, "event_id": "msg-1", "ts": "2025-11-01 10:00"}
    ingest_rows([bad], channel="wechat_push", source="official_account")
    rejected = RejectedRow.objects.get()
    fixed = {**bad, "ts": "2025-11-01T10:00:00Z"}
    rejected.raw = json.dumps(fixed)

    replay_rejected(rejected)
    retry = ingest_rows([fixed], channel="wechat_push", source="official_account")

    assert rejected.source == "official_account"
    assert (retry.accepted, retry.duplicates) == (0, 1)
