"""One way to serialise a critical section across processes: a PostgreSQL advisory lock.

Every lock is named by a string in this project's namespace and turned into PostgreSQL's
bigint key by `hashtextextended`, so two parts of the code can only share a lock by using
the same name (before, constant integers and `hashtext` of a string lived side by side and
could only be kept apart by luck).
"""

from django.db import connection

NAMESPACE = "wxanalytics"


_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"


def advisory_xact_lock(name: str, *, cursor=None) -> None:
    """Hold the lock `name` until the surrounding transaction ends (call it inside
    `transaction.atomic()`), on `cursor`'s connection when given (a migration's), else the
    default one. SQLite (the zero-set-up demo) has one writer at a time anyway, so there it
    does nothing."""
    if cursor is not None:
        if cursor.db.vendor == "postgresql":
            cursor.execute(_SQL, [f"{NAMESPACE}:{name}"])
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as own:
            own.execute(_SQL, [f"{NAMESPACE}:{name}"])
