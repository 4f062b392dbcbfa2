import json
import os

import pytest
from django.core.cache import caches

from events.ingest.ratelimit import Budget, RateLimited, check_ingest_rate, check_rate
from events.models import IngestKey

pytestmark = pytest.mark.django_db

ONE_EVENT = '{"event_name": "page_view", "user_id": "u1", "ts": "2025-11-03T10:00:00+08:00"}'


@pytest.fixture(autouse=True)
def clean_cache():
    caches["default"].clear()
    yield
    caches["default"].clear()


def test_a_key_over_its_limit_gets_429_with_retry_after(post_events, settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 3
    answers = [post_events(ONE_EVENT) for _ in range(3)]

    refused = post_events(ONE_EVENT)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "more than 3 requests in a minute" in refused.json()["error"]


def test_each_server_key_has_its_own_budget(settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1
    first, _ = IngestKey.generate(name="crm", source="crm", kind="server")
    second, _ = IngestKey.generate(name="erp", source="erp", kind="server")
    check_ingest_rate(first, device="", address="10.0.0.1", now=120.0)

    check_ingest_rate(second, device="", address="10.0.0.1", now=120.0)

    with pytest.raises(RateLimited):
        check_ingest_rate(first, device="", address="10.0.0.2", now=121.0)  # another address: still the key's budget


def test_the_budget_renews_with_the_next_minute():
    budget = [Budget("test-counter", 1, "this test")]
    check_rate(budget, now=120.0)

    check_rate(budget, now=180.0)

    with pytest.raises(RateLimited) as refused:
        check_rate(budget, now=200.0)
    assert refused.value.retry_after == 40


def test_zero_means_no_limit():
    for _ in range(50):
        check_rate([Budget("test-counter", 0, "this test")], now=120.0)


def test_one_device_cannot_use_up_a_client_key_for_everyone(post_as_client, settings):
    settings.INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE = 3
    flood = [post_as_client(ONE_EVENT, device="device-aaaaaaaa", address="10.0.0.1") for _ in range(4)]

    neighbour = post_as_client(ONE_EVENT, device="device-bbbbbbbb", address="10.0.0.1")

    assert [a.status_code for a in flood] == [200, 200, 200, 429]
    assert "This device sent more than 3 requests" in flood[-1].json()["error"]
    assert neighbour.status_code == 200


def test_a_busy_mini_program_is_not_limited_as_a_whole(post_as_client, settings):
    # The old per-key budget of 3 would have refused the 4th request of the whole app.
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 3
    settings.INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE = 2
    settings.INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE = 2

    answers = [
        post_as_client(ONE_EVENT, device=f"phone-{n:04d}-xyz", address=f"10.0.1.{n}")
        for n in range(10)
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [200] * 20


def test_one_address_cannot_flood_with_a_client_key_by_inventing_devices(post_as_client, settings):
    settings.INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE = 5
    answers = [post_as_client(ONE_EVENT, device=f"fresh-device-{n:04d}", address="198.51.100.9") for n in range(6)]

    elsewhere = post_as_client(ONE_EVENT, device="fresh-device-9999", address="198.51.100.10")

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert "This address sent more than 5 requests" in answers[-1].json()["error"]
    assert elsewhere.status_code == 200


def test_a_client_key_without_a_device_header_is_limited_by_address(post_as_client, settings):
    settings.INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE = 2

    answers = [post_as_client(ONE_EVENT, address="198.51.100.11") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]


def test_identify_is_limited_like_ingest(client, client_key, ingest_key, settings):
    settings.INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE = 2
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1

    def identify(raw_key, n, address="192.0.2.1"):
        body = json.dumps({"user_id": f"anon-{n}", "alias": f"oMP_{n}"})
        return client.post(
            "/api/v1/identify",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw_key}",
            REMOTE_ADDR=address,
        )

    by_client = [identify(client_key[1], n).status_code for n in range(3)]
    by_server = [identify(ingest_key[1], n + 10).status_code for n in range(2)]

    assert by_client == [200, 200, 429]
    assert by_server == [200, 429]


def test_events_and_identify_share_a_client_address_budget(client, post_as_client, client_key, settings):
    settings.INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE = 2
    post_as_client(ONE_EVENT, address="192.0.2.2")
    client.post(
        "/api/v1/identify",
        json.dumps({"user_id": "anon-1", "alias": "oMP_1"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {client_key[1]}",
        REMOTE_ADDR="192.0.2.2",
    )

    assert post_as_client(ONE_EVENT, address="192.0.2.2").status_code == 429


@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="needs Redis (make test uses it when reachable)")
def test_the_counters_live_in_redis_with_an_expiry(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CELERY_BROKER_URL"],
            "KEY_PREFIX": "test-ratelimit",
        }
    }
    backend = caches["default"]
    backend.delete_many(["redis-a:10", "redis-b:10"])
    budgets = [Budget("redis-a", 2, "a"), Budget("redis-b", 5, "b")]
    check_rate(budgets, now=600.0)
    check_rate(budgets, now=601.0)

    with pytest.raises(RateLimited) as refused:
        check_rate(budgets, now=602.0)

    assert refused.value.what == "a"
    assert backend.get("redis-a:10") == 3
    assert backend.get("redis-b:10") == 3
    client = backend._cache.get_client(write=True)
    assert 0 < client.ttl(backend.make_and_validate_key("redis-a:10")) <= 120
