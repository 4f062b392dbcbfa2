from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.models import Campaign, EventDefinition
from reports.metrics.common import Filters
from reports.metrics.funnel import funnel, funnel_by
from reports.periods import Period
from tests.reports.metrics_data import at, event, same_person, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16, Shanghai
STEPS = ["qr_scan", "add_to_cart", "pay_success"]


@pytest.fixture
def journeys(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    c2 = Campaign.objects.create(code="C2", name="two")
    same_person("P-c", "oa-c", "mp-c")
    save(
        # a: scans twice, carts twice, pays: reaches every step
        event("qr_scan", "a", at("2025-11-10", "10:00"), campaign=c1),
        event("qr_scan", "a", at("2025-11-11", "08:00"), campaign=c1),
        event("add_to_cart", "a", at("2025-11-11", "09:00")),
        event("add_to_cart", "a", at("2025-11-12", "12:00")),
        event("pay_success", "a", at("2025-11-12", "12:00")),
        # b: enters Sunday night, carts next week (inside 7 days), pays after the window
        event("qr_scan", "b", at("2025-11-16", "20:00"), campaign=c1),
        event("add_to_cart", "b", at("2025-11-20", "12:00")),
        event("pay_success", "b", at("2025-11-24", "10:00")),
        # c: scans on the Official Account, carts and pays in the Mini Program (one person)
        event("qr_scan", "oa-c", at("2025-11-12", "12:00"), campaign=c2),
        event("add_to_cart", "mp-c", at("2025-11-13", "09:00")),
        event("pay_success", "mp-c", at("2025-11-13", "10:00")),
        # d: carted before scanning, pays without carting again
        event("add_to_cart", "d", at("2025-11-12", "09:00")),
        event("qr_scan", "d", at("2025-11-13", "12:00"), campaign=c2),
        event("pay_success", "d", at("2025-11-14", "12:00")),
        # e: entered the week before
        event("qr_scan", "e", at("2025-11-08"), campaign=c1),
        event("add_to_cart", "e", at("2025-11-10")),
    )
    return c1, c2


def test_people_enter_in_the_period_and_convert_until_their_window_closes(journeys, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        result = funnel(WEEK, steps=STEPS)

    scan, cart, pay = result.steps
    # entered: a, b, P-c, d (e entered last week); events: a×2 + b + c + d
    assert (scan.people, scan.events) == (4, 5)
    # a, b (4 days after entry), P-c; not d (carted before entering)
    # events: a's two carts + b's + c's
    assert (cart.people, cart.events) == (3, 4)
    # a and P-c; b paid 7 days 14 h after entry, past the window
    assert (pay.people, pay.events) == (2, 2)
    assert cart.rate_from_previous == Decimal("0.7500")  # 3 / 4
    assert pay.rate_from_previous == Decimal("0.6667")  # 2 / 3
    assert (cart.drop_off, pay.drop_off) == (1, 1)
    assert result.overall_rate == Decimal("0.5000")  # 2 / 4
    assert result.worst_step() == pay


def test_per_step_windows_limit_the_time_since_the_previous_step(journeys):
    result = funnel(WEEK, steps=STEPS, step_windows=[timedelta(days=1), timedelta(days=1)])

    # a: cart 23 h after scan, pay 27 h after cart (too late); b: cart 3.7 days later (too late);
    # P-c: cart 21 h after scan, pay 1 h later; d: never carts after scanning
    assert [s.people for s in result.steps] == [4, 2, 1]
    # a's second cart comes after its one-day cart window closed: a 1 + c 1
    assert result.steps[1].events == 2
    assert result.window_seconds is None and result.step_window_seconds == [86400, 86400]


def test_the_funnel_per_campaign_groups_people_by_their_entry_event(journeys, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        groups = funnel_by(WEEK, "campaign", steps=STEPS)

    assert [(g.label, [s.people for s in g.funnel.steps]) for g in groups] == [
        ("C1", [2, 2, 1]),  # a and b enter; both cart; a pays
        ("C2", [2, 1, 1]),  # P-c and d enter; P-c carts and pays
    ]


def test_filters_restrict_who_enters(journeys):
    _, c2 = journeys

    result = funnel(WEEK, Filters(campaign_id=c2.pk), steps=STEPS)

    assert [s.people for s in result.steps] == [2, 1, 1]


def test_the_default_steps_come_from_the_tracking_plan(journeys):
    EventDefinition.objects.update(funnel_position=None)
    for position, name in enumerate(STEPS, start=1):
        EventDefinition.objects.update_or_create(
            name=name, defaults={"funnel_position": position, "category": EventDefinition.Category.KEY_ACTION}
        )

    result = funnel(WEEK)

    assert [s.event_name for s in result.steps] == STEPS
    assert [s.people for s in result.steps] == [4, 3, 2]


def test_an_empty_period_gives_zero_people_and_no_rates(db):
    result = funnel(WEEK, steps=STEPS)

    assert [s.people for s in result.steps] == [0, 0, 0]
    assert result.overall_rate is None


@pytest.fixture
def switchers(db):
    c1 = Campaign.objects.create(code="C1", name="one")
    c2 = Campaign.objects.create(code="C2", name="two")
    save(
        # x: enters through C1 on Monday, then scans C2's code twice and carts
        event("qr_scan", "x", at("2025-11-10", "10:00"), campaign=c1),
        event("qr_scan", "x", at("2025-11-11", "10:00"), campaign=c2),
        event("add_to_cart", "x", at("2025-11-11", "11:00")),
        event("qr_scan", "x", at("2025-11-17", "09:00"), campaign=c2),  # next week, inside 7 days
        event("qr_scan", "x", at("2025-11-18", "10:01"), campaign=c1),  # 8 days after entry
        # y: enters through C2 on Sunday night, scans again on Monday (after the period)
        event("qr_scan", "y", at("2025-11-16", "20:00"), campaign=c2),
        event("qr_scan", "y", at("2025-11-17", "08:00")),
        # z: two scans at the same instant, C2's stored first
        event("qr_scan", "z", at("2025-11-12", "12:00"), campaign=c2),
        event("qr_scan", "z", at("2025-11-12", "12:00"), campaign=c1),
    )
    return c1, c2


def test_first_step_events_are_counted_until_the_window_closes_like_later_steps(switchers):
    result = funnel(WEEK, steps=["qr_scan", "add_to_cart"])

    scan, cart = result.steps
    # entered: x, y, z = 3. Scans from entry until 7 days after it, any campaign:
    # x 11-10, 11-11, 11-17 (11-18 10:01 is past 7 days) = 3; y 11-16 and 11-17 = 2; z 2 → 7.
    # Counting only to the period's end gave 5 (x 2, y 1, z 2).
    assert (scan.people, scan.events) == (3, 7)
    assert (cart.people, cart.events) == (1, 1)  # x


def test_first_step_events_with_step_windows_stop_at_the_first_step_window(switchers):
    result = funnel(WEEK, steps=["qr_scan", "add_to_cart"], step_windows=[timedelta(days=1)])

    # within 1 day of entry: x 11-10 and 11-11 10:00 (exactly 24 h, inclusive) = 2;
    # y 11-16 20:00 and 11-17 08:00 = 2; z 2 → 6
    assert result.steps[0].events == 6


def test_each_entrant_is_in_the_one_group_of_their_entry_event(switchers, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        groups = funnel_by(WEEK, "campaign", steps=["qr_scan", "add_to_cart"])

    by_label = {g.label: g.funnel for g in groups}
    # x entered through C1 (its C2 scans come later); y through C2; z's C2 scan was stored
    # first of two at the same instant. Before, x and z counted in both groups (C1 2, C2 3).
    assert {label: f.entered for label, f in by_label.items()} == {"C1": 1, "C2": 2}
    assert sum(f.entered for f in by_label.values()) == funnel(WEEK, steps=["qr_scan", "add_to_cart"]).entered == 3
    # scans per group follow the person: C1 = x's 3; C2 = y's 2 + z's 2
    assert (by_label["C1"].steps[0].events, by_label["C2"].steps[0].events) == (3, 4)
    assert (by_label["C1"].converted, by_label["C2"].converted) == (1, 0)  # x carted
