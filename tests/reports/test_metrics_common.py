from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from reports.metrics.common import Filters, change, ratio
from reports.periods import Period

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_day_runs_from_local_midnight_to_the_next():
    period = Period.day(date(2025, 11, 3))

    assert period.start == datetime(2025, 11, 3, tzinfo=SHANGHAI)
    assert period.end == datetime(2025, 11, 4, tzinfo=SHANGHAI)
    assert period.label == "2025-11-03"


def test_an_iso_week_starts_on_monday_and_its_previous_week_crosses_the_year():
    period = Period.iso_week(2026, 1)

    assert period.start == datetime(2025, 12, 29, tzinfo=SHANGHAI)  # Monday of 2026-W01
    assert period.label == "2026-W01"
    assert period.previous().label == "2025-W52"
    assert Period.iso_week(date(2026, 1, 1)) == period


def test_a_month_and_its_previous_month():
    period = Period.month(2025, 3)

    assert period.days[0] == date(2025, 3, 1) and period.days[-1] == date(2025, 3, 31)
    assert period.previous() == Period.month(2025, 2)
    assert len(period.previous().days) == 28


def test_a_custom_period_previous_has_the_same_length():
    period = Period(datetime(2025, 1, 10, tzinfo=SHANGHAI), datetime(2025, 1, 13, tzinfo=SHANGHAI), "three days")

    assert period.previous().start == datetime(2025, 1, 7, tzinfo=SHANGHAI)


def test_a_naive_period_is_refused():
    with pytest.raises(ValueError):
        Period(datetime(2025, 1, 1), datetime(2025, 1, 2), "naive")


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
