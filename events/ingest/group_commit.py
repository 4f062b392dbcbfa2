"""Group commit: the single events of many requests share one INSERT and one commit.

A QR code on a livestream gets thousands of scans a minute, and each scan, Mini Program
launch or single API event used to pay its own statement, commit and WAL flush. In a
threaded web worker (scripts/serve.py runs gunicorn's gthread workers), request threads
hand their few rows to this process's committer thread and wait; the committer writes
everything that arrived while the previous commit was running (and, when that previous group
held more than one request, within INGEST_GROUP_COMMIT_WAIT_MS (2) of the group's first row)
with the ordinary batch write, commits, and
only then releases each request with the keys of *its* rows that were inserted. A 200 still
means durable: no request answers before the commit that holds its rows.

Steps of one group (`GroupCommitter._commit`):
1. Keep one row per dedupe key: two requests of the same group may carry the same event (a
   phone's retry racing its first try, one visitor's repeated scans). The first row wins;
   the other request learns its key was not inserted and classifies it after the commit,
   like any later copy (duplicate or conflict, events.ingest).
2. Write the group in key order with `write` (events.ingest.write: one statement in
   autocommit, or COPY in one transaction past 100 rows), on the committer's own database
   connection.
3. Answer every waiter. A database error answers every waiter with that error (the API
   says 503, the client retries, the event_id dedupe makes the retry safe). An error
   that is not the database's availability (a row the database refuses) is retried
   request by request, so one bad row fails only its own request.

A worker killed while requests wait loses nothing answered: an unanswered request's rows
are either not stored, or stored and found as duplicates when the client retries
(tests/faults/test_group_commit_killed.py).
"""

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection

from .validate import CleanRow

logger = logging.getLogger(__name__)

Write = Callable[[Sequence[CleanRow]], set[uuid.UUID]]


@dataclass
class _Waiter:
    rows: Sequence[CleanRow]
    received_at: datetime
    done: threading.Event = field(default_factory=threading.Event)
    inserted: set[uuid.UUID] = field(default_factory=set)
    error: BaseException | None = None


class GroupCommitter:
    """One per process; the thread starts with the first row (after gunicorn's fork)."""

    def __init__(self, write: Callable[..., set[uuid.UUID]], *, max_rows: int = 500) -> None:
        self._write = write  # write(rows, received_at=...) -> keys inserted, committed on return
        self._max_rows = max_rows
        self._wake = threading.Condition()
        self._queue: list[_Waiter] = []
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False

    def insert(
        self, rows: Sequence[CleanRow], *, received_at: datetime, wait_ms: float, timeout: float
    ) -> set[uuid.UUID]:
        """Queue `rows` for the next group and wait for its commit; the keys inserted.

        Raises the group's DatabaseError, or OperationalError when no commit came within
        `timeout` seconds (the rows may still be stored: the client's retry is a duplicate)."""
        waiter = _Waiter(rows, received_at)
        with self._wake:
            self._start_if_needed(wait_ms)
            self._queue.append(waiter)
            self._wake.notify()
        if not waiter.done.wait(timeout):
            raise OperationalError(f"no group commit within {timeout:.0f} s")
        if waiter.error is not None:
            raise waiter.error
        return waiter.inserted

    def _start_if_needed(self, wait_ms: float) -> None:
        # A forked child inherits the parent's object but not its thread.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._queue = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, args=(wait_ms / 1000,), name="wxa-group-commit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, close the committer's connection and end its thread (the
        next row starts a new one). For the end of a test session, whose database is dropped."""
        with self._wake:
            thread, self._stopping = self._thread, True
            self._wake.notify()
        if thread is not None and thread.is_alive():
            thread.join(timeout=10)

    def _run(self, wait: float) -> None:
        busy = False  # the previous group held more than one request
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if not self._queue:
                    connection.close()
                    return
                if wait > 0 and busy:
                    # Under load, gather for a moment after the first row; a full group goes
                    # at once. A lone request on a quiet server is not held: waiting would
                    # add to its latency and gather nothing.
                    deadline = time.monotonic() + wait
                    while self._rows_queued() < self._max_rows and (left := deadline - time.monotonic()) > 0:
                        self._wake.wait(left)
                group, taken = [], 0
                while self._queue and (not group or taken + len(self._queue[0].rows) <= self._max_rows):
                    waiter = self._queue.pop(0)
                    group.append(waiter)
                    taken += len(waiter.rows)
                busy = len(group) > 1
            self._commit(group)

    def _rows_queued(self) -> int:
        return sum(len(waiter.rows) for waiter in self._queue)

    def _commit(self, group: list[_Waiter]) -> None:
        try:
            # The committer is a long-lived thread with its own connection: drop it when
            # broken or past DB_CONN_MAX_AGE, as Django does at each request's start.
            close_old_connections()
            try:
                self._write_group(group)
            except (OperationalError, InterfaceError) as error:
                logger.warning("group commit: database unavailable", exc_info=True)
                connection.close()
                for waiter in group:
                    waiter.error = error
            except DatabaseError:
                logger.warning("group commit: the group failed; writing its requests one by one", exc_info=True)
                for waiter in group:
                    try:
                        waiter.inserted = self._write(waiter.rows, received_at=waiter.received_at)
                    except DatabaseError as error:
                        waiter.error = error
        except BaseException as error:  # never leave a request waiting for ever
            logger.exception("group commit: unexpected error")
            for waiter in group:
                if waiter.error is None and not waiter.inserted:
                    waiter.error = error
        finally:
            for waiter in group:
                waiter.done.set()

    def _write_group(self, group: list[_Waiter]) -> None:
        first: dict[uuid.UUID, CleanRow] = {}
        for waiter in group:
            for row in waiter.rows:
                first.setdefault(row.dedupe_key, row)
        rows = sorted(first.values(), key=lambda row: row.dedupe_key.int)  # the UUIDs' order, compared in C
        # The group's rows were received by the latest of its requests at the latest.
        inserted = self._write(rows, received_at=max(waiter.received_at for waiter in group))
        for waiter in group:
            waiter.inserted = {
                row.dedupe_key for row in waiter.rows if row.dedupe_key in inserted and first[row.dedupe_key] is row
            }
