"""Fault: PostgreSQL restarts while a client streams batches to the event API.

Requests during the outage must get 503 with Retry-After (never 500); once the client has
retried everything, every event it sent is stored exactly once.
"""

import json
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from tests.faults.services import manage, post_events, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BATCHES = 40
BATCH_SIZE = 50


def make_batch(batch_no: int) -> list[dict]:
    return [
        {
            "event_id": f"restart-{batch_no}-{i}",
            "event_name": "page_view",
            "user_id": f"user-{i % 17}",
            "page": "home",
            "ts": "2025-11-03T10:00:00+08:00",
        }
        for i in range(BATCH_SIZE)
    ]


def test_events_sent_during_a_database_restart_are_stored_exactly_once(throwaway_postgres, gunicorn_server):
    env = production_env(throwaway_postgres.url)
    manage("migrate", "--noinput", env=env)
    key = manage("create_ingest_key", "server", "--kind", "server", env=env).strip().split()[-1]
    server = gunicorn_server(env)
    url = server.base_url + "/api/v1/events"
    statuses: list[int] = []
    retry_after_missing: list[int] = []

    def start_database_again():
        time.sleep(3)
        throwaway_postgres.start()

    restarter = threading.Thread(target=start_database_again)
    for batch_no in range(BATCHES):
        if batch_no == BATCHES // 4:
            throwaway_postgres.stop()
            restarter.start()
        body = json.dumps(make_batch(batch_no)).encode()
        for _attempt in range(200):
            try:
                status, answer, retry_after = post_events(url, key, body)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
                continue
            statuses.append(status)
            if status == 200:
                assert answer["accepted"] + answer["duplicates"] == BATCH_SIZE
                break
            if status == 503 and retry_after is None:
                retry_after_missing.append(batch_no)
            time.sleep(0.2)
        else:
            pytest.fail(f"batch {batch_no} was never accepted")
        time.sleep(0.05)
    restarter.join()

    with psycopg.connect(f"host=127.0.0.1 port={throwaway_postgres.port} user=postgres dbname=wxa_fault") as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM events_event WHERE event_id LIKE 'restart-%%'"
        ).fetchone()
    assert 500 not in statuses
    assert 503 in statuses, "the restart should have been seen by at least one request"
    assert retry_after_missing == []
    assert stored == distinct == BATCHES * BATCH_SIZE
