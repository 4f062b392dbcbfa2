"""A small hand-made week of journeys for snapshot tests (built on metrics_data)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from campaigns.models import KPI, EventDefinition
from reports.models import Snapshot
from tests.reports.metrics_data import at, event, save

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = "2025-W46"  # Mon 2025-11-10 … Sun 2025-11-16
AFTER_WEEK = datetime(2025, 11, 20, 9, 0, tzinfo=SHANGHAI)


def ensure_funnel_plan() -> None:
    """The default plan's funnel steps these tests use. The roles/plan data migration made
    them, but a transactional test (browser, worker) flushes tables, so make sure."""
    for name, category, position in (
        ("qr_scan", "official_account", 1),
        ("follow", "official_account", 2),
        ("add_to_cart", "key_action", 4),
        ("pay_success", "payment", 6),
    ):
        EventDefinition.objects.update_or_create(
            name=name, defaults={"category": category, "funnel_position": position}
        )


def journeys_week_46() -> None:
    """Four people scan in week 46: three add to cart, one pays. Week 45: two scan, both cart."""
    ensure_funnel_plan()
    rows = []
    for user, day in (("a", "2025-11-10"), ("b", "2025-11-11"), ("c", "2025-11-12"), ("d", "2025-11-13")):
        rows.append(event("qr_scan", user, at(day, "10:00")))
    for user in ("a", "b", "c"):
        rows.append(event("add_to_cart", user, at("2025-11-14", "10:00")))
    rows.append(event("pay_success", "a", at("2025-11-14", "11:00"), value="99.00"))
    for user in ("y", "z"):
        rows.append(event("qr_scan", user, at("2025-11-04", "10:00")))
        rows.append(event("add_to_cart", user, at("2025-11-04", "11:00")))
    save(*rows)


def orders_kpi(target: str = "5") -> KPI:
    return KPI.objects.create(
        name="Weekly orders",
        metric_kind=KPI.MetricKind.EVENT_COUNT,
        event_name="pay_success",
        target=target,
        period=KPI.Period.WEEK,
    )


def built(kind: str, label: str, **fields) -> Snapshot:
    """A built snapshot row with given sections, without running a builder."""
    from reports.periods import parse_label

    period = parse_label(kind, label)
    defaults = {
        "period_end": period.end,
        "period_label": period.label,
        "status": Snapshot.Status.BUILT,
        "built_at": AFTER_WEEK,
        "data": {"title": f"{kind} {label}", "summary": [], "sections": []},
    }
    defaults.update(fields)
    return Snapshot.objects.create(kind=kind, period_start=period.start, **defaults)


# A built snapshot's KPI table as kpi_section writes it: one weekly KPI, behind its target.
KPI_SECTION = {
    "key": "kpis",
    "title": "KPIs vs target",
    "columns": ["KPI", "Value", "Target", "Previous", "Change %", "Status", "Unit", "Period"],
    "rows": [["Weekly orders", 12, 20, 10, "20.0", "behind", "events", "2025-W46"]],
    "flagged": [0],
}
