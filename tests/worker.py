"""A real Celery worker on the Redis broker for the few end-to-end tests (marker `worker`):
one environment pointing it at the test database, one command line, one way to skip."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from wxanalytics.celery import app

COMMAND = [sys.executable, "-m", "celery", "-A", "wxanalytics", "worker"]
QUIET = ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]


def worker_env(**extra: str) -> dict[str, str]:
    """This process's environment, with the test database and broker; `extra` on top."""
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD']}" if db.get("PASSWORD") else db["USER"]
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DB_CONN_MAX_AGE": "0",
        "MEDIA_ROOT": str(default_storage.location),  # uploads a task reads (background imports)
        **extra,
    }


def purged_broker() -> None:
    """Skip without a broker; else drop leftovers of earlier runs on this broker db."""
    if not settings.CELERY_BROKER_URL:
        pytest.skip("needs CELERY_BROKER_URL (Redis); make test sets it when Redis answers")
    app.control.purge()


@contextmanager
def solo_worker(queues: str = "default", **env: str) -> Iterator[list[str]]:
    """A worker (solo pool) consuming `queues` while the block runs; yields its log lines
    as they come."""
    worker = subprocess.Popen(
        [*COMMAND, "-Q", queues, "-P", "solo", *QUIET],
        cwd=settings.BASE_DIR,
        env=worker_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(worker.stdout), daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        reader.join(timeout=5)


def wait_until(condition: Callable[[], object], *, seconds: float, lines: list[str]) -> object:
    """Poll `condition` until it is true or `seconds` pass; then fail with the worker's log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.3)
    raise AssertionError("the worker did not finish in time; its log:\n" + "".join(lines)[-3000:])
