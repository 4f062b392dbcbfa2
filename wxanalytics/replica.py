"""Reads of the reports from a streaming replica (REPORTS_DATABASE_URL), writes on the primary.

What reads from the replica is chosen by the code, not by the model: a snapshot build, the
dashboard and the admin lists of the big tables run inside `reading_reports()`, and only
there does the router send reads to the `reports` alias. Everything else (ingest, identity
links, the stale check, forms that read then write) keeps reading the primary, so a request
never reads back an older copy of what it has just written. Without REPORTS_DATABASE_URL the
alias does not exist and every read stays on `default`.

Raw SQL picks its connection with `reports_connection()`; the ORM goes through the router.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPORTS_ALIAS = "reports"
# Ingest stamps received_at, then writes and commits; a batch of the largest size commits in
# well under a second (docs/scaling.md). Thirty seconds leaves room for a slow disk.
INGEST_COMMIT_MARGIN = timedelta(seconds=30)
_reading_reports: ContextVar[bool] = ContextVar("reading_reports", default=False)


def replica_configured() -> bool:
    return REPORTS_ALIAS in settings.DATABASES


def reports_alias() -> str:
    """The alias report reads use now: the replica inside `reading_reports()`, if configured."""
    return REPORTS_ALIAS if _reading_reports.get() and replica_configured() else DEFAULT_DB_ALIAS


def reports_connection():
    return connections[reports_alias()]


@contextmanager
def reading_reports() -> Iterator[None]:
    token = _reading_reports.set(True)
    try:
        yield
    finally:
        _reading_reports.reset(token)


def read_as_of(now: datetime) -> datetime:
    """The time up to which a build's reads see the primary's events (its `built_at`).

    On the primary that is `now`. A replica shows only the transactions it has replayed, in
    commit order: an event committed on the primary after the last replayed commit is not in
    the build. The build is then as of that commit's time, less the longest an ingest
    statement takes between stamping `received_at` and committing, so the stale check (which
    compares receipt times with `built_at`, on the primary) marks the snapshot stale for
    every event the replica had not shown yet. Erring early costs at most one extra rebuild."""
    if reports_alias() == DEFAULT_DB_ALIAS:
        return now
    with reports_connection().cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()")
        in_recovery, replayed_at = cursor.fetchone()
    if not in_recovery:  # REPORTS_DATABASE_URL names a primary (e.g. a promoted replica)
        return now
    if replayed_at is None:
        raise ReplicaNotReady(
            "The reports replica has not replayed a transaction since it started; "
            "its data cannot be dated. Build again once it has (any write on the primary)."
        )
    return min(now, replayed_at - INGEST_COMMIT_MARGIN)


class ReplicaNotReady(RuntimeError):
    pass


class ReportsRouter:
    """Reads inside `reading_reports()` go to the replica; writes and migrations never do."""

    def db_for_read(self, model, **hints):
        return reports_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # both aliases hold the same database

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS  # the replica gets its schema by replication
