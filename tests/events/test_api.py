import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from events import partitions
from events.ingest.keys import forget_keys
from events.models import Event, IngestKey, RejectedRow
from tests.events.write_cost import write_statements

pytestmark = pytest.mark.django_db

# Seed §9, exactly as printed (spaces after commas included).
SEED_CSV = """event_name, user_id, session_id, source, campaign, page, value, currency, ts
pay_success, a1b2c3, s-001, wechat_ad, 23Q4-Sale, checkout, 199.00, CNY, 2025-11-01T10:15:23Z
add_to_cart, a1b2c3, s-001, menu, -, PDP, -, -, 2025-11-01T10:14:01Z
"""


def event(**overrides):
    base = {"event_name": "page_view", "user_id": "u1", "page": "home", "ts": "2025-11-01T10:00:00+08:00"}
    base.update(overrides)
    return base


def test_the_seed_rows_posted_as_csv_are_accepted(post_events, campaign):
    response = post_events(SEED_CSV, content_type="text/csv")

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "conflicts": 0, "rejected": []}
    pay = Event.objects.get(event_name="pay_success")
    assert (pay.source, pay.campaign, str(pay.value), pay.currency) == ("wechat_ad", campaign, "199.00", "CNY")
    cart = Event.objects.get(event_name="add_to_cart")
    assert (cart.source, cart.campaign_code, cart.page, cart.value, cart.currency) == ("menu", "", "PDP", None, "")


def test_uploading_the_same_csv_again_changes_nothing(post_events):
    post_events(SEED_CSV, content_type="text/csv")

    response = post_events(SEED_CSV, content_type="text/csv")

    assert response.json() == {"accepted": 0, "duplicates": 2, "conflicts": 0, "rejected": []}
    assert Event.objects.count() == 2


def test_a_mixed_batch_answers_counts_and_per_row_errors(post_events, ingest_key):
    batch = [event(), event(ts="2025-11-01 10:00"), event(), event(user_id="u2", value="abc"), event(user_id="u3")]

    response = post_events(json.dumps(batch))

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicates": 1,
        "conflicts": 0,
        "rejected": [
            {"index": 1, "reason": "invalid", "errors": {"ts": "has no time zone; add Z or an offset such as +08:00."}},
            {
                "index": 3,
                "reason": "invalid",
                "errors": {"value": "'abc' is not a decimal number (use a dot, e.g. 199.00)."},
            },
        ],
    }
    kept = RejectedRow.objects.order_by("row_index")
    assert [(r.row_index, r.channel, r.ingest_key_id) for r in kept] == [
        (1, "api", ingest_key[0].pk),
        (3, "api", ingest_key[0].pk),
    ]
    assert Event.objects.get(user_id="u1").source == "mini_program"


def test_a_single_object_is_one_event(post_events):
    response = post_events(json.dumps(event(event_id="e-1", properties={"template": "home"})))

    assert response.json()["accepted"] == 1
    assert Event.objects.get().properties == {"template": "home"}


def test_a_conflicting_event_id_is_counted_and_kept(post_events):
    post_events(json.dumps(event(event_id="e-1")))

    response = post_events(json.dumps(event(event_id="e-1", page="cart")))

    assert response.json()["conflicts"] == 1
    assert response.json()["rejected"][0]["reason"] == "conflict"
    assert RejectedRow.objects.get().reason == RejectedRow.Reason.CONFLICT


def test_csv_extra_columns_become_properties(post_events):
    body = "event_name,user_id,ts,coupon\nselect_coupon,u1,2025-11-01T10:00:00Z,NEW10\n"

    post_events(body, content_type="text/csv; charset=utf-8")

    assert Event.objects.get().properties == {"coupon": "NEW10"}


def test_a_csv_properties_column_holds_a_json_object(post_events):
    body = 'event_name,user_id,ts,properties\npage_view,u1,2025-11-01T10:00:00Z,"{""template"": ""PDP""}"\n'

    post_events(body, content_type="text/csv")

    assert Event.objects.get().properties == {"template": "PDP"}


def test_a_compressed_body_is_415_with_a_clear_message(post_events):
    response = post_events(b"\x1f\x8b...", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 415
    assert response.json() == {"error": "Content-Encoding 'gzip' is not supported; send the body uncompressed."}


def test_a_missing_key_is_401(post_events):
    response = post_events(json.dumps(event()), HTTP_AUTHORIZATION="")

    assert response.status_code == 401
    assert response.json() == {"error": "Missing Authorization header; send 'Authorization: Bearer <ingest key>'."}
    assert Event.objects.count() == 0


def test_an_unknown_key_is_401(post_events):
    response = post_events(json.dumps(event()), HTTP_AUTHORIZATION="Bearer wxa_not-a-key")

    assert response.status_code == 401
    assert response.json() == {"error": "Unknown ingest key."}


def test_a_revoked_key_is_401(post_events, ingest_key):
    ingest_key[0].revoke()

    response = post_events(json.dumps(event()))

    assert response.status_code == 401
    assert "was revoked" in response.json()["error"]
    assert Event.objects.count() == 0


def test_more_than_1000_events_is_413_with_the_limits(post_events):
    response = post_events(json.dumps([event(user_id=str(i)) for i in range(1001)]))

    assert response.status_code == 413
    assert response.json()["error"] == (
        "The body has 1,001 events; at most 1,000 events and 5 MB per request. Split it into smaller batches."
    )
    assert Event.objects.count() == 0


def test_a_csv_of_more_than_1000_rows_is_413(post_events):
    body = "event_name,user_id,ts\n" + "".join(f"page_view,u{i},2025-11-01T10:00:00Z\n" for i in range(1001))

    response = post_events(body, content_type="text/csv")

    assert response.status_code == 413


def test_more_than_5_mb_is_413_before_parsing(post_events):
    body = "[" + " " * (5 * 1024 * 1024) + "]"

    response = post_events(body)

    assert response.status_code == 413
    assert "5 MB" in response.json()["error"]


def test_a_4_mb_batch_is_accepted_despite_djangos_2_5_mb_default(post_events):
    batch = [event(user_id=f"u{i}", properties={"blob": "x" * 4000}) for i in range(1000)]
    body = json.dumps(batch)
    assert 4_000_000 < len(body) < 5 * 1024 * 1024

    response = post_events(body)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1000


def test_invalid_json_is_400_with_the_position_and_kept(post_events):
    response = post_events('[{"event_name": "page_view",]')

    assert response.status_code == 400
    assert (
        response.json()["error"]
        == "Invalid JSON: Expecting property name enclosed in double quotes at line 1, column 29."
    )
    assert RejectedRow.objects.get().raw == '[{"event_name": "page_view",]'


def test_invalid_utf8_is_400(post_events):
    response = post_events(b'{"event_name": "\xff"}')

    assert response.status_code == 400
    assert response.json()["error"] == "The body is not valid UTF-8 (bad byte at offset 16)."


def test_an_unsupported_content_type_is_415(post_events):
    response = post_events("event_name=page_view", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert "application/json or text/csv" in response.json()["error"]


def test_a_json_scalar_is_400(post_events):
    response = post_events("42")

    assert response.status_code == 400
    assert response.json()["error"] == "The JSON body must be an event object or an array of events, not int."


def test_a_csv_without_the_required_columns_is_400(post_events):
    response = post_events("name,user\npage_view,u1\n", content_type="text/csv")

    assert response.status_code == 400
    assert "lacks event_name, user_id, ts" in response.json()["error"]


def test_the_key_records_its_last_use_at_most_once_a_minute(post_events, ingest_key):
    key = ingest_key[0]
    post_events(json.dumps(event()))
    key.refresh_from_db()
    first_use = key.last_used_at

    post_events(json.dumps(event(user_id="u2")))
    key.refresh_from_db()

    assert first_use is not None
    assert key.last_used_at == first_use
    with time_machine.travel(first_use + timedelta(minutes=2), tick=False):
        post_events(json.dumps(event(user_id="u3")))
    key.refresh_from_db()
    assert key.last_used_at == first_use + timedelta(minutes=2)


def test_a_key_is_looked_up_once_then_remembered(
    post_events, ingest_key, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    # The month's partition becomes known to this process (restored after the test, whose
    # transaction rolls the partition back).
    monkeypatch.setattr(partitions, "_known", set(partitions._known))
    with django_capture_on_commit_callbacks(execute=True):
        post_events(json.dumps(event()))

    # The second request of the same key: only the write, no key look-up, no transaction.
    with django_assert_num_queries(write_statements()) as queries:
        response = post_events(json.dumps(event(user_id="u2")))

    assert response.json()["accepted"] == 1
    assert not [query for query in queries.captured_queries if IngestKey._meta.db_table in query["sql"]]


def test_a_key_revoked_elsewhere_stops_working_when_this_process_forgets_it(post_events, ingest_key):
    post_events(json.dumps(event()))
    # Another web process revokes it: no signal reaches this one.
    IngestKey.objects.filter(pk=ingest_key[0].pk).update(revoked_at=timezone.now())

    assert post_events(json.dumps(event(user_id="u2"))).status_code == 200  # within INGEST_KEY_CACHE_SECONDS
    forget_keys()  # what the cache's expiry does
    assert post_events(json.dumps(event(user_id="u3"))).status_code == 401


def test_without_the_key_cache_a_revocation_elsewhere_applies_at_once(post_events, ingest_key, settings):
    settings.INGEST_KEY_CACHE_SECONDS = 0
    forget_keys()
    post_events(json.dumps(event()))
    IngestKey.objects.filter(pk=ingest_key[0].pk).update(revoked_at=timezone.now())

    assert post_events(json.dumps(event(user_id="u2"))).status_code == 401


def test_the_schema_documents_the_event_api(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(admin)

    response = client.get("/api/schema/", {"format": "json"})

    operation = response.json()["paths"]["/api/v1/events"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "415", "429", "503"}
    assert set(operation["requestBody"]["content"]) == {"application/json", "text/csv"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_503_with_retry_after(client, ingest_key):
    import socket

    from django.db import connection

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(dead_port))
    try:
        response = client.post(
            "/api/v1/events",
            json.dumps(event()),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {ingest_key[1]}",
        )
    finally:
        connection.close()
        connection.settings_dict.update(saved)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Retry in 30 s" in response.json()["error"]
    assert Event.objects.count() == 0
