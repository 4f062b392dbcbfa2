"""How a measured value reads, by its unit: the one place that turns rates into %, yuan into
¥ with 2 decimals and seconds into h/min, for admin, snapshots, the dashboard and the review.

Units are those of a KPI's measure (`KPI.measure_unit`): events, people, rate (a 0–1
share), yuan, seconds. Only yuan is money: nothing else ever gets a currency sign."""

from decimal import Decimal
from typing import Any

NONE = "—"


def yuan(value: Any) -> str:
    """¥ with thousands separators and 2 decimals: ¥12,345.50."""
    return NONE if value is None else f"¥{Decimal(str(value)):,.2f}"


def duration(seconds: Any) -> str:
    """Whole minutes as h/min: 4 h 00 min, 25 min (seconds are dropped)."""
    if seconds is None:
        return NONE
    minutes = int(Decimal(str(seconds))) // 60
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def percent(rate: Any) -> str:
    """A 0–1 share as a percentage with one decimal: 0.8234 → 82.3 %."""
    return NONE if rate is None else f"{Decimal(str(rate)) * 100:.1f} %"


def count(value: Any) -> str:
    if value is None:
        return NONE
    value = Decimal(str(value))
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def measured(unit: str, value: Any) -> str:
    """A value of a KPI measure in `unit` (events, people, rate, yuan, seconds), as read."""
    return {"rate": percent, "yuan": yuan, "seconds": duration}.get(unit, count)(value)
