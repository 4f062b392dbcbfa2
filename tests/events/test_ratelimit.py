import pytest
from django.core.cache import cache

from events.ingest.ratelimit import RateLimited, check_rate

pytestmark = pytest.mark.django_db

ONE_EVENT = '{"event_name": "page_view", "user_id": "u1", "ts": "2025-11-03T10:00:00+08:00"}'


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_key_over_its_limit_gets_429_with_retry_after(post_events, settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 3
    answers = [post_events(ONE_EVENT) for _ in range(3)]

    refused = post_events(ONE_EVENT)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "more than 3 requests in a minute" in refused.json()["error"]


def test_each_key_has_its_own_budget(settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1
    check_rate(1, now=120.0)

    check_rate(2, now=120.0)

    with pytest.raises(RateLimited):
        check_rate(1, now=121.0)


def test_the_budget_renews_with_the_next_minute(settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1
    check_rate(1, now=120.0)

    check_rate(1, now=180.0)

    with pytest.raises(RateLimited) as refused:
        check_rate(1, now=200.0)
    assert refused.value.retry_after == 40


def test_zero_means_no_limit(settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 0

    for _ in range(50):
        check_rate(1, now=120.0)
