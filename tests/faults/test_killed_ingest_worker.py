"""Fault: the web worker storing a batch is SIGKILLed after the events' INSERT committed and
before their unionid links were written. The client never got an answer, so it retries;
the retry finds only duplicates and must still make the links (E6), or those people stay
split in two for good.

The worker is held between the two steps deterministically: the test holds an ACCESS
EXCLUSIVE lock on `events_identity`, so the link step's first read blocks while the events
are already stored. Then the gunicorn worker process is killed, the lock released, and the
client's retry sent to the worker gunicorn starts in its place."""

import http.client
import json
import os
import signal
import threading
import urllib.error
import urllib.request

import psycopg
import pytest

from tests.faults.services import children_of, lock_waiters, manage, post_events, production_env, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BATCH_SIZE = 50


def test_a_web_worker_killed_between_the_insert_and_the_links_leaves_links_for_the_retry(
    throwaway_postgres, gunicorn_server
):
    env = production_env(throwaway_postgres.url)
    manage("migrate", "--noinput", env=env)
    key = manage("create_ingest_key", "server", "--kind", "server", env=env).strip().split()[-1]
    server = gunicorn_server(env, workers=1)
    url = server.base_url + "/api/v1/events"
    # One person seen in the Official Account (oa-…) and the Mini Program (mp-…) per unionid.
    batch = [
        {
            "event_id": f"kill-{i}",
            "event_name": "follow" if i % 2 else "page_view",
            "user_id": f"{'oa' if i % 2 else 'mp'}-{i // 2}",
            "ts": "2025-11-03T10:00:00+08:00",
            "properties": {"unionid": f"union-{i // 2}"},
        }
        for i in range(BATCH_SIZE)
    ]
    body = json.dumps(batch).encode()
    dsn = f"host=127.0.0.1 port={throwaway_postgres.port} user=postgres dbname=wxa_fault"
    lost: list[BaseException] = []

    def first_delivery():
        try:
            post_events(url, key, body, timeout=60)[1]
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as error:
            lost.append(error)

    with psycopg.connect(dsn, autocommit=True) as watcher, psycopg.connect(dsn) as blocker:
        # EXCLUSIVE, not ACCESS EXCLUSIVE: the INSERT still reads each id's person from the
        # identity table (events.people); the links after it, which write there, wait.
        blocker.execute("LOCK TABLE events_identity IN EXCLUSIVE MODE")
        client = threading.Thread(target=first_delivery)
        client.start()

        def stored() -> int:
            return watcher.execute("SELECT count(*) FROM events_event WHERE event_id LIKE 'kill-%%'").fetchone()[0]

        wait_until(lambda: stored() == BATCH_SIZE, 30, "the batch's INSERT to commit")
        wait_until(lambda: lock_waiters(watcher, "events_identity"), 30, "the worker to wait for the identity lock")
        (worker,) = children_of(server.process.pid)
        os.kill(worker, signal.SIGKILL)
        client.join(timeout=30)
        blocker.rollback()

        assert lost, "the first delivery must have failed: the worker died before answering"
        assert watcher.execute("SELECT count(*) FROM events_identity").fetchone()[0] == 0
        wait_until(lambda: children_of(server.process.pid), 30, "gunicorn to start a new worker")
        retry = post_events(url, key, body, timeout=60)[1]

        links = dict(watcher.execute("SELECT user_id, person_id FROM events_identity").fetchall())
    assert (retry["accepted"], retry["duplicates"]) == (0, BATCH_SIZE)
    for i in range(BATCH_SIZE // 2):
        assert links[f"oa-{i}"] == links[f"mp-{i}"] == f"union-{i}"
