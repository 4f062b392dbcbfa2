"""Fault: the web worker is SIGKILLed while requests wait for a shared commit (group commit,
events.ingest.group_commit), and while others wait after theirs. Every event answered 200
before the kill is stored; the unanswered ones are retried by their clients and then stored
exactly once, whether the dead worker's commit went through or not.

Two requests' fates are held deterministically with table locks taken by the test:
- "committed, not answered": events carrying a unionid are stored by the committer, then
  their request threads block on the identity table (locked) before answering;
- "waiting for the shared commit": with the key table locked, the committer's INSERT blocks
  and the requests behind it queue for the next group.
Then the gunicorn worker (gthread, as scripts/serve.py runs it) is killed and the locks
released. The dead worker's blocked INSERT still runs and commits in its orphaned database
session, so some of the waiting events are stored though no client heard of them.
"""

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

ANSWERED = 10  # sent and answered before the kill
COMMITTED_UNANSWERED = 6  # stored by the committer, request threads blocked before answering
WAITING = 6  # queued for a commit that is blocked


def event(event_id: str, **properties) -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "event_name": "qr_scan",
            "user_id": f"user-{event_id}",
            "ts": "2025-11-03T10:00:00+08:00",
            "properties": properties,
        }
    ).encode()


def send_all(url: str, key: str, bodies: dict[str, bytes]) -> tuple[dict[str, dict], list[threading.Thread]]:
    """Post each body from its own thread (one single event per request, as phones do);
    the answers dict fills as they come back ({} for a request that got no answer)."""
    answers: dict[str, dict] = {}

    def post(event_id: str, body: bytes) -> None:
        try:
            status, answer, _ = post_events(url, key, body, timeout=60)
            answers[event_id] = {"status": status, **answer}
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError):
            answers[event_id] = {}

    threads = [threading.Thread(target=post, args=item) for item in bodies.items()]
    for thread in threads:
        thread.start()
    return answers, threads


def test_a_worker_killed_while_requests_wait_for_a_shared_commit_loses_no_answered_event_and_doubles_none(
    throwaway_postgres, gunicorn_server
):
    env = production_env(throwaway_postgres.url, INGEST_RATE_LIMIT_PER_MINUTE="0")
    manage("migrate", "--noinput", env=env)
    key = manage("create_ingest_key", "server", "--kind", "server", env=env).strip().split()[-1]
    server = gunicorn_server(env, workers=1, threads=32)
    url = server.base_url + "/api/v1/events"
    dsn = f"host=127.0.0.1 port={throwaway_postgres.port} user=postgres dbname=wxa_fault"
    first = {f"answered-{i}": event(f"answered-{i}") for i in range(ANSWERED)}
    committed = {f"linked-{i}": event(f"linked-{i}", unionid=f"union-{i}") for i in range(COMMITTED_UNANSWERED)}
    waiting = {f"waiting-{i}": event(f"waiting-{i}") for i in range(WAITING)}

    with (
        psycopg.connect(dsn, autocommit=True) as watcher,
        psycopg.connect(dsn) as identity_lock,
        psycopg.connect(dsn) as key_lock,
    ):

        def stored(prefix: str) -> int:
            return watcher.execute(
                "SELECT count(*) FROM events_event WHERE event_id LIKE %s", [prefix + "%"]
            ).fetchone()[0]

        answered, threads = send_all(url, key, first)
        for thread in threads:
            thread.join(timeout=60)
        # EXCLUSIVE, not ACCESS EXCLUSIVE: the INSERT still reads each id's person from the
        # identity table (events.people); the links after it, which write there, wait.
        identity_lock.execute("LOCK TABLE events_identity IN EXCLUSIVE MODE")
        unanswered_committed, threads_committed = send_all(url, key, committed)
        wait_until(lambda: stored("linked-") == COMMITTED_UNANSWERED, 30, "the committer to store the linked events")
        key_lock.execute("LOCK TABLE events_eventkey IN ACCESS EXCLUSIVE MODE")
        unanswered_waiting, threads_waiting = send_all(url, key, waiting)
        wait_until(lambda: lock_waiters(watcher, "events_eventkey"), 30, "the committer's INSERT to wait for its lock")
        threading.Event().wait(0.5)  # the other requests queue behind the blocked group

        (worker,) = children_of(server.process.pid)
        os.kill(worker, signal.SIGKILL)
        for thread in threads_committed + threads_waiting:
            thread.join(timeout=60)
        key_lock.rollback()
        identity_lock.rollback()
        wait_until(lambda: children_of(server.process.pid), 30, "gunicorn to start a new worker")
        # PostgreSQL does not notice the dead client while the statement waits for its lock.
        stored_before_retry = wait_until(lambda: stored("waiting-"), 10, "the dead worker's INSERT to commit")

        unanswered = {**committed, **waiting}
        retried, threads = send_all(url, key, unanswered)
        for thread in threads:
            thread.join(timeout=60)

        rows = watcher.execute("SELECT event_id, count(*) FROM events_event GROUP BY event_id").fetchall()
        links = dict(watcher.execute("SELECT user_id, person_id FROM events_identity").fetchall())

    assert all(answer.get("status") == 200 and answer["accepted"] == 1 for answer in answered.values()), answered
    assert len(answered) == ANSWERED
    assert not any(unanswered_committed.values()) and not any(unanswered_waiting.values()), "no answer after the kill"
    # Every retry is answered; the events the dead worker had committed come back as duplicates.
    assert all(answer.get("status") == 200 for answer in retried.values()), retried
    assert [retried[event_id]["duplicates"] for event_id in committed] == [1] * COMMITTED_UNANSWERED
    assert sum(retried[event_id]["duplicates"] for event_id in waiting) == stored_before_retry
    assert {retried[event_id]["accepted"] + retried[event_id]["duplicates"] for event_id in unanswered} == {1}
    # Stored: exactly the answered events and the retried ones, each once.
    assert dict(rows) == dict.fromkeys([*first, *committed, *waiting], 1)
    assert all(links[f"user-linked-{i}"] == f"union-{i}" for i in range(COMMITTED_UNANSWERED))
