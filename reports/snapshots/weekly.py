"""The weekly snapshot: KPIs vs target, funnel rates, the friction point, top placements
(and, as their metric functions exist, top content, ads and fatigue)."""

from reports.metrics.funnel import funnel, funnel_by
from reports.snapshots.friction import friction_point
from reports.snapshots.kpi_section import kpi_section
from reports.snapshots.periods import SnapshotPeriod
from reports.snapshots.sections import Section, pct

TOP_PLACEMENTS = 10


def build_data(period: SnapshotPeriod) -> dict:
    metrics_period = period.metrics_period()
    summary: list[str] = []
    headline: dict = {}
    sections: list[Section] = []

    kpis, behind = kpi_section(metrics_period)
    sections.append(kpis)
    summary += behind

    current = funnel(metrics_period)
    previous = funnel(metrics_period.previous())
    friction = friction_point(current, previous)
    sections.append(_funnel_section(current, previous, friction))
    headline.update(entered=current.entered, converted=current.converted, conversion_pct=pct(current.overall_rate))
    if current.steps:
        summary.insert(
            0,
            f"{current.entered} people entered the funnel; {current.converted} reached {current.steps[-1].event_name} "
            f"({pct(current.overall_rate) or 0}%, last week {pct(previous.overall_rate) or 0}%).",
        )
    if friction:
        summary.append(f"Friction point: {friction.sentence}")

    sections.append(_placements_section(metrics_period))

    return {
        "kind": period.kind,
        "label": period.label,
        "title": f"Weekly review {period.label} ({period.first_day:%d %b} – {period.last_day:%d %b %Y})",
        "summary": summary,
        "headline": headline,
        "friction": friction.as_dict() if friction else None,
        "sections": [s.as_dict() for s in sections],
    }


def _funnel_section(current, previous, friction) -> Section:
    section = Section(
        "funnel",
        "Funnel",
        [
            "Step",
            "People",
            "Events",
            "% of previous",
            "% of entrants",
            "Lost",
            "Last week people",
            "Last week % of previous",
        ],
        note=f"People who entered this week, followed for {((current.window_seconds or 0) // 86400) or 'per-step'} days.",
        chart={"type": "funnel", "x": 0, "y": [1]},
    )
    last = {s.position: s for s in previous.steps}
    for step in current.steps:
        before = last.get(step.position)
        section.add(
            step.event_name,
            step.people,
            step.events,
            pct(step.rate_from_previous),
            pct(step.rate_from_start),
            step.drop_off,
            before.people if before else None,
            pct(before.rate_from_previous) if before else None,
            flag=bool(friction and friction.to_event == step.event_name),
        )
    return section


def _placements_section(metrics_period) -> Section:
    section = Section(
        "placements",
        "Top placements",
        ["Placement", "Entered", "Converted", "Conversion %"],
        note="Where people entered the funnel (the QR code or link of their first step), most entrants first.",
        chart={"type": "bar", "x": 0, "y": [1]},
    )
    for group in funnel_by(metrics_period, "placement")[:TOP_PLACEMENTS]:
        section.add(group.label, group.funnel.entered, group.funnel.converted, pct(group.funnel.overall_rate))
    return section
