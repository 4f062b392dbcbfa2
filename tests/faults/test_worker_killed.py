"""Fault: the Celery worker process building a snapshot is killed with SIGKILL.

The build is held mid-way deterministically: the test locks the events table, so the
builder blocks on its first events query. The pool process is then SIGKILLed. With
acks_late + reject_on_worker_lost the message goes back to the queue, a fresh pool process
takes it, and once the lock is released the snapshot is built. At no point is a half-written
snapshot visible.
"""

import os
import signal
import subprocess

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from reports.models import Snapshot
from reports.snapshots import tasks
from tests.faults.services import ROOT, children_of, lock_waiters, wait_until
from tests.reports.snapshot_data import WEEK, at, ensure_funnel_plan, event, save
from tests.worker import COMMAND as WORKER
from tests.worker import QUIET, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.slow]


def test_a_build_whose_worker_is_killed_is_redelivered_and_never_half_visible(transactional_db):
    if not settings.CELERY_BROKER_URL:
        pytest.skip("needs CELERY_BROKER_URL (Redis); make test sets it when Redis answers")
    from wxanalytics.celery import app

    app.control.purge()
    ensure_funnel_plan()  # an earlier transactional test may have flushed the migrated plan
    save(event("qr_scan", "a", at("2025-11-10")), event("qr_scan", "b", at("2025-11-11")))
    db = connection.settings_dict
    blocker = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    )
    blocker.execute("LOCK TABLE events_event IN ACCESS EXCLUSIVE MODE")  # held until commit
    worker = subprocess.Popen(
        [*WORKER, "-Q", "reports,default", "-P", "prefork", "-c", "1", *QUIET],
        cwd=ROOT,
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        tasks.build_snapshot_task.delay("weekly", WEEK)
        claimed = wait_until(
            lambda: Snapshot.objects.filter(kind="weekly", period_label=WEEK).first(), 60, "the build to start"
        )
        blocked = wait_until(lambda: lock_waiters(blocker, "events_event"), 60, "the builder to wait for the lock")
        first_child = children_of(worker.pid)[0]

        os.kill(first_child, signal.SIGKILL)
        during = Snapshot.objects.get(pk=claimed.pk)
        new_child = wait_until(
            lambda: [c for c in children_of(worker.pid) if c != first_child], 30, "a new pool process"
        )
        # The killed builder's backend keeps waiting (it learns of its client's death only
        # when it gets the lock): the redelivered build is a new waiter.
        wait_until(lambda: lock_waiters(blocker, "events_event") - blocked, 60, "the redelivered build to wait")
        still_building = Snapshot.objects.get(pk=claimed.pk)
        blocker.commit()  # release the lock
        built = wait_until(
            lambda: Snapshot.objects.filter(pk=claimed.pk, status=Snapshot.Status.BUILT).first(),
            60,
            "the redelivered build to finish",
        )
    finally:
        blocker.close()
        worker.terminate()
        output = worker.communicate(timeout=30)[0]

    assert new_child, output[-3000:]
    assert during.status == Snapshot.Status.BUILDING and during.data == {}
    assert still_building.status == Snapshot.Status.BUILDING and still_building.data == {}
    assert "WorkerLostError" in output or "SIGKILL" in output, output[-3000:]
    assert built.data["headline"]["entered"] == 2
    assert built.builds == 1
