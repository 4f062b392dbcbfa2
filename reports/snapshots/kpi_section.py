"""The KPI table every snapshot kind shows: each active KPI against its target."""

from reports.metrics.common import Period
from reports.metrics.kpis import kpi_values
from reports.snapshots.sections import Section, cell, pct

ON_TARGET, BEHIND, NO_DATA = "on target", "behind", "no data"


def kpi_section(period: Period) -> tuple[Section, list[str]]:
    """The section, and one summary line per KPI that is behind its target."""
    section = Section(
        "kpis",
        "KPIs vs target",
        ["KPI", "Value", "Target", "Previous", "Change %", "Status", "Unit", "Period"],
        note="Each KPI over its own period (day, week or month) ending on this snapshot's last day.",
    )
    behind = []
    for kpi in kpi_values(period):
        status = NO_DATA if kpi.on_target is None else (ON_TARGET if kpi.on_target else BEHIND)
        # Rates read as percentages (0.4444 → 44.4 %); the other units as measured.
        shown = pct if kpi.unit == "rate" else (lambda v: v)
        unit = "%" if kpi.unit == "rate" else kpi.unit
        section.add(
            kpi.name,
            shown(kpi.value),
            shown(kpi.target),
            shown(kpi.previous_value),
            pct(kpi.change),
            status,
            unit,
            kpi.period_label,
            flag=status == BEHIND,
        )
        if status == BEHIND:
            better = "at least" if kpi.direction == "up" else "at most"
            behind.append(
                f"KPI {kpi.name} is behind: {cell(shown(kpi.value))} {unit} against a target of {better} "
                f"{cell(shown(kpi.target))}."
            )
    return section, behind
