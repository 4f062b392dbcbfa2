"""Values read in their unit: rates in %, money as ¥ with 2 decimals, durations in h/min,
ROAS with 2 decimals, and nothing that is not money gets a currency."""

from decimal import Decimal

import pytest

from campaigns import units
from campaigns.models import KPI
from reports.periods import Period
from reports.snapshots.kpi_section import kpi_section
from reports.snapshots.sections import cell
from tests.reports.metrics_data import at, event, save

WEEK = Period.iso_week(2025, 46)


@pytest.fixture
def week_of_kpis(db):
    save(
        event("add_to_cart", "u1", at("2025-11-10", "09:00")),
        event("pay_success", "u1", at("2025-11-10", "10:00"), value="199.00"),
        event("add_to_cart", "u2", at("2025-11-11", "09:00")),
        event("pay_success", "u3", at("2025-11-12"), value="100"),
        event("ticket_created", "k1", at("2025-11-12", "10:00")),
        event("ticket_resolved", "k1", at("2025-11-12", "12:00")),
    )
    common = {"direction": "up", "period": "week"}
    KPI.objects.create(
        name="cart to paid",
        metric_kind="conversion_rate",
        event_name="add_to_cart",
        second_event_name="pay_success",
        target=KPI.target_from_entered("conversion_rate", Decimal("35")),
        **common,
    )
    KPI.objects.create(
        name="revenue", metric_kind="value_sum", event_name="pay_success", target=Decimal("500"), **common
    )
    KPI.objects.create(
        name="ticket time",
        metric_kind="median_time",
        event_name="ticket_created",
        second_event_name="ticket_resolved",
        target=Decimal("5400"),
        direction="down",
        period="week",
    )


def test_the_kpi_table_shows_each_kpi_in_its_unit(week_of_kpis):
    section, behind = kpi_section(WEEK)

    rows = {row[0]: row for row in section.as_dict()["rows"]}
    # cart → paid: u1 paid after carting, u2 did not: 1 / 2 = 50 %; the target entered as 35
    # reads 35 %, not 3500 %
    assert rows["cart to paid"][1:3] + rows["cart to paid"][6:7] == ["50", "35", "%"]
    # revenue 199 + 100 = 299.00 against ¥500.00: money as ¥ with 2 decimals
    assert rows["revenue"][1:3] + rows["revenue"][6:7] == ["¥299.00", "¥500.00", "¥"]
    # ticket k1: 2 h, target 5400 s = 1 h 30 min (lower is better, so behind)
    assert rows["ticket time"][1:3] + rows["ticket time"][6:7] == ["2 h 00 min", "1 h 30 min", "h/min"]
    assert "KPI revenue is behind: ¥299.00 against a target of at least ¥500.00." in behind
    assert "KPI ticket time is behind: 2 h 00 min against a target of at most 1 h 30 min." in behind


def test_money_keeps_two_decimals_in_a_table_cell_and_other_whole_numbers_do_not():
    assert (cell(Decimal("100.00")), cell(Decimal("6.00")), cell(Decimal("5.0000")), cell(Decimal("400.0"))) == (
        "100.00",  # ¥100.00 (or ROAS 6.00), not "100"
        "6.00",
        "5",
        "400",
    )


@pytest.mark.parametrize(
    ("unit", "value", "shown"),
    [
        ("yuan", "12345.5", "¥12,345.50"),
        ("seconds", "5400", "1 h 30 min"),
        ("seconds", "59", "0 min"),
        ("rate", "0.35", "35.0 %"),
        ("events", "1200", "1,200"),  # a count: no currency
        ("people", None, "—"),
    ],
)
def test_a_measure_reads_in_its_unit(unit, value, shown):
    assert units.measured(unit, None if value is None else Decimal(value)) == shown
