"""The ingest statement's work does not grow with the people already known.

Every single event and scan is one run of events.ingest.write's statement. Identities and
first touches hold a row per person ever seen; the statement must look its rows' people up
by key, never read those tables whole. The plan is the one a long-lived connection ends up
with (a prepared statement's generic plan, where json_to_recordset counts as 100 rows), over
tables with statistics, as autovacuum keeps them.
"""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from events.ingest.write import INSERT_FROM_JSON_SQL

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PEOPLE = 20_000
GROWING_TABLES = ("events_firsttouch", "events_identity")


def one_row() -> dict:
    return {
        "event_name": "page_view",
        "user_id": "someone-new",
        "session_id": "",
        "source": "mini_program",
        "campaign_code": "",
        "scene": "",
        "app_id": "",
        "page": "pages/index",
        "value": None,
        "currency": "",
        "ts": "2025-11-20T10:00:00+00:00",
        "event_id": "e-1",
        "dedupe_key": str(uuid.uuid4()),
        "content_hash": str(uuid.uuid4()),
        "properties": {},
        "ingest_key_id": None,
    }


def generic_plan() -> str:
    statement = INSERT_FROM_JSON_SQL.replace("%s::json", "$1::json").replace("%s ", "$2 ")
    assert "%s" not in statement
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE ingest_plan_test AS {statement}")
        try:
            cursor.execute(
                "EXPLAIN (ANALYZE, COSTS OFF) EXECUTE ingest_plan_test(%s, %s)",
                [json.dumps([one_row()]), datetime(2025, 11, 20, tzinfo=UTC)],
            )
            return "\n".join(line for (line,) in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE ingest_plan_test")
            cursor.execute("RESET plan_cache_mode")


@pytest.fixture
def many_people(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_identity (user_id, person_id, app_id, updated_at, linked_by) "
            "SELECT 'openid-' || n, 'unionid-' || n, '', now(), 'server' FROM generate_series(1, %s) AS n",
            [PEOPLE],
        )
        cursor.execute(
            "INSERT INTO events_firsttouch (person, ts, event_ref, source, app_id) "
            "SELECT 'unionid-' || n, now(), n, 'test', '' FROM generate_series(1, %s) AS n",
            [PEOPLE],
        )
        cursor.execute(f"ANALYZE {', '.join(GROWING_TABLES)}")


def test_a_single_event_looks_people_up_by_key_not_by_reading_their_tables(many_people):
    plan = generic_plan()

    for table in GROWING_TABLES:
        assert table in plan  # looked up
        assert f"Seq Scan on {table}" not in plan, plan
