from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from reports.metrics.common import Filters, change, ratio

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_filters_become_sql_conditions():
    sql = Filters(campaign_id=3, source="menu").sql("e")

    assert sql.text == " AND e.campaign_id = %(campaign_id)s AND e.source = %(source)s"
    assert sql.params == {"campaign_id": 3, "source": "menu"}
    assert Filters().is_empty


def test_ratios_and_changes_round_half_up_and_refuse_zero_denominators():
    assert ratio(1, 3) == Decimal("0.3333")
    assert ratio(1, 0) is None
    assert change(125, 100) == Decimal("0.2500")
    assert change(5, 0) is None


@pytest.mark.postgres
def test_planner_statistics_are_collected_for_tables_never_analyzed(db):
    from django.db import connection

    from reports.metrics.common import refresh_planner_statistics

    # Forget that ad spend was ever analyzed (its statistics counters back to zero): it is then
    # one of the tables the function must analyze.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_reset_single_table_counters('events_adspend'::regclass)")

    analyzed = refresh_planner_statistics()

    assert "events_adspend" in analyzed
    assert set(analyzed) <= {"events_event", "events_identity", "events_adspend"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [analyzed])
        assert all(tuples >= 0 for _, tuples in cursor.fetchall())  # -1 means "never analyzed"
