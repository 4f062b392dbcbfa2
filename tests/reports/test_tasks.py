"""Task adapters called directly, and one end-to-end build through a real Celery worker on
the Redis broker against the test database."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from reports.export import tasks as export_tasks
from reports.models import Snapshot
from reports.schedule import SCHEDULE
from reports.snapshots import tasks
from tests.reports.metrics_data import at, event, save
from tests.reports.snapshot_data import WEEK, built, ensure_funnel_plan
from tests.worker import purged_broker, solo_worker, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_task_builds_and_returns_the_snapshot_id(db):
    ensure_funnel_plan()
    save(event("qr_scan", "a", at("2025-11-10")))

    snapshot_id = tasks.build_snapshot_task("weekly", WEEK)

    snapshot = Snapshot.objects.get(pk=snapshot_id)
    assert snapshot.status == Snapshot.Status.BUILT and snapshot.data["headline"]["entered"] == 1


def test_the_build_task_acknowledges_late_and_is_requeued_if_the_worker_dies():
    task = tasks.build_snapshot_task

    assert task.acks_late and task.reject_on_worker_lost
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_ROUTES["reports.tasks.build_snapshot_task"] == {"queue": "reports"}


def test_the_stale_task_marks_late_periods(db):
    snapshot = built("weekly", WEEK)
    save(event("qr_scan", "late", at("2025-11-12")))  # received now, long after the build

    assert tasks.mark_stale_snapshots() == 1

    snapshot.refresh_from_db()
    assert snapshot.stale


def test_the_mail_task_returns_quietly_when_the_snapshot_is_gone(db):
    assert export_tasks.send_snapshot_mail_task(987654) == 0


def test_every_scheduled_and_routed_task_name_is_registered_where_a_worker_finds_it():
    # A fresh interpreter does what a worker does at start (autodiscovery imports each app's
    # `tasks` module), so nothing this test module imported can hide a task a worker misses.
    # The names are the ones beat rows, routes and queued messages carry: moving a task to
    # another module must not rename it.
    script = (
        "import django; django.setup()\n"
        "from wxanalytics.celery import app\n"
        "app.loader.import_default_modules()\n"
        "print('\\n'.join(sorted(app.tasks)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    registered = set(out.stdout.split())
    wanted = {entry.task for entry in SCHEDULE} | set(settings.CELERY_TASK_ROUTES)

    assert wanted - registered == set()
    assert {"reports.tasks.build_snapshot_task", "reports.tasks.send_snapshot_mail_task"} <= registered
    assert tasks.build_snapshot_task.name == "reports.tasks.build_snapshot_task"
    assert export_tasks.send_snapshot_mail_task.name == "reports.tasks.send_snapshot_mail_task"


@pytest.mark.postgres  # the worker, another process, reads the test database through DATABASE_URL
@pytest.mark.worker
@pytest.mark.slow
def test_a_real_worker_builds_a_snapshot_from_the_reports_queue(transactional_db):
    purged_broker()
    ensure_funnel_plan()
    save(event("qr_scan", "a", at("2025-11-10")), event("qr_scan", "b", at("2025-11-11")))
    with solo_worker("reports,default") as lines:
        tasks.build_snapshot_task.delay("weekly", WEEK)
        snapshot = wait_until(
            lambda: Snapshot.objects.filter(kind="weekly", period_label=WEEK, status=Snapshot.Status.BUILT).first(),
            seconds=60,
            lines=lines,
        )
    output = "".join(lines)

    assert snapshot is not None, f"the worker built nothing; its log:\n{output[-3000:]}"
    assert snapshot.data["headline"]["entered"] == 2 and snapshot.duration_ms is not None
    assert "build_snapshot_task" in output
