"""The events and rejected-rows admin lists stay index-only on big tables: exact search,
counts bounded by a LIMIT and without a sort (bench/admin.py times them on 1M rows)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.ingest import ingest_rows
from events.models import RejectedRow

pytestmark = pytest.mark.django_db

GOOD = {"event_name": "page_view", "ts": "2025-11-01T10:00:00Z"}
COUNT = re.compile(r"COUNT\(", re.IGNORECASE)


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def unbounded_counts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if COUNT.search(q["sql"]) and "LIMIT" not in q["sql"]]


def test_searching_events_by_openid_is_exact_and_case_sensitive_so_an_index_serves_it(superuser_client):
    ingest_rows([{**GOOD, "user_id": "oAbC1"}, {**GOOD, "user_id": "oabc1"}], channel="api", source="s")

    with CaptureQueriesContext(connection) as queries:
        page = superuser_client.get("/admin/events/event/", {"q": "oAbC1"}).content.decode()

    assert ">oAbC1<" in page and ">oabc1<" not in page
    assert not [q["sql"] for q in queries.captured_queries if "UPPER(" in q["sql"]]


@pytest.mark.parametrize("params", [{}, {"status__exact": "open"}, {"reason__exact": "conflict"}, {"channel": "csv"}])
def test_the_rejected_rows_list_and_its_filters_count_at_most_a_limited_unsorted_slice(superuser_client, params):
    RejectedRow.objects.create(channel="csv", source="s", raw="bad", errors={"ts": ["missing"]})

    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get("/admin/events/rejectedrow/", params)

    assert response.status_code == 200
    assert unbounded_counts(queries) == []
    bounded = [q["sql"] for q in queries.captured_queries if COUNT.search(q["sql"])]
    assert bounded and all("ORDER BY" not in sql for sql in bounded)
