"""The one period type and its label grammar (reports/periods.py), as snapshots and the
Friday review name its periods."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports.models import SnapshotKind
from reports.periods import (
    KINDS,
    SNAPSHOT_KIND,
    Period,
    PeriodError,
    label_for,
    parse_first_day,
    parse_label,
    period_containing,
)
from reports.review.weeks import parse_review_week

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


def test_a_span_of_days_is_labelled_first_to_last_and_ends_after_the_last_day():
    period = Period.span(date(2025, 11, 1), date(2025, 11, 30))

    assert period.label == "2025-11-01..2025-11-30" and period.kind == "custom"
    assert period.start == datetime(2025, 11, 1, tzinfo=SHANGHAI)
    assert period.end == datetime(2025, 12, 1, tzinfo=SHANGHAI)
    assert period.days == Period.month(2025, 11).days


@pytest.mark.parametrize(
    ("monday", "label"),
    [(date(2025, 11, 10), "2025-W46"), (date(2025, 12, 29), "2026-W01"), (date(2020, 12, 28), "2020-W53")],
)
def test_a_week_has_one_label_whichever_type_names_it(monday, label):
    assert Period.iso_week(monday).label == label
    assert period_containing("weekly", monday).label == label
    assert parse_review_week(label) == Period.iso_week(monday)
    assert parse_label("weekly", label) == Period.iso_week(monday)
    assert parse_label("weekly", label).last_day == date.fromordinal(monday.toordinal() + 6)


@pytest.mark.parametrize(
    ("kind", "label"), [("day", "2025-11-03"), ("week", "2025-W46"), ("month", "2025-11"), ("month", "2026-01")]
)
def test_a_label_read_back_is_written_the_same(kind, label):
    first_day = parse_first_day(kind, label)

    assert label_for(kind, first_day) == label
    assert Period.containing(kind, first_day).label == label


@pytest.mark.parametrize(("kind", "label"), [("day", "2025-11"), ("week", "2025-46"), ("month", "2025-W46")])
def test_a_label_of_another_shape_is_refused(kind, label):
    with pytest.raises(PeriodError):
        parse_first_day(kind, label)


def test_a_label_of_the_right_shape_that_names_no_date_is_refused():
    with pytest.raises(ValueError, match="day is out of range"):
        parse_first_day("day", "2025-02-30")
    with pytest.raises(PeriodError, match="not a valid weekly period"):
        parse_label("weekly", "2025-W53")  # 2025 has 52 ISO weeks


def test_snapshot_kinds_map_to_period_kinds_and_back():
    assert set(KINDS) == set(SnapshotKind.values)
    for kind, period_kind in (("daily", "day"), ("weekly", "week"), ("monthly", "month")):
        period = period_containing(kind, date(2025, 11, 12))
        assert period == Period.containing(period_kind, date(2025, 11, 12))
        assert SNAPSHOT_KIND[period.kind] == kind


def test_a_period_steps_back_and_forward_by_its_kind_and_is_closed_once_it_has_ended():
    month = Period.month(2025, 1)

    assert month.previous(2).label == "2024-11" and month.next().label == "2025-02"
    assert month.is_closed(month.end) and not month.is_closed(month.end - timedelta(microseconds=1))
