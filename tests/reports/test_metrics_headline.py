from decimal import Decimal

import pytest

from reports.metrics.headline import headline
from reports.periods import Period
from tests.reports.metrics_data import at, event, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16; previous: 3 … 9 Nov


@pytest.fixture
def two_weeks(db):
    save(
        # Week 46. A scans, pays 100 and 50, and gets 50 back.
        event("qr_scan", "a", at("2025-11-10", "09:00")),
        event("pay_success", "a", at("2025-11-11"), value="100"),
        event("pay_success", "a", at("2025-11-12"), value="50"),
        event("refund_success", "a", at("2025-11-15"), value="50"),
        # B scans on Sunday night and pays on Tuesday of the next week (within the 7-day window).
        event("qr_scan", "b", at("2025-11-16", "23:00")),
        event("pay_success", "b", at("2025-11-18"), value="30"),
        # C pays 20 without scanning (an order, not an entrant); D scans and never pays.
        event("pay_success", "c", at("2025-11-13"), value="20"),
        event("qr_scan", "d", at("2025-11-14")),
        # Week 45. E scans and pays 80; F pays 20 a minute before midnight on Sunday.
        event("qr_scan", "e", at("2025-11-03")),
        event("pay_success", "e", at("2025-11-04"), value="80"),
        event("pay_success", "f", at("2025-11-09", "23:59"), value="20"),
    )


def figures(result):
    return {f.key: (f.value, f.previous, f.change) for f in result.figures}


def test_the_headline_states_orders_payers_revenue_refunds_and_entry_to_paid_against_last_week(
    two_weeks, django_assert_num_queries
):
    with django_assert_num_queries(5):
        result = headline(WEEK)

    assert figures(result) == {
        # 3 orders (A, A, C) vs 2 (E, F): +50 %
        "orders": (3, 2, Decimal("0.5000")),
        # A and C vs E and F
        "paying_people": (2, 2, Decimal("0.0000")),
        # 100 + 50 + 20 = 170 vs 80 + 20 = 100: +70 %
        "gross_revenue": (Decimal("170.00"), Decimal("100.00"), Decimal("0.7000")),
        # A's 50 vs nothing: no relative change from 0
        "refunds": (Decimal("50.00"), Decimal("0.00"), None),
        # 170 − 50 = 120 vs 100: +20 %
        "net_revenue": (Decimal("120.00"), Decimal("100.00"), Decimal("0.2000")),
        # entrants A, B, D; A and B paid within 7 days: 2/3. Week 45: E entered and paid: 1/1.
        "entry_to_paid": (Decimal("0.6667"), Decimal("1.0000"), Decimal("-0.3333")),
    }
    assert (result.entrants, result.paid_entrants) == (3, 2)
    assert result.missing == []


def test_missing_data_is_said_and_never_shown_as_zero(db):
    # Only week 46 has events, and no refund or payment was ever received.
    save(event("qr_scan", "a", at("2025-11-10")))

    result = headline(WEEK)
    empty = headline(Period.iso_week(2025, 44))

    f = figures(result)
    assert f["orders"] == (None, None, None)
    assert f["refunds"] == (None, None, None)
    assert f["net_revenue"] == (None, None, None)
    assert f["entry_to_paid"] == (None, None, None)
    assert result.entrants == 1
    assert len(result.missing) == 3  # last week empty, payments and refunds never received
    assert any("2025-W45" in line for line in result.missing)
    assert any("2025-W44: its numbers are missing" in line for line in empty.missing)
    assert empty.entrants is None
