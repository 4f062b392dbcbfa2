"""The KPI table every snapshot kind shows: each active KPI against its target."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns import units
from reports.metrics.kpis import kpi_values
from reports.periods import Period
from reports.snapshots.sections import Section, pct

# Stored as data (the dashboard colours tiles by them); translated when shown.
ON_TARGET, BEHIND, NO_DATA = gettext_noop("on target"), gettext_noop("behind"), gettext_noop("no data")
# The Unit column: rates read in %, money as ¥ (2 decimals), durations as h/min.
UNIT_SHOWN = {"rate": "%", "yuan": "¥", "seconds": "h/min"}


def _cell(unit: str, value):
    """A rate as a percentage number (44.4), money and durations as text (¥308.50,
    2 h 00 min), counts as numbers."""
    if value is None:
        return None
    if unit == "rate":
        return pct(value)
    if unit in ("yuan", "seconds"):
        return units.measured(unit, value)
    return value


def kpi_section(period: Period) -> tuple[Section, list[str]]:
    """The section, and one summary line per KPI that is behind its target."""
    section = Section(
        "kpis",
        _("KPIs vs target"),
        [_("KPI"), _("Value"), _("Target"), _("Previous"), _("Change %"), _("Status"), _("Unit"), _("Period")],
        note=_(
            "Each KPI over its own period (day, week or month) to this snapshot's last day; previous = the same "
            "span of the period before."
        ),
    )
    behind = []
    for kpi in kpi_values(period):
        status = NO_DATA if kpi.on_target is None else (ON_TARGET if kpi.on_target else BEHIND)
        section.add(
            kpi.name,
            _cell(kpi.unit, kpi.value),
            _cell(kpi.unit, kpi.target),
            _cell(kpi.unit, kpi.previous_value),
            pct(kpi.change),
            status,
            UNIT_SHOWN.get(kpi.unit, kpi.unit),
            kpi.period_label,
            flag=status == BEHIND,
        )
        if status == BEHIND:
            better = _("at least") if kpi.direction == "up" else _("at most")
            value, target = units.measured(kpi.unit, kpi.value), units.measured(kpi.unit, kpi.target)
            suffix = f" {kpi.unit}" if kpi.unit in ("events", "people") else ""
            behind.append(
                _("KPI %(name)s is behind: %(value)s%(suffix)s against a target of %(better)s %(target)s%(suffix)s.")
                % {"name": kpi.name, "value": value, "suffix": suffix, "better": better, "target": target}
            )
    return section, behind
