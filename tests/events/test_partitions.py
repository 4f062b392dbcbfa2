"""Monthly partitions of events_event on PostgreSQL, exact dedupe through events_eventkey,
and dropping an archived month (docs/scaling.md, "Monthly partitions")."""

import threading
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from events import partitions
from events.ingest import ingest_rows
from events.models import Event, EventKey, RejectedRow
from reports.export.archive import archive_month

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def row(**overrides):
    base = {
        "event_name": "page_view",
        "user_id": "u1",
        "source": "mini_program",
        "page": "home",
        "ts": "2025-10-15T10:00:00Z",
    }
    base.update(overrides)
    return base


def partition_of_each_event() -> dict[str, str]:
    """event_id → the partition holding it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id, tableoid::regclass::text FROM events_event")
        return dict(cursor.fetchall())


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path


def test_events_land_in_the_partition_of_their_reporting_time_zone_month():
    rows = [
        row(event_id="oct", ts="2025-10-15T10:00:00Z"),
        # 2025-10-31 16:30Z is 1 November 00:30 in Asia/Shanghai: November's partition.
        row(event_id="nov", ts="2025-10-31T16:30:00Z"),
        row(event_id="far", ts="2019-05-02T00:00:00Z"),
    ]

    result = ingest_rows(rows, channel="api", source="s")

    assert result.accepted == 3
    assert partition_of_each_event() == {
        "oct": "events_event_y2025m10",
        "nov": "events_event_y2025m11",
        "far": "events_event_y2019m05",
    }
    assert EventKey.objects.count() == 3


def test_rows_older_than_the_partition_horizon_land_in_default_without_a_new_partition():
    result = ingest_rows([row(event_id="old", ts="2001-06-01T00:00:00Z")], channel="api", source="s")

    assert result.accepted == 1
    assert partition_of_each_event() == {"old": "events_event_default"}


def test_dedupe_is_exact_across_months_the_same_id_with_another_ts_is_a_conflict():
    ingest_rows([row(event_id="e1", ts="2025-10-15T10:00:00Z")], channel="api", source="s")

    moved = ingest_rows([row(event_id="e1", ts="2025-11-15T10:00:00Z")], channel="api", source="s")
    again = ingest_rows([row(event_id="e1", ts="2025-10-15T10:00:00Z")], channel="api", source="s")

    assert (moved.accepted, moved.duplicates, moved.conflicts) == (0, 0, 1)
    assert (again.accepted, again.duplicates, again.conflicts) == (0, 1, 0)
    assert partition_of_each_event() == {"e1": "events_event_y2025m10"}
    assert RejectedRow.objects.get().reason == RejectedRow.Reason.CONFLICT


def test_rows_of_content_without_an_event_id_dedupe_across_batches():
    batch = [row(user_id="a"), row(user_id="b", ts="2025-12-01T03:00:00Z")]

    first = ingest_rows(batch, channel="api", source="s")
    second = ingest_rows(batch, channel="api", source="s")

    assert (first.accepted, second.accepted, second.duplicates) == (2, 0, 2)
    assert Event.objects.count() == EventKey.objects.count() == 2


def test_rows_left_in_default_move_into_their_month_when_its_partition_is_created():
    # Pretend this process already knows a partition that does not exist (as after another
    # process dropped it): the row lands in DEFAULT instead of failing.
    partitions._known.add(date(2020, 3, 1))
    try:
        ingest_rows([row(event_id="late", ts="2020-03-10T00:00:00Z")], channel="api", source="s")
    finally:
        partitions._known.discard(date(2020, 3, 1))
    late_id = Event.objects.get(event_id="late").pk
    assert partition_of_each_event() == {"late": "events_event_default"}

    ingest_rows([row(event_id="next", ts="2020-03-11T00:00:00Z")], channel="api", source="s")

    assert partition_of_each_event() == {"late": "events_event_y2020m03", "next": "events_event_y2020m03"}
    assert Event.objects.get(event_id="late").pk == late_id


def test_the_database_primary_key_includes_the_partition_key():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'events_event'::regclass AND contype = 'p'"
        )
        (definition,) = cursor.fetchone()
        cursor.execute("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'events_event'::regclass")
        (strategy,) = cursor.fetchone()

    assert definition == "PRIMARY KEY (id, ts)"
    assert strategy == "r"


@pytest.mark.django_db(transaction=True)
def test_two_writers_needing_the_same_new_month_create_it_once_and_store_the_batch_once():
    batch = [row(user_id=f"u{i}", event_id=f"m{i}", ts=f"2021-07-0{1 + i % 9}T00:00:00Z") for i in range(100)]
    results, errors = [], []
    start = threading.Barrier(2)

    def send():
        start.wait()
        try:
            results.append(ingest_rows(batch, channel="api", source="server"))
        except Exception as exc:  # any failure of a writer fails the test, with its error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 100), (100, 0)]
    assert set(partition_of_each_event().values()) == {"events_event_y2021m07"}


# --- drop_archived_month ------------------------------------------------------------


def test_dropping_a_month_is_refused_without_its_archive():
    ingest_rows([row(event_id="oct")], channel="api", source="s")

    with pytest.raises(CommandError, match="no finished archive"):
        call_command("drop_archived_month", "2025-10")

    assert Event.objects.count() == 1


def test_dropping_a_month_is_refused_when_events_arrived_after_its_archive(storage):
    ingest_rows([row(event_id="oct")], channel="api", source="s")
    archive_month("2025-10")
    ingest_rows([row(event_id="late", ts="2025-10-20T00:00:00Z")], channel="api", source="s")

    with pytest.raises(CommandError, match="has 2 events but its archive holds 1"):
        call_command("drop_archived_month", "2025-10")

    assert Event.objects.count() == 2


def test_dropping_an_archived_month_removes_exactly_its_events_and_keys(storage, capsys):
    ingest_rows(
        [
            row(event_id="sep", ts="2025-09-30T15:59:59Z"),  # 23:59:59 on 30 September, Shanghai
            row(event_id="oct-first", ts="2025-09-30T16:00:00Z"),  # 00:00 on 1 October
            row(event_id="oct", ts="2025-10-15T10:00:00Z"),
            row(event_id="nov", ts="2025-10-31T16:00:00Z"),
        ],
        channel="api",
        source="s",
    )
    archive_month("2025-10")

    call_command("drop_archived_month", "2025-10")

    assert "Dropped 2025-10: 2 events (partition events_event_y2025m10), 2 dedupe keys." in capsys.readouterr().out
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["nov", "sep"]
    assert EventKey.objects.count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('events_event_y2025m10')")
        assert cursor.fetchone()[0] is None


def test_after_a_month_is_dropped_its_events_sent_again_are_accepted_as_new(storage):
    ingest_rows([row(event_id="oct"), row(event_id="nov", ts="2025-11-15T00:00:00Z")], channel="api", source="s")
    archive_month("2025-10")
    call_command("drop_archived_month", "2025-10")

    resent = ingest_rows(
        [row(event_id="oct"), row(event_id="nov", ts="2025-11-15T00:00:00Z")], channel="api", source="s"
    )

    # The dedupe horizon ends at the archive: the dropped month's keys went with it.
    assert (resent.accepted, resent.duplicates) == (1, 1)
    assert partition_of_each_event() == {"oct": "events_event_y2025m10", "nov": "events_event_y2025m11"}


def test_the_admin_estimate_for_a_long_unfiltered_list_sums_the_partitions(monkeypatch):
    from events.admin.ingest import BoundedCountPaginator

    ingest_rows(
        [row(event_id=f"e{i}", ts=f"2025-{9 + i % 3:02d}-15T00:00:00Z") for i in range(6)], channel="api", source="s"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event")
    monkeypatch.setattr(BoundedCountPaginator, "LIMIT", 2)

    paginator = BoundedCountPaginator(Event.objects.order_by("-received_at"), 50)

    assert paginator.count == 6


@pytest.mark.django_db(transaction=True)
def test_planner_statistics_are_refreshed_when_the_partitions_outgrow_the_parents_estimate():
    from reports.metrics.common import refresh_planner_statistics

    ingest_rows([row(event_id=f"a{i}") for i in range(50)], channel="api", source="s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event")
    ingest_rows([row(event_id=f"b{i}") for i in range(1500)], channel="api", source="s")
    with connection.cursor() as cursor:
        # Statistics counters reach pg_stat_user_tables a moment after the commit.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT 1")

    analyzed = refresh_planner_statistics()

    assert "events_event" in analyzed


def legacy_hex_keys(rows: list[dict], *, scope: str) -> list[tuple[str, str]]:
    """(dedupe key, content hash) as 64-character hex, as stored before migrations 0010/0024."""
    from django.utils import timezone

    from events.ingest.dedupe import content_hash, dedupe_key
    from events.ingest.validate import validate_row

    keys = []
    for raw in rows:
        clean, errors = validate_row(raw, now=timezone.now())
        assert not errors
        clean.source = clean.source or scope
        content = content_hash(clean)
        keys.append((dedupe_key(clean, scope=scope, content=content), content))
    return keys


@pytest.mark.parametrize(
    ("migration_name", "table", "stored"),
    [
        ("0010_compact_event_keys", "events_eventkey", EventKey),
        ("0024_event_keys_as_digests", "events_event", Event),
    ],
)
def test_keys_converted_by_a_migration_are_the_digests_new_writes_store(migration_name, table, stored):
    """Keys stored as 64-character text before migrations 0010 (the key table) and 0024 (the
    events) must become exactly what the write stores now, or events sent before the
    migration would be accepted again after it, or answered as conflicts."""
    import importlib

    migration = importlib.import_module(f"events.migrations.{migration_name}")
    convert = migration.CONVERT if hasattr(migration, "CONVERT") else migration.CONVERT_POSTGRESQL
    rows = [row(event_id="before-the-migration"), row(user_id="u2")]
    ingest_rows(rows, channel="api", source="s")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE legacy_keys (dedupe_key varchar(64), content_hash varchar(64))")
        cursor.executemany("INSERT INTO legacy_keys VALUES (%s, %s)", legacy_hex_keys(rows, scope="s"))
        cursor.execute(convert.replace(table, "legacy_keys"))
        cursor.execute("SELECT dedupe_key, content_hash FROM legacy_keys ORDER BY 1")
        converted = cursor.fetchall()

    assert converted == list(stored.objects.order_by("dedupe_key").values_list("dedupe_key", "content_hash"))
    assert len(converted) == 2
    again = ingest_rows(rows, channel="api", source="s")
    assert (again.accepted, again.duplicates, again.conflicts) == (0, 2, 0)
