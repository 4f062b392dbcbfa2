"""Reports read from a real streaming replica (REPORTS_DATABASE_URL), writes stay on the primary.

The test starts a throwaway primary and a `pg_basebackup` standby of it, pauses the standby's
replay to make replication lag, and checks what lag must never cost: a build reads the
replica's (older) data, dates itself by the replica's last replayed commit, and the stale
check on the primary then flags it for the events the replica had not shown; once the replica
catches up, the rebuild has them. The admin's big-table lists and the dashboard read the
replica too; every write lands on the primary.
"""

import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from .services import ThrowawayPostgres, free_port, manage, pg_bin, production_env, run_as_postgres, wait_until

REPORTING_TZ_OFFSET = timedelta(hours=8)  # Asia/Shanghai, the default REPORTING_TZ


@pytest.fixture
def standby(throwaway_postgres):
    base = Path(tempfile.mkdtemp(prefix="wxa-standby-"))
    data_dir = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    run_as_postgres(
        [pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(throwaway_postgres.port), "-U", "postgres",
         "-D", str(data_dir), "-R", "-X", "stream", "-c", "fast"]
    )  # fmt: skip
    replica = ThrowawayPostgres(data_dir=data_dir, port=free_port(), log=data_dir / "server.log")
    replica.start()
    yield replica
    try:
        replica.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def connect(cluster: ThrowawayPostgres):
    return psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=wxa_fault", autocommit=True)


def shell(code: str, env: dict) -> dict:
    """Run `code` in `manage.py shell` with the given environment; it prints one JSON line."""
    return json.loads(manage("shell", "-c", code, env=env).strip().splitlines()[-1])


def scans(day: str, first: int, count: int) -> str:
    noon = (datetime.fromisoformat(day) + timedelta(hours=12) - REPORTING_TZ_OFFSET).isoformat() + "Z"
    rows = [
        {"event_name": "qr_scan", "user_id": f"visitor-{n}", "ts": noon, "event_id": f"scan-{n}", "source": "poster"}
        for n in range(first, first + count)
    ]
    return (
        "import json; from events.ingest import ingest_rows; "
        f"print(json.dumps(ingest_rows({rows!r}, channel='api', source='server').as_dict()))"
    )


def replayed(replica_conn, expected: int) -> bool:
    row = replica_conn.execute("SELECT count(*) FROM events_event WHERE event_name = 'qr_scan'").fetchone()
    return row[0] == expected


@pytest.mark.postgres
def test_reports_read_the_replica_and_lag_makes_the_snapshot_stale_not_wrong(throwaway_postgres, standby):
    replica_url = f"postgres://postgres@127.0.0.1:{standby.port}/wxa_fault"
    env = production_env(throwaway_postgres.url, REPORTS_DATABASE_URL=replica_url)
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", "-v", "0", env=env)  # the admin page below, in production settings
    day = (datetime.now() + REPORTING_TZ_OFFSET - timedelta(days=2)).date().isoformat()

    with connect(throwaway_postgres) as primary, connect(standby) as replica:
        assert shell(scans(day, 0, 3), env)["accepted"] == 3
        wait_until(lambda: _has_table(replica) and replayed(replica, 3), 60, "the replica to replay the first scans")
        replica.execute("SELECT pg_wal_replay_pause()")
        late = shell(scans(day, 3, 2), env)  # written on the primary, not replayed
        assert late["accepted"] == 2
        assert primary.execute("SELECT count(*) FROM events_event").fetchone()[0] == 5

        manage("build_snapshot", "daily", "--date", day, env=env)
        built_at, data, stale = primary.execute(
            "SELECT built_at, data, stale FROM reports_snapshot WHERE kind = 'daily'"
        ).fetchone()
        replayed_at = replica.execute("SELECT pg_last_xact_replay_timestamp()").fetchone()[0]
        late_received = primary.execute(
            "SELECT min(received_at) FROM events_event WHERE event_id IN ('scan-3', 'scan-4')"
        ).fetchone()[0]

        # The build saw what the replica held, and dated itself no later than its last replayed commit.
        assert data["headline"]["qr_scans"] == "3"
        assert built_at <= replayed_at < late_received
        assert stale is False

        # Reads inside reading_reports() (the admin's big lists, the dashboard) go to the replica;
        # the same read outside goes to the primary.
        counts = shell(
            "import json; from events.models import Event; from wxanalytics.replica import reading_reports\n"
            "with reading_reports(): on_replica = Event.objects.count()\n"
            "print(json.dumps({'replica': on_replica, 'primary': Event.objects.count()}))",
            env,
        )
        assert counts == {"replica": 3, "primary": 5}
        listed = shell(
            "import json; from django.contrib.auth.models import User; from django.test import Client\n"
            "user = User.objects.create_superuser('root', 'root@example.com', 'pw')\n"
            "client = Client(HTTP_HOST='127.0.0.1'); client.force_login(user)\n"
            "page = client.get('/admin/events/event/', secure=True).content.decode()\n"
            "print(json.dumps({'early': 'visitor-0' in page, 'late': 'visitor-3' in page}))",
            env,
        )
        assert listed == {"early": True, "late": False}

        # The stale check runs on the primary: the late scans arrived after built_at.
        flagged = shell(
            "import json; from reports.snapshots.build import mark_stale_snapshots\n"
            "print(json.dumps(mark_stale_snapshots()))",
            env,
        )
        assert flagged == 1

        replica.execute("SELECT pg_wal_replay_resume()")
        wait_until(lambda: replayed(replica, 5), 60, "the replica to catch up")
        manage("build_snapshot", "daily", "--date", day, env=env)
        data, stale = primary.execute("SELECT data, stale FROM reports_snapshot WHERE kind = 'daily'").fetchone()
        assert data["headline"]["qr_scans"] == "5"
        assert stale is False


def _has_table(replica_conn) -> bool:
    return replica_conn.execute("SELECT to_regclass('events_event') IS NOT NULL").fetchone()[0]


def test_without_a_replica_every_read_stays_on_the_primary():
    from django.db import DEFAULT_DB_ALIAS

    from wxanalytics.replica import ReportsRouter, reading_reports, reports_alias

    with reading_reports():
        assert reports_alias() == DEFAULT_DB_ALIAS
        assert ReportsRouter().db_for_read(None) == DEFAULT_DB_ALIAS


def test_with_a_replica_only_reads_inside_reading_reports_go_to_it(monkeypatch):
    from django.db import DEFAULT_DB_ALIAS

    from wxanalytics import replica

    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    router = replica.ReportsRouter()
    assert router.db_for_read(None) == DEFAULT_DB_ALIAS
    with replica.reading_reports():
        assert router.db_for_read(None) == replica.REPORTS_ALIAS
        assert router.db_for_write(None) == DEFAULT_DB_ALIAS
    assert router.db_for_read(None) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(replica.REPORTS_ALIAS, "events") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "events") is True
