"""Fault: the same batch arrives from two clients at the same moment (a retry racing the
original). Each event is stored once; together the two answers count it once as accepted
and once as a duplicate."""

import json
import threading
import urllib.request

import psycopg
import pytest

from tests.faults.services import manage, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROUNDS = 5
BATCH_SIZE = 1000


def post(url: str, key: str, body: bytes) -> dict:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_the_same_batch_sent_concurrently_by_two_clients_is_stored_once(throwaway_postgres, gunicorn_server):
    env = production_env(throwaway_postgres.url)
    manage("migrate", "--noinput", env=env)
    key = manage("create_ingest_key", "server", "--kind", "server", env=env).strip().split()[-1]
    server = gunicorn_server(env, workers=2)
    url = server.base_url + "/api/v1/events"
    answers: list[dict] = []

    for round_no in range(ROUNDS):
        batch = [
            {
                "event_id": f"race-{round_no}-{i}",
                "event_name": "add_to_cart",
                "user_id": f"u{i}",
                "ts": "2025-11-03T10:00:00+08:00",
            }
            for i in range(BATCH_SIZE)
        ]
        body = json.dumps(batch).encode()
        barrier = threading.Barrier(2)

        def client(body=body, barrier=barrier):
            barrier.wait()
            answers.append(post(url, key, body))

        threads = [threading.Thread(target=client) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    with psycopg.connect(f"host=127.0.0.1 port={throwaway_postgres.port} user=postgres dbname=wxa_fault") as conn:
        stored = conn.execute("SELECT count(*) FROM events_event WHERE event_id LIKE 'race-%%'").fetchone()[0]
    assert len(answers) == 2 * ROUNDS
    assert sum(a["accepted"] for a in answers) == ROUNDS * BATCH_SIZE
    assert sum(a["duplicates"] for a in answers) == ROUNDS * BATCH_SIZE
    assert stored == ROUNDS * BATCH_SIZE
