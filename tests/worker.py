"""A real Celery worker for the few end-to-end tests: a subprocess on the test database and
the test broker, started and stopped by `running_worker`."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def worker_env() -> dict:
    """This process's environment pointed at the test database, broker and media folder."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    url = f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DB_CONN_MAX_AGE": "0",
        "MEDIA_ROOT": str(default_storage.location),
    }


class WorkerLog:
    """What the worker printed, filled in when it has stopped."""

    text: str = ""


@contextmanager
def running_worker(queues: str) -> Iterator[tuple[subprocess.Popen, WorkerLog]]:
    """A solo-pool worker on `queues` (comma separated) for the duration of the block."""
    log = WorkerLog()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wxanalytics", "worker", "-Q", queues, "-P", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT,
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        yield worker, log
    finally:
        worker.terminate()
        log.text = worker.communicate(timeout=30)[0]
