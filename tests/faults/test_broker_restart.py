"""Fault: the broker restarts while snapshot builds are queued.

With append-only persistence (production Redis) the queued builds survive the restart and
run once a worker is back. Without persistence (Redis as on development machines) the
messages are gone; the catch-up task then builds every closed period that has no snapshot.
"""

import os
import subprocess
import sys
import time

import pytest
import redis
from django.db import connection

from reports.models import Snapshot
from reports.periods import last_closed
from tests.faults.services import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.slow]


def env_for(broker_url: str) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": broker_url, "DB_CONN_MAX_AGE": "0"}


def run_python(code: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
    )


def start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wxanalytics", "worker", "-Q", "reports,default", "-P", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_for_built(labels: list[str], kind: str, timeout: float) -> set[str]:
    deadline = time.monotonic() + timeout
    done: set[str] = set()
    while time.monotonic() < deadline and done != set(labels):
        done = set(
            Snapshot.objects.filter(kind=kind, period_label__in=labels, status=Snapshot.Status.BUILT).values_list(
                "period_label", flat=True
            )
        )
        time.sleep(0.3)
    return done


def queue_weekly_builds(labels: list[str], env: dict) -> None:
    calls = "; ".join(f"build_snapshot_task.delay('weekly', '{label}')" for label in labels)
    run_python(f"from reports.snapshots.tasks import build_snapshot_task; {calls}", env)


def test_builds_queued_before_a_broker_restart_run_after_it(transactional_db, throwaway_redis):
    broker = throwaway_redis(persistent=True)
    env = env_for(broker.url)
    labels = ["2025-W45", "2025-W46"]
    queue_weekly_builds(labels, env)

    broker.stop()
    broker.start()
    queued_after_restart = redis.Redis.from_url(broker.url).llen("reports")
    worker = start_worker(env)
    try:
        built = wait_for_built(labels, "weekly", timeout=60)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]

    assert queued_after_restart == 2
    assert built == set(labels), output[-3000:]


def test_builds_lost_with_a_non_persistent_broker_are_caught_up(transactional_db, throwaway_redis):
    broker = throwaway_redis(persistent=False)
    env = env_for(broker.url)
    last_week = last_closed("weekly").label
    queue_weekly_builds([last_week], env)

    broker.stop()
    broker.start()
    lost = redis.Redis.from_url(broker.url).llen("reports") == 0
    worker = start_worker(env)
    try:
        run_python("from reports.snapshots.tasks import build_due_snapshots; build_due_snapshots.delay()", env)
        built = wait_for_built([last_week], "weekly", timeout=120)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]

    assert lost, "without persistence the queued build should be gone after the restart"
    assert built == {last_week}, output[-3000:]
