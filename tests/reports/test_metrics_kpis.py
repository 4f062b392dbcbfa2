from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import KPI
from reports.metrics.common import Filters
from reports.metrics.kpis import kpi_values, to_date
from reports.periods import Period
from tests.reports.metrics_data import at, event, same_person, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16, Shanghai


def kpi(name, kind, a, b="", target="1", direction="up", period="week"):
    return KPI.objects.create(
        name=name,
        metric_kind=kind,
        event_name=a,
        second_event_name=b,
        target=Decimal(target),
        direction=direction,
        period=period,
    )


@pytest.fixture
def shop(db):
    same_person("P2", "mp-u2", "oa-u2")
    save(
        # week 45
        event("add_to_cart", "u1", at("2025-11-05"), source="menu"),
        event("ticket_created", "k4", at("2025-11-03", "10:00")),
        event("ticket_resolved", "k4", at("2025-11-03", "11:00")),
        # week 46
        event("add_to_cart", "u1", at("2025-11-10", "09:00"), source="menu"),
        event("add_to_cart", "u1", at("2025-11-11", "09:00")),
        event("pay_success", "u1", at("2025-11-11", "10:00"), value="199.00"),
        event("add_to_cart", "mp-u2", at("2025-11-12")),
        event("pay_success", "oa-u2", at("2025-11-13"), value="99.50"),
        event("add_to_cart", "oa-u2", at("2025-11-16", "23:30")),
        event("add_to_cart", "u4", at("2025-11-14")),
        event("pay_success", "u5", at("2025-11-10", "08:00"), value="10"),
        event("add_to_cart", "u5", at("2025-11-10", "09:00")),
        event("ticket_created", "k1", at("2025-11-10", "10:00")),
        event("ticket_resolved", "k1", at("2025-11-10", "10:30")),
        event("ticket_created", "k2", at("2025-11-11", "10:00")),
        event("ticket_resolved", "k2", at("2025-11-11", "12:00")),
        event("ticket_created", "k3", at("2025-11-12", "10:00")),
        # week 47
        event("ticket_resolved", "k3", at("2025-11-17", "10:00")),
        event("add_to_cart", "u3", at("2025-11-17", "00:10")),
        event("pay_success", "u4", at("2025-11-18"), value="50"),
    )


def by_name(values):
    return {v.name: v for v in values}


def test_event_count_and_unique_people_against_target_and_last_week(shop, django_assert_max_num_queries):
    kpi("carts", KPI.MetricKind.EVENT_COUNT, "add_to_cart", target="6")
    kpi("carting people", KPI.MetricKind.UNIQUE_USERS, "add_to_cart", target="5")

    with django_assert_max_num_queries(3):
        values = by_name(kpi_values(WEEK))

    carts = values["carts"]
    # week 46: u1 ×2, mp-u2, oa-u2 (Sun 23:30 local), u4, u5 = 6; u3's Monday 00:10 is week 47
    assert (carts.value, carts.previous_value) == (Decimal(6), Decimal(1))
    assert carts.change == Decimal("5.0000")  # (6 − 1) / 1
    assert carts.on_target is True  # 6 ≥ 6
    people = values["carting people"]
    # u1, P2 (mp-u2 and oa-u2 are one person), u4, u5 = 4; last week u1 = 1
    assert (people.value, people.previous_value, people.change) == (Decimal(4), Decimal(1), Decimal("3.0000"))
    assert people.on_target is False  # 4 < 5
    assert people.period_label == "2025-W46"


def test_conversion_counts_people_who_did_b_after_a_within_the_period(shop):
    kpi("cart to paid", KPI.MetricKind.CONVERSION_RATE, "add_to_cart", "pay_success", target="0.4")

    (value,) = kpi_values(WEEK)

    # entered: u1, P2, u4, u5 = 4. converted: u1 (pay after cart), P2 (cart as mp-u2, pay as
    # oa-u2). Not u4 (paid next week) nor u5 (paid before carting). 2 / 4 = 0.5
    assert value.value == Decimal("0.5000")
    assert value.previous_value == Decimal("0.0000")  # u1 carted in week 45, no payment: 0 / 1
    assert value.change is None  # change from 0 is undefined
    assert value.on_target is True
    assert value.unit == "rate"


def test_sum_of_value_and_median_time_with_a_lower_is_better_target(shop):
    kpi("revenue", KPI.MetricKind.VALUE_SUM, "pay_success", target="500")
    kpi("resolution time", KPI.MetricKind.MEDIAN_TIME, "ticket_created", "ticket_resolved", "3600", "down")

    values = by_name(kpi_values(WEEK))

    revenue = values["revenue"]
    assert revenue.value == Decimal("308.50")  # 199.00 + 99.50 + 10 (u4's 50 is week 47)
    assert revenue.previous_value == Decimal("0.00")
    assert revenue.on_target is False
    resolution = values["resolution time"]
    # k1 1800 s, k2 7200 s, k3 432000 s (resolved next week, still its ticket's time);
    # nearest-rank median of 3 = rank 2 = 7200. Week 45: k4 3600 s.
    assert resolution.value == Decimal(7200)
    assert resolution.previous_value == Decimal(3600)
    assert resolution.change == Decimal("1.0000")
    assert resolution.on_target is False  # 7200 > 3600 and lower is better


def test_filters_select_the_counted_events(shop):
    kpi("menu carts", KPI.MetricKind.EVENT_COUNT, "add_to_cart")

    (value,) = kpi_values(WEEK, Filters(source="menu"))

    assert (value.value, value.previous_value) == (Decimal(1), Decimal(1))  # u1 on 11-10; u1 on 11-05


def test_a_monthly_kpi_on_a_weekly_period_covers_the_month_to_the_weeks_last_day(shop):
    kpi("monthly carts", KPI.MetricKind.EVENT_COUNT, "add_to_cart", period="month")

    (value,) = kpi_values(WEEK)

    # 1 – 16 Nov: u1 on 11-05 + the 6 of week 46 = 7. u3's cart on Mon 11-17 is after the
    # week's last day and must not count (it did before: 8).
    assert value.period_label == "2025-11 to 2025-11-16"
    assert value.value == Decimal(7)
    assert value.previous_label == "2025-10 to 2025-10-16"  # the same 16 days of October
    assert value.previous_value == Decimal(0)


def test_a_weekly_kpi_on_a_daily_snapshot_counts_the_week_to_that_day_only(shop):
    kpi("weekly carts", KPI.MetricKind.EVENT_COUNT, "add_to_cart")
    kpi("weekly revenue", KPI.MetricKind.VALUE_SUM, "pay_success", period="week")
    monday = Period.day(date(2025, 11, 17))

    values = by_name(kpi_values(monday))

    carts = values["weekly carts"]
    # Week 47 to Mon 17 Nov: u3 at 00:10 = 1 (the rest of week 47 has not happened yet for
    # this snapshot). Previous = Mon 10 Nov only: u1 09:00, u5 09:00 = 2 (not the whole of
    # week 46, which had 6).
    assert (carts.period_label, carts.value) == ("2025-W47 to 2025-11-17", Decimal(1))
    assert (carts.previous_label, carts.previous_value) == ("2025-W46 to 2025-11-10", Decimal(2))
    assert carts.change == Decimal("-0.5000")  # (1 − 2) / 2
    revenue = values["weekly revenue"]
    # u4 paid 50 on Tue 18 Nov: after the snapshot's day, so 0. Mon 10 Nov: u5 paid 10.
    assert (revenue.value, revenue.previous_value) == (Decimal("0.00"), Decimal("10.00"))


def test_the_previous_span_is_capped_at_the_end_of_a_shorter_previous_month():
    # 30 days of March to date; February 2025 has 28, so the previous span is all of it.
    current, previous = to_date("month", date(2025, 3, 30))
    assert (current.first_day, current.last_day) == (date(2025, 3, 1), date(2025, 3, 30))
    assert (previous.first_day, previous.last_day) == (date(2025, 2, 1), date(2025, 2, 28))
    # A whole month compares with the whole month before, whatever its length.
    current, previous = to_date("month", date(2025, 11, 30))
    assert (current.label, previous.label) == ("2025-11", "2025-10")
    assert previous.last_day == date(2025, 10, 31)


def test_inactive_kpis_are_left_out(shop):
    kpi("old", KPI.MetricKind.EVENT_COUNT, "add_to_cart").__class__.objects.update(is_active=False)

    assert kpi_values(WEEK) == []
