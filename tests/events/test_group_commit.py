"""Group commit (events.ingest.group_commit): the single events of concurrent requests share
one INSERT and one commit, and each request still gets its own answer.

The committer is held on a lock the test takes on the key table, so the requests that
arrive meanwhile are known to form one group when it is released. Each request is a thread
calling `ingest_rows` with one row, as the event API and /r/<code> do.
"""

import threading
import time

import psycopg
import pytest
from django.db import connection

from events.ingest import ingest_rows
from events.models import Event, RejectedRow
from tests.faults.services import lock_waiters, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def row(event_id: str, **overrides) -> dict:
    return {
        "event_name": "qr_scan",
        "user_id": "u1",
        "ts": "2025-11-03T10:00:00+08:00",
        "event_id": event_id,
    } | overrides


def dsn() -> str:
    cfg = connection.settings_dict
    return f"host={cfg['HOST'] or '127.0.0.1'} port={cfg['PORT'] or 5432} user={cfg['USER']} dbname={cfg['NAME']}"


class Requests:
    """Each `send` is one request thread; `results[name]` is its IngestResult."""

    def __init__(self) -> None:
        self.results = {}
        self.threads: list[threading.Thread] = []

    def send(self, name: str, event: dict) -> None:
        def request() -> None:
            try:
                self.results[name] = ingest_rows([event], channel="api", source="app-server")
            finally:
                connection.close()

        thread = threading.Thread(target=request)
        thread.start()
        self.threads.append(thread)
        time.sleep(0.05)  # arrival order is queue order

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=30)


def held_commit(watcher: psycopg.Connection, blocker: psycopg.Connection, requests: Requests) -> None:
    """Lock the key table and send a first event: the committer's INSERT waits for the lock."""
    blocker.execute("LOCK TABLE events_eventkey IN ACCESS EXCLUSIVE MODE")
    requests.send("opener", row("opener"))
    wait_until(lambda: lock_waiters(watcher, "events_eventkey"), 10, "the committer's INSERT to wait for its lock")


def test_events_of_concurrent_requests_share_one_commit_and_each_request_is_answered_for_its_own():
    requests = Requests()
    with psycopg.connect(dsn(), autocommit=True) as watcher, psycopg.connect(dsn()) as blocker:
        held_commit(watcher, blocker, requests)
        for i in range(8):
            requests.send(f"r{i}", row(f"e{i}", user_id=f"u{i}"))
        blocker.rollback()
        requests.join()

    # One group for the opener, one statement (one received_at) for the eight behind it.
    assert {name: result.accepted for name, result in requests.results.items()} == dict.fromkeys(
        ["opener", *(f"r{i}" for i in range(8))], 1
    )
    assert Event.objects.count() == 9
    assert Event.objects.exclude(event_id="opener").values("received_at").distinct().count() == 1


def test_the_same_event_twice_in_one_group_is_stored_once_and_a_changed_copy_is_a_conflict():
    requests = Requests()
    with psycopg.connect(dsn(), autocommit=True) as watcher, psycopg.connect(dsn()) as blocker:
        held_commit(watcher, blocker, requests)
        requests.send("first", row("scan-1", page="pages/index"))
        requests.send("retry", row("scan-1", page="pages/index"))  # the phone retried meanwhile
        requests.send("changed", row("scan-1", page="pages/other"))  # same id, other payload
        blocker.rollback()
        requests.join()

    answers = {name: (r.accepted, r.duplicates, r.conflicts) for name, r in requests.results.items()}
    assert answers == {"opener": (1, 0, 0), "first": (1, 0, 0), "retry": (0, 1, 0), "changed": (0, 0, 1)}
    assert list(Event.objects.filter(event_id="scan-1").values_list("page", flat=True)) == ["pages/index"]
    assert RejectedRow.objects.get().reason == RejectedRow.Reason.CONFLICT


def test_rows_written_inside_a_transaction_are_part_of_it_and_roll_back_with_it():
    # The committer's own connection would have committed them apart from the transaction.
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        result = ingest_rows([row("in-tx")], channel="api", source="app-server")
        raise RuntimeError("the caller's transaction fails after the ingest")

    assert result.accepted == 1
    assert not Event.objects.filter(event_id="in-tx").exists()


@pytest.fixture
def long_hold(settings):
    """A committer that holds a busy group open for 1.5 s (the module's committer restarts
    with the setting, and again with the default afterwards)."""
    from events.ingest.write import stop_group_commit

    stop_group_commit()
    settings.INGEST_GROUP_COMMIT_WAIT_MS = 1500
    yield
    stop_group_commit()


def test_a_lone_request_on_a_quiet_server_is_not_held_for_the_group_wait(long_hold):
    started = time.monotonic()
    result = ingest_rows([row("alone")], channel="api", source="app-server")

    assert result.accepted == 1
    assert time.monotonic() - started < 1.0


def test_after_a_group_of_several_requests_the_next_group_is_held_open_for_more(long_hold):
    requests = Requests()
    with psycopg.connect(dsn(), autocommit=True) as watcher, psycopg.connect(dsn()) as blocker:
        held_commit(watcher, blocker, requests)
        requests.send("a", row("a", user_id="ua"))
        requests.send("b", row("b", user_id="ub"))
        blocker.rollback()
        requests.join()  # the group of a and b: the committer is now busy
    later = Requests()
    later.send("c", row("c", user_id="uc"))
    time.sleep(0.3)  # well inside the 1.5 s hold, well after c's commit would have ended unheld
    later.send("d", row("d", user_id="ud"))
    later.join()

    assert {name: result.accepted for name, result in later.results.items()} == {"c": 1, "d": 1}
    received = dict(Event.objects.filter(event_id__in=["c", "d"]).values_list("event_id", "received_at"))
    assert received["c"] == received["d"]  # one statement for both
