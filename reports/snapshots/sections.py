"""The one shape every snapshot section has: a titled table (columns + rows), an optional
chart hint, and a note. Admin, the dashboard, CSV export and email all render this shape
and nothing else, so a new section needs no new template."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def cell(value: Any) -> Any:
    """A JSON-safe cell: money and rates keep their exact decimal text; dates become ISO."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, Decimal):
        # Money (and ROAS) keep their 2 decimals (100.00); other whole numbers lose trailing
        # zeros (a 5.0000 target reads "5", 400.0 % reads "400"); the rest as computed.
        if value.as_tuple().exponent == -2:
            return str(value)
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    # {"type": "line"|"bar"|"funnel", "x": column index, "y": [column indexes]}
    chart: dict | None = None
    # Row indexes that need attention (past a threshold, a stop signal, the friction step).
    flagged: list[int] = field(default_factory=list)
    # Row indexes past a threshold in the good direction (fewer unfollows): shown apart.
    good: list[int] = field(default_factory=list)

    def add(self, *values: Any, flag: bool = False, good: bool = False) -> None:
        if flag:
            self.flagged.append(len(self.rows))
        if good:
            self.good.append(len(self.rows))
        self.rows.append([cell(v) for v in values])

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "kind": "table",
            "columns": list(self.columns),
            "rows": self.rows,
            "note": self.note,
            "chart": self.chart,
            "flagged": self.flagged,
            "good": self.good,
        }


def as_number(value: Any) -> float | None:
    """A table cell as a float for charts; None when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def pct(rate: Any) -> Decimal | None:
    """A 0–1 rate as a percentage with one decimal (0.2534 → 25.3); None stays None."""
    if rate is None:
        return None
    return (Decimal(str(rate)) * 100).quantize(Decimal("0.1"))


def step_people(funnel: Any, event_name: str) -> int | None:
    """People who reached the funnel step named `event_name` (None: no such step). The pay
    step is the Conversion stage: "converted" in snapshots means paid, not the last step."""
    step = next((s for s in funnel.steps if s.event_name == event_name), None)
    return None if step is None else step.people
