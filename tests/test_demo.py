"""`make run` runs like production: a real Celery worker and beat next to the web server, on a
broker that needs no server (Kombu's filesystem transport), and Ctrl-C stops all of it."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from reports.schedule import sync_beat_schedule

MARK_STALE = "reports: mark stale snapshots"


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_demo_worker_and_beat_run_a_periodic_task_without_redis_and_stop_on_ctrl_c(transactional_db, tmp_path):
    sync_beat_schedule()
    # The schedule's own row, made due every 3 seconds (as an admin may edit it), so the test
    # stays short; the others are paused so only this one fires.
    every_3s = IntervalSchedule.objects.create(every=3, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=MARK_STALE).update(crontab=None, interval=every_3s)
    PeriodicTask.objects.exclude(name=MARK_STALE).update(enabled=False)
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    env.update(DATABASE_URL=_database_url(), CELERY_BROKER_FOLDER=str(tmp_path / "broker"))
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "run_demo", "--no-web"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    pump = threading.Thread(target=_pump, args=(demo.stdout, lines), daemon=True)
    pump.start()
    output, started = [], time.monotonic()
    ran_after = None
    try:
        while time.monotonic() - started < 120:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                if demo.poll() is not None:
                    break
                continue
            output.append(line)
            if "reports.tasks.mark_stale_snapshots[" in line and "succeeded" in line:
                ran_after = time.monotonic() - started
                break
    finally:
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            demo.wait(timeout=40)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
    # The pump ends at end of output, once the demo and the worker and beat it started are gone.
    pump.join(timeout=30)
    while not lines.empty():
        output.append(lines.get())
    text = "".join(output)

    assert ran_after is not None, text[-3000:]
    assert "filesystem broker" in text and "Ctrl-C stops all of it" in text  # the banner says so
    assert "Connected to filesystem://" in text  # the worker's broker: no Redis
    assert demo.returncode == 0, text[-2000:]
    assert not pump.is_alive(), "a process the demo started outlived Ctrl-C and holds its output open"
    assert "demo stopped" in text
    assert PeriodicTask.objects.get(name=MARK_STALE).total_run_count >= 1  # beat recorded the run


def test_the_demo_port_carries_into_the_address_qr_codes_use():
    from campaigns.management.commands.run_demo import lan_address, public_base_url

    assert public_base_url("127.0.0.1", 8001) == "http://127.0.0.1:8001"
    assert public_base_url("127.0.0.1", 8001, "http://192.168.1.23:8001/") == "http://192.168.1.23:8001"
    lan = lan_address()
    assert public_base_url("0.0.0.0", 8002) == f"http://{lan or '127.0.0.1'}:8002"  # noqa: S104


def test_the_banner_warns_that_phones_cannot_open_loopback_codes_and_says_how_to_fix_it():
    from io import StringIO

    from campaigns.management.commands.run_demo import Command

    out = StringIO()
    Command(stdout=out)._banner("127.0.0.1", 8001, "http://127.0.0.1:8001", "a filesystem broker")
    text = out.getvalue()
    assert "http://127.0.0.1:8001/admin/" in text
    assert "phones cannot open these QR codes" in text and "PUBLIC_BASE_URL" in text

    out = StringIO()
    Command(stdout=out)._banner("0.0.0.0", 8001, "http://192.168.1.23:8001", "a filesystem broker")  # noqa: S104
    assert "phones cannot open" not in out.getvalue()
